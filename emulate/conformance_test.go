package emulate_test

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/canopy-cloud/canopy/cache"
	"github.com/canopy-cloud/canopy/emulate"
	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/providers/providertest"
	"github.com/canopy-cloud/canopy/providers/sim"
	"github.com/canopy-cloud/canopy/store/bolt"
)

// The conformance suite's Volumes section runs against the emulation
// layer stacked on a simulator whose snapshots, backups and
// volume-from-image are switched off: the suite that checks every adapter
// checks the emulation too.

// stacked is a simulated cloud whose block storage is the emulation
// layer's (emulate.Storage); compute, Info and Close stay the sim's.
type stacked struct {
	simCompute
	*emulate.Storage
	sim *sim.Cloud
	// emulated counts the creates the emulation served (not the sim), so
	// the test can tell the suite really exercised it.
	snaps, backups, restores *atomic.Int64
}

type simCompute interface {
	providers.Provider
	providers.Compute
}

// Has implements providers.Limited: block storage as the layer says,
// everything else as the sim says.
func (s stacked) Has(capability string) bool {
	switch capability {
	case providers.CapVolumes, providers.CapSnapshots, providers.CapBackups, providers.CapVolumeData, providers.CapVolumeFromImage:
		return s.Storage.Has(capability)
	}
	return providers.Has(s.sim, capability)
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

type harness struct {
	opts                     sim.VolumeOptions
	snaps, backups, restores atomic.Int64
}

func (h *harness) MakeProvider(ctx context.Context, t *testing.T) providers.Provider {
	c := sim.New(sim.Options{Seed: 7, VolumeOptions: h.opts})
	st, err := bolt.Open(filepath.Join(t.TempDir(), "canopy.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	drv := cache.NewStorage("emu", c, cache.NewLimiter("emu", 1e6, 1e6, nil), cache.Options{Poll: 5 * time.Millisecond})
	layer := emulate.New("emu", c, drv, emulate.Options{Records: st})
	return stacked{simCompute: c, Storage: layer.Storage(), sim: c, snaps: &h.snaps, backups: &h.backups, restores: &h.restores}
}

func (h *harness) Fixture() providertest.Fixture {
	return providertest.Fixture{WaitTimeout: 5 * time.Second, Poll: 5 * time.Millisecond}
}

func TestConformanceEmulated(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts sim.VolumeOptions
	}{
		{"no snapshots, backups, volume-from-image", sim.VolumeOptions{NoSnapshots: true, NoBackups: true, NoVolumeFromImage: true}},
		{"the same, slow", sim.VolumeOptions{NoSnapshots: true, NoBackups: true, NoVolumeFromImage: true,
			VolumeDelay: 20 * time.Millisecond, SnapshotDelay: 20 * time.Millisecond}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &harness{opts: tc.opts}
			bare := sim.New(sim.Options{VolumeOptions: tc.opts})
			for _, c := range []string{providers.CapSnapshots, providers.CapBackups} {
				if providers.Has(bare, c) {
					t.Fatalf("the sim under the layer has %s: the test would not exercise the emulation", c)
				}
			}
			providertest.RunVolumeTests(t, h)
			// The suite runs Snapshots and Backups only when Has says so;
			// count that the emulation, not the sim, answered them.
			if h.snaps.Load() == 0 || h.backups.Load() == 0 || h.restores.Load() < 2 {
				t.Errorf("emulated creates: %d snapshots, %d backups, %d restores; want each section run through the emulation",
					h.snaps.Load(), h.backups.Load(), h.restores.Load())
			}
		})
	}
}
