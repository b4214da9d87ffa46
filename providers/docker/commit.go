package docker

import (
	"context"
	"fmt"

	"github.com/distribution/reference"
	"github.com/docker/docker/api/types/container"

	"github.com/canopy-cloud/canopy/providers"
)

// CommitContainer makes an image of a container's filesystem on its host
// (`docker commit`). The image's NativeID is the reference given (or its
// id when none), which a ContainerSpec.Image on the same host can name.
func (c *Cloud) CommitContainer(ctx context.Context, id string, spec providers.CommitSpec) (providers.Image, error) {
	if spec.Reference != "" {
		if _, err := reference.ParseNormalizedNamed(spec.Reference); err != nil {
			return providers.Image{}, fmt.Errorf("docker: commit %s: reference %q: %w: %w", id, spec.Reference, providers.ErrInvalid, err)
		}
	}
	h, did, _, err := c.allowed(ctx, id, providers.ActCommit)
	if err != nil {
		return providers.Image{}, err
	}
	resp, err := h.cli.ContainerCommit(ctx, did, container.CommitOptions{Reference: spec.Reference, Comment: spec.Message, Author: spec.Author, Pause: spec.Pause})
	if err != nil {
		return providers.Image{}, mapErr(err, h, "commit", did)
	}
	im, err := h.cli.ImageInspect(ctx, resp.ID)
	if err != nil {
		return providers.Image{}, mapErr(err, h, "inspect committed image", resp.ID)
	}
	out := providers.Image{SizeBytes: im.Size, ContainerFormat: "docker"}
	out.NativeID, out.Name = spec.Reference, spec.Reference
	if out.NativeID == "" {
		out.NativeID = im.ID
	}
	out.Region, out.Zone = c.opts.Region, c.opts.Zone
	out.Status, out.ProviderStatus = providers.StatusActive, "committed"
	out.Created = parseTime(im.Created)
	out.Properties = map[string]string{"image_id": im.ID, "host": h.name, "container": c.nativeID(h, did)}
	return out, nil
}
