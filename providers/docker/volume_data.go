package docker

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strconv"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"

	"github.com/canopy-cloud/canopy/providers"
)

// VolumeData: a Docker volume's content, streamed as a tar of its files
// (the format of `docker cp`), which is what canopy's emulated snapshots
// and backups keep of it. Docker reads and writes a volume only through a
// container that mounts it, so each call creates a helper container that
// mounts the volume at /v and is never started (Docker's archive API works
// on created containers), streams through the archive API, and removes
// the helper. Nothing is held in memory: the tar flows from Docker to the
// caller, or from the caller to Docker.
//
// The helper's image is canopy/volume-helper:1, imported on the host from
// an empty tar the first time it is needed: it has no files and runs
// nothing, so no image has to be present or pulled. Helpers carry the
// label canopy.helper and are not attachments of the volume.

// The capabilities, checked by the compiler.
var _ providers.VolumeData = (*Cloud)(nil)

const (
	helperImage = "canopy/volume-helper:1"
	helperMount = "/v"
)

// ReadVolumeData streams the volume's files as a tar; closing the stream
// removes the helper container.
func (c *Cloud) ReadVolumeData(ctx context.Context, volumeID string) (io.ReadCloser, error) {
	h, v, err := c.locateVolume(ctx, volumeID)
	if err != nil {
		return nil, err
	}
	helper, err := c.helper(ctx, h, v.Name)
	if err != nil {
		return nil, err
	}
	rc, _, err := h.cli.CopyFromContainer(ctx, helper, helperMount+"/.")
	if err != nil {
		c.discard(h, helper)
		return nil, mapErr(err, h, "read volume", v.Name)
	}
	return &helperStream{ReadCloser: rc, done: func() { c.discard(h, helper) }}, nil
}

// WriteVolumeData extracts the tar r yields into the volume. A stream
// that is not a tar, or whose files hold more bytes than the volume's
// recorded size, is ErrInvalid, found from the tar's headers before the
// file's bytes reach Docker (volume_tar.go).
func (c *Cloud) WriteVolumeData(ctx context.Context, volumeID string, r io.Reader) error {
	h, v, err := c.locateVolume(ctx, volumeID)
	if err != nil {
		return err
	}
	limit := int64(-1)
	if size, _ := strconv.ParseInt(v.Labels[labelVolSize], 10, 64); size > 0 {
		limit = size << 30
	}
	helper, err := c.helper(ctx, h, v.Name)
	if err != nil {
		return err
	}
	defer c.discard(h, helper)
	checked := providers.CheckTar(r, limit)
	err = h.cli.CopyToContainer(ctx, helper, helperMount, checked, container.CopyToContainerOptions{})
	if cerr := checked.Close(); cerr != nil {
		return fmt.Errorf("docker: write volume %s: %w", volumeID, cerr)
	}
	if err != nil {
		return mapErr(err, h, "write volume", v.Name)
	}
	return nil
}

// helper creates the container that mounts a volume for VolumeData.
func (c *Cloud) helper(ctx context.Context, h *host, vol string) (string, error) {
	if err := c.helperImage(ctx, h); err != nil {
		return "", err
	}
	cfg := &container.Config{Image: helperImage, Cmd: []string{"/canopy-volume-helper-never-runs"}, Labels: map[string]string{labelHelper: "volume-data"}}
	hc := &container.HostConfig{NetworkMode: "none", Mounts: []mount.Mount{{Type: mount.TypeVolume, Source: vol, Target: helperMount}}}
	resp, err := h.cli.ContainerCreate(ctx, cfg, hc, &network.NetworkingConfig{}, nil, "")
	if err != nil {
		return "", mapErr(err, h, "create the helper container of volume", vol)
	}
	return resp.ID, nil
}

// helperImage imports the empty helper image on h unless it has it.
func (c *Cloud) helperImage(ctx context.Context, h *host) error {
	if _, err := h.cli.ImageInspect(ctx, helperImage); err == nil {
		return nil
	} else if !cerrdefs.IsNotFound(err) {
		return mapErr(err, h, "inspect image", helperImage)
	}
	empty := make([]byte, 1024) // a tar of no files: two zero blocks
	rc, err := h.cli.ImageImport(ctx, image.ImportSource{Source: bytes.NewReader(empty), SourceName: "-"}, helperImage, image.ImportOptions{})
	if err != nil {
		return mapErr(err, h, "import", helperImage)
	}
	defer rc.Close()
	if _, err := io.Copy(io.Discard, rc); err != nil {
		return mapErr(err, h, "import", helperImage)
	}
	return nil
}

// helperStream removes the helper once the caller closes the stream.
type helperStream struct {
	io.ReadCloser
	done func()
}

func (s *helperStream) Close() error {
	err := s.ReadCloser.Close()
	s.done()
	return err
}
