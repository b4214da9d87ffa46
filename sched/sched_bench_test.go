package sched

import (
	"fmt"
	"testing"

	"github.com/canopy-cloud/canopy/providers"
)

// BenchmarkPlace: one placement over 100 hosts with every filter active
// (the scheduler's own cost; each create also asks every host for its
// report, measured by the Docker adapter's BenchmarkHostReports).
func BenchmarkPlace(b *testing.B) {
	hosts := make([]providers.HostReport, 100)
	for i := range hosts {
		hosts[i] = providers.HostReport{Name: fmt.Sprintf("h%03d", i), Zone: "z1", Runtimes: []string{"runc"}, Labels: map[string]string{"disk": "ssd"},
			CPUs: 16, MemoryBytes: 64 << 30, UsedCPU: float64(i % 16), UsedMemoryBytes: int64(i%64) << 30, Containers: i, Projects: []string{fmt.Sprintf("p%d", i%10)}}
	}
	req := Request{CPU: 1, MemoryBytes: 1 << 30, Zone: "z1", Runtime: "runc", Labels: map[string]string{"disk": "ssd"}, Project: "p3", TenantIsolation: true}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Place(hosts, req); err != nil {
			b.Fatal(err)
		}
	}
}
