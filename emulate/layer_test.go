package emulate_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/canopy-cloud/canopy/cache"
	"github.com/canopy-cloud/canopy/emulate"
	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/providers/sim"
	"github.com/canopy-cloud/canopy/store"
	"github.com/canopy-cloud/canopy/store/bolt"
)

// newLayer builds the emulation layer of a simulated cloud with opts, as
// router.Open does (over the cached driver), with its records in a bolt
// store of its own.
func newLayer(t *testing.T, opts sim.VolumeOptions) (*emulate.Layer, *sim.Cloud, store.Store) {
	t.Helper()
	c := sim.New(sim.Options{Seed: 11, VolumeOptions: opts})
	t.Cleanup(func() { _ = c.Close() })
	st, err := bolt.Open(filepath.Join(t.TempDir(), "canopy.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	var drv *cache.Storage
	if providers.Has(c, providers.CapVolumes) {
		drv = cache.NewStorage("emu", c, cache.NewLimiter("emu", 1e6, 1e6, nil), cache.Options{Poll: 5 * time.Millisecond})
	}
	return emulate.New("emu", c, drv, emulate.Options{Records: st}), c, st
}

// TestCapabilityChoice: the mode each write takes follows the cloud's
// capabilities; what cannot be emulated is a CapabilityError naming the
// cloud and the capability, which wraps ErrUnsupported.
func TestCapabilityChoice(t *testing.T) {
	const fail = "fail"
	for _, tc := range []struct {
		name                     string
		opts                     sim.VolumeOptions
		snapshot, backup, fromIm string // a Mode*, or fail
		restore                  bool   // an emulated copy can be written back
		caps                     []string
	}{
		{"everything native", sim.VolumeOptions{}, emulate.ModeNative, emulate.ModeNative, emulate.ModeNative, true,
			[]string{"volumes", "snapshots", "backups", "volume-from-image"}},
		{"no snapshots", sim.VolumeOptions{NoSnapshots: true}, emulate.ModeEmulated, emulate.ModeNative, emulate.ModeNative, true,
			[]string{"volumes", "snapshots", "backups", "volume-from-image"}},
		{"no backups", sim.VolumeOptions{NoBackups: true}, emulate.ModeNative, emulate.ModeEmulated, emulate.ModeNative, true,
			[]string{"volumes", "snapshots", "backups", "volume-from-image"}},
		{"no volume from image: deferred (the sim has compute)", sim.VolumeOptions{NoVolumeFromImage: true}, emulate.ModeNative, emulate.ModeNative, emulate.ModeDeferred, true,
			[]string{"volumes", "snapshots", "backups", "volume-from-image"}},
		{"EBS-like: no backups, no volume data", sim.VolumeOptions{NoBackups: true, NoVolumeFromImage: true, NoVolumeData: true},
			emulate.ModeNative, fail, emulate.ModeDeferred, false, []string{"volumes", "snapshots", "volume-from-image"}},
		{"nothing to copy with", sim.VolumeOptions{NoSnapshots: true, NoBackups: true, NoVolumeData: true}, fail, fail, emulate.ModeNative, false,
			[]string{"volumes", "volume-from-image"}},
		{"no volumes at all", sim.VolumeOptions{NoVolumes: true}, fail, fail, fail, false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, _, _ := newLayer(t, tc.opts)
			check := func(what, capability, want string, got string, err error) {
				t.Helper()
				if want != fail {
					if err != nil || got != want {
						t.Errorf("%s = %q, %v; want %q", what, got, err, want)
					}
					return
				}
				var ce *emulate.CapabilityError
				if !errors.As(err, &ce) || !errors.Is(err, providers.ErrUnsupported) {
					t.Fatalf("%s: err = %v (mode %q); want a CapabilityError wrapping ErrUnsupported", what, err, got)
				}
				if ce.Cloud != "emu" || ce.Capability != capability {
					t.Errorf("%s: %+v; want cloud emu, capability %s", what, ce, capability)
				}
			}
			volumesCap := func(c string) string {
				if tc.opts.NoVolumes {
					return providers.CapVolumes // what is missing first
				}
				return c
			}
			m, err := e.SnapshotMode()
			check("SnapshotMode", volumesCap(providers.CapSnapshots), tc.snapshot, m, err)
			m, err = e.BackupMode()
			check("BackupMode", volumesCap(providers.CapBackups), tc.backup, m, err)
			m, err = e.FromImageMode()
			check("FromImageMode", volumesCap(providers.CapVolumeFromImage), tc.fromIm, m, err)
			if err := e.RestoreMode(providers.CapSnapshots); (err == nil) != tc.restore {
				t.Errorf("RestoreMode = %v, want ok=%v", err, tc.restore)
			}
			got := e.Capabilities()
			if !slices.Equal(got, tc.caps) {
				t.Errorf("Capabilities = %v, want %v", got, tc.caps)
			}
			if st := e.Storage(); (st == nil) != tc.opts.NoVolumes {
				t.Errorf("Storage() = %v with no_volumes=%v", st, tc.opts.NoVolumes)
			}
		})
	}
}

// TestEmulatedCopyRoundTrip: the bytes of a volume come back in the volume
// made from its emulated snapshot or backup, and the copies are listed,
// marked Emulated and carry the token they were made for.
func TestEmulatedCopyRoundTrip(t *testing.T) {
	ctx := context.Background()
	e, c, _ := newLayer(t, sim.VolumeOptions{NoSnapshots: true, NoBackups: true, VolumeDelay: 10 * time.Millisecond})
	s := e.Storage()
	ready := func(id string) providers.Volume {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			v, err := s.GetVolume(ctx, id)
			if err == nil && v.Status == providers.StatusActive {
				return v
			}
			if time.Now().After(deadline) {
				t.Fatalf("volume %s not ready: %+v, %v", id, v, err)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	src, err := s.CreateVolume(ctx, providers.VolumeSpec{Name: "src", SizeGiB: 1, IdempotencyToken: "tok-src"})
	if err != nil {
		t.Fatal(err)
	}
	ready(src.NativeID)
	want := []byte("the volume's bytes")
	if err := c.WriteVolumeData(ctx, src.NativeID, bytes.NewReader(want)); err != nil {
		t.Fatal(err)
	}
	snap, err := s.CreateSnapshot(ctx, providers.SnapshotSpec{Name: "s1", VolumeID: src.NativeID, IdempotencyToken: "tok-snap"})
	if err != nil {
		t.Fatal(err)
	}
	if !snap.Emulated || snap.NativeID != emulate.EmulatedID(providers.KindSnapshot, "tok-snap") || snap.Properties[providers.PropToken] != "tok-snap" {
		t.Errorf("snapshot = %+v: want emulated, named by its token, telling the token", snap)
	}
	bak, err := s.CreateBackup(ctx, providers.BackupSpec{Name: "b1", VolumeID: src.NativeID, IdempotencyToken: "tok-bak"})
	if err != nil {
		t.Fatal(err)
	}
	// A later change of the source does not change the copies.
	if err := c.WriteVolumeData(ctx, src.NativeID, bytes.NewReader([]byte("changed"))); err != nil {
		t.Fatal(err)
	}
	fromSnap, err := s.CreateVolume(ctx, providers.VolumeSpec{Name: "r1", SnapshotID: snap.NativeID, IdempotencyToken: "tok-r1"})
	if err != nil {
		t.Fatal(err)
	}
	if fromSnap.Status == providers.StatusActive {
		t.Errorf("volume from an emulated snapshot is ACTIVE before its bytes are in")
	}
	fromBak, err := s.RestoreBackup(ctx, bak.NativeID, providers.VolumeSpec{Name: "r2", IdempotencyToken: "tok-r2"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		id   string
		from func(providers.Volume) string
		src  string
	}{
		{fromSnap.NativeID, func(v providers.Volume) string { return v.SnapshotID }, snap.NativeID},
		{fromBak.NativeID, func(v providers.Volume) string { return v.BackupID }, bak.NativeID},
	} {
		v := ready(tc.id)
		if tc.from(v) != tc.src || v.SizeGiB != 1 {
			t.Errorf("volume %s = %+v: want made from %s, 1 GiB", tc.id, v, tc.src)
		}
		got, err := readAll(c.ReadVolumeData(ctx, tc.id))
		if err != nil || string(got) != string(want) {
			t.Errorf("volume %s holds %q, %v; want %q", tc.id, got, err, want)
		}
	}
	// A replayed restore is the same volume and does not write the copy
	// over what was written since.
	if err := c.WriteVolumeData(ctx, fromSnap.NativeID, bytes.NewReader([]byte("written since"))); err != nil {
		t.Fatal(err)
	}
	replayed, err := s.CreateVolume(ctx, providers.VolumeSpec{Name: "r1", SnapshotID: snap.NativeID, IdempotencyToken: "tok-r1", Replay: true})
	if err != nil || replayed.NativeID != fromSnap.NativeID {
		t.Errorf("CreateVolume replayed = %s, %v; want %s", replayed.NativeID, err, fromSnap.NativeID)
	}
	ready(fromSnap.NativeID)
	if got, err := readAll(c.ReadVolumeData(ctx, fromSnap.NativeID)); err != nil || string(got) != "written since" {
		t.Errorf("after a replayed restore the volume holds %q, %v; want what was written since", got, err)
	}
	list, err := s.ListVolumes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range list {
		if v.NativeID == fromSnap.NativeID && v.SnapshotID != snap.NativeID {
			t.Errorf("ListVolumes: %s does not tell its snapshot", v.NativeID)
		}
	}
	// The same token is the same resource.
	again, err := s.CreateSnapshot(ctx, providers.SnapshotSpec{Name: "s1", VolumeID: src.NativeID, IdempotencyToken: "tok-snap"})
	if err != nil || again.NativeID != snap.NativeID {
		t.Errorf("CreateSnapshot with the same token = %s, %v; want %s", again.NativeID, err, snap.NativeID)
	}
	if _, err := s.CreateSnapshot(ctx, providers.SnapshotSpec{Name: "s2", VolumeID: src.NativeID}); !errors.Is(err, providers.ErrInvalid) {
		t.Errorf("CreateSnapshot without a token: err = %v, want ErrInvalid", err)
	}
	if _, err := s.RestoreBackup(ctx, emulate.EmulatedID(providers.KindBackup, "nope"), providers.VolumeSpec{Name: "r3", IdempotencyToken: "tok-r3"}); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("RestoreBackup of a missing emulated backup: err = %v, want ErrNotFound", err)
	}
	if _, err := s.CreateVolume(ctx, providers.VolumeSpec{Name: "r4", SizeGiB: 1, SnapshotID: emulate.EmulatedID(providers.KindSnapshot, "nope"), IdempotencyToken: "tok-r4"}); !errors.Is(err, providers.ErrInvalid) {
		t.Errorf("CreateVolume from a missing emulated snapshot: err = %v, want ErrInvalid", err)
	}
}

// readAll reads a volume's stream to its end.
func readAll(r io.ReadCloser, err error) ([]byte, error) {
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}
