//go:build docker

package docker_test

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/canopy-cloud/canopy/providers"
)

// An image uploaded under a name without a tag (as RenderImage's upload
// names one) is found at commit though Docker lists it as name:latest, and
// DeleteImage removes that reference (the layers stay while the test
// image's own reference holds them), then ErrNotFound.
func TestImageUploadByNameAndDelete(t *testing.T) {
	c := open(t, nil)
	ctx := context.Background()
	rc, _, err := c.NewImageReader(ctx, testImage)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	ref := name("img")
	w, err := c.NewImageWriter(ctx, providers.ImageSpec{Name: ref, DiskFormat: "raw", ContainerFormat: "docker"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(w, rc); err != nil {
		_ = w.Abort()
		t.Fatal(err)
	}
	im, err := w.Commit()
	if err != nil {
		t.Fatalf("commit of %q: %v", ref, err)
	}
	if im.NativeID != ref+":latest" {
		t.Fatalf("committed %q, want %s:latest", im.NativeID, ref)
	}
	t.Cleanup(func() { _ = c.DeleteImage(context.Background(), im.NativeID) })

	if err := c.DeleteImage(ctx, ref); err != nil {
		t.Fatalf("DeleteImage(%s): %v", ref, err)
	}
	list, err := c.ListContainerImages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range list {
		if l.NativeID == im.NativeID {
			t.Fatalf("%s is still listed after DeleteImage", im.NativeID)
		}
	}
	if err := c.DeleteImage(ctx, ref); !errors.Is(err, providers.ErrNotFound) {
		t.Fatalf("DeleteImage again: %v, want ErrNotFound", err)
	}
	// The test image it was copied from is untouched.
	if rc, _, err := c.NewImageReader(ctx, testImage); err != nil {
		t.Fatalf("the source image after the delete: %v", err)
	} else {
		rc.Close()
	}
}
