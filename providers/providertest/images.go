package providertest

import (
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

// ImageCleaner is implemented by harnesses that can delete the images the
// ImageTransfer tests upload: the provider interfaces have no image delete.
// Without it those images stay in the cloud, named with Fixture.Prefix.
type ImageCleaner interface {
	DeleteImage(ctx context.Context, p providers.Provider, id string) error
}

// imageSuite tests providers.ImageTransfer; the uploaded images are looked
// for through Compute.
type imageSuite struct {
	s  *suite
	it providers.ImageTransfer
}

func (s *suite) testImageTransfer(t *testing.T, it providers.ImageTransfer) {
	is := &imageSuite{s: s, it: it}
	if s.cleaner == nil {
		t.Logf("the harness is no ImageCleaner: the images uploaded here (%s-img-*) stay in the cloud", s.fx.Prefix)
	}
	t.Run("RoundTrip", is.testRoundTrip)
	t.Run("Abort", is.testAbort)
	t.Run("Errors", is.testErrors)
	if len(s.fx.ContainerImageFormats) > 0 {
		t.Run("ContainerImages", is.testContainerImages) // images_container.go
	}
}

// cleanup deletes an uploaded image when the test ends, and checks it is
// gone.
func (is *imageSuite) cleanup(t *testing.T, id string) {
	if is.s.cleaner == nil {
		return
	}
	t.Cleanup(func() {
		ctx := context.Background()
		// A test that deleted it itself (a container image's) leaves
		// nothing to delete.
		if err := is.s.cleaner.DeleteImage(ctx, is.s.p, id); err != nil && !errors.Is(err, providers.ErrNotFound) {
			t.Errorf("cleanup: delete image %s: %v", id, err)
			return
		}
		if _, err := is.s.c.GetImage(ctx, id); !errors.Is(err, providers.ErrNotFound) {
			t.Errorf("cleanup: GetImage(%s) after delete: err = %v, want ErrNotFound", id, err)
		}
	})
}

// upload writes data in chunks of chunk bytes and commits.
func (is *imageSuite) upload(t *testing.T, spec providers.ImageSpec, data []byte, chunk int) providers.Image {
	t.Helper()
	w, err := is.it.NewImageWriter(context.Background(), spec)
	if err != nil {
		t.Fatalf("NewImageWriter(%s): %v", spec.Name, err)
	}
	committed := false
	defer func() {
		if !committed {
			_ = w.Abort()
		}
	}()
	for rest := data; len(rest) > 0; {
		n := min(chunk, len(rest))
		if k, err := w.Write(rest[:n]); err != nil || k != n {
			t.Fatalf("Write(%d bytes) = %d, %v", n, k, err)
		}
		rest = rest[n:]
	}
	im, err := w.Commit()
	committed = true
	if err != nil {
		t.Fatalf("Commit(%s): %v", spec.Name, err)
	}
	if im.NativeID == "" {
		t.Fatalf("Commit(%s) = %+v: no id", spec.Name, im)
	}
	is.cleanup(t, im.NativeID)
	// Abort after Commit is a no-op: the image stays (checked by the
	// callers, which read it back).
	if err := w.Abort(); err != nil {
		t.Errorf("Abort after Commit: %v", err)
	}
	return im
}

// settled polls the image until its status stops changing on its own.
func (is *imageSuite) settled(t *testing.T, id string) providers.Image {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(is.s.fx.WaitTimeout)
	for {
		im, err := is.s.c.GetImage(ctx, id)
		if err != nil {
			t.Fatalf("GetImage(%s): %v", id, err)
		}
		if !im.Status.Transitional() {
			return im
		}
		if time.Now().After(deadline) {
			t.Fatalf("image %s still %v (raw %q) after %v", id, im.Status, im.ProviderStatus, is.s.fx.WaitTimeout)
		}
		time.Sleep(is.s.fx.Poll)
	}
}

func (is *imageSuite) testRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name  string
		size  int
		chunk int
		known bool // the spec announces the size
	}{
		{"known size", 1<<20 + 513, 64<<10 + 7, true},
		{"unknown size", 200<<10 + 3, 4096, false},
		{"one write", 4099, 1 << 20, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			data := make([]byte, tc.size)
			r := rand.New(rand.NewPCG(uint64(tc.size), 7))
			for i := range data {
				data[i] = byte(r.UintN(256))
			}
			sum := sha256.Sum256(data)
			spec := providers.ImageSpec{
				Name: is.s.name(t, "img"), DiskFormat: "raw", ContainerFormat: "bare",
				MinDiskGiB: 1, MinRAMMiB: 64, Labels: map[string]string{"suite": "providertest"},
				SHA256: hex.EncodeToString(sum[:]), Size: -1,
			}
			if tc.known {
				spec.Size = int64(tc.size)
			}
			im := is.upload(t, spec, data, tc.chunk)
			if im.Name != spec.Name || im.DiskFormat != "raw" || im.ContainerFormat != "bare" {
				t.Errorf("Commit = %s %q %s/%s, want name %q raw/bare", im.NativeID, im.Name, im.DiskFormat, im.ContainerFormat, spec.Name)
			}
			if im.Status == providers.StatusUnspecified {
				t.Errorf("Commit: status not normalized (raw %q)", im.ProviderStatus)
			}
			if !im.Status.Transitional() && (im.Status != providers.StatusActive || im.SizeBytes != int64(tc.size)) {
				t.Errorf("Commit = %v with %d bytes, want ACTIVE with %d (or a transitional status)", im.Status, im.SizeBytes, tc.size)
			}

			got := is.settled(t, im.NativeID)
			if got.Status != providers.StatusActive {
				t.Fatalf("image %s settled %v (raw %q, %q), want ACTIVE", im.NativeID, got.Status, got.ProviderStatus, got.StatusMessage)
			}
			if got.NativeID != im.NativeID || got.Name != spec.Name || got.SizeBytes != int64(tc.size) ||
				got.DiskFormat != "raw" || got.ContainerFormat != "bare" || got.MinDiskGiB != 1 || got.MinRAMMiB != 64 {
				t.Errorf("GetImage = %s %q size %d %s/%s min %d GiB %d MiB; want %s %q size %d raw/bare min 1 GiB 64 MiB",
					got.NativeID, got.Name, got.SizeBytes, got.DiskFormat, got.ContainerFormat, got.MinDiskGiB, got.MinRAMMiB,
					im.NativeID, spec.Name, tc.size)
			}
			list, err := is.s.c.ListImages(ctx)
			if err != nil {
				t.Fatalf("ListImages: %v", err)
			}
			listed := false
			for _, x := range list {
				if x.NativeID == im.NativeID {
					listed = true
					if x.Name != spec.Name || x.SizeBytes != int64(tc.size) || x.DiskFormat != "raw" {
						t.Errorf("ListImages shows %s as %q size %d %s; want %q size %d raw", x.NativeID, x.Name, x.SizeBytes, x.DiskFormat, spec.Name, tc.size)
					}
				}
			}
			if !listed {
				t.Errorf("ListImages does not list %s (%d images)", im.NativeID, len(list))
			}

			rc, head, err := is.it.NewImageReader(ctx, im.NativeID)
			if err != nil {
				t.Fatalf("NewImageReader(%s): %v", im.NativeID, err)
			}
			h := sha256.New()
			n, err := io.Copy(h, rc)
			if cerr := rc.Close(); cerr != nil {
				t.Errorf("close the reader: %v", cerr)
			}
			if err != nil {
				t.Fatalf("read image %s: %v after %d bytes", im.NativeID, err, n)
			}
			if n != int64(tc.size) || !bytes.Equal(h.Sum(nil), sum[:]) {
				t.Errorf("downloaded %d bytes with sha256 %x; uploaded %d with %x", n, h.Sum(nil), tc.size, sum)
			}
			if head.NativeID != im.NativeID || head.SizeBytes != int64(tc.size) || head.DiskFormat != "raw" || head.ContainerFormat != "bare" {
				t.Errorf("NewImageReader's image = %s size %d %s/%s; want %s size %d raw/bare",
					head.NativeID, head.SizeBytes, head.DiskFormat, head.ContainerFormat, im.NativeID, tc.size)
			}
		})
	}
}

// testAbort checks that an aborted upload leaves no image, even on clouds
// where the record exists before its bytes do (Glance).
func (is *imageSuite) testAbort(t *testing.T) {
	ctx := context.Background()
	name := is.s.name(t, "img-abort")
	w, err := is.it.NewImageWriter(ctx, providers.ImageSpec{Name: name, DiskFormat: "raw", ContainerFormat: "bare", Size: -1})
	if err != nil {
		t.Fatalf("NewImageWriter: %v", err)
	}
	if _, err := w.Write(bytes.Repeat([]byte("abort"), 20000)); err != nil {
		_ = w.Abort()
		t.Fatalf("Write: %v", err)
	}
	if err := w.Abort(); err != nil {
		t.Errorf("Abort: %v", err)
	}
	if _, err := w.Write([]byte("more")); err == nil {
		t.Errorf("Write after Abort succeeded")
	}
	list, err := is.s.c.ListImages(ctx)
	if err != nil {
		t.Fatalf("ListImages: %v", err)
	}
	for _, im := range list {
		if im.Name == name {
			is.cleanup(t, im.NativeID)
			t.Errorf("aborted upload left image %s (%v, raw %q)", im.NativeID, im.Status, im.ProviderStatus)
		}
	}
}

func (is *imageSuite) testErrors(t *testing.T) {
	ctx := context.Background()
	missing := missingID(is.s.image(t).NativeID)
	if rc, _, err := is.it.NewImageReader(ctx, missing); !errors.Is(err, providers.ErrNotFound) {
		if err == nil {
			rc.Close()
		}
		t.Errorf("NewImageReader(missing %s): err = %v, want ErrNotFound", missing, err)
	}
	for _, tc := range []struct {
		name string
		spec providers.ImageSpec
	}{
		{"unknown disk format", providers.ImageSpec{DiskFormat: "no-such-format", ContainerFormat: "bare"}},
		{"unknown container format", providers.ImageSpec{DiskFormat: "raw", ContainerFormat: "no-such-format"}},
	} {
		tc.spec.Name, tc.spec.Size = is.s.name(t, "img-bad"), -1
		w, err := is.it.NewImageWriter(ctx, tc.spec)
		if err == nil {
			_ = w.Abort()
		}
		if !errors.Is(err, providers.ErrInvalid) {
			t.Errorf("NewImageWriter(%s): err = %v, want ErrInvalid", tc.name, err)
		}
	}
}
