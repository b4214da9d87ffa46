package openstack

// A volume's bytes through Glance (providers.VolumeData), the way Cinder
// itself moves them without attaching a volume anywhere:
//
//   - read: the volume is uploaded to a new raw image (os-volume_upload_image,
//     force, so an attached volume too), and the image's file is streamed
//     back; closing the reader deletes the image.
//   - write: the bytes stream into a new raw image (NewImageWriter: one
//     chunked PUT, md5 checked), and the volume is reimaged from it
//     (os-reimage, microversion 3.68, Zed and later); then the image is
//     deleted.
//
// Nothing is held in memory beyond the HTTP buffers. The transit images
// are named canopy-volume-data-<volume id> (written ones also carry the
// property canopy_volume_data): one left by a process that died between
// the steps is visible in Glance and says what it is.
// Reimage marks the volume bootable with the image's metadata: Cinder's
// doing, harmless for a data volume.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"

	"github.com/canopy-cloud/canopy/providers"
)

var _ providers.VolumeData = (*Cloud)(nil)

// reimageMicroversion is the Cinder microversion of os-reimage.
const reimageMicroversion = "3.68"

// volumeDataProp marks the transit images of VolumeData.
const volumeDataProp = "canopy_volume_data"

// dataPoll is how often the transit steps are polled.
const dataPoll = 500 * time.Millisecond

// dataVolume gets a volume that must be available for a data transfer.
func (c *Cloud) dataVolume(ctx context.Context, what, id string) (*volumes.Volume, error) {
	sc, region, err := c.cinder(ctx)
	if err != nil {
		return nil, err
	}
	v, err := volumes.Get(ctx, sc, url.PathEscape(id)).Extract()
	if err != nil {
		return nil, volFail(err, "%s volume %s in %s", what, id, region)
	}
	return v, nil
}

// waitVolumeStatus polls a volume until it is in status want; an error
// status, or the context's end, fails.
func (c *Cloud) waitVolumeStatus(ctx context.Context, id, want string) error {
	sc, _, err := c.cinder(ctx)
	if err != nil {
		return err
	}
	for {
		v, err := volumes.Get(ctx, sc, url.PathEscape(id)).Extract()
		if err != nil {
			return mapErr(err)
		}
		if v.Status == want {
			return nil
		}
		if strings.HasPrefix(v.Status, "error") {
			return fmt.Errorf("%w: volume %s went to %s", providers.ErrUnavailable, id, v.Status)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("volume %s still %s: %w", id, v.Status, ctx.Err())
		case <-time.After(dataPoll):
		}
	}
}

// waitImageActive polls a Glance image until it is active.
func (c *Cloud) waitImageActive(ctx context.Context, cl *clients, id string) error {
	for {
		im, err := images.Get(ctx, cl.image, url.PathEscape(id)).Extract()
		if err != nil {
			return mapErr(err)
		}
		switch im.Status {
		case images.ImageStatusActive:
			return nil
		case images.ImageStatusKilled, images.ImageStatusDeleted, images.ImageStatusPendingDelete:
			return fmt.Errorf("%w: image %s went to %s", providers.ErrUnavailable, id, im.Status)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("image %s still %s: %w", id, im.Status, ctx.Err())
		case <-time.After(dataPoll):
		}
	}
}

// deleteImage deletes a transit image, whatever the caller's context.
func deleteImage(cl *clients, id string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_ = images.Delete(ctx, cl.image, id).ExtractErr()
}

// ReadVolumeData implements providers.VolumeData: the volume uploaded to
// a transit image, streamed back; Close deletes the image.
func (c *Cloud) ReadVolumeData(ctx context.Context, volumeID string) (io.ReadCloser, error) {
	fail := func(err error) (io.ReadCloser, error) {
		return nil, fmt.Errorf("openstack: read volume %s: %w", volumeID, err)
	}
	v, err := c.dataVolume(ctx, "read", volumeID)
	if err != nil {
		return nil, err
	}
	if v.Status != "available" && v.Status != "in-use" {
		return fail(fmt.Errorf("%w: it is %s", providers.ErrConflict, v.Status))
	}
	sc, _, err := c.cinder(ctx)
	if err != nil {
		return nil, err
	}
	cl, err := c.clients(ctx)
	if err != nil {
		return nil, err
	}
	up, err := volumes.UploadImage(ctx, sc, url.PathEscape(volumeID), volumes.UploadImageOpts{
		ImageName: "canopy-volume-data-" + volumeID, DiskFormat: "raw", ContainerFormat: "bare", Force: true,
	}).Extract()
	if err != nil {
		err = mapErr(err)
		if isHTTP(err, 400) {
			err = asKind(err, providers.ErrConflict)
		}
		return fail(fmt.Errorf("upload to image: %w", err))
	}
	// The image is not tagged: a change to it while Cinder uploads makes
	// Glance refuse the upload (410); its name says what it is.
	imageID := up.ImageID
	err = c.waitImageActive(ctx, cl, imageID)
	if err == nil {
		err = c.waitVolumeStatus(ctx, volumeID, v.Status)
	}
	if err != nil {
		deleteImage(cl, imageID)
		return fail(fmt.Errorf("upload to image %s: %w", imageID, err))
	}
	r, _, err := c.NewImageReader(ctx, imageID)
	if err != nil {
		deleteImage(cl, imageID)
		return fail(err)
	}
	return &transitReader{ReadCloser: r, done: func() { deleteImage(cl, imageID) }}, nil
}

// transitReader deletes the transit image once the reader is closed.
type transitReader struct {
	io.ReadCloser
	done   func()
	closed bool
}

func (t *transitReader) Close() error {
	if t.closed {
		return nil
	}
	t.closed = true
	err := t.ReadCloser.Close()
	t.done()
	return err
}

// WriteVolumeData implements providers.VolumeData: the bytes into a
// transit image, the volume reimaged from it. The volume must be
// available (canopy writes into volumes it has just made).
func (c *Cloud) WriteVolumeData(ctx context.Context, volumeID string, r io.Reader) error {
	fail := func(err error) error { return fmt.Errorf("openstack: write volume %s: %w", volumeID, err) }
	v, err := c.dataVolume(ctx, "write", volumeID)
	if err != nil {
		return err
	}
	if v.Status != "available" {
		return fail(fmt.Errorf("%w: it is %s, not available", providers.ErrConflict, v.Status))
	}
	cl, err := c.clients(ctx)
	if err != nil {
		return err
	}
	limit := int64(v.Size) << 30
	w, err := c.NewImageWriter(ctx, providers.ImageSpec{Name: "canopy-volume-data-" + volumeID, DiskFormat: "raw", ContainerFormat: "bare",
		Size: -1, Labels: map[string]string{volumeDataProp: volumeID}})
	if err != nil {
		return fail(err)
	}
	n, err := io.Copy(w, io.LimitReader(r, limit+1))
	if err == nil && n > limit {
		err = fmt.Errorf("%w: more bytes than its %d GiB", providers.ErrInvalid, v.Size)
	}
	if err != nil {
		_ = w.Abort()
		return fail(err)
	}
	im, err := w.Commit()
	if err != nil {
		return fail(err)
	}
	defer deleteImage(cl, im.NativeID)
	if err := c.waitImageActive(ctx, cl, im.NativeID); err != nil {
		return fail(err)
	}
	sc, _, err := c.cinder(ctx)
	if err != nil {
		return err
	}
	rsc := *sc
	rsc.Microversion = reimageMicroversion
	if err := volumes.ReImage(ctx, &rsc, url.PathEscape(volumeID), volumes.ReImageOpts{ImageID: im.NativeID}).ExtractErr(); err != nil {
		err = mapErr(err)
		var ae *APIError
		if errors.As(err, &ae) && (ae.Code == 404 || ae.Code == 406) {
			err = asKind(err, providers.ErrUnsupported) // a Cinder before Zed has no os-reimage
		} else if isHTTP(err, 400) || isHTTP(err, 409) {
			err = asKind(err, providers.ErrConflict)
		}
		return fail(fmt.Errorf("reimage from %s: %w", im.NativeID, err))
	}
	// Cinder's API has set the volume downloading before it answers.
	if err := c.waitVolumeStatus(ctx, volumeID, "available"); err != nil {
		return fail(fmt.Errorf("reimage from %s: %w", im.NativeID, err))
	}
	return nil
}
