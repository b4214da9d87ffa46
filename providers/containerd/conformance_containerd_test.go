//go:build containerd

package containerd_test

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/containerd/containerd/errdefs"
	"github.com/containerd/containerd/images"

	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/providers/containerd"
	"github.com/canopy-cloud/canopy/providers/providertest"
)

// These tests run against a real containerd (test/containerd/test.sh
// starts one and sets CANOPY_CONTAINERD_ADDRESS).

// address returns the containerd socket under test, or skips.
func address(t *testing.T) string {
	t.Helper()
	addr := os.Getenv("CANOPY_CONTAINERD_ADDRESS")
	if addr == "" {
		t.Skip("CANOPY_CONTAINERD_ADDRESS is not set: run test/containerd/test.sh (a real containerd on loopback)")
	}
	return addr
}

// open makes an adapter over the test containerd with a data dir of its
// own (removed afterwards, best effort: a logger may still be writing).
func open(ctx context.Context, t *testing.T) *containerd.Adapter {
	t.Helper()
	addr := address(t)
	dir, err := os.MkdirTemp("", "canopy-containerd-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	opts, err := containerd.ParseOptions(map[string]any{"address": addr, "data_dir": dir}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, err := containerd.New(ctx, "containerd-test", opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return a
}

type harness struct{}

func (harness) MakeProvider(ctx context.Context, t *testing.T) providers.Provider {
	return open(ctx, t)
}

func (harness) Fixture() providertest.Fixture {
	return providertest.Fixture{ContainerImage: "canopy-test/busybox:latest", Prefix: "ptest-ctrd"}
}

// DeleteImage removes a committed image from the namespace.
func (harness) DeleteImage(ctx context.Context, p providers.Provider, id string) error {
	a := p.(*containerd.Adapter)
	err := a.Client().ImageService().Delete(a.Namespaced(ctx), id, images.SynchronousDelete())
	if errdefs.IsNotFound(err) {
		return nil
	}
	return err
}

func TestConformance(t *testing.T) {
	address(t)
	providertest.RunConformanceTests(t, harness{})
}

func TestInfoUnreachable(t *testing.T) {
	address(t)
	opts, err := containerd.ParseOptions(map[string]any{"address": "/nonexistent/containerd.sock", "data_dir": t.TempDir(), "timeout": "1s"}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = containerd.New(context.Background(), "x", opts)
	if !errors.Is(err, providers.ErrUnavailable) {
		t.Fatalf("New(unreachable) = %v, want ErrUnavailable", err)
	}
}

// volumeHarness is the harness with the Volumes section's fact of
// containerd's volumes: their data is a tar of their files.
type volumeHarness struct{ harness }

func (volumeHarness) Fixture() providertest.Fixture {
	fx := harness{}.Fixture()
	fx.VolumeDataTar = true
	return fx
}

// TestVolumeConformance runs the Volumes section (RunConformanceTests
// runs it only for clouds with Compute): lifecycle, errors, attach as a
// mount on a stopped container, and the data as a tar.
func TestVolumeConformance(t *testing.T) {
	address(t)
	providertest.RunVolumeTests(t, volumeHarness{})
}
