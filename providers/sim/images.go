package sim

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/canopy-cloud/canopy/providers"
)

// diskFormats and containerFormats are Glance's.
var (
	diskFormats      = map[string]bool{"raw": true, "qcow2": true, "vmdk": true, "vdi": true, "iso": true, "vhd": true, "vhdx": true, "ami": true, "ari": true, "aki": true, "ploop": true}
	containerFormats = map[string]bool{"bare": true, "ovf": true, "ova": true, "docker": true, "ami": true, "ari": true, "aki": true, "compressed": true}
)

// NewImageWriter implements providers.ImageTransfer: the image appears
// when the upload commits, like a Glance image whose data landed: ACTIVE,
// or PENDING while it imports (Options.ImageImportDelay).
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
	if d := w.c.opts.ImageImportDelay; d > 0 {
		im.Status, im.ProviderStatus = providers.StatusPending, "importing"
		if w.c.imports == nil {
			w.c.imports = map[string]time.Time{}
		}
		w.c.imports[im.NativeID] = now.Add(d)
	}
	st := w.c.objs()
	if st.dir != "" {
		if err := os.WriteFile(imageFile(st, im.NativeID), w.buf.Bytes(), 0o600); err != nil {
			return providers.Image{}, fmt.Errorf("sim: keep image %s: %w", im.NativeID, err)
		}
	} else {
		st.images[im.NativeID] = w.buf.Bytes()
	}
	w.c.images = append(w.c.images, im)
	w.c.save()
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
		st := c.objs()
		if data, ok := st.images[id]; ok {
			return io.NopCloser(bytes.NewReader(data)), im, nil
		}
		if st.dir != "" {
			if f, err := os.Open(imageFile(st, id)); err == nil {
				return f, im, nil
			}
		}
		return nil, providers.Image{}, fmt.Errorf("sim: image %q has no data (a catalogue image): %w", id, providers.ErrConflict)
	}
	return nil, providers.Image{}, fmt.Errorf("sim: image %q: %w", id, providers.ErrNotFound)
}

// settleImports makes the images whose import has finished ACTIVE. Callers
// hold c.mu.
func (c *Cloud) settleImports(now time.Time) {
	for id, until := range c.imports {
		if now.Before(until) {
			continue
		}
		delete(c.imports, id)
		for i := range c.images {
			if c.images[i].NativeID == id && c.images[i].Status == providers.StatusPending {
				c.images[i].Status, c.images[i].ProviderStatus, c.images[i].Updated = providers.StatusActive, "active", until
			}
		}
	}
}

// FailImport ends an image's import in ERROR with msg (Glance's "killed"),
// for tests of what waits on it.
func (c *Cloud) FailImport(id, msg string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range c.images {
		if c.images[i].NativeID == id {
			delete(c.imports, id)
			c.images[i].Status, c.images[i].ProviderStatus, c.images[i].StatusMessage = providers.StatusError, "killed", msg
			c.images[i].Updated = time.Now()
			c.save()
			return nil
		}
	}
	return fmt.Errorf("sim: image %q: %w", id, providers.ErrNotFound)
}

// DeleteImage implements providers.ImageDeleter.
func (c *Cloud) DeleteImage(ctx context.Context, id string) error {
	if err := c.call(ctx, "DeleteImage"); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.removeImage(id) {
		return fmt.Errorf("sim: image %q: %w", id, providers.ErrNotFound)
	}
	return nil
}

// DropImage deletes an image behind canopy's back (someone else deleted
// it in the cloud, or Glance gave up on its import), for tests of what
// waits on it. A container image (a commit) is dropped the same way.
func (c *Cloud) DropImage(id string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.removeImage(id) {
		return nil
	}
	return c.DropContainerImage(id) // or a container image (containers_events.go)
}

// removeImage forgets an image and its bytes; false if there is none.
// Callers hold c.mu.
func (c *Cloud) removeImage(id string) bool {
	for i := range c.images {
		if c.images[i].NativeID != id {
			continue
		}
		c.images = append(c.images[:i], c.images[i+1:]...)
		delete(c.imports, id)
		st := c.objs()
		delete(st.images, id)
		if st.dir != "" {
			_ = os.Remove(imageFile(st, id))
		}
		c.save()
		return true
	}
	return false
}

// imageFile is where a persisted cloud keeps an uploaded image's bytes.
func imageFile(st *objectState, id string) string { return filepath.Join(st.dir, "image-"+id) }

// uploadedImages are the images not in the configured catalogue. Callers
// hold c.mu.
func (c *Cloud) uploadedImages() []providers.Image {
	catalogue := map[string]bool{}
	for _, im := range c.opts.Images {
		catalogue[im.NativeID] = true
	}
	var out []providers.Image
	for _, im := range c.images {
		if !catalogue[im.NativeID] {
			out = append(out, im)
		}
	}
	return out
}
