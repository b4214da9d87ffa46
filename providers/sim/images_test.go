package sim

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/canopy-cloud/canopy/providers"
)

func uploadImage(t *testing.T, c *Cloud, name string, data []byte) providers.Image {
	t.Helper()
	w, err := c.NewImageWriter(context.Background(), providers.ImageSpec{Name: name, DiskFormat: "raw"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	im, err := w.Commit()
	if err != nil {
		t.Fatal(err)
	}
	return im
}

// eventually polls the image until it has the status want (no speed is
// asserted: the bound only stops a hung test).
func eventually(t *testing.T, c *Cloud, id string, want providers.Status) providers.Image {
	t.Helper()
	ctx := context.Background()
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		list, err := c.ListImages(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range list {
			if x.NativeID == id && x.Status == want {
				return x
			}
		}
		if time.Now().After(end) {
			t.Fatalf("image %s never %s", id, want)
		}
	}
}

// With image_import_delay an uploaded image imports: PENDING
// ("importing"), then ACTIVE; FailImport ends an import in ERROR, and
// DropImage makes the image disappear.
func TestImageImport(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		delay   string // image_import_delay; "" for none
		then    func(t *testing.T, c *Cloud, id string)
		want    providers.Status // right after Commit
		wantRaw string
	}{
		{name: "at once", want: providers.StatusActive, wantRaw: "active", then: func(t *testing.T, c *Cloud, id string) {
			if got, err := c.GetImage(ctx, id); err != nil || got.Status != providers.StatusActive {
				t.Fatalf("GetImage = %s, %v", got.Status, err)
			}
		}},
		{name: "imports", delay: "50ms", want: providers.StatusPending, wantRaw: "importing", then: func(t *testing.T, c *Cloud, id string) {
			if got := eventually(t, c, id, providers.StatusActive); got.ProviderStatus != "active" {
				t.Fatalf("after the import: %s", got.ProviderStatus)
			}
		}},
		{name: "still importing", delay: "1h", want: providers.StatusPending, wantRaw: "importing", then: func(t *testing.T, c *Cloud, id string) {
			if got, err := c.GetImage(ctx, id); err != nil || got.Status != providers.StatusPending || got.ProviderStatus != "importing" {
				t.Fatalf("GetImage = %s/%s, %v", got.Status, got.ProviderStatus, err)
			}
		}},
		{name: "finished by the test", delay: "1h", want: providers.StatusPending, wantRaw: "importing", then: func(t *testing.T, c *Cloud, id string) {
			if n := c.FinishImports(); n != 1 {
				t.Fatalf("FinishImports ended %d imports, want 1", n)
			}
			if got, err := c.GetImage(ctx, id); err != nil || got.Status != providers.StatusActive || got.ProviderStatus != "active" {
				t.Fatalf("GetImage after FinishImports = %s/%s, %v", got.Status, got.ProviderStatus, err)
			}
			if n := c.FinishImports(); n != 0 {
				t.Errorf("FinishImports ended %d imports with none in flight, want 0", n)
			}
		}},
		{name: "import fails", delay: "1h", want: providers.StatusPending, wantRaw: "importing", then: func(t *testing.T, c *Cloud, id string) {
			if err := c.FailImport(id, "unsupported format"); err != nil {
				t.Fatal(err)
			}
			if got, err := c.GetImage(ctx, id); err != nil || got.Status != providers.StatusError || got.StatusMessage != "unsupported format" {
				t.Fatalf("failed import = %s %q, %v: want ERROR with the message", got.Status, got.StatusMessage, err)
			}
		}},
		{name: "image dropped", delay: "1h", want: providers.StatusPending, wantRaw: "importing", then: func(t *testing.T, c *Cloud, id string) {
			if err := c.DropImage(id); err != nil {
				t.Fatal(err)
			}
			if _, err := c.GetImage(ctx, id); !errors.Is(err, providers.ErrNotFound) {
				t.Fatalf("GetImage of a dropped image: %v", err)
			}
			if _, _, err := c.NewImageReader(ctx, id); !errors.Is(err, providers.ErrNotFound) {
				t.Fatalf("NewImageReader of a dropped image: %v", err)
			}
			if err := c.DropImage(id); !errors.Is(err, providers.ErrNotFound) {
				t.Fatalf("dropping it again: %v", err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := map[string]any{}
			if tc.delay != "" {
				m["image_import_delay"] = tc.delay
			}
			opts, err := ParseOptions(m)
			if err != nil {
				t.Fatal(err)
			}
			c := New(opts)
			im := uploadImage(t, c, "img", []byte("disk"))
			if im.Status != tc.want || im.ProviderStatus != tc.wantRaw {
				t.Fatalf("committed image = %s/%s, want %s/%s", im.Status, im.ProviderStatus, tc.want, tc.wantRaw)
			}
			tc.then(t, c, im.NativeID)
		})
	}
	if _, err := ParseOptions(map[string]any{"image_import_delay": 5}); err == nil {
		t.Error("a number accepted as image_import_delay")
	}
}

// A persisted cloud keeps an image that is still importing, and its bytes,
// across a restart; the import then finishes.
func TestImageImportPersisted(t *testing.T) {
	ctx := context.Background()
	opts := Options{StatePath: filepath.Join(t.TempDir(), "sim.json"), ImageImportDelay: 150 * time.Millisecond}
	a := New(opts)
	im := uploadImage(t, a, "kept", []byte("disk bytes"))
	if im.Status != providers.StatusPending {
		t.Fatalf("committed = %s", im.Status)
	}
	b := New(opts)
	got, err := b.GetImage(ctx, im.NativeID)
	if err != nil || got.Name != "kept" {
		t.Fatalf("after the restart: %+v, %v", got, err)
	}
	eventually(t, b, im.NativeID, providers.StatusActive)
	r, _, err := b.NewImageReader(ctx, im.NativeID)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if data, err := io.ReadAll(r); err != nil || string(data) != "disk bytes" {
		t.Fatalf("bytes after the restart = %q, %v", data, err)
	}
	if err := b.DropImage(im.NativeID); err != nil {
		t.Fatal(err)
	}
	if _, err := New(opts).GetImage(ctx, im.NativeID); !errors.Is(err, providers.ErrNotFound) {
		t.Fatalf("a dropped image after a restart: %v", err)
	}
}
