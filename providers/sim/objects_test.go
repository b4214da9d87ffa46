package sim_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/providers/providertest"
	"github.com/canopy-cloud/canopy/providers/sim"
)

// persisted is a sim harness whose objects live in files.
type persisted struct{ dir string }

func (h persisted) MakeProvider(ctx context.Context, t *testing.T) providers.Provider {
	return sim.New(sim.Options{Seed: 9, StatePath: filepath.Join(h.dir, "sim.json")})
}

func (h persisted) Fixture() providertest.Fixture {
	return providertest.Fixture{WaitTimeout: 5 * time.Second, Poll: 5 * time.Millisecond, ObjectPartSize: 64 << 10, ExternalNetwork: sim.PublicNetworkID}
}

// DeleteImage implements providertest.ImageCleaner (the image file goes
// too).
func (h persisted) DeleteImage(ctx context.Context, p providers.Provider, id string) error {
	return p.(*sim.Cloud).DropImage(id)
}

// The suite passes with the bytes in files as well as in memory.
func TestConformancePersisted(t *testing.T) {
	providertest.RunConformanceTests(t, persisted{t.TempDir()})
}

// A persisted cloud keeps buckets, objects and its URL key across a
// restart, as a real cloud does.
func TestObjectsSurviveRestart(t *testing.T) {
	ctx := context.Background()
	state := filepath.Join(t.TempDir(), "sim.json")
	c := sim.New(sim.Options{StatePath: state, PartSize: 1 << 16})
	if _, err := c.CreateBucket(ctx, "keep", "", nil); err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("0123456789abcdef"), 20000) // 320000 bytes: 5 parts
	w, err := c.NewWriter(ctx, "keep", "dir/blob", providers.WriteOptions{SHA256: "ab"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	o, err := w.Commit()
	if err != nil || o.Parts != 5 {
		t.Fatalf("commit: %+v %v", o, err)
	}
	if _, err := c.CopyObject(ctx, "keep", "dir/blob", "keep", "copy"); err != nil {
		t.Fatal(err)
	}
	signed, err := c.SignURL(ctx, "keep", "dir/blob", providers.SignOptions{Method: "GET", Expiry: time.Hour, BaseURL: "http://x/signed"})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()

	c2 := sim.New(sim.Options{StatePath: state, PartSize: 1 << 16})
	for _, key := range []string{"dir/blob", "copy"} {
		r, o2, err := c2.NewRangeReader(ctx, "keep", key, 0, -1)
		if err != nil {
			t.Fatalf("after restart, %s: %v", key, err)
		}
		got, _ := io.ReadAll(r)
		r.Close()
		if !bytes.Equal(got, data) || o2.ETag != o.ETag || o2.SHA256 != "ab" {
			t.Errorf("after restart, %s: %d bytes, %+v", key, len(got), o2)
		}
	}
	// A URL signed before the restart still works: the key was kept.
	rec := httptest.NewRecorder()
	c2.ServeSignedURL(rec, httptest.NewRequest("GET", signed.URL, nil), "keep/dir/blob")
	if rec.Code != 200 || !bytes.Equal(rec.Body.Bytes(), data) {
		t.Errorf("URL signed before the restart: %d", rec.Code)
	}
	if err := c2.DeleteObject(ctx, "keep", "copy"); err != nil {
		t.Fatal(err)
	}
	if err := c2.DeleteObject(ctx, "keep", "dir/blob"); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(state + ".blobs/*")
	if len(files) != 0 {
		t.Errorf("blobs left after deleting every object: %v", files)
	}
}

// PendingUploads implements providertest.UploadInspector: the simulator's
// count of unfinished uploads, and no part file left in its blobs
// directory (an upload's parts go to an upload-* file there).
func (h persisted) PendingUploads(ctx context.Context, p providers.Provider, bucket, key string) ([]string, error) {
	left := p.(*sim.Cloud).PendingUploads(bucket, key)
	files, err := filepath.Glob(filepath.Join(h.dir, "sim.json.blobs", "upload-*"))
	return append(left, files...), err
}

// The sim's page tokens are its own: a key, or anything else it did not
// make, is ErrInvalid rather than a place to start listing.
func TestListObjectsPageTokens(t *testing.T) {
	ctx := context.Background()
	c := sim.New(sim.Options{})
	if _, err := c.CreateBucket(ctx, "pages", "", nil); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"a", "b", "c"} {
		w, err := c.NewWriter(ctx, "pages", k, providers.WriteOptions{Size: -1})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	p1, err := c.ListObjects(ctx, "pages", providers.ListObjectsOptions{PageSize: 2})
	if err != nil || len(p1.Objects) != 2 || p1.NextToken == "" {
		t.Fatalf("first page: %+v, %v", p1, err)
	}
	p2, err := c.ListObjects(ctx, "pages", providers.ListObjectsOptions{PageSize: 2, PageToken: p1.NextToken})
	if err != nil || len(p2.Objects) != 1 || p2.Objects[0].Key != "c" || p2.NextToken != "" {
		t.Fatalf("second page: %+v, %v", p2, err)
	}
	for _, tok := range []string{"b", "sim1.", "sim1.%%", "other.Yg"} {
		if _, err := c.ListObjects(ctx, "pages", providers.ListObjectsOptions{PageToken: tok}); !errors.Is(err, providers.ErrInvalid) {
			t.Errorf("token %q: %v, want ErrInvalid", tok, err)
		}
	}
}
