//go:build docker

package docker_test

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/canopy-cloud/canopy/cache"
	"github.com/canopy-cloud/canopy/emulate"
	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/providers/docker"
	"github.com/canopy-cloud/canopy/providers/providertest"
	"github.com/canopy-cloud/canopy/store/bolt"
)

// The Volumes section again, through canopy's emulation layer stacked on
// the Docker adapter as the router stacks it: snapshots and backups of
// Docker volumes are copies of their data (a tar of their files) kept in
// canopy's store, restored into new volumes. The suite that checks every
// cloud's snapshots and backups checks these.

// stacked is the Docker cloud whose block storage is the emulation
// layer's; containers, Info and Close stay the adapter's.
type stacked struct {
	providers.Provider
	providers.Containers
	*emulate.Storage
	d *docker.Cloud
	// snaps, backups and restores count what the emulation served.
	snaps, backups, restores *atomic.Int64
}

// Has implements providers.Limited: block storage as the layer says.
func (s stacked) Has(capability string) bool {
	switch capability {
	case providers.CapVolumes, providers.CapSnapshots, providers.CapBackups, providers.CapVolumeData, providers.CapVolumeFromImage:
		return s.Storage.Has(capability)
	}
	return providers.Has(s.d, capability)
}

// AttachVolumeAt is the adapter's (the layer passes attaches through).
func (s stacked) AttachVolumeAt(ctx context.Context, volumeID, serverID, target string, readOnly bool) error {
	return s.d.AttachVolumeAt(ctx, volumeID, serverID, target, readOnly)
}

func (s stacked) CreateSnapshot(ctx context.Context, spec providers.SnapshotSpec) (providers.Snapshot, error) {
	x, err := s.Storage.CreateSnapshot(ctx, spec)
	if err == nil && x.Emulated {
		s.snaps.Add(1)
	}
	return x, err
}

func (s stacked) CreateBackup(ctx context.Context, spec providers.BackupSpec) (providers.Backup, error) {
	x, err := s.Storage.CreateBackup(ctx, spec)
	if err == nil && x.Emulated {
		s.backups.Add(1)
	}
	return x, err
}

func (s stacked) RestoreBackup(ctx context.Context, id string, spec providers.VolumeSpec) (providers.Volume, error) {
	x, err := s.Storage.RestoreBackup(ctx, id, spec)
	if err == nil && emulate.IsEmulated(id) {
		s.restores.Add(1)
	}
	return x, err
}

func (s stacked) CreateVolume(ctx context.Context, spec providers.VolumeSpec) (providers.Volume, error) {
	x, err := s.Storage.CreateVolume(ctx, spec)
	if err == nil && emulate.IsEmulated(spec.SnapshotID) {
		s.restores.Add(1)
	}
	return x, err
}

type emulatedHarness struct {
	volumeHarness
	snaps, backups, restores atomic.Int64
}

func (h *emulatedHarness) MakeProvider(ctx context.Context, t *testing.T) providers.Provider {
	p := h.volumeHarness.MakeProvider(ctx, t)
	d := p.(*docker.Cloud)
	st, err := bolt.Open(filepath.Join(t.TempDir(), "canopy.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	drv := cache.NewStorage("docker-emu", d, cache.NewLimiter("docker-emu", 1e6, 1e6, nil), cache.Options{Poll: 50 * time.Millisecond})
	layer := emulate.New("docker-emu", d, drv, emulate.Options{Records: st})
	return stacked{Provider: d, Containers: d, Storage: layer.Storage(), d: d, snaps: &h.snaps, backups: &h.backups, restores: &h.restores}
}

func TestVolumeConformanceEmulated(t *testing.T) {
	h := &emulatedHarness{volumeHarness: volumeHarness{harness{host: dockerHost(t)}}}
	providertest.RunVolumeTests(t, h)
	if h.snaps.Load() == 0 || h.backups.Load() == 0 || h.restores.Load() < 2 {
		t.Errorf("emulated creates: %d snapshots, %d backups, %d restores; want the Snapshots and Backups parts run through the emulation",
			h.snaps.Load(), h.backups.Load(), h.restores.Load())
	}
}
