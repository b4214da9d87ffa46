package containerd

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/containerd/containerd"
	"github.com/containerd/containerd/images"
	"github.com/containerd/containerd/images/archive"
	"github.com/containerd/containerd/platforms"

	"github.com/canopy-cloud/canopy/providers"
)

// Container images as image data (providers.ImageTransfer): an upload is a
// `docker save` tarball or an OCI image layout tarball streamed into
// containerd's importer, a download the image exported as a tarball both
// Docker and containerd load (OCI layout with Docker's manifest.json).
// The bytes go through a pipe, never whole in memory.

// NewImageWriter implements providers.ImageTransfer.
func (a *Adapter) NewImageWriter(ctx context.Context, spec providers.ImageSpec) (providers.ImageWriter, error) {
	if spec.ContainerFormat != "docker" && spec.ContainerFormat != "oci" {
		return nil, errorf(providers.ErrInvalid, "container_format %q: containerd imports docker or oci image tarballs", spec.ContainerFormat)
	}
	ctx, cancel := context.WithCancel(a.ns(ctx))
	pr, pw := io.Pipe()
	w := &importWriter{a: a, ctx: ctx, spec: spec, pw: pw, cancel: cancel, done: make(chan importResult, 1)}
	go func() {
		imgs, err := a.client.Import(ctx, pr, containerd.WithImportPlatform(platforms.Default()))
		_ = pr.CloseWithError(err)
		w.done <- importResult{imgs, err}
	}()
	return w, nil
}

type importResult struct {
	imgs []images.Image
	err  error
}

type importWriter struct {
	a      *Adapter
	ctx    context.Context
	spec   providers.ImageSpec
	pw     *io.PipeWriter
	cancel context.CancelFunc
	done   chan importResult
	ended  bool
}

func (w *importWriter) Write(p []byte) (int, error) { return w.pw.Write(p) }

// Commit ends the stream and waits for the import; the image is also
// named as the spec says when the tarball names it otherwise.
func (w *importWriter) Commit() (providers.Image, error) {
	if w.ended {
		return providers.Image{}, errors.New("containerd: image upload already ended")
	}
	w.ended = true
	defer w.cancel()
	_ = w.pw.Close()
	r := <-w.done
	if r.err != nil {
		return providers.Image{}, errorf(providers.ErrInvalid, "import image %s: %v", w.spec.Name, r.err)
	}
	if len(r.imgs) == 0 {
		return providers.Image{}, errorf(providers.ErrInvalid, "import image %s: the tarball holds no image", w.spec.Name)
	}
	im := r.imgs[0]
	name := im.Name
	if w.spec.Name != "" && w.spec.Name != im.Name {
		if norm, err := normalizeRef(w.spec.Name); err == nil {
			name = norm
		} else {
			name = w.spec.Name
		}
		is := w.a.client.ImageService()
		named := images.Image{Name: name, Target: im.Target, Labels: w.spec.Labels}
		if _, err := is.Create(w.ctx, named); err != nil {
			if _, uerr := is.Update(w.ctx, named, "target"); uerr != nil {
				return providers.Image{}, wrap(err, "name image %s", name)
			}
		}
	}
	list, err := w.a.ListContainerImages(w.ctx)
	if err != nil {
		return providers.Image{}, err
	}
	for _, x := range list {
		if x.NativeID == name {
			return x, nil
		}
	}
	return providers.Image{}, fmt.Errorf("containerd: imported image %s is not listed: %w", name, providers.ErrNotFound)
}

// Abort ends the stream with an error; the import fails and names nothing
// (content it wrote is garbage collected by containerd).
func (w *importWriter) Abort() error {
	if w.ended {
		return nil
	}
	w.ended = true
	_ = w.pw.CloseWithError(errors.New("upload aborted"))
	<-w.done
	w.cancel()
	return nil
}

// NewImageReader implements providers.ImageTransfer.
func (a *Adapter) NewImageReader(ctx context.Context, id string) (io.ReadCloser, providers.Image, error) {
	ctx = a.ns(ctx)
	im, err := a.image(ctx, id)
	if err != nil {
		if errors.Is(err, providers.ErrInvalid) {
			return nil, providers.Image{}, fmt.Errorf("image %q: %w", id, providers.ErrNotFound)
		}
		return nil, providers.Image{}, err
	}
	var info providers.Image
	list, err := a.ListContainerImages(ctx)
	if err != nil {
		return nil, providers.Image{}, err
	}
	for _, x := range list {
		if x.NativeID == im.Name() {
			info = x
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	pr, pw := io.Pipe()
	go func() {
		err := a.client.Export(ctx, pw, archive.WithImage(a.client.ImageService(), im.Name()), archive.WithPlatform(platforms.Default()))
		_ = pw.CloseWithError(err)
	}()
	return readCloser{pr, cancel}, info, nil
}

type readCloser struct {
	*io.PipeReader
	cancel context.CancelFunc
}

func (r readCloser) Close() error {
	r.cancel()
	return r.PipeReader.Close()
}

var _ providers.ImageTransfer = (*Adapter)(nil)
