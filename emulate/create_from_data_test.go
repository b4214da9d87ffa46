package emulate_test

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/canopy-cloud/canopy/cache"
	"github.com/canopy-cloud/canopy/emulate"
	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/providers/sim"
	"github.com/canopy-cloud/canopy/store/bolt"
)

// newOnly is a simulated cloud shaped like EBS for volume data: it reads
// a volume's bytes but writes bytes only into a new volume
// (providers.VolumeDataCreator, no VolumeData), and has no backups.
type newOnly struct {
	providers.Provider
	providers.Volumes
	sim   *sim.Cloud
	reads int // CreateVolumeFromData calls that read their stream
}

func (n *newOnly) ReadVolumeData(ctx context.Context, id string) (io.ReadCloser, error) {
	return n.sim.ReadVolumeData(ctx, id)
}

// CreateVolumeFromData: a volume the token made before is returned
// without reading r, else a new one with r's bytes in it.
func (n *newOnly) CreateVolumeFromData(ctx context.Context, spec providers.VolumeSpec, r io.Reader) (providers.Volume, error) {
	list, err := n.sim.ListVolumes(ctx)
	if err != nil {
		return providers.Volume{}, err
	}
	for _, v := range list {
		if spec.IdempotencyToken != "" && v.Properties[providers.PropToken] == spec.IdempotencyToken {
			return v, nil
		}
	}
	v, err := n.sim.CreateVolume(ctx, spec)
	if err != nil {
		return providers.Volume{}, err
	}
	n.reads++
	if err := n.sim.WriteVolumeData(ctx, v.NativeID, r); err != nil {
		return providers.Volume{}, err
	}
	return n.sim.GetVolume(ctx, v.NativeID)
}

// TestRestoreAsNewVolume: on a cloud that writes bytes only into new
// volumes, backups are emulated, and a restore makes the volume from the
// copy's bytes in one call; a replayed restore is the same volume and
// reads nothing.
func TestRestoreAsNewVolume(t *testing.T) {
	ctx := context.Background()
	c := sim.New(sim.Options{Seed: 5, VolumeOptions: sim.VolumeOptions{NoBackups: true}})
	t.Cleanup(func() { _ = c.Close() })
	p := &newOnly{Provider: c, Volumes: c, sim: c}
	if providers.Has(p, providers.CapVolumeData) || !providers.Has(p, providers.CapVolumeDataCreate) || providers.Has(p, providers.CapBackups) {
		t.Fatal("the test cloud is not shaped like EBS's volume data")
	}
	st, err := bolt.Open(filepath.Join(t.TempDir(), "canopy.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	drv := cache.NewStorage("ebs", p, cache.NewLimiter("ebs", 1e6, 1e6, nil), cache.Options{Poll: 5 * time.Millisecond})
	e := emulate.New("ebs", p, drv, emulate.Options{Records: st})
	if m, err := e.BackupMode(); err != nil || m != emulate.ModeEmulated {
		t.Fatalf("BackupMode = %q, %v; want emulated", m, err)
	}
	s := e.Storage()
	src, err := s.CreateVolume(ctx, providers.VolumeSpec{Name: "src", SizeGiB: 1, IdempotencyToken: "src"})
	if err != nil {
		t.Fatal(err)
	}
	want := bytes.Repeat([]byte("ebs-like "), 100000)
	if err := c.WriteVolumeData(ctx, src.NativeID, bytes.NewReader(want)); err != nil {
		t.Fatal(err)
	}
	bak, err := s.CreateBackup(ctx, providers.BackupSpec{Name: "b", VolumeID: src.NativeID, IdempotencyToken: "b"})
	if err != nil || !bak.Emulated {
		t.Fatalf("CreateBackup = %+v, %v; want an emulated backup", bak, err)
	}
	spec := providers.VolumeSpec{Name: "r", IdempotencyToken: "r"}
	v, err := s.RestoreBackup(ctx, bak.NativeID, spec)
	if err != nil {
		t.Fatalf("RestoreBackup: %v", err)
	}
	if v.BackupID != bak.NativeID || v.SizeGiB != 1 {
		t.Errorf("restored volume = %+v; want from %s, 1 GiB", v, bak.NativeID)
	}
	got, err := readAll(c.ReadVolumeData(ctx, v.NativeID))
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("restored volume holds %d bytes, %v; want the %d backed up", len(got), err, len(want))
	}
	again, err := s.RestoreBackup(ctx, bak.NativeID, spec)
	if err != nil || again.NativeID != v.NativeID {
		t.Errorf("replayed RestoreBackup = %s, %v; want %s", again.NativeID, err, v.NativeID)
	}
	if p.reads != 1 {
		t.Errorf("CreateVolumeFromData read its stream %d times; want once (the replay reads nothing)", p.reads)
	}
	if _, err := s.RestoreBackup(ctx, emulate.EmulatedID(providers.KindBackup, "missing"), providers.VolumeSpec{Name: "x", IdempotencyToken: "x"}); err == nil {
		t.Errorf("RestoreBackup of a missing emulated backup succeeded")
	}
}
