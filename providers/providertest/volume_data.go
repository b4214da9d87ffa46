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
	if err := d.WriteVolumeData(context.Background(), volumeID, bytes.NewReader(want)); err != nil {
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
	r, err := s.p.(providers.VolumeData).ReadVolumeData(context.Background(), volumeID)
	if err != nil {
		t.Fatalf("ReadVolumeData(%s): %v", volumeID, err)
	}
	defer r.Close()
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

func (s *suite) testVolumeData(t *testing.T) {
	if !providers.Has(s.p, providers.CapVolumeData) {
		t.Skip("this adapter (as configured) has no VolumeData capability (providers.Has(volume-data) is false): not run")
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
}
