package sched

import (
	"errors"
	"strings"
	"testing"

	"github.com/canopy-cloud/canopy/providers"
)

const gib = 1 << 30

func hosts() []providers.HostReport {
	return []providers.HostReport{
		{Name: "a", Zone: "z1", Runtimes: []string{"runc"}, Labels: map[string]string{"disk": "ssd"}, CPUs: 4, MemoryBytes: 8 * gib, UsedCPU: 3, UsedMemoryBytes: 2 * gib, Containers: 3, Projects: []string{"p1"}},
		{Name: "b", Zone: "z1", Runtimes: []string{"runc", "kata"}, Labels: map[string]string{}, CPUs: 4, MemoryBytes: 8 * gib, UsedCPU: 1, UsedMemoryBytes: 1 * gib, Containers: 1, Projects: []string{"p2"}},
		{Name: "c", Zone: "z2", Runtimes: []string{"runc"}, CPUs: 2, MemoryBytes: 2 * gib},
	}
}

func TestPlace(t *testing.T) {
	for _, tc := range []struct {
		name string
		req  Request
		want string
		// refused: each host's filter, in host order
		refused []string
		quota   bool
	}{
		{name: "least loaded", req: Request{CPU: 0.5, MemoryBytes: 256 << 20}, want: "c"},
		{name: "zone", req: Request{Zone: "z1"}, want: "b"},
		{name: "runtime", req: Request{Runtime: "kata"}, want: "b"},
		{name: "labels", req: Request{Labels: map[string]string{"disk": "ssd"}}, want: "a"},
		{name: "cpu", req: Request{CPU: 2.5}, want: "b"},
		{name: "memory", req: Request{MemoryBytes: 6 * gib}, want: "b"},
		{name: "tenant isolation keeps own host", req: Request{Project: "p1", TenantIsolation: true, Zone: "z1"}, want: "a"},
		{name: "tenant isolation empty host", req: Request{Project: "p3", TenantIsolation: true}, want: "c"},
		{name: "isolation off shares", req: Request{Project: "p3", Zone: "z1"}, want: "b"},
		{name: "refused by tenants and zone", req: Request{Project: "p3", TenantIsolation: true, Zone: "z1"},
			refused: []string{FilterTenantIsolation, FilterTenantIsolation, FilterZone}},
		{name: "refused by capacity only", req: Request{CPU: 8},
			refused: []string{FilterCPU, FilterCPU, FilterCPU}, quota: true},
		{name: "refused by memory and runtime", req: Request{MemoryBytes: 15 * gib / 2, Runtime: "runc"},
			refused: []string{FilterMemory, FilterMemory, FilterMemory}, quota: true},
		{name: "another tenant outranks capacity", req: Request{CPU: 3.5, Project: "p3", TenantIsolation: true},
			refused: []string{FilterTenantIsolation, FilterTenantIsolation, FilterCPU}},
		{name: "runtime nowhere", req: Request{Runtime: "gvisor"},
			refused: []string{FilterRuntime, FilterRuntime, FilterRuntime}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Place(hosts(), tc.req)
			if tc.refused == nil {
				if err != nil || got != tc.want {
					t.Fatalf("Place = %q, %v; want %q", got, err, tc.want)
				}
				return
			}
			var r *Refusal
			if !errors.As(err, &r) {
				t.Fatalf("Place = %q, %v; want a refusal", got, err)
			}
			if len(r.Rejections) != len(tc.refused) {
				t.Fatalf("rejections %+v, want filters %v", r.Rejections, tc.refused)
			}
			for i, x := range r.Rejections {
				if x.Host != hosts()[i].Name || x.Filter != tc.refused[i] || x.Reason == "" {
					t.Errorf("rejection %d = %+v, want host %s filter %s with a reason", i, x, hosts()[i].Name, tc.refused[i])
				}
				if !strings.Contains(err.Error(), "host "+x.Host+": ") {
					t.Errorf("refusal %q does not name host %s", err, x.Host)
				}
			}
			if errors.Is(err, providers.ErrQuota) != tc.quota || errors.Is(err, providers.ErrConflict) == tc.quota {
				t.Errorf("refusal %v: quota %v, want %v", err, errors.Is(err, providers.ErrQuota), tc.quota)
			}
		})
	}
}

func TestPlaceNoHosts(t *testing.T) {
	_, err := Place(nil, Request{})
	var r *Refusal
	if !errors.As(err, &r) || !errors.Is(err, providers.ErrConflict) || !strings.Contains(err.Error(), "reports none") {
		t.Fatalf("Place(no hosts) = %v, want a refusal saying the cloud reports none", err)
	}
}

// Ties go to the host with fewer containers, then the first name: the
// same reports always give the same host.
func TestPlaceDeterministic(t *testing.T) {
	hs := []providers.HostReport{{Name: "y", CPUs: 2, MemoryBytes: gib, Containers: 2}, {Name: "x", CPUs: 2, MemoryBytes: gib, Containers: 2}, {Name: "w", CPUs: 2, MemoryBytes: gib, Containers: 5}}
	for i := 0; i < 3; i++ {
		if got, err := Place(hs, Request{}); err != nil || got != "x" {
			t.Fatalf("Place = %q, %v; want x", got, err)
		}
	}
}
