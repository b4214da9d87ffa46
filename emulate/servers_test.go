package emulate_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/canopy-cloud/canopy/emulate"
	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/providers/sim"
)

// The servers view over the simulator's container host (the same code runs
// over Docker and containerd in cmd/canopyd's end-to-end test).
func TestContainerServers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := sim.New(sim.Options{Seed: 3})
	defer c.Close()
	flavors := []providers.Flavor{{Common: providers.Common{NativeID: "ct.small", Name: "ct.small"}, VCPUs: 1, RAMMiB: 512}}
	s := emulate.NewContainerServers(c, c, flavors, "r1", 100*time.Millisecond)

	imgs, err := s.ListImages(ctx)
	if err != nil || len(imgs) == 0 {
		t.Fatalf("ListImages = %v, %v", imgs, err)
	}
	if _, err := s.GetImage(ctx, sim.DefaultContainerImage); err != nil {
		t.Errorf("GetImage(%s): %v", sim.DefaultContainerImage, err)
	}
	if _, err := s.GetImage(ctx, "no/such:image"); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("GetImage(missing) = %v, want ErrNotFound", err)
	}

	sv, err := s.CreateServer(ctx, providers.ServerSpec{Name: "web1", FlavorID: "ct.small", ImageID: sim.DefaultContainerImage,
		UserData: []byte("httpd -f -p 8080 -h /www"), IdempotencyToken: "tok-1", Labels: map[string]string{"app": "web"}})
	if err != nil {
		t.Fatal(err)
	}
	if sv.Status != providers.StatusActive || sv.FlavorID != "ct.small" || sv.ImageID != sim.DefaultContainerImage ||
		sv.Properties[emulate.PropKind] != "container" || sv.Properties[providers.PropToken] != "tok-1" || sv.Labels["app"] != "web" {
		t.Fatalf("created server = %+v", sv)
	}
	// A replay of the same create finds the same container, running once.
	again, err := s.CreateServer(ctx, providers.ServerSpec{Name: "web1", FlavorID: "ct.small", ImageID: sim.DefaultContainerImage,
		UserData: []byte("httpd -f -p 8080 -h /www"), IdempotencyToken: "tok-1", Replay: true})
	if err != nil || again.NativeID != sv.NativeID {
		t.Fatalf("replayed create = %s, %v; want %s", again.NativeID, err, sv.NativeID)
	}
	list, err := s.ListServers(ctx)
	if err != nil || len(list) != 1 {
		t.Fatalf("ListServers = %d servers, %v; want 1", len(list), err)
	}
	for _, step := range []struct {
		action providers.Action
		want   providers.Status
	}{{providers.ActionStop, providers.StatusStopped}, {providers.ActionStart, providers.StatusActive}, {providers.ActionHardReboot, providers.StatusActive}} {
		if err := s.ServerAction(ctx, sv.NativeID, step.action); err != nil {
			t.Fatalf("%s: %v", step.action, err)
		}
		got, err := s.GetServer(ctx, sv.NativeID)
		if err != nil || got.Status != step.want {
			t.Fatalf("after %s: %v, %v; want %v", step.action, got.Status, err, step.want)
		}
	}
	// Stopping a stopped server is the runtime's conflict, as for a VM.
	if err := s.ServerAction(ctx, sv.NativeID, providers.ActionStop); err != nil {
		t.Fatal(err)
	}
	if err := s.ServerAction(ctx, sv.NativeID, providers.ActionStop); !errors.Is(err, providers.ErrConflict) {
		t.Errorf("stop of a stopped server: %v, want ErrConflict", err)
	}
	if err := s.DeleteServer(ctx, sv.NativeID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetServer(ctx, sv.NativeID); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("GetServer after delete: %v, want ErrNotFound", err)
	}

	for _, tc := range []struct {
		name string
		spec providers.ServerSpec
	}{
		{"keypair", providers.ServerSpec{Name: "x1", FlavorID: "ct.small", ImageID: sim.DefaultContainerImage, Keypair: "k"}},
		{"networks", providers.ServerSpec{Name: "x2", FlavorID: "ct.small", ImageID: sim.DefaultContainerImage, Networks: []string{"n"}}},
		{"boot_volume", providers.ServerSpec{Name: "x3", FlavorID: "ct.small", ImageID: sim.DefaultContainerImage, BootVolumeID: "v"}},
		{"flavor", providers.ServerSpec{Name: "x4", FlavorID: "huge", ImageID: sim.DefaultContainerImage}},
		{"image", providers.ServerSpec{Name: "x5", FlavorID: "ct.small", ImageID: "no/such:image"}},
	} {
		if _, err := s.CreateServer(ctx, tc.spec); !errors.Is(err, providers.ErrInvalid) {
			t.Errorf("create with a bad %s: %v, want ErrInvalid", tc.name, err)
		}
	}
	// A server whose command cannot start is not left behind.
	if list, _ := s.ListServers(ctx); len(list) != 0 {
		t.Errorf("failed creates left %d servers", len(list))
	}
	if kps, err := s.ListKeypairs(ctx); err != nil || len(kps) != 0 {
		t.Errorf("ListKeypairs = %v, %v; want none", kps, err)
	}
	if _, err := s.CreateKeypair(ctx, "k", "ssh-ed25519 AAAA"); !errors.Is(err, providers.ErrUnsupported) {
		t.Errorf("CreateKeypair: %v, want ErrUnsupported", err)
	}
}
