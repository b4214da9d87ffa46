package docker

import (
	"context"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types/image"

	"github.com/canopy-cloud/canopy/providers"
)

// ListContainerImages implements providers.ContainerImages: every tagged
// image of every host, once per reference, with the hosts that have it.
// Untagged images (dangling layers of builds and commits) cannot be named
// in a create, so they are left out.
func (c *Cloud) ListContainerImages(ctx context.Context) ([]providers.Image, error) {
	var mu sync.Mutex
	byRef := map[string]*providers.Image{}
	hosts := map[string][]string{}
	err := c.hostsDo(ctx, func(ctx context.Context, h *host) error {
		list, err := h.cli.ImageList(ctx, image.ListOptions{})
		if err != nil {
			return mapErr(err, h, "list images", "")
		}
		mu.Lock()
		defer mu.Unlock()
		for _, im := range list {
			for _, ref := range im.RepoTags {
				if ref == "<none>:<none>" {
					continue
				}
				hosts[ref] = append(hosts[ref], h.name)
				if _, ok := byRef[ref]; ok {
					continue
				}
				byRef[ref] = &providers.Image{
					Common: providers.Common{NativeID: ref, Name: ref, Region: c.opts.Region, Status: providers.StatusActive,
						ProviderStatus: "available", Created: time.Unix(im.Created, 0).UTC(), Labels: im.Labels,
						Properties: map[string]string{"image_id": im.ID}},
					SizeBytes: im.Size, ContainerFormat: "docker",
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]providers.Image, 0, len(byRef))
	for ref, im := range byRef {
		hs := hosts[ref]
		sort.Strings(hs)
		im.Properties["hosts"] = strings.Join(hs, ",")
		out = append(out, *im)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].NativeID < out[j].NativeID })
	return out, nil
}

var _ providers.ContainerImages = (*Cloud)(nil)
