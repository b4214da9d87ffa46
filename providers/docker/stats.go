package docker

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/docker/docker/api/types/container"

	"github.com/canopy-cloud/canopy/providers"
)

// ContainerStats samples once. Docker's non-streaming stats wait for a
// second reading so the previous one (precpu_stats) is filled, which is
// what the CPU percentage needs: about a second.
func (c *Cloud) ContainerStats(ctx context.Context, id string) (providers.ContainerStats, error) {
	h, did, _, err := c.allowed(ctx, id, providers.ActStats)
	if err != nil {
		return providers.ContainerStats{}, err
	}
	r, err := h.cli.ContainerStats(ctx, did, false)
	if err != nil {
		return providers.ContainerStats{}, mapErr(err, h, "stats", did)
	}
	defer r.Body.Close()
	var s container.StatsResponse
	if err := json.NewDecoder(r.Body).Decode(&s); err != nil {
		return providers.ContainerStats{}, fmt.Errorf("docker: stats %s on host %s: decode: %w", did, h.name, err)
	}
	return toStats(s), nil
}

// toStats computes what `docker stats` shows, the same way.
func toStats(s container.StatsResponse) providers.ContainerStats {
	out := providers.ContainerStats{
		Time:             s.Read,
		CPUPercent:       cpuPercent(s.CPUStats, s.PreCPUStats),
		MemoryBytes:      int64(memoryUsage(s.MemoryStats)),
		MemoryLimitBytes: int64(s.MemoryStats.Limit),
		PIDs:             int64(s.PidsStats.Current),
	}
	for _, n := range s.Networks {
		out.NetRxBytes += int64(n.RxBytes)
		out.NetTxBytes += int64(n.TxBytes)
	}
	for _, b := range s.BlkioStats.IoServiceBytesRecursive {
		switch strings.ToLower(b.Op) {
		case "read":
			out.BlockReadBytes += int64(b.Value)
		case "write":
			out.BlockWriteBytes += int64(b.Value)
		}
	}
	return out
}

// cpuPercent is the docker CLI's calculateCPUPercentUnix: the container's
// share of the host's CPU time between two readings, times the CPUs (100
// is one CPU busy).
func cpuPercent(cur, prev container.CPUStats) float64 {
	cpuDelta := float64(cur.CPUUsage.TotalUsage) - float64(prev.CPUUsage.TotalUsage)
	sysDelta := float64(cur.SystemUsage) - float64(prev.SystemUsage)
	cpus := float64(cur.OnlineCPUs)
	if cpus == 0 {
		cpus = float64(len(cur.CPUUsage.PercpuUsage))
	}
	if sysDelta <= 0 || cpuDelta <= 0 {
		return 0
	}
	return cpuDelta / sysDelta * cpus * 100
}

// memoryUsage is the docker CLI's: usage less the page cache that can be
// reclaimed (inactive_file; total_inactive_file on cgroup v1).
func memoryUsage(m container.MemoryStats) uint64 {
	for _, k := range []string{"total_inactive_file", "inactive_file"} {
		if v, ok := m.Stats[k]; ok && v < m.Usage {
			return m.Usage - v
		}
	}
	return m.Usage
}

// ContainerTop lists a container's processes with ps (psArgs default -ef).
func (c *Cloud) ContainerTop(ctx context.Context, id string, psArgs []string) (providers.Top, error) {
	h, did, _, err := c.allowed(ctx, id, providers.ActTop)
	if err != nil {
		return providers.Top{}, err
	}
	t, err := h.cli.ContainerTop(ctx, did, psArgs)
	if err != nil {
		return providers.Top{}, mapErr(err, h, "top", did)
	}
	return providers.Top{Titles: t.Titles, Processes: t.Processes}, nil
}
