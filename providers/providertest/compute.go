package providertest

import (
	"context"
	"testing"

	"github.com/canopy-cloud/canopy/providers"
)

// computeSection runs the parts every Compute must pass: flavors, images,
// keypairs and the server lifecycle and its errors.
func (s *suite) computeSection(t *testing.T) {
	t.Run("Flavors", s.testFlavors)
	t.Run("Images", s.testImages)
	t.Run("Keypairs", s.testKeypairs)
	t.Run("ServerLifecycle", s.testServerLifecycle)
	t.Run("ServerErrors", s.testServerErrors)
}

// RunComputeTests runs the Compute section alone (RunConformanceTests runs
// it with everything else): for a Compute built over another capability,
// such as a container cloud's servers view (emulate.ContainerServers),
// whose runtime's own sections run in the adapter's full suite. The
// harness's provider must implement providers.Compute.
func RunComputeTests(t *testing.T, h Harness) {
	ctx := context.Background()
	p := h.MakeProvider(ctx, t)
	t.Cleanup(func() { _ = p.Close() })
	fx := h.Fixture()
	fx.defaults()
	c, ok := p.(providers.Compute)
	if !ok {
		t.Fatalf("RunComputeTests: %T is not a providers.Compute", p)
	}
	s := &suite{p: p, c: c, fx: fx, h: h}
	t.Run("Info", s.testInfo)
	s.computeSection(t)
}
