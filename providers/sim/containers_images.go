package sim

import (
	"context"
	"sort"

	"github.com/canopy-cloud/canopy/providers"
)

// ListContainerImages implements providers.ContainerImages: the simulated
// host's images (the busybox it starts with, and commits), by reference.
func (c *Cloud) ListContainerImages(ctx context.Context) ([]providers.Image, error) {
	if err := c.call(ctx, "ListContainerImages"); err != nil {
		return nil, err
	}
	st := c.ctr
	st.mu.Lock()
	defer st.mu.Unlock()
	var out []providers.Image
	for ref, im := range st.images {
		if ref == im.id { // indexed by id too: list each reference once
			continue
		}
		out = append(out, providers.Image{
			Common: providers.Common{NativeID: ref, Name: ref, Region: c.opts.Regions[0], Status: providers.StatusActive, ProviderStatus: "available",
				Created: im.created, Properties: map[string]string{"image_id": im.id, "hosts": ContainerHost}},
			SizeBytes: im.fs.size(), ContainerFormat: "docker",
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].NativeID < out[j].NativeID })
	return out, nil
}

var _ providers.ContainerImages = (*Cloud)(nil)
