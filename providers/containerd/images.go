package containerd

import (
	"context"
	"sort"

	"github.com/canopy-cloud/canopy/providers"
)

// ListContainerImages implements providers.ContainerImages: the images of
// the adapter's namespace, by name.
func (a *Adapter) ListContainerImages(ctx context.Context) ([]providers.Image, error) {
	ctx = a.ns(ctx)
	list, err := a.client.ListImages(ctx)
	if err != nil {
		return nil, wrap(err, "list images")
	}
	out := make([]providers.Image, 0, len(list))
	for _, im := range list {
		size, _ := im.Size(ctx)
		md := im.Metadata()
		out = append(out, providers.Image{
			Common: providers.Common{NativeID: im.Name(), Name: im.Name(), Region: a.opts.Region, Status: providers.StatusActive,
				ProviderStatus: "available", Created: md.CreatedAt, Updated: md.UpdatedAt, Labels: im.Labels(),
				Properties: map[string]string{"digest": im.Target().Digest.String(), "hosts": a.opts.Host}},
			SizeBytes: size, ContainerFormat: "oci",
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].NativeID < out[j].NativeID })
	return out, nil
}

var _ providers.ContainerImages = (*Adapter)(nil)
