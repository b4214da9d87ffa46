package main

import (
	"strings"
	"testing"
	"time"
)

// runRealCrash runs the crash-safety lineages on a real engine: one
// discovery run lists the failpoints the story passes (which must include
// the adapter's own, after the cloud accepted a create), then canopyd is
// killed at each of them in turn.
func runRealCrash(t *testing.T, eng crashRun) {
	t.Helper()
	began := time.Now()
	points := discover(t, eng)
	t.Logf("%s: discovery run: %s", eng.cloud, time.Since(began).Round(time.Millisecond))
	var adapter []string
	for _, p := range points {
		if strings.HasPrefix(p, "openstack/") || strings.HasPrefix(p, "aws/") {
			adapter = append(adapter, p)
		}
	}
	if len(adapter) == 0 {
		t.Fatalf("%s: the story passed no adapter failpoint (after a create was accepted): %v", eng.cloud, points)
	}
	res := crashCloud(t, eng, points)
	t.Logf("crash safety, real cloud %s: %d kill points (%d in the adapter: %s), %d SIGKILLs, %d lineages, %d crash duplicates found and deleted",
		eng.cloud, res.points, len(adapter), strings.Join(adapter, " "), res.kills, res.lineages, res.duplicates)
	t.Logf("%s kill points: %s", eng.cloud, strings.Join(points, " "))
}
