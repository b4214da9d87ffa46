package docker

import (
	"math"
	"testing"

	"github.com/docker/docker/api/types/container"
)

func TestToStats(t *testing.T) {
	var s container.StatsResponse
	// 0.5 s of the container's CPU time while the host's counter moved 2 s,
	// on 4 CPUs: Docker's way, 0.5/2 × 4 × 100 = 100 (one CPU busy).
	s.PreCPUStats.CPUUsage.TotalUsage = 1_000_000_000
	s.PreCPUStats.SystemUsage = 10_000_000_000
	s.CPUStats.CPUUsage.TotalUsage = 1_500_000_000
	s.CPUStats.SystemUsage = 12_000_000_000
	s.CPUStats.OnlineCPUs = 4
	s.MemoryStats = container.MemoryStats{Usage: 100, Limit: 1000, Stats: map[string]uint64{"total_inactive_file": 30}}
	s.PidsStats.Current = 3
	s.Networks = map[string]container.NetworkStats{"eth0": {RxBytes: 5, TxBytes: 7}, "eth1": {RxBytes: 1, TxBytes: 1}}
	s.BlkioStats.IoServiceBytesRecursive = []container.BlkioStatEntry{{Op: "Read", Value: 10}, {Op: "write", Value: 20}, {Op: "Total", Value: 30}}
	got := toStats(s)
	if math.Abs(got.CPUPercent-100) > 1e-9 {
		t.Errorf("cpu = %g, want 100", got.CPUPercent)
	}
	if got.MemoryBytes != 70 || got.MemoryLimitBytes != 1000 || got.PIDs != 3 || got.NetRxBytes != 6 || got.NetTxBytes != 8 ||
		got.BlockReadBytes != 10 || got.BlockWriteBytes != 20 {
		t.Errorf("stats = %+v", got)
	}
	// No CPU time used, or the host's counter did not move: 0, never NaN.
	if p := cpuPercent(container.CPUStats{SystemUsage: 5}, container.CPUStats{SystemUsage: 5}); p != 0 {
		t.Errorf("cpu without a system delta = %g, want 0", p)
	}
}

func TestSplitTimestamp(t *testing.T) {
	ts, data := splitTimestamp([]byte("2026-01-02T03:04:05.000000001Z hello world\n"))
	if ts.Nanosecond() != 1 || string(data) != "hello world\n" {
		t.Errorf("split = %v %q", ts, data)
	}
	ts, data = splitTimestamp([]byte("no time here\n"))
	if !ts.IsZero() || string(data) != "no time here\n" {
		t.Errorf("split without a time = %v %q", ts, data)
	}
}

func TestEventAction(t *testing.T) {
	for in, want := range map[string]string{"start": "start", "health_status: healthy": "health_status", "exec_start: sh -c x": "exec_start"} {
		if got := eventAction(in); got != want {
			t.Errorf("eventAction(%q) = %q, want %q", in, got, want)
		}
	}
}
