package emulate

import (
	"context"
	"errors"
	"testing"

	"github.com/canopy-cloud/canopy/providers"
)

// deletingImages is a runtime's image list that deletes.
type deletingImages struct{ deleted []string }

func (d *deletingImages) ListContainerImages(context.Context) ([]providers.Image, error) {
	return nil, nil
}
func (d *deletingImages) DeleteImage(_ context.Context, id string) error {
	d.deleted = append(d.deleted, id)
	return nil
}

type listOnlyImages struct{}

func (listOnlyImages) ListContainerImages(context.Context) ([]providers.Image, error) {
	return nil, nil
}

// The servers view deletes images through the runtime when it can (the
// image service's DeleteImage on a docker cloud), and says it cannot
// otherwise.
func TestContainerServersDeleteImage(t *testing.T) {
	d := &deletingImages{}
	if err := NewContainerServers(nil, d, nil, "r", StopGrace).DeleteImage(context.Background(), "app:1"); err != nil || len(d.deleted) != 1 || d.deleted[0] != "app:1" {
		t.Fatalf("delete through the runtime: %v, deleted %v", err, d.deleted)
	}
	for _, images := range []providers.ContainerImages{nil, listOnlyImages{}} {
		err := NewContainerServers(nil, images, nil, "r", StopGrace).DeleteImage(context.Background(), "app:1")
		if !errors.Is(err, providers.ErrUnsupported) {
			t.Errorf("runtime %T: %v, want ErrUnsupported", images, err)
		}
	}
}
