package providertest

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"path"
	"strings"
	"testing"

	"github.com/canopy-cloud/canopy/providers"
)

// Volume data as a tar of the volume's files (Fixture.VolumeDataTar):
// what container runtimes' volumes give, directories rather than blocks.

// tarFile is the file the suite writes into a volume.
const tarFile = "ptest/data.bin"

// tarOf is a tar holding one file (and its directory).
func tarOf(t *testing.T, name string, data []byte) io.Reader {
	t.Helper()
	var buf bytes.Buffer
	w := tar.NewWriter(&buf)
	if dir := path.Dir(name); dir != "." {
		if err := w.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: dir + "/", Mode: 0o755}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(data))}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return &buf
}

// checkTar reads a volume's tar and checks it holds name with want.
func checkTar(t *testing.T, volumeID string, r io.Reader, name string, want []byte) {
	t.Helper()
	tr := tar.NewReader(r)
	var names []string
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("volume %s: its data is not a tar: %v", volumeID, err)
		}
		clean := strings.TrimPrefix(path.Clean(hdr.Name), "./")
		names = append(names, clean)
		if clean != name {
			continue
		}
		got, err := io.ReadAll(tr)
		if err != nil {
			t.Fatalf("volume %s: reading %s from its tar: %v", volumeID, name, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("volume %s: %s holds %d bytes, not the %d written", volumeID, name, len(got), len(want))
		}
		return
	}
	t.Fatalf("volume %s: its tar lacks %s (it holds %q)", volumeID, name, names)
}

// testVolumeDataTar: bytes that are no tar are refused, and a tar larger
// than the volume is refused, both with ErrInvalid.
func (s *suite) testVolumeDataTar(t *testing.T, d providers.VolumeData) {
	ctx := context.Background()
	v := s.newVolume(t, "notar")
	if err := d.WriteVolumeData(ctx, v.NativeID, strings.NewReader(strings.Repeat("not a tar; ", 200))); !errors.Is(err, providers.ErrInvalid) {
		t.Errorf("WriteVolumeData(bytes that are no tar): err = %v, want ErrInvalid", err)
	}
	big := io.MultiReader(bytes.NewReader(tarHeader(t, "big.bin", 1<<30+1)), io.LimitReader(zeros{}, 1<<30+1+1024))
	if err := d.WriteVolumeData(ctx, v.NativeID, big); !errors.Is(err, providers.ErrInvalid) {
		t.Errorf("WriteVolumeData(a tar of 1 GiB + 1 byte into 1 GiB): err = %v, want ErrInvalid", err)
	}
}

// tarHeader is the header block of a file of size bytes.
func tarHeader(t *testing.T, name string, size int64) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := tar.NewWriter(&buf)
	if err := w.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: size}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes() // WriteHeader wrote the block; no Close: no data follows
}
