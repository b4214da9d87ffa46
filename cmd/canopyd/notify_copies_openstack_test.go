//go:build openstack

package main

// Issue 20 for snapshots and backups: Cinder's snapshot.* and backup.*
// notifications wake CreateSnapshot(wait), CreateBackup(wait) and their
// deletes with no status poll at Cinder.

import (
	"context"
	"fmt"
	"os"
	"sort"
	"testing"
	"time"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/internal/canopydtest"
)

// TestNotificationsOpenStackCopies makes two snapshots and a backup of a
// lab volume through a canopyd fed by the lab's notifications, and
// deletes them, all with wait. Its name extends TestNotificationsOpenStack's
// so make test's filter runs it.
func TestNotificationsOpenStackCopies(t *testing.T) {
	path := os.Getenv("CANOPY_OS_CLOUDS_YAML")
	if path == "" {
		t.Fatal("CANOPY_OS_CLOUDS_YAML is not set: point it at the lab's clouds.yaml (test/openstack/up.sh prints it)")
	}
	cloud := envOr("CANOPY_OS_CLOUD", "canopy-test")
	l := dialLab(t, path, cloud)
	run := fmt.Sprintf("ncp%d", time.Now().Unix()%1000000)
	t.Cleanup(func() { l.remove(t, run+"-") })
	t.Cleanup(func() { l.removeBackups(t, run+"-") })
	o := observeBus(t)
	conf := canopydtest.WriteConfig(t, fmt.Sprintf(`
auth: {token_ttl: 2h}
clouds:
  - name: lab
    kind: openstack
    options: {clouds_yaml: %q, cloud: %q, notifications: {transport_url: "rabbit://guest:guest@%s/"}}
`, path, cloud, labBusAddr))
	d := canopydtest.Start(t, t.TempDir(), "--config", conf)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	waitMode(t, d, "events", time.Minute)
	vol := canopyv1.NewVolumeServiceClient(d.Conn)
	src := createVolumes(t, ctx, d, o, run+"-src", 1)
	if len(src.ids) != 1 {
		t.Fatal("no source volume")
	}
	defer deleteVolumes(t, ctx, d, src.ids)

	polls := func() float64 { return statusPolls(t, d, "snapshots") + statusPolls(t, d, "backups") }
	before := polls()
	type made struct {
		kind, id, native string
		at               time.Time
	}
	var copies []made
	for i := 0; i < 2; i++ {
		name := fmt.Sprintf("%s-snap-%d", run, i)
		op, err := vol.CreateSnapshot(ctx, &canopyv1.CreateSnapshotRequest{Name: name, Volume: src.ids[0], RequestId: name, Wait: true})
		at := time.Now()
		s := &canopyv1.Snapshot{}
		if err == nil && op.GetError() == nil {
			err = op.GetResponse().UnmarshalTo(s)
		}
		if err != nil || op.GetError() != nil || s.GetStatus() != canopyv1.Status_STATUS_ACTIVE {
			t.Fatalf("create snapshot %s: %v %v status %s", name, err, op.GetError(), s.GetStatus())
		}
		copies = append(copies, made{"snapshot", s.GetId(), s.GetNativeId(), at})
	}
	if n := polls() - before; n != 0 {
		t.Errorf("%.0f status polls at Cinder while snapshot waits were answered from notifications, want 0", n)
	}
	before = polls()
	// A backup needs the lab's Swift to take its objects (it refuses them
	// once its disk is nearly full: then this fails, naming Swift's error).
	op, err := vol.CreateBackup(ctx, &canopyv1.CreateBackupRequest{Name: run + "-bak", Volume: src.ids[0], RequestId: run + "-bak", Wait: true})
	at := time.Now()
	b := &canopyv1.Backup{}
	if err == nil && op.GetError() == nil {
		err = op.GetResponse().UnmarshalTo(b)
	}
	switch {
	case err != nil || op.GetError() != nil:
		t.Errorf("create backup: %v %v", err, op.GetError())
	case b.GetStatus() != canopyv1.Status_STATUS_ACTIVE:
		t.Errorf("create backup: status %s", b.GetStatus())
	default:
		copies = append(copies, made{"backup", b.GetId(), b.GetNativeId(), at})
	}
	if n := polls() - before; n != 0 {
		t.Errorf("%.0f status polls at Cinder while a backup wait was answered from notifications, want 0", n)
	}
	var delays []time.Duration
	for _, c := range copies {
		ready, ok := o.readyAt(c.native)
		if !ok {
			t.Errorf("no notification says %s %s is available", c.kind, c.native)
			continue
		}
		delays = append(delays, c.at.Sub(ready))
		t.Logf("%s %s: Cinder said available → canopy replied %s", c.kind, c.native, c.at.Sub(ready).Round(time.Millisecond))
	}
	sort.Slice(delays, func(i, j int) bool { return delays[i] < delays[j] })
	if len(delays) > 0 && delays[len(delays)-1] > 5*time.Second {
		t.Errorf("a copy's reply came %s after Cinder said it was available: not from the event", delays[len(delays)-1])
	}

	before = polls()
	for _, c := range copies {
		var err error
		if c.kind == "snapshot" {
			_, err = vol.DeleteSnapshot(ctx, &canopyv1.DeleteSnapshotRequest{Id: c.id, Wait: true})
		} else {
			_, err = vol.DeleteBackup(ctx, &canopyv1.DeleteBackupRequest{Id: c.id, Wait: true})
		}
		if err != nil {
			t.Errorf("delete %s %s: %v", c.kind, c.id, err)
		}
	}
	if n := polls() - before; n != 0 {
		t.Errorf("%.0f status polls at Cinder while snapshot and backup deletes were answered from notifications, want 0", n)
	}
	_, _, body := getMetrics(t, d, "")
	for _, kind := range []string{"snapshot", "backup"} { // a failed backup is announced too
		if metric(body, "canopy_notifications_total", `cloud="lab"`, `kind="`+kind+`"`, `result="applied"`) == 0 {
			t.Errorf("no %s notification applied:\n%s", kind, body)
		}
	}
}
