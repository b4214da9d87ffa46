package sim_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/providers/providertest"
	"github.com/canopy-cloud/canopy/providers/sim"
)

type harness struct{ opts sim.Options }

func (h harness) MakeProvider(ctx context.Context, t *testing.T) providers.Provider {
	return sim.New(h.opts)
}

func (h harness) Fixture() providertest.Fixture {
	fx := providertest.Fixture{WaitTimeout: 5 * time.Second, Poll: 5 * time.Millisecond, ObjectPartSize: 64 << 10,
		ContainerHealthInterval: 50 * time.Millisecond, ExternalNetwork: sim.PublicNetworkID,
		ContainerImageFormats: []string{"docker"}}
	if h.opts.NoExternalNetwork {
		fx.ExternalNetwork = ""
	}
	return fx
}

// DeleteImage implements providertest.ImageCleaner: the images the suite
// uploads or commits are dropped as if deleted in the cloud.
func (harness) DeleteImage(ctx context.Context, p providers.Provider, id string) error {
	return p.(*sim.Cloud).DropImage(id)
}

func TestConformance(t *testing.T) {
	providertest.RunConformanceTests(t, harness{sim.Options{Seed: 1}})
}

// The suite must also pass when every transition takes time and every call
// is slow, as on a real cloud.
func TestConformanceSlow(t *testing.T) {
	providertest.RunConformanceTests(t, harness{sim.Options{
		Seed: 2, Latency: time.Millisecond, BootDelay: 50 * time.Millisecond,
		ActionDelay: 20 * time.Millisecond, DeleteDelay: 20 * time.Millisecond,
		ImageImportDelay: 30 * time.Millisecond,
	}})
}

func TestDeterministicIDs(t *testing.T) {
	ctx := context.Background()
	ids := func() []string {
		c := sim.New(sim.Options{Seed: 42})
		var out []string
		for i := 0; i < 20; i++ {
			s, err := c.CreateServer(ctx, providers.ServerSpec{Name: "x", FlavorID: "1", ImageID: "img-cirros"})
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, s.NativeID)
		}
		return out
	}
	a, b := ids(), ids()
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("same seed gave ids %v and %v", a, b)
		}
	}
	// Deterministic, and still one id per server.
	seen := map[string]bool{}
	for _, id := range a {
		if id == "" || seen[id] {
			t.Fatalf("ids %v: empty or repeated", a)
		}
		seen[id] = true
	}
}

func TestFaultsAndDown(t *testing.T) {
	ctx := context.Background()
	c := sim.New(sim.Options{})
	boom := errors.New("boom")
	c.InjectFault("ListServers", boom, 2)
	for i := 0; i < 2; i++ {
		if _, err := c.ListServers(ctx); !errors.Is(err, boom) {
			t.Fatalf("call %d: err = %v, want injected fault", i, err)
		}
	}
	if _, err := c.ListServers(ctx); err != nil {
		t.Fatalf("after faults are used up: %v", err)
	}
	if _, err := c.ListFlavors(ctx); err != nil {
		t.Fatalf("fault leaked to another method: %v", err)
	}
	c.SetDown(true)
	if _, err := c.Info(ctx); !errors.Is(err, providers.ErrUnavailable) {
		t.Fatalf("down cloud: err = %v, want ErrUnavailable", err)
	}
	if got := c.Calls("ListServers"); got != 3 {
		t.Errorf("Calls(ListServers) = %d, want 3", got)
	}
}

func TestFailBootsAndStatuses(t *testing.T) {
	ctx := context.Background()
	c := sim.New(sim.Options{FailBoots: true, BootDelay: time.Hour}) // until FinishTransition
	s, err := c.CreateServer(ctx, providers.ServerSpec{Name: "x", FlavorID: "1", ImageID: "img-cirros"})
	if err != nil {
		t.Fatal(err)
	}
	if s.Status != providers.StatusPending || s.ProviderStatus != "BUILD" {
		t.Fatalf("new server = %v/%s, want PENDING/BUILD", s.Status, s.ProviderStatus)
	}
	if !c.FinishTransition(s.NativeID) {
		t.Fatal("the boot was not in flight")
	}
	s, err = c.GetServer(ctx, s.NativeID)
	if err != nil || s.Status != providers.StatusError || s.StatusMessage == "" {
		t.Fatalf("failed boot = %+v, %v; want ERROR with a message", s, err)
	}
}

func TestParseOptions(t *testing.T) {
	o, err := sim.ParseOptions(map[string]any{"boot_delay": "2s", "seed": 3, "zones": []any{"a", "b"}, "servers": 5})
	if err != nil {
		t.Fatal(err)
	}
	if o.BootDelay != 2*time.Second || o.Seed != 3 || len(o.Zones) != 2 || o.Servers != 5 {
		t.Errorf("ParseOptions = %+v", o)
	}
	for _, bad := range []map[string]any{{"boot_delay": 5}, {"boot_delay": "soon"}, {"nope": true}, {"seed": "x"}} {
		if _, err := sim.ParseOptions(bad); err == nil {
			t.Errorf("ParseOptions(%v): no error", bad)
		}
	}
}

func TestPersistSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	path := t.TempDir() + "/sim-x.json"
	a := sim.New(sim.Options{Seed: 5, StatePath: path})
	s, err := a.CreateServer(ctx, providers.ServerSpec{Name: "keep", FlavorID: "1", ImageID: "img-cirros"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.CreateKeypair(ctx, "k", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"); err != nil {
		t.Fatal(err)
	}
	b := sim.New(sim.Options{Seed: 5, StatePath: path})
	got, err := b.GetServer(ctx, s.NativeID)
	if err != nil || got.Name != "keep" {
		t.Fatalf("after restart: %+v, %v", got, err)
	}
	if _, err := b.GetKeypair(ctx, "k"); err != nil {
		t.Fatalf("keypair after restart: %v", err)
	}
	s2, err := b.CreateServer(ctx, providers.ServerSpec{Name: "next", FlavorID: "1", ImageID: "img-cirros"})
	if err != nil || s2.NativeID == s.NativeID {
		t.Fatalf("id reused after restart: %s", s2.NativeID)
	}
}

// PendingUploads implements providertest.UploadInspector: the simulator's
// own count of uploads holding parts.
func (harness) PendingUploads(ctx context.Context, p providers.Provider, bucket, key string) ([]string, error) {
	return p.(*sim.Cloud).PendingUploads(bucket, key), nil
}
