//go:build openstack

package openstack

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"

	"github.com/canopy-cloud/canopy/providers"
)

// openGlanceLab opens the adapter on the lab (CANOPY_OS_CLOUDS_YAML,
// CANOPY_OS_CLOUD) with extra options.
func openGlanceLab(ctx context.Context, t *testing.T, name string, extra map[string]any) *Cloud {
	t.Helper()
	path := os.Getenv("CANOPY_OS_CLOUDS_YAML")
	if path == "" {
		t.Fatal("CANOPY_OS_CLOUDS_YAML is not set")
	}
	cloud := os.Getenv("CANOPY_OS_CLOUD")
	if cloud == "" {
		cloud = "canopy-test"
	}
	opts := map[string]any{"clouds_yaml": path, "cloud": cloud}
	for k, v := range extra {
		opts[k] = v
	}
	c, err := Open(ctx, providers.Config{Name: name, Options: opts})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestGlanceImageTransfer uploads an image's bytes to the lab's Glance,
// reads them back, and checks that an aborted upload leaves no image.
func TestGlanceImageTransfer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := openGlanceLab(ctx, t, "glance-test", nil)
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

// TestGlanceOrphanUploadSwept: an image record a dead upload left (canopy's
// upload mark, still queued, older than orphan_upload_after) is not listed
// and is deleted; a queued image without the mark is someone else's and
// stays.
func TestGlanceOrphanUploadSwept(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := openGlanceLab(ctx, t, "glance-orphans", map[string]any{"orphan_upload_after": "1s"})
	cl, err := c.clients(ctx)
	if err != nil {
		t.Fatal(err)
	}
	run := fmt.Sprintf("orphan-%d", time.Now().UnixNano()%1000000)
	mk := func(name string, props map[string]string) string {
		im, err := images.Create(ctx, cl.image, images.CreateOpts{Name: name, DiskFormat: "raw", ContainerFormat: "bare", Properties: props}).Extract()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = images.Delete(context.Background(), cl.image, im.ID).ExtractErr() })
		return im.ID
	}
	orphan := mk(run+"-dead-upload", map[string]string{canopyUploadProp: "1"})
	foreign := mk(run+"-foreign", nil)
	time.Sleep(1500 * time.Millisecond)
	list, err := c.ListImages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, im := range list {
		listed[im.NativeID] = true
	}
	if listed[orphan] || !listed[foreign] {
		t.Fatalf("listed: orphan %v (want false), foreign %v (want true)", listed[orphan], listed[foreign])
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if _, err := images.Get(ctx, cl.image, orphan).Extract(); err != nil && errors.Is(mapErr(err), providers.ErrNotFound) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the orphaned upload's image is still in Glance after 30s")
		}
	}
	if im, err := images.Get(ctx, cl.image, foreign).Extract(); err != nil || im.Status != images.ImageStatusQueued {
		t.Errorf("the unmarked queued image = %v, %v; want it left alone", im, err)
	}
}
