//go:build openstack

package openstack

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"

	"github.com/canopy-cloud/canopy/providers"
)

// TestGlanceImageTransfer uploads an image's bytes to the lab's Glance,
// reads them back, and checks that an aborted upload leaves no image.
func TestGlanceImageTransfer(t *testing.T) {
	path := os.Getenv("CANOPY_OS_CLOUDS_YAML")
	if path == "" {
		t.Fatal("CANOPY_OS_CLOUDS_YAML is not set")
	}
	cloud := os.Getenv("CANOPY_OS_CLOUD")
	if cloud == "" {
		cloud = "canopy-test"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := Open(ctx, providers.Config{Name: "glance-test", Options: map[string]any{"clouds_yaml": path, "cloud": cloud}})
	if err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("canopy image bytes "), 200000) // 3.8 MB
	sum := sha256.Sum256(data)
	w, err := c.NewImageWriter(ctx, providers.ImageSpec{Name: "canopy-transfer-test", DiskFormat: "raw", SHA256: hex.EncodeToString(sum[:]), Size: -1})
	if err != nil {
		t.Fatal(err)
	}
	for off := 0; off < len(data); off += 100000 {
		if _, err := w.Write(data[off:min(off+100000, len(data))]); err != nil {
			t.Fatal(err)
		}
	}
	im, err := w.Commit()
	if err != nil {
		t.Fatalf("commit: %v", err)
	}
	cl, _ := c.clients(ctx)
	t.Cleanup(func() { _ = images.Delete(context.Background(), cl.image, im.NativeID).ExtractErr() })
	if im.Status != providers.StatusActive || im.SizeBytes != int64(len(data)) || im.DiskFormat != "raw" || im.Properties["canopy_sha256"] != hex.EncodeToString(sum[:]) {
		t.Errorf("uploaded image = %+v", im)
	}
	r, got, err := c.NewImageReader(ctx, im.NativeID)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(r)
	r.Close()
	if err != nil || !bytes.Equal(body, data) || got.NativeID != im.NativeID {
		t.Errorf("downloaded %d bytes (%v), want %d", len(body), err, len(data))
	}

	// Aborted: the record goes too.
	w, err = c.NewImageWriter(ctx, providers.ImageSpec{Name: "canopy-transfer-aborted", DiskFormat: "raw", Size: -1})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = w.Write(data[:100000])
	aborted := w.(*glanceWriter).id
	if err := w.Abort(); err != nil {
		t.Errorf("abort: %v", err)
	}
	if _, err := c.GetImage(ctx, aborted); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("aborted image %s still there: %v", aborted, err)
	}
}
