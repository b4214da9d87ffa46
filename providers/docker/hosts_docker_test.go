//go:build docker

package docker_test

import (
	"context"
	"errors"
	"os"
	"slices"
	"testing"

	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/providers/docker"
	"github.com/canopy-cloud/canopy/sched"
	"github.com/canopy-cloud/canopy/store"
	"github.com/canopy-cloud/canopy/store/bolt"
)

// twoHosts opens a cloud over the two dockerds `test/docker/up.sh 2`
// starts (hosts h1 and h2), skipping without the second.
func twoHosts(t *testing.T) *docker.Cloud {
	t.Helper()
	h1, h2 := dockerHost(t), os.Getenv("CANOPY_DOCKER_HOST2")
	if h2 == "" {
		t.Skip("CANOPY_DOCKER_HOST2 is not set: test/docker/test.sh starts two dockerds (test/docker/up.sh 2) and sets it")
	}
	return open(t, map[string]any{"hosts": []any{map[string]any{"name": "h1", "url": h1}, map[string]any{"name": "h2", "url": h2}}})
}

func reportOf(t *testing.T, c *docker.Cloud, host string) providers.HostReport {
	t.Helper()
	reps, err := c.HostReports(context.Background())
	if err != nil {
		t.Fatalf("HostReports: %v", err)
	}
	if len(reps) != 2 || reps[0].Name != "h1" || reps[1].Name != "h2" {
		t.Fatalf("HostReports = %+v, want h1 and h2 in order", reps)
	}
	for _, r := range reps {
		if r.Name == host {
			return r
		}
	}
	t.Fatalf("no report of %s", host)
	return providers.HostReport{}
}

// TestHostReports: each engine's own report — capacity, runtimes, its
// --label labels — and what a running container holds and whose it is.
func TestHostReports(t *testing.T) {
	c := twoHosts(t)
	before := reportOf(t, c, "h2")
	if before.CPUs <= 0 || before.MemoryBytes <= 0 || !slices.Contains(before.Runtimes, "runc") {
		t.Errorf("h2 reports cpus %v memory %d runtimes %v: want the engine's own figures", before.CPUs, before.MemoryBytes, before.Runtimes)
	}
	if before.Labels["canopy.test.instance"] != "2" {
		t.Errorf("h2 labels %v, want canopy.test.instance=2 (dockerd --label)", before.Labels)
	}
	proj := name("proj")
	ct := create(t, c, providers.ContainerSpec{Name: name("rep"), Command: []string{"sleep", "300"}, Host: "h2", CPU: 0.5, MemoryBytes: 64 << 20, Project: proj})
	if err := c.StartContainer(context.Background(), ct.NativeID); err != nil {
		t.Fatal(err)
	}
	if _, ok := ct.Labels["canopy.project"]; ok {
		t.Errorf("the project label shows in Container.Labels %v: canopy's labels are hidden", ct.Labels)
	}
	after := reportOf(t, c, "h2")
	if d := after.UsedCPU - before.UsedCPU; d < 0.5-1e-9 {
		t.Errorf("h2 used cpu %v → %v: the running container's 0.5 is not counted", before.UsedCPU, after.UsedCPU)
	}
	if d := after.UsedMemoryBytes - before.UsedMemoryBytes; d < 64<<20 {
		t.Errorf("h2 used memory %d → %d: the running container's 64 MiB is not counted", before.UsedMemoryBytes, after.UsedMemoryBytes)
	}
	if after.Containers != before.Containers+1 || !slices.Contains(after.Projects, proj) {
		t.Errorf("h2 containers %d → %d, projects %v: want one more, with %s", before.Containers, after.Containers, after.Projects, proj)
	}
	if slices.Contains(reportOf(t, c, "h1").Projects, proj) {
		t.Errorf("h1 reports project %s, whose only container is on h2", proj)
	}
}

// TestPlacementRecorded: a placement is recorded under the create's token
// before the runtime is asked, so a replay lands where the first attempt
// chose even when the spec or the hosts would now say otherwise; a delete
// forgets it.
func TestPlacementRecorded(t *testing.T) {
	c := twoHosts(t)
	st, err := bolt.Open(t.TempDir() + "/canopy.db")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	p := sched.NewPlacer("dt", c, c, st, sched.Options{})
	tok := name("tok")
	first, err := p.Place(ctx, providers.ContainerSpec{IdempotencyToken: tok, CPU: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	other := map[string]string{"h1": "h2", "h2": "h1"}[first]
	if rec, err := st.GetRecord(ctx, sched.RecordNamespace, "dt/"+tok); err != nil || string(rec) != first {
		t.Fatalf("placement record = %q, %v; want %s", rec, err, first)
	}
	if again, err := p.Place(ctx, providers.ContainerSpec{IdempotencyToken: tok, CPU: 0.1, Host: other}); err != nil || again != first {
		t.Errorf("replayed placement = %q, %v; want the recorded %s", again, err, first)
	}
	if pinned, err := p.Place(ctx, providers.ContainerSpec{IdempotencyToken: name("tok2"), Host: other}); err != nil || pinned != other {
		t.Errorf("a new create pinned to %s placed on %q, %v", other, pinned, err)
	}
	// Through the create: the container is on the recorded host, and its
	// delete forgets the record.
	ct, err := p.CreateContainer(ctx, providers.ContainerSpec{Name: name("placed"), Image: testImage, Command: []string{"true"}, IdempotencyToken: tok, Host: other})
	if err != nil {
		t.Fatal(err)
	}
	if ct.Host != first {
		t.Errorf("created on %s, want the recorded %s", ct.Host, first)
	}
	if err := p.DeleteContainer(ctx, ct.NativeID, true); err != nil {
		t.Fatal(err)
	}
	if _, err := st.GetRecord(ctx, sched.RecordNamespace, "dt/"+tok); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("placement record after delete: %v, want ErrNotFound", err)
	}
	// A zone no host is in: refused, each host named.
	_, err = p.Place(ctx, providers.ContainerSpec{IdempotencyToken: name("tok3"), Host: "nowhere"})
	var r *sched.Refusal
	if !errors.As(err, &r) || len(r.Rejections) != 2 || r.Rejections[0].Filter != sched.FilterZone {
		t.Errorf("placement in zone nowhere: %v, want a refusal by the zone filter on both hosts", err)
	}
}

// TestZoneNamesAnyHost: a create whose host is the cloud's zone (a
// servers-view create's location.zone) goes to any host; a name that is
// neither a host nor the zone is refused naming the hosts.
func TestZoneNamesAnyHost(t *testing.T) {
	c := open(t, map[string]any{"hosts": []any{dockerHost(t)}, "zone": "zq"})
	ct := create(t, c, providers.ContainerSpec{Name: name("zone"), Command: []string{"true"}, Host: "zq"})
	if ct.Host != "local" {
		t.Errorf("created in zone zq on host %q, want local", ct.Host)
	}
	_, err := c.CreateContainer(context.Background(), providers.ContainerSpec{Name: name("nozone"), Image: testImage, Command: []string{"true"}, Host: "nope"})
	if !errors.Is(err, providers.ErrInvalid) {
		t.Errorf("host nope: %v, want ErrInvalid", err)
	}
}

// BenchmarkHostReports: what each placement asks of the hosts, two real
// dockerds answering on unix sockets.
func BenchmarkHostReports(b *testing.B) {
	h1, h2 := os.Getenv("CANOPY_DOCKER_HOST"), os.Getenv("CANOPY_DOCKER_HOST2")
	if h1 == "" || h2 == "" {
		b.Skip("CANOPY_DOCKER_HOST and CANOPY_DOCKER_HOST2 not set: test/docker/test.sh starts two dockerds")
	}
	p, err := providers.Open(context.Background(), docker.Kind, providers.Config{Name: "bench", Options: map[string]any{"hosts": []any{map[string]any{"name": "h1", "url": h1}, map[string]any{"name": "h2", "url": h2}}}})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	c := p.(*docker.Cloud)
	ctx := context.Background()
	for b.Loop() {
		if _, err := c.HostReports(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
