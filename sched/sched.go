// Package sched places a container on one of a container cloud's hosts,
// as Nova's filter scheduler does for servers: every host passes through
// the filters (zone, runtime, host labels, tenant isolation, free cpu and
// memory), the survivors are weighed (least loaded first), and the
// best wins. A refusal names, for each host, the filter that rejected it.
//
// It decides from what each host reports of itself (providers.HostReport:
// the engine's own `docker info`, its running containers' limits); it
// keeps no state. Recording the choice, so a replayed create lands on the
// same host, is the caller's (server's container.create "place" step).
package sched

import (
	"fmt"
	"sort"
	"strings"

	"github.com/canopy-cloud/canopy/providers"
)

// Filter names, as refusals report them.
const (
	FilterZone            = "zone"
	FilterRuntime         = "runtime"
	FilterLabels          = "host_labels"
	FilterCPU             = "cpu"
	FilterMemory          = "memory"
	FilterTenantIsolation = "tenant_isolation"
)

// Request is what a container needs of its host.
type Request struct {
	// CPU in CPUs and MemoryBytes are the container's limits; 0 asks for
	// nothing (an unlimited container fits anywhere).
	CPU         float64
	MemoryBytes int64
	// Zone, when set, keeps hosts of that zone.
	Zone string
	// Runtime, when set, keeps hosts whose engine offers that OCI runtime.
	Runtime string
	// Labels keeps hosts whose engine labels include all of these.
	Labels map[string]string
	// Project owns the container.
	Project string
	// TenantIsolation keeps hosts with no other project's containers.
	TenantIsolation bool
}

// Rejection is one host a filter turned away, and why.
type Rejection struct {
	Host   string
	Filter string
	Reason string
}

// Refusal is a placement no host passed: every host's rejection. It wraps
// providers.ErrQuota when only capacity (cpu, memory) stood in the way,
// and providers.ErrConflict otherwise (no host can ever take it as the
// cloud stands: zone, runtime, labels, another tenant).
type Refusal struct {
	Rejections []Rejection
}

func (r *Refusal) Error() string {
	if len(r.Rejections) == 0 {
		return "no host to place the container on: the cloud reports none"
	}
	parts := make([]string, len(r.Rejections))
	for i, x := range r.Rejections {
		parts[i] = fmt.Sprintf("host %s: %s (%s)", x.Host, x.Reason, x.Filter)
	}
	return "no host can take the container: " + strings.Join(parts, "; ")
}

// Capacity reports whether only cpu and memory stood in the way.
func (r *Refusal) Capacity() bool {
	for _, x := range r.Rejections {
		if x.Filter != FilterCPU && x.Filter != FilterMemory {
			return false
		}
	}
	return len(r.Rejections) > 0
}

// Unwrap maps the refusal to the sentinel the error mapping knows.
func (r *Refusal) Unwrap() error {
	if r.Capacity() {
		return providers.ErrQuota
	}
	return providers.ErrConflict
}

// filter returns why h cannot take req ("" when it can), and the filter.
type filter struct {
	name  string
	check func(h providers.HostReport, req Request) string
}

// filters run in this order; the first to reject a host is its reason.
// What no waiting changes (zone, runtime, labels, another tenant) comes
// before capacity, so a refusal is RESOURCE_EXHAUSTED only when every
// host would take the container once it has room.
var filters = []filter{
	{FilterZone, func(h providers.HostReport, req Request) string {
		if req.Zone != "" && h.Zone != req.Zone {
			return fmt.Sprintf("in zone %q, not %q", h.Zone, req.Zone)
		}
		return ""
	}},
	{FilterRuntime, func(h providers.HostReport, req Request) string {
		if req.Runtime == "" {
			return ""
		}
		for _, r := range h.Runtimes {
			if r == req.Runtime {
				return ""
			}
		}
		return fmt.Sprintf("has no runtime %q (has %v)", req.Runtime, h.Runtimes)
	}},
	{FilterLabels, func(h providers.HostReport, req Request) string {
		keys := make([]string, 0, len(req.Labels))
		for k := range req.Labels {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if v, ok := h.Labels[k]; !ok || v != req.Labels[k] {
				return fmt.Sprintf("label %s=%q wanted, host has %q", k, req.Labels[k], h.Labels[k])
			}
		}
		return ""
	}},
	{FilterTenantIsolation, func(h providers.HostReport, req Request) string {
		if !req.TenantIsolation {
			return ""
		}
		var others []string
		for _, p := range h.Projects {
			if p != req.Project {
				others = append(others, p)
			}
		}
		if len(others) > 0 {
			sort.Strings(others)
			return fmt.Sprintf("runs containers of other projects %v", others)
		}
		return ""
	}},
	{FilterCPU, func(h providers.HostReport, req Request) string {
		if free := h.CPUs - h.UsedCPU; req.CPU > 0 && req.CPU > free+1e-9 {
			return fmt.Sprintf("%.2f CPUs free of %.2f, %.2f wanted", free, h.CPUs, req.CPU)
		}
		return ""
	}},
	{FilterMemory, func(h providers.HostReport, req Request) string {
		if free := h.MemoryBytes - h.UsedMemoryBytes; req.MemoryBytes > 0 && req.MemoryBytes > free {
			return fmt.Sprintf("%d MiB memory free of %d MiB, %d MiB wanted", free>>20, h.MemoryBytes>>20, req.MemoryBytes>>20)
		}
		return ""
	}},
}

// Filter returns the hosts that can take req, in the order given, and a
// rejection for each of the others.
func Filter(hosts []providers.HostReport, req Request) (pass []providers.HostReport, rejected []Rejection) {
	for _, h := range hosts {
		ok := true
		for _, f := range filters {
			if why := f.check(h, req); why != "" {
				rejected = append(rejected, Rejection{Host: h.Name, Filter: f.name, Reason: why})
				ok = false
				break
			}
		}
		if ok {
			pass = append(pass, h)
		}
	}
	return pass, rejected
}

// load is how full h would be with req on it: the larger of its cpu and
// memory fractions (a dimension it does not report counts as empty).
func load(h providers.HostReport, req Request) float64 {
	l := 0.0
	if h.CPUs > 0 {
		l = (h.UsedCPU + req.CPU) / h.CPUs
	}
	if h.MemoryBytes > 0 {
		if m := float64(h.UsedMemoryBytes+req.MemoryBytes) / float64(h.MemoryBytes); m > l {
			l = m
		}
	}
	return l
}

// Place picks the host for req: the least loaded of those every filter
// passes (ties: fewer containers, then the name, so the choice is
// deterministic). No host passing is a *Refusal.
func Place(hosts []providers.HostReport, req Request) (string, error) {
	pass, rejected := Filter(hosts, req)
	if len(pass) == 0 {
		return "", &Refusal{Rejections: rejected}
	}
	sort.SliceStable(pass, func(i, j int) bool {
		li, lj := load(pass[i], req), load(pass[j], req)
		if li != lj {
			return li < lj
		}
		if pass[i].Containers != pass[j].Containers {
			return pass[i].Containers < pass[j].Containers
		}
		return pass[i].Name < pass[j].Name
	})
	return pass[0].Name, nil
}
