package openstack

// Glance image data (providers.ImageTransfer): an image record is created
// (queued), its bytes stream up in one chunked PUT (Glance reads them as
// they come: bounded memory), and Glance's md5 ("checksum") is checked
// against the bytes sent. An upload that fails or is aborted deletes the
// record. Downloads stream the image file.

import (
	"context"
	"crypto/md5" //nolint:gosec // Glance's checksum is md5
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"

	"github.com/canopy-cloud/canopy/internal/failpoint"
	"github.com/canopy-cloud/canopy/providers"
)

// canopySHA256Prop is the image property holding the sha256 canopy was
// given at upload.
const canopySHA256Prop = "canopy_sha256"

// canopyUploadProp marks the images canopy creates for an upload. Glance
// makes the image record first and takes the bytes in a second request; a
// crash between the two (or in the middle of the second, after which Glance
// puts the image back to queued) leaves a record with no data. Such an
// image — marked, still queued, older than Options.OrphanUploadAfter — is
// what a dead upload left: lists drop it and delete it (sweepOrphans). A
// live upload is queued only between the two requests, milliseconds.
const canopyUploadProp = "canopy_upload"

// canopyContainerFormatProp keeps a container format Glance has no name
// for: Glance's container formats include docker but not oci, so an OCI
// layout tarball is kept as container_format docker with this property
// saying oci, and reads back as oci.
const canopyContainerFormatProp = "canopy_container_format"

// sweepOrphans deletes, in the background, the marked images a dead upload
// left, and returns list without them.
func (c *Cloud) sweepOrphans(cl *clients, list []images.Image) []images.Image {
	if c.opts.OrphanUploadAfter <= 0 {
		return list
	}
	out := list[:0:0]
	for _, im := range list {
		if im.Status == images.ImageStatusQueued && im.Properties[canopyUploadProp] != nil && time.Since(im.CreatedAt) > c.opts.OrphanUploadAfter {
			id := im.ID
			c.sweepMu.Lock()
			busy := time.Since(c.swept[id]) < time.Minute
			if !busy {
				c.swept[id] = time.Now()
			}
			c.sweepMu.Unlock()
			if !busy {
				go func() {
					ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
					defer cancel()
					_ = images.Delete(ctx, cl.image, id).ExtractErr()
				}()
			}
			continue
		}
		out = append(out, im)
	}
	return out
}

// NewImageWriter implements providers.ImageTransfer.
func (c *Cloud) NewImageWriter(ctx context.Context, spec providers.ImageSpec) (providers.ImageWriter, error) {
	cl, err := c.clients(ctx)
	if err != nil {
		return nil, err
	}
	if spec.ContainerFormat == "" {
		spec.ContainerFormat = "bare"
	}
	props := map[string]string{}
	for k, v := range spec.Labels {
		props[k] = v
	}
	if spec.ContainerFormat == "oci" {
		props[canopyContainerFormatProp] = "oci"
		spec.ContainerFormat = "docker"
	}
	if spec.SHA256 != "" {
		props[canopySHA256Prop] = spec.SHA256
	}
	props[canopyUploadProp] = "1"
	im, err := images.Create(ctx, cl.image, images.CreateOpts{
		Name: spec.Name, DiskFormat: spec.DiskFormat, ContainerFormat: spec.ContainerFormat,
		MinDisk: int(spec.MinDiskGiB), MinRAM: int(spec.MinRAMMiB), Properties: props,
	}).Extract()
	if err != nil {
		return nil, fmt.Errorf("openstack: create image %s in %s: %w", spec.Name, cl.region, mapErr(err))
	}
	failpoint.Hit("openstack/image:created")
	ctx, cancel := context.WithCancel(ctx)
	w := &glanceWriter{c: c, cl: cl, id: im.ID, cancel: cancel, md5: md5.New()} //nolint:gosec
	u := cl.image.ServiceURL("images", url.PathEscape(im.ID), "file")
	w.up = providers.StartPipeUpload(func(body io.Reader) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPut, u, body)
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/octet-stream")
		req.Header.Set("X-Auth-Token", cl.image.Token())
		if spec.Size >= 0 {
			req.ContentLength = spec.Size
		}
		resp, err := swiftHTTP.Do(req)
		if err != nil {
			return fmt.Errorf("openstack: upload image %s: %w: %v", im.ID, providers.ErrUnavailable, err)
		}
		defer resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			return fmt.Errorf("openstack: upload image %s: %w", im.ID, mapErr(gophercloud.ErrUnexpectedResponseCode{Method: "PUT", URL: u, Actual: resp.StatusCode, Body: msg}))
		}
		return nil
	})
	return w, nil
}

type glanceWriter struct {
	c        *Cloud
	cl       *clients
	id       string
	up       *providers.PipeUpload // into Glance's PUT /file
	cancel   context.CancelFunc
	md5      hash.Hash
	finished bool
}

func (w *glanceWriter) Write(p []byte) (int, error) {
	if w.finished {
		return 0, errors.New("openstack: write after commit or abort")
	}
	w.md5.Write(p)
	return w.up.Write(p)
}

func (w *glanceWriter) Commit() (providers.Image, error) {
	if w.finished {
		return providers.Image{}, errors.New("openstack: commit after commit or abort")
	}
	w.finished = true
	err := w.up.Finish()
	defer w.cancel()
	ctx := context.WithoutCancel(context.Background())
	if err != nil {
		_ = images.Delete(ctx, w.cl.image, w.id).ExtractErr()
		return providers.Image{}, err
	}
	im, err := images.Get(ctx, w.cl.image, w.id).Extract()
	if err != nil {
		return providers.Image{}, fmt.Errorf("openstack: get image %s: %w", w.id, mapErr(err))
	}
	if sum := hex.EncodeToString(w.md5.Sum(nil)); im.Checksum != "" && !strings.EqualFold(im.Checksum, sum) {
		_ = images.Delete(ctx, w.cl.image, w.id).ExtractErr()
		return providers.Image{}, fmt.Errorf("openstack: image %s: Glance's md5 %s is not the %s of the bytes sent: deleted it: %w", w.id, im.Checksum, sum, providers.ErrIntegrity)
	}
	return toImage(w.cl.region, *im), nil
}

func (w *glanceWriter) Abort() error {
	if w.finished {
		return nil
	}
	w.finished = true
	w.cancel()
	_ = w.up.Abandon(errors.New("upload aborted"))
	return images.Delete(context.Background(), w.cl.image, w.id).ExtractErr()
}

// NewImageReader implements providers.ImageTransfer.
func (c *Cloud) NewImageReader(ctx context.Context, id string) (io.ReadCloser, providers.Image, error) {
	cl, err := c.clients(ctx)
	if err != nil {
		return nil, providers.Image{}, err
	}
	im, err := images.Get(ctx, cl.image, url.PathEscape(id)).Extract()
	if err != nil {
		return nil, providers.Image{}, fmt.Errorf("openstack: get image %s: %w", id, mapErr(err))
	}
	u := cl.image.ServiceURL("images", url.PathEscape(id), "file")
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, providers.Image{}, err
	}
	req.Header.Set("X-Auth-Token", cl.image.Token())
	resp, err := swiftHTTP.Do(req)
	if err != nil {
		return nil, providers.Image{}, fmt.Errorf("openstack: download image %s: %w: %v", id, providers.ErrUnavailable, err)
	}
	if resp.StatusCode == http.StatusNoContent {
		resp.Body.Close()
		return nil, providers.Image{}, fmt.Errorf("openstack: image %s has no data: %w", id, providers.ErrConflict)
	}
	if resp.StatusCode/100 != 2 {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		return nil, providers.Image{}, fmt.Errorf("openstack: download image %s: %w", id, mapErr(gophercloud.ErrUnexpectedResponseCode{Method: "GET", URL: u, Actual: resp.StatusCode, Body: body}))
	}
	return resp.Body, toImage(cl.region, *im), nil
}

var _ providers.ImageDeleter = (*Cloud)(nil)

// DeleteImage implements providers.ImageDeleter: Glance deletes the image
// record and its stored data in one call.
func (c *Cloud) DeleteImage(ctx context.Context, id string) error {
	cl, err := c.clients(ctx)
	if err != nil {
		return err
	}
	if err := images.Delete(ctx, cl.image, url.PathEscape(id)).ExtractErr(); err != nil {
		return fmt.Errorf("openstack: delete image %s: %w", id, mapErr(err))
	}
	return nil
}
