package containerd

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	v1 "github.com/containerd/cgroups/v3/cgroup1/stats"
	v2 "github.com/containerd/cgroups/v3/cgroup2/stats"
	"github.com/containerd/typeurl/v2"

	"github.com/canopy-cloud/canopy/providers"
)

// statsInterval is the time between the two CPU readings of a sample.
const statsInterval = 500 * time.Millisecond

// sample is one reading of a task's cgroup.
type sample struct {
	at            time.Time
	cpuNanos      uint64
	memory, limit uint64
	pids          uint64
	read, written uint64
}

// ContainerStats reads the task's cgroup metrics twice, statsInterval
// apart: CPU is the share of one CPU used between them (Docker's 100 = one
// full CPU), the rest is the second reading. Memory leaves out the
// inactive page cache, as Docker does. The network counters are the
// container's own interfaces other than loopback (none unless
// network_mode is host, where they would be the host's: then zero).
func (a *Adapter) ContainerStats(ctx context.Context, id string) (providers.ContainerStats, error) {
	ctx = a.ns(ctx)
	_, t, _, err := a.currentFor(ctx, id, providers.ActStats)
	if err != nil {
		return providers.ContainerStats{}, err
	}
	first, err := a.sample(ctx, id)
	if err != nil {
		return providers.ContainerStats{}, err
	}
	select {
	case <-ctx.Done():
		return providers.ContainerStats{}, ctx.Err()
	case <-time.After(statsInterval):
	}
	second, err := a.sample(ctx, id)
	if err != nil {
		return providers.ContainerStats{}, err
	}
	out := providers.ContainerStats{
		Time:             second.at,
		CPUPercent:       cpuPercent(first, second),
		MemoryBytes:      int64(second.memory),
		MemoryLimitBytes: int64(min(second.limit, hostMemory())),
		PIDs:             int64(second.pids),
		BlockReadBytes:   int64(second.read),
		BlockWriteBytes:  int64(second.written),
	}
	if a.opts.NetworkMode != "host" && t.Pid > 0 {
		out.NetRxBytes, out.NetTxBytes = netDev(fmt.Sprintf("/proc/%d/net/dev", t.Pid))
	}
	return out, nil
}

func cpuPercent(a, b sample) float64 {
	wall := b.at.Sub(a.at)
	if wall <= 0 || b.cpuNanos < a.cpuNanos {
		return 0
	}
	return float64(b.cpuNanos-a.cpuNanos) / float64(wall.Nanoseconds()) * 100
}

func (a *Adapter) sample(ctx context.Context, id string) (sample, error) {
	c, err := a.client.LoadContainer(ctx, id)
	if err != nil {
		return sample{}, wrap(err, "load container %s", id)
	}
	task, err := c.Task(ctx, nil)
	if err != nil {
		return sample{}, wrap(err, "load task %s", id)
	}
	m, err := task.Metrics(ctx)
	if err != nil {
		return sample{}, wrap(err, "metrics of %s", id)
	}
	s := sample{at: time.Now()}
	if ts := m.GetTimestamp(); ts != nil {
		s.at = ts.AsTime()
	}
	v, err := typeurl.UnmarshalAny(m.GetData())
	if err != nil {
		return sample{}, wrap(err, "metrics of %s", id)
	}
	switch x := v.(type) {
	case *v1.Metrics:
		s.cpuNanos = x.GetCPU().GetUsage().GetTotal()
		mem := x.GetMemory()
		s.memory = sub(mem.GetUsage().GetUsage(), mem.GetTotalInactiveFile())
		s.limit = mem.GetUsage().GetLimit()
		s.pids = x.GetPids().GetCurrent()
		for _, e := range x.GetBlkio().GetIoServiceBytesRecursive() {
			switch strings.ToLower(e.GetOp()) {
			case "read":
				s.read += e.GetValue()
			case "write":
				s.written += e.GetValue()
			}
		}
	case *v2.Metrics:
		s.cpuNanos = x.GetCPU().GetUsageUsec() * 1000
		mem := x.GetMemory()
		s.memory = sub(mem.GetUsage(), mem.GetInactiveFile())
		s.limit = mem.GetUsageLimit()
		s.pids = x.GetPids().GetCurrent()
		for _, e := range x.GetIo().GetUsage() {
			s.read += e.GetRbytes()
			s.written += e.GetWbytes()
		}
	default:
		return sample{}, fmt.Errorf("containerd: metrics of %s: unknown type %T", id, v)
	}
	return s, nil
}

func sub(a, b uint64) uint64 {
	if b > a {
		return 0
	}
	return a - b
}

// hostMemory is the host's RAM: an unlimited cgroup reports a huge limit,
// Docker reports the host's memory instead.
func hostMemory() uint64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return ^uint64(0) >> 1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			kb, _ := strconv.ParseUint(fields[1], 10, 64)
			return kb * 1024
		}
	}
	return ^uint64(0) >> 1
}

// netDev sums the received and sent bytes of every interface but lo.
func netDev(path string) (rx, tx int64) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		name, rest, ok := strings.Cut(line, ":")
		if !ok || strings.TrimSpace(name) == "lo" {
			continue
		}
		f := strings.Fields(rest)
		if len(f) < 9 {
			continue
		}
		r, _ := strconv.ParseInt(f[0], 10, 64)
		t, _ := strconv.ParseInt(f[8], 10, 64)
		rx, tx = rx+r, tx+t
	}
	return rx, tx
}

// ContainerTop runs the host's ps with psArgs (default -ef, Docker's) and
// keeps the rows of the task's processes, as `docker top` does: the
// adapter runs on the containerd host, so the pids are the host's.
func (a *Adapter) ContainerTop(ctx context.Context, id string, psArgs []string) (providers.Top, error) {
	ctx = a.ns(ctx)
	_, _, _, err := a.currentFor(ctx, id, providers.ActTop)
	if err != nil {
		return providers.Top{}, err
	}
	c, err := a.client.LoadContainer(ctx, id)
	if err != nil {
		return providers.Top{}, wrap(err, "load container %s", id)
	}
	task, err := c.Task(ctx, nil)
	if err != nil {
		return providers.Top{}, wrap(err, "load task %s", id)
	}
	procs, err := task.Pids(ctx)
	if err != nil {
		return providers.Top{}, wrap(err, "pids of %s", id)
	}
	pids := map[string]bool{}
	for _, p := range procs {
		pids[strconv.Itoa(int(p.Pid))] = true
	}
	if len(psArgs) == 0 {
		psArgs = []string{"-ef"}
	}
	out, err := exec.CommandContext(ctx, "ps", psArgs...).Output()
	if err != nil {
		return providers.Top{}, errorf(providers.ErrInvalid, "ps %s: %v", strings.Join(psArgs, " "), err)
	}
	return parsePS(string(out), pids)
}

// parsePS keeps the rows of ps output whose PID is in pids; the last
// column (the command) keeps its spaces.
func parsePS(out string, pids map[string]bool) (providers.Top, error) {
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) == 0 {
		return providers.Top{}, errorf(providers.ErrInvalid, "ps printed nothing")
	}
	titles := strings.Fields(lines[0])
	col := -1
	for i, t := range titles {
		if t == "PID" {
			col = i
		}
	}
	if col < 0 {
		return providers.Top{}, errorf(providers.ErrInvalid, "ps arguments give no PID column (titles %v)", titles)
	}
	top := providers.Top{Titles: titles}
	for _, line := range lines[1:] {
		f := strings.Fields(line)
		if len(f) <= col || !pids[f[col]] {
			continue
		}
		if len(f) > len(titles) {
			f = append(f[:len(titles)-1], strings.Join(f[len(titles)-1:], " "))
		}
		top.Processes = append(top.Processes, f)
	}
	return top, nil
}
