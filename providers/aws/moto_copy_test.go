//go:build aws

package aws_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/canopy-cloud/canopy/providers"
	awsp "github.com/canopy-cloud/canopy/providers/aws"
)

// Objects above S3's 5 GiB copy limit are copied part by part on the
// server; here the limit is lowered so a 12 MiB object takes that path.
func TestCopyObjectInParts(t *testing.T) {
	resetMoto(t)
	restore := awsp.SetCopyLimits(8<<20, 5<<20)
	defer restore()
	c := openMoto(t, []string{"us-east-1"}, nil)
	ctx := context.Background()
	for _, b := range []string{"copy-src", "copy-dst"} {
		if _, err := c.CreateBucket(ctx, b, "", nil); err != nil {
			t.Fatal(err)
		}
	}
	data := make([]byte, 12<<20+3)
	_, _ = rand.Read(data)
	sum := sha256.Sum256(data)
	w, err := c.NewWriter(ctx, "copy-src", "big", providers.WriteOptions{ContentType: "application/x-big", Size: int64(len(data)),
		SHA256: hex.EncodeToString(sum[:]), Metadata: map[string]string{"owner": "tests"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(); err != nil {
		t.Fatal(err)
	}

	got, err := c.CopyObject(ctx, "copy-src", "big", "copy-dst", "copied")
	if err != nil {
		t.Fatalf("copy: %v", err)
	}
	if got.Size != int64(len(data)) || got.Parts != 3 || got.SHA256 != hex.EncodeToString(sum[:]) ||
		got.ContentType != "application/x-big" || got.Metadata["owner"] != "tests" {
		t.Errorf("copy = %+v: want %d bytes in 3 parts with the source's sha256, type and metadata", got, len(data))
	}
	out, err := s3Client(t).GetObject(ctx, &s3.GetObjectInput{Bucket: strp("copy-dst"), Key: strp("copied")})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(out.Body)
	out.Body.Close()
	if !bytes.Equal(body, data) {
		t.Fatalf("copied bytes differ from the source (%d vs %d bytes)", len(body), len(data))
	}

	// A small object still goes in one request.
	if _, err := c.CopyObject(ctx, "copy-dst", "copied", "copy-src", "again"); err != nil {
		t.Fatal(err)
	}
	restore()
	if o, err := c.CopyObject(ctx, "copy-src", "big", "copy-dst", "whole"); err != nil || o.Parts > 1 || o.Size != int64(len(data)) {
		t.Errorf("copy under the limit = %+v, %v: want one request", o, err)
	}

	// A copy that S3 refuses half way (parts below its 5 MiB minimum)
	// leaves neither an object nor an unfinished upload behind.
	defer awsp.SetCopyLimits(1<<20, 1<<20)()
	_, err = c.CopyObject(ctx, "copy-src", "big", "copy-dst", "refused")
	if err == nil {
		t.Fatal("copy in 1 MiB parts succeeded; S3 wants parts of 5 MiB")
	}
	if _, err := c.HeadObject(ctx, "copy-dst", "refused"); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("after a refused copy: head = %v, want not found", err)
	}
	ups, err := s3Client(t).ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: strp("copy-dst")})
	if err != nil || len(ups.Uploads) != 0 {
		t.Errorf("unfinished uploads after a refused copy: %d, %v", len(ups.Uploads), err)
	}
	// A missing source is not found, naming it.
	if _, err := c.CopyObject(ctx, "copy-src", "nope", "copy-dst", "x"); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("copy of a missing source = %v, want not found", err)
	}
}

func strp(s string) *string { return &s }
