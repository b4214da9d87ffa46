package containerd

// The containerd host's report to the scheduler (providers.HostReporter).
// containerd says nothing of the machine's size (it has no `docker info`),
// and the adapter runs on the containerd host (options.go), so the host's
// own files say it: the CPUs online (/sys/devices/system/cpu/online) and
// MemTotal (/proc/meminfo), lowered by a limit on the cgroup every task of
// the namespace runs under (containerd puts a task in /<namespace>/<id>:
// a cpu quota or memory limit on /<namespace> bounds them all), cgroup v1
// or v2. What is in use is the sum of the running containers' limits, as
// their OCI specs say (a container without a limit holds none), as for
// Docker; the projects are those of every container, running or not.

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"

	"github.com/canopy-cloud/canopy/providers"
)

// labelProject carries ContainerSpec.Project on a container (tenant
// isolation: the host says whose containers it runs).
const labelProject = labelPrefix + "project"

var _ providers.HostReporter = (*Adapter)(nil)

// HostReports implements providers.HostReporter: the one host.
func (a *Adapter) HostReports(ctx context.Context) ([]providers.HostReport, error) {
	cs, err := a.ListContainers(ctx) // containerd must answer: no report on half the truth
	if err != nil {
		return nil, err
	}
	capa, err := hostCapacity(a.hostRoot, a.opts.Namespace)
	if err != nil {
		return nil, fmt.Errorf("containerd: cloud %s: host %s's capacity: %w", a.name, a.opts.Host, err)
	}
	r := providers.HostReport{Name: a.opts.Host, Zone: a.opts.Zone, Runtimes: []string{"runc"}, Labels: map[string]string{},
		CPUs: capa.cpus, MemoryBytes: capa.memory, Containers: len(cs)}
	for k, v := range a.opts.Labels {
		r.Labels[k] = v
	}
	if z := r.Labels["zone"]; z != "" {
		r.Zone = z
	}
	// The project is a label the view leaves out (canopy's own): read
	// the containers' labels themselves.
	all, err := a.client.ContainerService().List(a.ns(ctx))
	if err != nil {
		return nil, wrap(err, "list containers")
	}
	projects := map[string]bool{}
	for _, c := range all {
		if p := c.Labels[labelProject]; p != "" {
			projects[p] = true
		}
	}
	for _, c := range cs {
		if c.State == providers.ContainerRunning || c.State == providers.ContainerPaused {
			r.UsedCPU += c.CPU
			r.UsedMemoryBytes += c.MemoryBytes
		}
	}
	for p := range projects {
		r.Projects = append(r.Projects, p)
	}
	sort.Strings(r.Projects)
	return []providers.HostReport{r}, nil
}

// capacity is what a host can give the namespace's containers.
type capacity struct {
	cpus   float64
	memory int64
}

// hostCapacity reads the host's CPUs and memory under root ("" is "/"),
// bounded by the namespace's cgroup limits.
func hostCapacity(root, namespace string) (capacity, error) {
	if root == "" {
		root = "/"
	}
	var c capacity
	if b, err := os.ReadFile(filepath.Join(root, "sys/devices/system/cpu/online")); err == nil {
		n, perr := countCPUList(strings.TrimSpace(string(b)))
		if perr != nil {
			return c, fmt.Errorf("sys/devices/system/cpu/online: %w", perr)
		}
		c.cpus = float64(n)
	} else {
		c.cpus = float64(runtime.NumCPU())
	}
	mem, err := memTotal(filepath.Join(root, "proc/meminfo"))
	if err != nil {
		return c, err
	}
	c.memory = mem
	cpuLimit, memLimit, err := cgroupLimits(filepath.Join(root, "sys/fs/cgroup"), namespace)
	if err != nil {
		return c, err
	}
	if cpuLimit > 0 && cpuLimit < c.cpus {
		c.cpus = cpuLimit
	}
	if memLimit > 0 && memLimit < c.memory {
		c.memory = memLimit
	}
	return c, nil
}

// countCPUList counts a kernel CPU list such as "0-3,8,10-11".
func countCPUList(s string) (int, error) {
	n := 0
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			return 0, fmt.Errorf("cpu list %q: %w", s, err)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return 0, fmt.Errorf("cpu list %q: bad range %q", s, part)
			}
		}
		n += b - a + 1
	}
	return n, nil
}

// memTotal is /proc/meminfo's MemTotal in bytes.
func memTotal(path string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			f := strings.Fields(rest)
			if len(f) == 2 && f[1] == "kB" {
				if kb, err := strconv.ParseInt(f[0], 10, 64); err == nil && kb > 0 {
					return kb << 10, nil
				}
			}
			return 0, fmt.Errorf("%s: MemTotal line %q", path, line)
		}
	}
	return 0, fmt.Errorf("%s: no MemTotal", path)
}

// cgroupLimits reads the cpu and memory limits of /<namespace> (0: none,
// or its cgroup not made yet): cgroup v2 when cgroup.controllers is at the
// root, else v1's cpu and memory hierarchies.
func cgroupLimits(cgroot, namespace string) (cpus float64, memory int64, err error) {
	read := func(p string) (string, bool, error) {
		b, err := os.ReadFile(p)
		if errors.Is(err, os.ErrNotExist) {
			return "", false, nil
		}
		if err != nil {
			return "", false, err
		}
		return strings.TrimSpace(string(b)), true, nil
	}
	bad := func(p, v string) error { return fmt.Errorf("cgroup file %s: unexpected %q", p, v) }
	if _, err := os.Stat(filepath.Join(cgroot, "cgroup.controllers")); err == nil {
		dir := filepath.Join(cgroot, namespace)
		if v, ok, err := read(filepath.Join(dir, "cpu.max")); err != nil {
			return 0, 0, err
		} else if ok {
			f := strings.Fields(v)
			if len(f) != 2 {
				return 0, 0, bad(filepath.Join(dir, "cpu.max"), v)
			}
			if f[0] != "max" {
				q, qerr := strconv.ParseFloat(f[0], 64)
				p, perr := strconv.ParseFloat(f[1], 64)
				if qerr != nil || perr != nil || p <= 0 {
					return 0, 0, bad(filepath.Join(dir, "cpu.max"), v)
				}
				cpus = q / p
			}
		}
		if v, ok, err := read(filepath.Join(dir, "memory.max")); err != nil {
			return 0, 0, err
		} else if ok && v != "max" {
			if memory, err = strconv.ParseInt(v, 10, 64); err != nil {
				return 0, 0, bad(filepath.Join(dir, "memory.max"), v)
			}
		}
		return cpus, memory, nil
	}
	quotaPath := filepath.Join(cgroot, "cpu", namespace, "cpu.cfs_quota_us")
	if q, ok, err := read(quotaPath); err != nil {
		return 0, 0, err
	} else if ok && q != "-1" {
		periodPath := filepath.Join(cgroot, "cpu", namespace, "cpu.cfs_period_us")
		p, _, err := read(periodPath)
		if err != nil {
			return 0, 0, err
		}
		qv, qerr := strconv.ParseFloat(q, 64)
		pv, perr := strconv.ParseFloat(p, 64)
		if qerr != nil || perr != nil || pv <= 0 || qv <= 0 {
			return 0, 0, bad(quotaPath, q+" / "+p)
		}
		cpus = qv / pv
	}
	memPath := filepath.Join(cgroot, "memory", namespace, "memory.limit_in_bytes")
	if v, ok, err := read(memPath); err != nil {
		return 0, 0, err
	} else if ok {
		// v1 says "no limit" with a page-rounded huge number.
		m, perr := strconv.ParseUint(v, 10, 64)
		if perr != nil {
			return 0, 0, bad(memPath, v)
		}
		if m < math.MaxInt64/2 {
			memory = int64(m)
		}
	}
	return cpus, memory, nil
}
