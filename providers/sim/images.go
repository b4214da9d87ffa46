package sim

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"time"

	"github.com/canopy-cloud/canopy/providers"
)

// diskFormats and containerFormats are Glance's.
var (
	diskFormats      = map[string]bool{"raw": true, "qcow2": true, "vmdk": true, "vdi": true, "iso": true, "vhd": true, "vhdx": true, "ami": true, "ari": true, "aki": true, "ploop": true}
	containerFormats = map[string]bool{"bare": true, "ovf": true, "ova": true, "docker": true, "ami": true, "ari": true, "aki": true, "compressed": true}
)

// NewImageWriter implements providers.ImageTransfer: the image appears
// (ACTIVE) when the upload commits, like a Glance image whose data landed.
func (c *Cloud) NewImageWriter(ctx context.Context, spec providers.ImageSpec) (providers.ImageWriter, error) {
	if err := c.call(ctx, "CreateImage"); err != nil {
		return nil, err
	}
	if spec.Name == "" {
		return nil, fmt.Errorf("sim: image name: %w: empty", providers.ErrInvalid)
	}
	if !diskFormats[spec.DiskFormat] {
		return nil, fmt.Errorf("sim: disk format %q: %w", spec.DiskFormat, providers.ErrInvalid)
	}
	if spec.ContainerFormat == "" {
		spec.ContainerFormat = "bare"
	}
	if !containerFormats[spec.ContainerFormat] {
		return nil, fmt.Errorf("sim: container format %q: %w", spec.ContainerFormat, providers.ErrInvalid)
	}
	return &imageWriter{c: c, ctx: ctx, spec: spec}, nil
}

type imageWriter struct {
	c    *Cloud
	ctx  context.Context
	spec providers.ImageSpec
	buf  bytes.Buffer
	done bool
}

func (w *imageWriter) Write(p []byte) (int, error) {
	if w.done {
		return 0, fmt.Errorf("sim: write after commit or abort")
	}
	if err := w.ctx.Err(); err != nil {
		return 0, err
	}
	return w.buf.Write(p)
}

func (w *imageWriter) Commit() (providers.Image, error) {
	if w.done {
		return providers.Image{}, fmt.Errorf("sim: commit after commit or abort")
	}
	w.done = true
	if err := w.c.call(w.ctx, "UploadImageData"); err != nil {
		return providers.Image{}, err
	}
	now := time.Now()
	w.c.mu.Lock()
	defer w.c.mu.Unlock()
	im := providers.Image{
		Common: providers.Common{
			NativeID: w.c.newID("img"), Name: w.spec.Name, Region: w.c.opts.Regions[0],
			Status: providers.StatusActive, ProviderStatus: "active", Created: now, Updated: now,
			Labels: cloneMap(w.spec.Labels),
		},
		SizeBytes: int64(w.buf.Len()), DiskFormat: w.spec.DiskFormat, ContainerFormat: w.spec.ContainerFormat,
		MinDiskGiB: w.spec.MinDiskGiB, MinRAMMiB: w.spec.MinRAMMiB,
	}
	if w.spec.SHA256 != "" {
		im.Properties = map[string]string{"os_hash_algo": "sha256", "os_hash_value": w.spec.SHA256}
	}
	w.c.images = append(w.c.images, im)
	w.c.objs().images[im.NativeID] = w.buf.Bytes()
	return im, nil
}

func (w *imageWriter) Abort() error {
	w.done = true
	w.buf = bytes.Buffer{}
	return nil
}

// NewImageReader implements providers.ImageTransfer. The catalogue images
// the simulator starts with have no data; only uploaded ones do.
func (c *Cloud) NewImageReader(ctx context.Context, id string) (io.ReadCloser, providers.Image, error) {
	if err := c.call(ctx, "DownloadImageData"); err != nil {
		return nil, providers.Image{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, im := range c.images {
		if im.NativeID != id {
			continue
		}
		data, ok := c.objs().images[id]
		if !ok {
			return nil, providers.Image{}, fmt.Errorf("sim: image %q has no data (a catalogue image): %w", id, providers.ErrConflict)
		}
		return io.NopCloser(bytes.NewReader(data)), im, nil
	}
	return nil, providers.Image{}, fmt.Errorf("sim: image %q: %w", id, providers.ErrNotFound)
}
