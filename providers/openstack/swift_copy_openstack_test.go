//go:build openstack

package openstack_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/providers/openstack"
)

// A large object above Swift's copy limit (lowered here) is copied segment
// by segment into segments of its own: the copy reads back whole, keeps
// the source's metadata, and outlives the source's deletion.
func TestLabSwiftCopyLargeObject(t *testing.T) {
	path, cloud := labCloud(t)
	c := openLab(t, map[string]any{"clouds_yaml": path, "cloud": cloud})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	suffix := fmt.Sprint(time.Now().UnixNano() % 1e9)
	src, dst := "copysrc-"+suffix, "copydst-"+suffix
	for _, b := range []string{src, dst} {
		if _, err := c.CreateBucket(ctx, b, "", nil); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for _, b := range []string{src, dst} {
			page, _ := c.ListObjects(context.Background(), b, providers.ListObjectsOptions{})
			for _, o := range page.Objects {
				_ = c.DeleteObject(context.Background(), b, o.Key)
			}
			_ = c.DeleteBucket(context.Background(), b)
		}
	})
	data := make([]byte, 3<<20+5)
	_, _ = rand.Read(data)
	sum := sha256.Sum256(data)
	key := "dir/big object"
	w, err := c.NewWriter(ctx, src, key, providers.WriteOptions{ContentType: "application/x-big", Size: int64(len(data)), PartSize: 1 << 20,
		SHA256: hex.EncodeToString(sum[:]), Metadata: map[string]string{"owner": "tests"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if o, err := w.Commit(); err != nil || o.Parts != 4 {
		t.Fatalf("upload: %+v, %v (want 4 segments)", o, err)
	}
	read := func(b, k string) []byte {
		t.Helper()
		r, _, err := c.NewRangeReader(ctx, b, k, 0, -1)
		if err != nil {
			t.Fatalf("read %s/%s: %v", b, k, err)
		}
		defer r.Close()
		body, err := io.ReadAll(r)
		if err != nil {
			t.Fatalf("read %s/%s: %v", b, k, err)
		}
		return body
	}

	restore := openstack.SetSwiftCopyLimit(2 << 20)
	got, err := c.CopyObject(ctx, src, key, dst, "copied")
	restore()
	if err != nil {
		t.Fatalf("segment copy: %v", err)
	}
	if got.Size != int64(len(data)) || got.SHA256 != hex.EncodeToString(sum[:]) || got.ContentType != "application/x-big" ||
		got.Metadata["owner"] != "tests" || got.MD5 != "" {
		t.Errorf("segment copy = %+v: want a large object with the source's size, sha256, type and metadata", got)
	}
	// Below the limit a large object becomes one plain object (MD5 set).
	if o, err := c.CopyObject(ctx, src, key, dst, "flat"); err != nil || o.MD5 == "" || o.Size != int64(len(data)) {
		t.Errorf("plain copy = %+v, %v", o, err)
	}
	if err := c.DeleteObject(ctx, src, key); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"copied", "flat"} {
		if body := read(dst, k); !bytes.Equal(body, data) {
			t.Errorf("%s after the source's deletion: %d bytes differ from the %d uploaded", k, len(body), len(data))
		}
	}
	// A missing source is not found.
	defer openstack.SetSwiftCopyLimit(1)()
	if _, err := c.CopyObject(ctx, src, key, dst, "x"); err == nil {
		t.Error("copy of a deleted source succeeded")
	}
}
