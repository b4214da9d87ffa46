// Package emulatetest stacks canopy's emulation layer on a real adapter,
// as the router does, for adapters' tests: the conformance suite's Volumes
// section then checks the snapshots and backups canopy emulates on that
// cloud (copies of a volume's data kept in canopy's store), against the
// real engine.
package emulatetest

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/canopy-cloud/canopy/cache"
	"github.com/canopy-cloud/canopy/emulate"
	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/store/bolt"
)

// ContainerAdapter is what a container cloud's adapter is to the stack.
type ContainerAdapter interface {
	providers.Provider
	providers.Containers
	providers.VolumeMounter
}

// Counts are the creates the emulation (not the cloud) served.
type Counts struct {
	Snapshots, Backups, Restores atomic.Int64
}

// Check fails t unless the suite's Snapshots and Backups parts ran
// through the emulation.
func (c *Counts) Check(t *testing.T) {
	t.Helper()
	if c.Snapshots.Load() == 0 || c.Backups.Load() == 0 || c.Restores.Load() < 2 {
		t.Errorf("emulated creates: %d snapshots, %d backups, %d restores; want the Snapshots and Backups parts run through the emulation",
			c.Snapshots.Load(), c.Backups.Load(), c.Restores.Load())
	}
}

// ContainerStack is a container cloud whose block storage is the
// emulation layer's; containers, mounts, Info and Close stay the
// adapter's.
type ContainerStack struct {
	providers.Provider
	providers.Containers
	*emulate.Storage
	a      ContainerAdapter
	counts *Counts
}

// StackContainers builds the layer over a (its records in a bolt store
// under t's temp dir) as the router would, with no backup bucket.
func StackContainers(t *testing.T, a ContainerAdapter, counts *Counts) ContainerStack {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "canopy.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	drv := cache.NewStorage("emu", a, cache.NewLimiter("emu", 1e6, 1e6, nil), cache.Options{Poll: 50 * time.Millisecond})
	layer := emulate.New("emu", a, drv, emulate.Options{Records: st})
	return ContainerStack{Provider: a, Containers: a, Storage: layer.Storage(), a: a, counts: counts}
}

// Has implements providers.Limited: block storage as the layer says.
func (s ContainerStack) Has(capability string) bool {
	switch capability {
	case providers.CapVolumes, providers.CapSnapshots, providers.CapBackups, providers.CapVolumeData, providers.CapVolumeFromImage:
		return s.Storage.Has(capability)
	}
	return providers.Has(s.a, capability)
}

// AttachVolumeAt is the adapter's (the layer passes attaches through).
func (s ContainerStack) AttachVolumeAt(ctx context.Context, volumeID, serverID, target string, readOnly bool) error {
	return s.a.AttachVolumeAt(ctx, volumeID, serverID, target, readOnly)
}

func (s ContainerStack) CreateSnapshot(ctx context.Context, spec providers.SnapshotSpec) (providers.Snapshot, error) {
	x, err := s.Storage.CreateSnapshot(ctx, spec)
	if err == nil && x.Emulated {
		s.counts.Snapshots.Add(1)
	}
	return x, err
}

func (s ContainerStack) CreateBackup(ctx context.Context, spec providers.BackupSpec) (providers.Backup, error) {
	x, err := s.Storage.CreateBackup(ctx, spec)
	if err == nil && x.Emulated {
		s.counts.Backups.Add(1)
	}
	return x, err
}

func (s ContainerStack) RestoreBackup(ctx context.Context, id string, spec providers.VolumeSpec) (providers.Volume, error) {
	x, err := s.Storage.RestoreBackup(ctx, id, spec)
	if err == nil && emulate.IsEmulated(id) {
		s.counts.Restores.Add(1)
	}
	return x, err
}

func (s ContainerStack) CreateVolume(ctx context.Context, spec providers.VolumeSpec) (providers.Volume, error) {
	x, err := s.Storage.CreateVolume(ctx, spec)
	if err == nil && emulate.IsEmulated(spec.SnapshotID) {
		s.counts.Restores.Add(1)
	}
	return x, err
}
