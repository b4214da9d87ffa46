package providertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/canopy-cloud/canopy/providers"
)

// The Data part of the Volumes section: a volume's content streamed in and
// out (providers.VolumeData), and the helpers that let Backups and
// Snapshots check that a copy carries the bytes of its volume.

// dataLen is how much the suite writes: more than one 512 KiB EBS block
// and not a multiple of any block size, so a block-wise adapter must split
// and pad.
const dataLen = 1<<20 + 512<<10 + 77

// pattern is dataLen bytes that differ per volume and per purpose, with no
// run of zeros a sparse adapter could drop.
func pattern(seed string) []byte {
	out := make([]byte, 0, dataLen)
	for i := 0; len(out) < dataLen; i++ {
		out = fmt.Appendf(out, "%s:%08d|", seed, i)
	}
	return out[:dataLen]
}

// writeData writes a pattern into a fresh volume when the adapter has
// VolumeData and returns it; nil (logged) when it has not, so a copy's
// bytes cannot be checked.
func (s *suite) writeData(t *testing.T, volumeID, what string) []byte {
	t.Helper()
	d, ok := s.p.(providers.VolumeData)
	if !ok || !providers.Has(s.p, providers.CapVolumeData) {
		t.Logf("adapter has no VolumeData: the %s's bytes are not checked", what)
		return nil
	}
	want := pattern(what + "/" + volumeID)
	var in io.Reader = bytes.NewReader(want)
	if s.fx.VolumeDataTar {
		in = tarOf(t, tarFile, want)
	}
	if err := d.WriteVolumeData(context.Background(), volumeID, in); err != nil {
		t.Fatalf("WriteVolumeData(%s): %v", volumeID, err)
	}
	return want
}

// checkData reads a volume's first bytes and checks they are want followed
// by zeros (nil want: nothing to check). It reads only a little past want:
// volumes are gigabytes.
func (s *suite) checkData(t *testing.T, volumeID string, want []byte) {
	t.Helper()
	if want == nil {
		return
	}
	r, err := s.p.(volumeReader).ReadVolumeData(context.Background(), volumeID)
	if err != nil {
		t.Fatalf("ReadVolumeData(%s): %v", volumeID, err)
	}
	defer r.Close()
	if s.fx.VolumeDataTar {
		checkTar(t, volumeID, r, tarFile, want)
		return
	}
	got, err := io.ReadAll(io.LimitReader(r, int64(len(want))+64<<10))
	if err != nil {
		t.Fatalf("ReadVolumeData(%s): reading: %v", volumeID, err)
	}
	if len(got) < len(want) || !bytes.Equal(got[:len(want)], want) {
		n := min(len(got), len(want))
		i := 0
		for i < n && got[i] == want[i] {
			i++
		}
		t.Fatalf("volume %s: %d bytes read, the first %d of the %d written match", volumeID, len(got), i, len(want))
	}
	if rest := got[len(want):]; bytes.Count(rest, []byte{0}) != len(rest) {
		t.Errorf("volume %s: the %d bytes after those written are not zeros", volumeID, len(rest))
	}
}

// volumeReader is what VolumeData and VolumeDataCreator share.
type volumeReader interface {
	ReadVolumeData(ctx context.Context, volumeID string) (io.ReadCloser, error)
}

func (s *suite) testVolumeData(t *testing.T) {
	if !providers.Has(s.p, providers.CapVolumeData) {
		if providers.Has(s.p, providers.CapVolumeDataCreate) {
			s.testVolumeDataCreate(t)
			return
		}
		t.Skip("this adapter (as configured) has neither VolumeData nor VolumeDataCreator (providers.Has(volume-data), Has(volume-data-create) are false): not run")
	}
	ctx := context.Background()
	d := s.p.(providers.VolumeData)
	v := s.newVolume(t, "data")
	want := s.writeData(t, v.NativeID, "data")
	s.checkData(t, v.NativeID, want)

	if _, err := d.ReadVolumeData(ctx, missingID(v.NativeID)); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("ReadVolumeData(missing): err = %v, want ErrNotFound", err)
	}
	if err := d.WriteVolumeData(ctx, missingID(v.NativeID), bytes.NewReader(want)); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("WriteVolumeData(missing): err = %v, want ErrNotFound", err)
	}
	if s.fx.VolumeDataTar {
		s.testVolumeDataTar(t, d) // volume_tar.go
	}
}

// unreadReader fails the test if read: a replayed create must not read.
type unreadReader struct{ t *testing.T }

func (u unreadReader) Read([]byte) (int, error) {
	u.t.Errorf("CreateVolumeFromData read the stream of a replay (same token)")
	return 0, io.EOF
}

// testVolumeDataCreate is the Data part for a VolumeDataCreator: a volume
// made from bytes holds them; the same token is the same volume, its
// stream unread.
func (s *suite) testVolumeDataCreate(t *testing.T) {
	ctx := context.Background()
	d := s.p.(providers.VolumeDataCreator)
	name := s.name(t, "fromdata")
	want := pattern("fromdata/" + name)
	spec := providers.VolumeSpec{Name: name, Zone: s.fx.Zone, SizeGiB: 1, IdempotencyToken: name, Labels: map[string]string{"suite": "providertest"}}
	v, err := d.CreateVolumeFromData(ctx, spec, bytes.NewReader(want))
	if err != nil {
		t.Fatalf("CreateVolumeFromData: %v", err)
	}
	t.Cleanup(func() { s.deleteVolume(v.NativeID) })
	if again, err := d.CreateVolumeFromData(ctx, spec, unreadReader{t}); err != nil || again.NativeID != v.NativeID {
		t.Errorf("CreateVolumeFromData with the same token = %s, %v; want %s again", again.NativeID, err, v.NativeID)
	}
	v = s.waitVolume(t, v.NativeID, "available", volumeIs())
	if v.SizeGiB != 1 || v.Name != name {
		t.Errorf("volume from data = %+v: want %s, 1 GiB", v, name)
	}
	big := providers.VolumeSpec{Name: name + "-big", Zone: s.fx.Zone, SizeGiB: 1}
	if _, err := d.CreateVolumeFromData(ctx, big, io.LimitReader(zeros{}, 1<<30+1)); !errors.Is(err, providers.ErrInvalid) {
		t.Errorf("CreateVolumeFromData of 1 GiB + 1 byte into 1 GiB: err = %v, want ErrInvalid", err)
	}
	if _, err := d.ReadVolumeData(ctx, missingID(v.NativeID)); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("ReadVolumeData(missing): err = %v, want ErrNotFound", err)
	}
	t.Run("Read", func(t *testing.T) {
		if s.fx.VolumeDataUnreadable != "" {
			t.Skip(s.fx.VolumeDataUnreadable)
		}
		s.checkData(t, v.NativeID, want)
	})
}

// zeros yields zero bytes, cheap to stream a GiB of.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }
