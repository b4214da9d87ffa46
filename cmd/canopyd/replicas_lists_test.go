//go:build etcd && aws

package main

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/canopy-cloud/canopy/internal/canopydtest"
)

// upstreamList is one whole list a replica logged (cache.Metrics.LogLists:
// canopyd at --log-level debug), with why it was made.
type upstreamList struct {
	at      time.Time
	replica int // index in the processes started
	reason  string
}

var listLine = regexp.MustCompile(`time=(\S+) level=DEBUG msg="upstream list" cloud=(\S+) kind=(\S+) reason=(\S+)`)

// loggedLists is every whole list of kind at cloud the processes logged,
// in time order.
func loggedLists(ds []*canopydtest.Daemon, cloud, kind string) []upstreamList {
	var out []upstreamList
	for i, d := range ds {
		for _, line := range strings.Split(d.Logs(), "\n") {
			m := listLine.FindStringSubmatch(line)
			if m == nil || m[2] != cloud || m[3] != kind {
				continue
			}
			at, err := time.Parse(time.RFC3339Nano, m[1])
			if err != nil {
				continue
			}
			out = append(out, upstreamList{at, i, m[4]})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].at.Before(out[j].at) })
	return out
}

// crowded returns the pairs of calls closer than interval (i, j indexes
// into at): each is one list too many in a sliding window of interval.
func crowded(at []time.Time, interval time.Duration) (pairs [][2]int, worst int) {
	for i := range at {
		n := 0
		for j := i; j < len(at) && at[j].Sub(at[i]) < interval; j++ {
			n++
			if j > i {
				pairs = append(pairs, [2]int{i, j})
			}
		}
		worst = max(worst, n)
	}
	return pairs, worst
}

// explain says which logged lists (replica, reason) are nearest to a call
// seen at the cloud at t (the log has millisecond precision).
func explain(logged []upstreamList, t time.Time) string {
	var parts []string
	for _, l := range logged {
		if d := l.at.Sub(t); d > -50*time.Millisecond && d < 50*time.Millisecond {
			parts = append(parts, fmt.Sprintf("process %d %s (%+v)", l.replica, l.reason, d.Round(time.Millisecond)))
		}
	}
	if len(parts) == 0 {
		return "no logged list near it"
	}
	return strings.Join(parts, ", ")
}

// reasonCounts counts logged lists by reason.
func reasonCounts(logged []upstreamList) map[string]int {
	out := map[string]int{}
	for _, l := range logged {
		out[l.reason]++
	}
	return out
}
