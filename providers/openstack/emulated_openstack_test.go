//go:build openstack

package openstack_test

import (
	"context"
	"io"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/canopy-cloud/canopy/cache"
	"github.com/canopy-cloud/canopy/emulate"
	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/providers/openstack"
	"github.com/canopy-cloud/canopy/providers/providertest"
	"github.com/canopy-cloud/canopy/store/bolt"
)

// The Volumes section against canopy's emulation of backups on a lab cloud
// configured without a backup service (volume_backups: false): each
// backup's bytes leave the volume through Glance (VolumeData) into a Swift
// container of the lab (the cloud's backup_bucket), and a restore writes
// them back into a new volume through Glance and os-reimage. The suite's
// Backups part checks the restored bytes.

// emulatedOS is the lab adapter with its block storage served by the
// emulation layer (emulate.Storage); the rest is the adapter's.
type emulatedOS struct {
	*openstack.Cloud
	*emulate.Storage
	backups *atomic.Int64
}

// Block storage is the layer's: these resolve the ambiguity of both
// embedding the same methods.
func (e emulatedOS) ListVolumes(ctx context.Context) ([]providers.Volume, error) {
	return e.Storage.ListVolumes(ctx)
}
func (e emulatedOS) GetVolume(ctx context.Context, id string) (providers.Volume, error) {
	return e.Storage.GetVolume(ctx, id)
}
func (e emulatedOS) CreateVolume(ctx context.Context, spec providers.VolumeSpec) (providers.Volume, error) {
	return e.Storage.CreateVolume(ctx, spec)
}
func (e emulatedOS) DeleteVolume(ctx context.Context, id string) error {
	return e.Storage.DeleteVolume(ctx, id)
}
func (e emulatedOS) ExtendVolume(ctx context.Context, id string, size int64) error {
	return e.Storage.ExtendVolume(ctx, id, size)
}
func (e emulatedOS) AttachVolume(ctx context.Context, v, s string) error {
	return e.Storage.AttachVolume(ctx, v, s)
}
func (e emulatedOS) DetachVolume(ctx context.Context, v, s string) error {
	return e.Storage.DetachVolume(ctx, v, s)
}
func (e emulatedOS) ListSnapshots(ctx context.Context) ([]providers.Snapshot, error) {
	return e.Storage.ListSnapshots(ctx)
}
func (e emulatedOS) GetSnapshot(ctx context.Context, id string) (providers.Snapshot, error) {
	return e.Storage.GetSnapshot(ctx, id)
}
func (e emulatedOS) CreateSnapshot(ctx context.Context, spec providers.SnapshotSpec) (providers.Snapshot, error) {
	return e.Storage.CreateSnapshot(ctx, spec)
}
func (e emulatedOS) DeleteSnapshot(ctx context.Context, id string) error {
	return e.Storage.DeleteSnapshot(ctx, id)
}
func (e emulatedOS) ListBackups(ctx context.Context) ([]providers.Backup, error) {
	return e.Storage.ListBackups(ctx)
}
func (e emulatedOS) GetBackup(ctx context.Context, id string) (providers.Backup, error) {
	return e.Storage.GetBackup(ctx, id)
}
func (e emulatedOS) CreateBackup(ctx context.Context, spec providers.BackupSpec) (providers.Backup, error) {
	b, err := e.Storage.CreateBackup(ctx, spec)
	if err == nil && b.Emulated {
		e.backups.Add(1)
	}
	return b, err
}
func (e emulatedOS) DeleteBackup(ctx context.Context, id string) error {
	return e.Storage.DeleteBackup(ctx, id)
}
func (e emulatedOS) RestoreBackup(ctx context.Context, id string, spec providers.VolumeSpec) (providers.Volume, error) {
	return e.Storage.RestoreBackup(ctx, id, spec)
}
func (e emulatedOS) ReadVolumeData(ctx context.Context, id string) (io.ReadCloser, error) {
	return e.Storage.ReadVolumeData(ctx, id)
}
func (e emulatedOS) WriteVolumeData(ctx context.Context, id string, r io.Reader) error {
	return e.Storage.WriteVolumeData(ctx, id, r)
}

// Has implements providers.Limited: block storage as the layer says, the
// rest as the adapter says.
func (e emulatedOS) Has(capability string) bool {
	switch capability {
	case providers.CapVolumes, providers.CapSnapshots, providers.CapBackups, providers.CapVolumeData, providers.CapVolumeFromImage:
		return e.Storage.Has(capability)
	}
	return e.Cloud.Has(capability)
}

type emulatedHarness struct {
	harness
	bucket  string
	backups atomic.Int64
}

func (h *emulatedHarness) MakeProvider(ctx context.Context, t *testing.T) providers.Provider {
	c := h.harness.MakeProvider(ctx, t).(*openstack.Cloud)
	if providers.Has(c, providers.CapBackups) {
		t.Fatal("the lab cloud opened with volume_backups: false still has backups: the test would not exercise the emulation")
	}
	st, err := bolt.Open(filepath.Join(t.TempDir(), "canopy.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if _, err := c.CreateBucket(ctx, h.bucket, "", nil); err != nil {
		t.Fatalf("create the backup bucket %s: %v", h.bucket, err)
	}
	lim := cache.NewLimiter("os-emu", 50, 50, nil)
	objs := cache.NewObjects("os-emu", c, lim, nil)
	drv := cache.NewStorage("os-emu", c, lim, cache.Options{Poll: time.Second})
	layer := emulate.New("os-emu", c, drv, emulate.Options{Records: st, Bucket: emulate.NewBucket("os-emu", h.bucket, objs)})
	return emulatedOS{Cloud: c, Storage: layer.Storage(), backups: &h.backups}
}

func TestEmulatedBackupsOpenStack(t *testing.T) {
	path, cloud := labCloud(t)
	h := &emulatedHarness{harness: harness{path: path, cloud: cloud, opts: map[string]any{"volume_backups": false}},
		bucket: "canopy-emu-backups-" + time.Now().UTC().Format("150405.000000")}
	providertest.RunVolumeTests(t, h)
	if h.backups.Load() == 0 {
		t.Errorf("no backup was emulated: the suite did not exercise the emulation")
	}
	// Every emulated copy's object went with its backup: the bucket is
	// empty again and can go.
	c, err := providers.Open(context.Background(), openstack.Kind, providers.Config{Name: "os-test", Options: map[string]any{"clouds_yaml": path, "cloud": cloud}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.(providers.Objects).DeleteBucket(context.Background(), h.bucket); err != nil {
		t.Errorf("delete the backup bucket %s (an emulated copy left behind?): %v", h.bucket, err)
	}
}
