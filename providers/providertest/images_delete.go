package providertest

import (
	"context"
	"errors"
	"testing"

	"github.com/canopy-cloud/canopy/providers"
)

// ImageMaker is implemented by harnesses of clouds whose adapter deletes
// images but has no ImageTransfer to upload one (EC2: an AMI is
// registered over a snapshot). It makes an image the suite may delete.
type ImageMaker interface {
	MakeImage(ctx context.Context, t *testing.T, p providers.Provider, name string) string
}

// testImageDelete tests providers.ImageDeleter on an image made for it:
// uploaded through ImageTransfer, or made by the harness (ImageMaker).
func (s *suite) testImageDelete(t *testing.T, d providers.ImageDeleter) {
	ctx := context.Background()
	var id string
	switch mk, _ := s.h.(ImageMaker); {
	case mk != nil:
		id = mk.MakeImage(ctx, t, s.p, s.name(t, "del"))
	default:
		it, ok := s.p.(providers.ImageTransfer)
		if !ok {
			t.Skip("the adapter deletes images, but has no ImageTransfer and the harness is no ImageMaker: nothing to delete")
		}
		is := &imageSuite{s: &suite{p: s.p, c: s.c, fx: s.fx}, it: it} // no cleaner: the test deletes it
		id = is.upload(t, providers.ImageSpec{Name: s.name(t, "del"), DiskFormat: "raw", ContainerFormat: "bare", Size: 4096}, make([]byte, 4096), 1024).NativeID
	}
	if _, err := s.c.GetImage(ctx, id); err != nil {
		t.Fatalf("GetImage(%s) before the delete: %v", id, err)
	}
	if err := d.DeleteImage(ctx, id); err != nil {
		t.Fatalf("DeleteImage(%s): %v", id, err)
	}
	if _, err := s.c.GetImage(ctx, id); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("GetImage(%s) after DeleteImage: err = %v, want ErrNotFound", id, err)
	}
	list, err := s.c.ListImages(ctx)
	if err != nil {
		t.Fatalf("ListImages: %v", err)
	}
	for _, im := range list {
		if im.NativeID == id && im.Status != providers.StatusDeleted {
			t.Errorf("ListImages after DeleteImage still has %s (%v)", id, im.Status)
		}
	}
	if err := d.DeleteImage(ctx, id); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("DeleteImage(%s) again: err = %v, want ErrNotFound", id, err)
	}
	if err := d.DeleteImage(ctx, "no-such-image-"+s.fx.Prefix); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("DeleteImage(missing): err = %v, want ErrNotFound", err)
	}
}
