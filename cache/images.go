package cache

import (
	"context"
	"fmt"
	"io"

	"github.com/canopy-cloud/canopy/providers"
)

// ImageTransfer is a cloud's image upload and download, bound to the
// cloud's rate limiter. Nothing is cached (the payload is bytes). Callers
// pass Gate before each upstream step (creating the writer, committing it,
// opening a reader), so a step refused by the limiter can be reported as
// that step; the writer's own requests are the adapter's.
type ImageTransfer struct {
	inner providers.ImageTransfer
	lim   *Limiter
}

// NewImageTransfer binds inner to lim.
func NewImageTransfer(inner providers.ImageTransfer, lim *Limiter) *ImageTransfer {
	return &ImageTransfer{inner: inner, lim: lim}
}

// Gate waits for the cloud's rate limiter.
func (t *ImageTransfer) Gate(ctx context.Context) error { return t.lim.Wait(ctx) }

// NewImageWriter implements providers.ImageTransfer.
func (t *ImageTransfer) NewImageWriter(ctx context.Context, spec providers.ImageSpec) (providers.ImageWriter, error) {
	return t.inner.NewImageWriter(ctx, spec)
}

// NewImageReader implements providers.ImageTransfer.
func (t *ImageTransfer) NewImageReader(ctx context.Context, id string) (io.ReadCloser, providers.Image, error) {
	return t.inner.NewImageReader(ctx, id)
}

var _ providers.ImageTransfer = (*ImageTransfer)(nil)

// DeleteImage deletes an image through the adapter's
// providers.ImageDeleter, rate-limited, and forgets the cached images so
// lists stop showing it at once. An adapter without ImageDeleter is
// ErrUnsupported.
func (c *Compute) DeleteImage(ctx context.Context, id string) error {
	d, ok := c.inner.(providers.ImageDeleter)
	if !ok {
		return fmt.Errorf("cache: %s cannot delete images: %w", c.cloud, providers.ErrUnsupported)
	}
	return c.write(ctx, Images, "DeleteImage", func(ctx context.Context) error { return d.DeleteImage(ctx, id) })
}

var _ providers.ImageDeleter = (*Compute)(nil)
