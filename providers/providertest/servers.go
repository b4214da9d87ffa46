package providertest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/canopy-cloud/canopy/providers"
)

// waitFor polls GetServer until cond holds, the server errors, or the
// fixture's timeout passes.
func (s *suite) waitFor(t *testing.T, id, what string, cond func(providers.Server, error) bool) providers.Server {
	t.Helper()
	deadline := time.Now().Add(s.fx.WaitTimeout)
	for {
		srv, err := s.c.GetServer(context.Background(), id)
		if cond(srv, err) {
			return srv
		}
		if err == nil && srv.Status == providers.StatusError {
			t.Fatalf("server %s went to ERROR waiting for %s: %s", id, what, srv.StatusMessage)
		}
		if time.Now().After(deadline) {
			t.Fatalf("server %s: not %s after %s (last: status %v raw %q, err %v)", id, what, s.fx.WaitTimeout, srv.Status, srv.ProviderStatus, err)
		}
		time.Sleep(s.fx.Poll)
	}
}

func statusIs(want providers.Status) func(providers.Server, error) bool {
	return func(s providers.Server, err error) bool { return err == nil && s.Status == want }
}

func (s *suite) testServerLifecycle(t *testing.T) {
	ctx := context.Background()
	flavor, image := s.smallestFlavor(t), s.image(t)
	name := s.name(t, "srv")
	spec := providers.ServerSpec{
		Name: name, Zone: s.fx.Zone, FlavorID: flavor.NativeID, ImageID: image.NativeID,
		Networks: s.fx.Networks, Labels: map[string]string{"suite": "providertest", "run": name},
		IdempotencyToken: name, UserData: s.fx.ServerUserData,
	}
	created, err := s.c.CreateServer(ctx, spec)
	if err != nil {
		t.Fatalf("CreateServer: %v", err)
	}
	id := created.NativeID
	t.Cleanup(func() { _ = s.c.DeleteServer(context.Background(), id) })
	if id == "" || created.Name != name {
		t.Fatalf("CreateServer = %+v: want an id and name %s", created, name)
	}
	if created.Status != providers.StatusPending && created.Status != providers.StatusActive {
		t.Errorf("CreateServer status = %v (raw %q), want PENDING or ACTIVE", created.Status, created.ProviderStatus)
	}

	list, err := s.c.ListServers(ctx)
	if err != nil {
		t.Fatalf("ListServers: %v", err)
	}
	if !containsServer(list, id) {
		t.Errorf("ListServers right after create does not list %s", id)
	}

	srv := s.waitFor(t, id, "ACTIVE", statusIs(providers.StatusActive))
	if srv.FlavorID != flavor.NativeID {
		t.Errorf("server flavor = %q, want %q", srv.FlavorID, flavor.NativeID)
	}
	if srv.ImageID != image.NativeID {
		t.Errorf("server image = %q, want %q", srv.ImageID, image.NativeID)
	}
	if srv.Labels["suite"] != "providertest" || srv.Labels["run"] != name {
		t.Errorf("server labels = %v, want suite=providertest run=%s", srv.Labels, name)
	}
	if srv.Created.IsZero() {
		t.Errorf("server has no creation time")
	}
	if srv.ProviderStatus == "" {
		t.Errorf("server has no provider status")
	}

	if err := s.c.ServerAction(ctx, id, providers.ActionStop); err != nil {
		t.Fatalf("stop: %v", err)
	}
	s.waitFor(t, id, "STOPPED", statusIs(providers.StatusStopped))
	if err := s.c.ServerAction(ctx, id, providers.ActionStop); !errors.Is(err, providers.ErrConflict) {
		t.Errorf("stop a stopped server: err = %v, want ErrConflict", err)
	}
	if err := s.c.ServerAction(ctx, id, providers.ActionStart); err != nil {
		t.Fatalf("start: %v", err)
	}
	s.waitFor(t, id, "ACTIVE after start", statusIs(providers.StatusActive))
	if err := s.c.ServerAction(ctx, id, providers.ActionReboot); err != nil {
		t.Fatalf("reboot: %v", err)
	}
	s.waitFor(t, id, "ACTIVE after reboot", statusIs(providers.StatusActive))

	if err := s.c.DeleteServer(ctx, id); err != nil {
		t.Fatalf("DeleteServer: %v", err)
	}
	s.waitFor(t, id, "gone", func(_ providers.Server, err error) bool { return errors.Is(err, providers.ErrNotFound) })
	list, err = s.c.ListServers(ctx)
	if err != nil {
		t.Fatalf("ListServers: %v", err)
	}
	if containsServer(list, id) {
		t.Errorf("ListServers still lists deleted server %s", id)
	}
	if err := s.c.DeleteServer(ctx, id); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("DeleteServer twice: err = %v, want ErrNotFound", err)
	}
}

func (s *suite) testServerErrors(t *testing.T) {
	ctx := context.Background()
	flavor, image := s.smallestFlavor(t), s.image(t)
	missing := missingID(image.NativeID)
	if _, err := s.c.GetServer(ctx, missingID(flavor.NativeID+"-server")); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("GetServer(missing): err = %v, want ErrNotFound", err)
	}
	if err := s.c.ServerAction(ctx, "00000000-0000-4000-8000-000000000000", providers.ActionStart); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("start missing server: err = %v, want ErrNotFound", err)
	}
	spec := providers.ServerSpec{Name: s.name(t, "bad"), FlavorID: flavor.NativeID, ImageID: missing, Networks: s.fx.Networks}
	if srv, err := s.c.CreateServer(ctx, spec); err == nil {
		_ = s.c.DeleteServer(ctx, srv.NativeID)
		t.Errorf("CreateServer with missing image %q succeeded", missing)
	} else if !errors.Is(err, providers.ErrInvalid) && !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("CreateServer with missing image: err = %v, want ErrInvalid or ErrNotFound", err)
	}
}

func containsServer(list []providers.Server, id string) bool {
	for _, s := range list {
		if s.NativeID == id {
			return true
		}
	}
	return false
}
