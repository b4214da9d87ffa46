package sim

import (
	"context"
	"testing"
	"time"

	"github.com/canopy-cloud/canopy/providers"
)

// With image_import_delay an uploaded image imports: PENDING, then ACTIVE;
// FailImport ends an import in ERROR.
func TestImageImport(t *testing.T) {
	opts, err := ParseOptions(map[string]any{"image_import_delay": "80ms"})
	if err != nil {
		t.Fatal(err)
	}
	c := New(opts)
	ctx := context.Background()
	upload := func(name string) providers.Image {
		w, err := c.NewImageWriter(ctx, providers.ImageSpec{Name: name, DiskFormat: "raw"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte("disk")); err != nil {
			t.Fatal(err)
		}
		im, err := w.Commit()
		if err != nil {
			t.Fatal(err)
		}
		return im
	}
	im := upload("slow")
	if im.Status != providers.StatusPending || im.ProviderStatus != "importing" {
		t.Fatalf("committed image = %s/%s, want PENDING/importing", im.Status, im.ProviderStatus)
	}
	if got, _ := c.GetImage(ctx, im.NativeID); got.Status != providers.StatusPending {
		t.Fatalf("at once: %s", got.Status)
	}
	time.Sleep(100 * time.Millisecond)
	list, _ := c.ListImages(ctx)
	for _, x := range list {
		if x.NativeID == im.NativeID && (x.Status != providers.StatusActive || x.ProviderStatus != "active") {
			t.Fatalf("after the delay: %s/%s, want ACTIVE", x.Status, x.ProviderStatus)
		}
	}
	bad := upload("bad")
	if err := c.FailImport(bad.NativeID, "unsupported format"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if got, _ := c.GetImage(ctx, bad.NativeID); got.Status != providers.StatusError || got.StatusMessage != "unsupported format" {
		t.Fatalf("failed import = %s %q, want ERROR with the message", got.Status, got.StatusMessage)
	}
	if _, err := ParseOptions(map[string]any{"image_import_delay": 5}); err == nil {
		t.Error("a number accepted as image_import_delay")
	}
}
