package docker

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/distribution/reference"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"

	"github.com/canopy-cloud/canopy/providers"
)

// Container images as image data (providers.ImageTransfer): an upload is a
// `docker save` tarball streamed into `docker load` on every host, so an
// image uploaded once through canopy runs on any of them; a download is
// `docker save` of one image. Neither holds the image in memory: the bytes
// go through a pipe to the daemon.

// NewImageWriter implements providers.ImageTransfer.
func (c *Cloud) NewImageWriter(ctx context.Context, spec providers.ImageSpec) (providers.ImageWriter, error) {
	if spec.ContainerFormat != "docker" {
		return nil, fmt.Errorf("%w: container_format %q: a Docker host loads images saved by `docker save` (container_format docker)", providers.ErrInvalid, spec.ContainerFormat)
	}
	ctx, cancel := context.WithCancel(ctx)
	w := &loadWriter{c: c, spec: spec, cancel: cancel}
	pipes := make([]io.Writer, len(c.hosts))
	for i, h := range c.hosts {
		pr, pw := io.Pipe()
		pipes[i], w.closers = pw, append(w.closers, pw)
		done := make(chan loadResult, 1)
		w.done = append(w.done, done)
		go func() {
			refs, err := load(ctx, h, pr)
			_ = pr.CloseWithError(err) // a failed load stops the writer at once
			done <- loadResult{refs, err}
		}()
	}
	w.w = io.MultiWriter(pipes...)
	return w, nil
}

type loadResult struct {
	refs []string
	err  error
}

// load runs `docker load` on one host and returns the references it loaded.
func load(ctx context.Context, h *host, r io.Reader) ([]string, error) {
	resp, err := h.cli.ImageLoad(ctx, r, client.ImageLoadWithQuiet(true))
	if err != nil {
		return nil, mapErr(err, h, "load image", "")
	}
	defer resp.Body.Close()
	var refs []string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		var m struct {
			Stream string `json:"stream"`
			Error  string `json:"error"`
		}
		if json.Unmarshal(sc.Bytes(), &m) != nil {
			continue
		}
		if m.Error != "" {
			return nil, fmt.Errorf("%w: docker load on host %s: %s", providers.ErrInvalid, h.name, m.Error)
		}
		for _, line := range strings.Split(m.Stream, "\n") {
			if ref, ok := strings.CutPrefix(strings.TrimSpace(line), "Loaded image: "); ok {
				refs = append(refs, ref)
			} else if id, ok := strings.CutPrefix(strings.TrimSpace(line), "Loaded image ID: "); ok {
				refs = append(refs, id)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, mapErr(err, h, "load image", "")
	}
	if len(refs) == 0 {
		return nil, fmt.Errorf("%w: docker load on host %s loaded no image (not a `docker save` tarball?)", providers.ErrInvalid, h.name)
	}
	return refs, nil
}

type loadWriter struct {
	c       *Cloud
	spec    providers.ImageSpec
	w       io.Writer
	closers []*io.PipeWriter
	done    []chan loadResult
	cancel  context.CancelFunc
	ended   bool
}

func (w *loadWriter) Write(p []byte) (int, error) { return w.w.Write(p) }

// Commit ends the stream and waits for every host's load; the image is
// then tagged with the spec's name when it has one the tarball lacks.
func (w *loadWriter) Commit() (providers.Image, error) {
	if w.ended {
		return providers.Image{}, errors.New("docker: image upload already ended")
	}
	w.ended = true
	defer w.cancel()
	for _, pw := range w.closers {
		_ = pw.Close()
	}
	var refs []string
	var first error
	for _, d := range w.done {
		r := <-d
		if r.err != nil && first == nil {
			first = r.err
		}
		refs = r.refs
	}
	if first != nil {
		return providers.Image{}, first
	}
	ref := refs[0]
	ctx := context.Background()
	if name := w.spec.Name; name != "" && name != ref {
		if err := w.c.hostsDo(ctx, func(ctx context.Context, h *host) error {
			return mapErr(h.cli.ImageTag(ctx, ref, name), h, "tag image", ref)
		}); err != nil {
			return providers.Image{}, err
		}
		ref = name
	}
	return w.c.imageByRef(ctx, ref)
}

// Abort ends the stream with an error: the hosts' loads fail and nothing
// is loaded.
func (w *loadWriter) Abort() error {
	if w.ended {
		return nil
	}
	w.ended = true
	for _, pw := range w.closers {
		_ = pw.CloseWithError(errors.New("upload aborted"))
	}
	for _, d := range w.done {
		<-d
	}
	w.cancel()
	return nil
}

// imageByRef is one image as ListContainerImages shows it. ref is
// matched as Docker resolves it: "name" is "name:latest" and
// "docker.io/library/name:latest" alike.
func (c *Cloud) imageByRef(ctx context.Context, ref string) (providers.Image, error) {
	list, err := c.ListContainerImages(ctx)
	if err != nil {
		return providers.Image{}, err
	}
	want := normRef(ref)
	for _, im := range list {
		if im.NativeID == ref || normRef(im.NativeID) == want {
			return im, nil
		}
	}
	return providers.Image{}, fmt.Errorf("image %q: %w", ref, providers.ErrNotFound)
}

// normRef is ref in its full form (docker.io/library/name:latest), or ref
// itself when it is an image id or does not parse.
func normRef(ref string) string {
	if strings.HasPrefix(ref, "sha256:") {
		return ref
	}
	n, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return ref
	}
	return reference.TagNameOnly(n).String()
}

// NewImageReader implements providers.ImageTransfer: `docker save` of one
// image from a host that has it.
func (c *Cloud) NewImageReader(ctx context.Context, id string) (io.ReadCloser, providers.Image, error) {
	im, err := c.imageByRef(ctx, id)
	if err != nil {
		return nil, providers.Image{}, err
	}
	hostName, _, _ := strings.Cut(im.Properties["hosts"], ",")
	h, err := c.hostFor(ctx, hostName)
	if err != nil {
		return nil, providers.Image{}, err
	}
	rc, err := h.cli.ImageSave(ctx, []string{im.NativeID})
	if err != nil {
		return nil, providers.Image{}, mapErr(err, h, "save image", im.NativeID)
	}
	return rc, im, nil
}

// DeleteImage implements providers.ImageDeleter: the reference is removed
// from every host that has it (the image's layers go with its last
// reference). An image a container uses is ErrConflict on that host, as
// `docker rmi` without -f refuses it.
func (c *Cloud) DeleteImage(ctx context.Context, id string) error {
	im, err := c.imageByRef(ctx, id)
	if err != nil {
		return err
	}
	has := map[string]bool{}
	for _, h := range strings.Split(im.Properties["hosts"], ",") {
		has[h] = true
	}
	return c.hostsDo(ctx, func(ctx context.Context, h *host) error {
		if !has[h.name] {
			return nil
		}
		_, err := h.cli.ImageRemove(ctx, im.NativeID, image.RemoveOptions{PruneChildren: true})
		if err != nil && errors.Is(kindOf(err), providers.ErrNotFound) {
			return nil // gone meanwhile
		}
		return mapErr(err, h, "remove image", im.NativeID)
	})
}

var (
	_ providers.ImageTransfer = (*Cloud)(nil)
	_ providers.ImageDeleter  = (*Cloud)(nil)
)
