//go:build containerd

package containerd_test

import (
	"context"
	"testing"

	"github.com/canopy-cloud/canopy/emulate/emulatetest"
	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/providers/providertest"
)

// The Volumes section again, through canopy's emulation layer stacked on
// the adapter as the router stacks it: snapshots and backups of
// containerd volumes are copies of their data (a tar of their files) kept
// in canopy's store, restored into new volumes.

type emulatedHarness struct {
	volumeHarness
	counts emulatetest.Counts
}

func (h *emulatedHarness) MakeProvider(ctx context.Context, t *testing.T) providers.Provider {
	return emulatetest.StackContainers(t, open(ctx, t), &h.counts)
}

func TestVolumeConformanceEmulated(t *testing.T) {
	address(t)
	h := &emulatedHarness{}
	providertest.RunVolumeTests(t, h)
	h.counts.Check(t)
}
