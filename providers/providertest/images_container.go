package providertest

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/canopy-cloud/canopy/providers"
)

// containerTarball is a small tar standing in for a `docker save` or OCI
// layout tarball: image stores keep container images as they are, so the
// bytes need only be a tar. Its one file is random and over 5 MiB, so a
// multipart store (S3) writes it in two parts.
func containerTarball(t *testing.T, seed uint64) []byte {
	t.Helper()
	body := make([]byte, 5<<20+4097)
	r := rand.New(rand.NewPCG(seed, 11))
	for i := range body {
		body[i] = byte(r.UintN(256))
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: "layer.tar", Mode: 0o644, Size: int64(len(body)), ModTime: time.Unix(0, 0)}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write(body); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// testContainerImages round-trips one container image of each of the
// cloud's container formats: uploaded (size and sha256 announced for
// one, neither for the other), it reads back with its container format
// in GetImage and ListImages (a container cloud finds images to pull
// there by it), its bytes come back the same, and where the adapter
// deletes images it is gone after a delete.
func (is *imageSuite) testContainerImages(t *testing.T) {
	for i, format := range is.s.fx.ContainerImageFormats {
		t.Run(format, func(t *testing.T) {
			ctx := context.Background()
			data := containerTarball(t, uint64(i+1))
			sum := sha256.Sum256(data)
			spec := providers.ImageSpec{Name: is.s.name(t, "cimg") + ":v1", DiskFormat: "raw", ContainerFormat: format,
				Labels: map[string]string{"suite": "providertest"}, Size: -1, Project: "ptest", Visibility: "private"}
			if i%2 == 0 {
				spec.Size, spec.SHA256 = int64(len(data)), hex.EncodeToString(sum[:])
			}
			im := is.upload(t, spec, data, 1<<20+3)
			if im.Name != spec.Name || im.ContainerFormat != format {
				t.Errorf("Commit = %s %q container format %q, want %q %q", im.NativeID, im.Name, im.ContainerFormat, spec.Name, format)
			}
			got := is.settled(t, im.NativeID)
			if got.Status != providers.StatusActive || got.Name != spec.Name || got.ContainerFormat != format || got.SizeBytes != int64(len(data)) {
				t.Errorf("GetImage = %v %q %q %d bytes, want ACTIVE %q %q %d", got.Status, got.Name, got.ContainerFormat, got.SizeBytes, spec.Name, format, len(data))
			}
			if v := got.Properties["sha256"]; v != "" && v != hex.EncodeToString(sum[:]) {
				t.Errorf("GetImage says sha256 %s, the bytes' is %x", v, sum)
			}
			list, err := is.s.c.ListImages(ctx)
			if err != nil {
				t.Fatalf("ListImages: %v", err)
			}
			listed := false
			for _, x := range list {
				if x.NativeID == im.NativeID {
					listed = true
					if x.ContainerFormat != format || x.Name != spec.Name {
						t.Errorf("ListImages shows %s as %q container format %q, want %q %q", x.NativeID, x.Name, x.ContainerFormat, spec.Name, format)
					}
				}
			}
			if !listed {
				t.Errorf("ListImages does not list container image %s (%d images)", im.NativeID, len(list))
			}
			rc, head, err := is.it.NewImageReader(ctx, im.NativeID)
			if err != nil {
				t.Fatalf("NewImageReader(%s): %v", im.NativeID, err)
			}
			h := sha256.New()
			n, err := io.Copy(h, rc)
			_ = rc.Close()
			if err != nil || n != int64(len(data)) || !bytes.Equal(h.Sum(nil), sum[:]) {
				t.Errorf("read back %d bytes with sha256 %x (%v); uploaded %d with %x", n, h.Sum(nil), err, len(data), sum)
			}
			if head.ContainerFormat != format {
				t.Errorf("NewImageReader's image has container format %q, want %q", head.ContainerFormat, format)
			}
			d, ok := is.s.p.(providers.ImageDeleter)
			if !ok {
				return
			}
			if err := d.DeleteImage(ctx, im.NativeID); err != nil && !errors.Is(err, providers.ErrNotFound) {
				t.Fatalf("DeleteImage(%s): %v", im.NativeID, err)
			}
			if _, err := is.s.c.GetImage(ctx, im.NativeID); !errors.Is(err, providers.ErrNotFound) {
				t.Errorf("GetImage(%s) after DeleteImage: %v, want ErrNotFound", im.NativeID, err)
			}
			if rc, _, err := is.it.NewImageReader(ctx, im.NativeID); !errors.Is(err, providers.ErrNotFound) {
				if err == nil {
					_ = rc.Close()
				}
				t.Errorf("NewImageReader(%s) after DeleteImage: %v, want ErrNotFound", im.NativeID, err)
			}
		})
	}
}
