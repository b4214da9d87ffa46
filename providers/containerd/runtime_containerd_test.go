//go:build containerd

package containerd_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/canopy-cloud/canopy/providers"
)

// TestRuntimeOnlyRunc: the adapter runs containers under its runc shim;
// asking for runc is fine, any other runtime is refused naming it, not
// quietly run under runc.
func TestRuntimeOnlyRunc(t *testing.T) {
	ctx := context.Background()
	a := open(ctx, t)
	_, err := a.CreateContainer(ctx, providers.ContainerSpec{Name: "rt-kata", Image: "canopy-test/busybox:latest", Command: []string{"true"}, Runtime: "kata"})
	if !errors.Is(err, providers.ErrUnsupported) || !strings.Contains(err.Error(), `"kata"`) {
		t.Errorf("runtime kata: %v, want ErrUnsupported naming it", err)
	}
	c, err := a.CreateContainer(ctx, providers.ContainerSpec{Name: "rt-runc", Image: "canopy-test/busybox:latest", Command: []string{"true"}, Runtime: "runc"})
	if err != nil {
		t.Fatalf("runtime runc: %v", err)
	}
	if err := a.DeleteContainer(ctx, c.NativeID, true); err != nil {
		t.Errorf("delete: %v", err)
	}
}
