//go:build containerd

package containerd_test

import (
	"context"
	"errors"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/providers/containerd"
	"github.com/canopy-cloud/canopy/sched"
	"github.com/canopy-cloud/canopy/store/bolt"
)

func hostReport(t *testing.T, a *containerd.Adapter) providers.HostReport {
	t.Helper()
	reps, err := a.HostReports(context.Background())
	if err != nil {
		t.Fatalf("HostReports: %v", err)
	}
	if len(reps) != 1 || reps[0].Name != "local" {
		t.Fatalf("HostReports = %+v, want the one host local", reps)
	}
	return reps[0]
}

// TestHostReports: the containerd host reports the machine's own size
// (this host's namespace cgroup has no limit: MemTotal and the CPUs
// online), and the limits of its running containers only, with the
// projects of all.
func TestHostReports(t *testing.T) {
	a := openDir(t, tempDir(t))
	t.Cleanup(func() { _ = a.Close() }) // after the containers' cleanups, which need it
	before := hostReport(t, a)
	mi, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		t.Fatal(err)
	}
	var memKB int64
	for _, l := range strings.Split(string(mi), "\n") {
		if f := strings.Fields(l); len(f) == 3 && f[0] == "MemTotal:" {
			memKB, _ = strconv.ParseInt(f[1], 10, 64)
		}
	}
	if before.CPUs <= 0 || before.MemoryBytes <= 0 || before.MemoryBytes > memKB<<10 || !slices.Contains(before.Runtimes, "runc") {
		t.Errorf("report: cpus %v memory %d runtimes %v; want the host's (MemTotal %d)", before.CPUs, before.MemoryBytes, before.Runtimes, memKB<<10)
	}
	proj := "ctrd-proj-" + strconv.Itoa(os.Getpid())
	id := create(t, &a, providers.ContainerSpec{Command: []string{"sleep", "300"}, CPU: 0.5, MemoryBytes: 64 << 20, Project: proj})
	created := hostReport(t, a)
	if created.UsedCPU != before.UsedCPU || created.UsedMemoryBytes != before.UsedMemoryBytes {
		t.Errorf("a created (not running) container is counted: used %v/%d → %v/%d", before.UsedCPU, before.UsedMemoryBytes, created.UsedCPU, created.UsedMemoryBytes)
	}
	if created.Containers != before.Containers+1 || !slices.Contains(created.Projects, proj) {
		t.Errorf("containers %d → %d, projects %v: want one more, with %s", before.Containers, created.Containers, created.Projects, proj)
	}
	start(t, a, id)
	running := hostReport(t, a)
	if d := running.UsedCPU - before.UsedCPU; d < 0.5-1e-9 || d > 0.5+1e-9 {
		t.Errorf("used cpu %v → %v: the running container's 0.5 is not counted", before.UsedCPU, running.UsedCPU)
	}
	if d := running.UsedMemoryBytes - before.UsedMemoryBytes; d != 64<<20 {
		t.Errorf("used memory %d → %d: the running container's 64 MiB is not counted", before.UsedMemoryBytes, running.UsedMemoryBytes)
	}
	if err := a.StopContainer(context.Background(), id, 0); err != nil {
		t.Fatal(err)
	}
	stopped := hostReport(t, a)
	if stopped.UsedCPU != before.UsedCPU || stopped.UsedMemoryBytes != before.UsedMemoryBytes || !slices.Contains(stopped.Projects, proj) {
		t.Errorf("after the stop: used %v/%d (want %v/%d), projects %v (want %s still)", stopped.UsedCPU, stopped.UsedMemoryBytes, before.UsedCPU, before.UsedMemoryBytes, stopped.Projects, proj)
	}
	if _, ok := stopped.Labels["zone"]; ok {
		t.Errorf("labels %v without a labels option", stopped.Labels)
	}
}

// TestContainerdScheduled: the scheduler places on the containerd host
// from its report: too much memory is refused for capacity, and with
// tenant_isolation another project's container is refused on the host a
// project holds, naming it; the host's own project is placed there.
func TestContainerdScheduled(t *testing.T) {
	opts, err := containerd.ParseOptions(map[string]any{"address": address(t), "data_dir": tempDir(t), "labels": map[string]any{"zone": "ctrd-z", "disk": "ssd"}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, err := containerd.New(context.Background(), "ctrd-sched", opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	rep := hostReport(t, a)
	if rep.Zone != "ctrd-z" || rep.Labels["disk"] != "ssd" {
		t.Errorf("report zone %q labels %v, want zone ctrd-z from the labels option", rep.Zone, rep.Labels)
	}
	st, err := bolt.Open(t.TempDir() + "/canopy.db")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	var r *sched.Refusal
	_, err = sched.NewPlacer("ctrd-sched", a, a, st, sched.Options{}).Place(ctx, providers.ContainerSpec{IdempotencyToken: "tok-huge", MemoryBytes: rep.MemoryBytes + 1<<30})
	if !errors.As(err, &r) || !r.Capacity() || len(r.Rejections) != 1 || r.Rejections[0].Host != "local" {
		t.Errorf("placing more memory than the host has: %v, want a capacity refusal naming local", err)
	}
	p := sched.NewPlacer("ctrd-sched", a, a, st, sched.Options{TenantIsolation: true})
	mine := "ctrd-own-" + strconv.Itoa(os.Getpid())
	// The host must hold no other project's container (the other tests
	// delete theirs) until this one's.
	ct, err := p.CreateContainer(ctx, providers.ContainerSpec{Name: mine, Image: image, Command: []string{"true"}, IdempotencyToken: "tok-" + mine, Project: mine})
	if err != nil {
		t.Fatalf("placing the first project's container: %v", err)
	}
	t.Cleanup(func() { _ = p.DeleteContainer(context.Background(), ct.NativeID, true) })
	if ct.Host != "local" {
		t.Errorf("placed on %q, want local", ct.Host)
	}
	if host, err := p.Place(ctx, providers.ContainerSpec{IdempotencyToken: "tok2-" + mine, Project: mine}); err != nil || host != "local" {
		t.Errorf("the same project again: %q, %v; want local", host, err)
	}
	_, err = p.Place(ctx, providers.ContainerSpec{IdempotencyToken: "tok-other-" + mine, Project: "other-" + mine})
	if !errors.As(err, &r) || r.Capacity() || len(r.Rejections) != 1 || r.Rejections[0].Filter != sched.FilterTenantIsolation || !strings.Contains(r.Rejections[0].Reason, mine) {
		t.Errorf("another project on the host %s holds: %v, want a tenant_isolation refusal naming %s", mine, err, mine)
	}
}
