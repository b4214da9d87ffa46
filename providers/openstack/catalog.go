package openstack

// Nova flavors and Glance images: the catalogue servers are made from.

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/flavors"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"

	"github.com/canopy-cloud/canopy/providers"
)

// ListFlavors implements providers.Compute.
func (c *Cloud) ListFlavors(ctx context.Context) ([]providers.Flavor, error) {
	cl, err := c.clients(ctx)
	if err != nil {
		return nil, err
	}
	return c.listFlavors(ctx, cl)
}

func (c *Cloud) listFlavors(ctx context.Context, cl *clients) ([]providers.Flavor, error) {
	pages, err := flavors.ListDetail(cl.compute, flavors.ListOpts{Limit: c.opts.PageSize}).AllPages(ctx)
	if err != nil {
		return nil, fmt.Errorf("openstack: list flavors in %s: %w", cl.region, mapErr(err))
	}
	list, err := flavors.ExtractFlavors(pages)
	if err != nil {
		return nil, fmt.Errorf("openstack: list flavors in %s: %w", cl.region, mapErr(err))
	}
	out := make([]providers.Flavor, 0, len(list))
	byName := make(map[string]string, len(list))
	for _, f := range list {
		out = append(out, toFlavor(cl.region, f))
		byName[f.Name] = f.ID
	}
	c.flavorMu.Lock()
	c.flavorByName, c.flavorsAt = byName, time.Now()
	c.flavorMu.Unlock()
	return out, nil
}

func toFlavor(region string, f flavors.Flavor) providers.Flavor {
	props := map[string]string{
		"is_public": strconv.FormatBool(f.IsPublic),
	}
	if f.Swap > 0 {
		props["swap_mib"] = strconv.Itoa(f.Swap)
	}
	if f.Ephemeral > 0 {
		props["ephemeral_gib"] = strconv.Itoa(f.Ephemeral)
	}
	if f.Description != "" {
		props["description"] = f.Description
	}
	for k, v := range f.ExtraSpecs {
		props["extra_specs:"+k] = v
	}
	return providers.Flavor{
		Common: providers.Common{
			NativeID: f.ID, Name: f.Name, Region: region,
			Status: providers.StatusActive, ProviderStatus: "available", Properties: props,
		},
		VCPUs: int32(f.VCPUs), RAMMiB: int64(f.RAM), DiskGiB: int64(f.Disk), GPUs: gpuCount(f.ExtraSpecs),
	}
}

var gpuAliasRE = regexp.MustCompile(`(?i)gpu|nvidia|tesla|quadro|radeon|instinct|(^|[^a-z0-9])(a100|h100|h200|v100|p100|t4|l4|l40s?|a10|a16|a30|a40|mi\d{2,3}x?)([^a-z0-9]|$)`)

// gpuCount reads GPUs from a flavor's extra specs: placement resources
// (resources:VGPU, resources:PGPU, resources:CUSTOM_..._GPU) and PCI
// passthrough aliases that name a GPU (pci_passthrough:alias = "a1:2,a2").
func gpuCount(specs map[string]string) int32 {
	var n int64
	for k, v := range specs {
		lk := strings.ToLower(strings.TrimSpace(k))
		switch {
		case strings.HasPrefix(lk, "resources") && strings.Contains(lk, ":") && strings.Contains(lk[strings.Index(lk, ":"):], "gpu"):
			// resources:VGPU, resources1:VGPU (granular groups), CUSTOM_*GPU*.
			if c, err := strconv.ParseInt(strings.TrimSpace(v), 10, 32); err == nil && c > 0 {
				n += c
			}
		case lk == "pci_passthrough:alias":
			for _, part := range strings.Split(v, ",") {
				name, count, hasCount := strings.Cut(strings.TrimSpace(part), ":")
				if name == "" || !gpuAliasRE.MatchString(name) {
					continue
				}
				c := int64(1)
				if hasCount {
					if p, err := strconv.ParseInt(strings.TrimSpace(count), 10, 32); err == nil && p > 0 {
						c = p
					}
				}
				n += c
			}
		}
	}
	return int32(n)
}

// flavorID resolves a server's flavor. Below 2.47 Nova gives its id; from
// 2.47 it embeds the flavor with its name only, which is mapped back to an
// id through the flavor list (refreshed at most every 30 seconds on a miss).
func (c *Cloud) flavorID(ctx context.Context, cl *clients, f map[string]any) (id, name string) {
	if id, ok := f["id"].(string); ok && id != "" {
		return id, ""
	}
	name, _ = f["original_name"].(string)
	if name == "" {
		return "", ""
	}
	c.flavorMu.Lock()
	id, ok := c.flavorByName[name]
	fresh := c.flavorByName != nil && time.Since(c.flavorsAt) < 30*time.Second
	c.flavorMu.Unlock()
	if ok || fresh {
		return id, name
	}
	if _, err := c.listFlavors(ctx, cl); err != nil {
		return "", name
	}
	c.flavorMu.Lock()
	defer c.flavorMu.Unlock()
	return c.flavorByName[name], name
}

// ---- images ----

// ListImages implements providers.Compute (Glance v2, marker pagination).
func (c *Cloud) ListImages(ctx context.Context) ([]providers.Image, error) {
	cl, err := c.clients(ctx)
	if err != nil {
		return nil, err
	}
	pages, err := images.List(cl.image, images.ListOpts{Limit: c.opts.PageSize}).AllPages(ctx)
	if err != nil {
		return nil, fmt.Errorf("openstack: list images in %s: %w", cl.region, mapErr(err))
	}
	list, err := images.ExtractImages(pages)
	if err != nil {
		return nil, fmt.Errorf("openstack: list images in %s: %w", cl.region, mapErr(err))
	}
	list = c.sweepOrphans(cl, list)
	out := make([]providers.Image, 0, len(list))
	for _, im := range list {
		out = append(out, toImage(cl.region, im))
	}
	return out, nil
}

// GetImage implements providers.Compute.
func (c *Cloud) GetImage(ctx context.Context, id string) (providers.Image, error) {
	cl, err := c.clients(ctx)
	if err != nil {
		return providers.Image{}, err
	}
	im, err := images.Get(ctx, cl.image, url.PathEscape(id)).Extract()
	if err != nil {
		return providers.Image{}, fmt.Errorf("openstack: get image %s in %s: %w", id, cl.region, mapErr(err))
	}
	return toImage(cl.region, *im), nil
}

func toImage(region string, im images.Image) providers.Image {
	props := map[string]string{"visibility": string(im.Visibility)}
	if im.Owner != "" {
		props["owner"] = im.Owner
	}
	if im.Checksum != "" {
		props["checksum"] = im.Checksum
	}
	if im.Protected {
		props["protected"] = "true"
	}
	if len(im.Tags) > 0 {
		props["tags"] = strings.Join(im.Tags, ",")
	}
	for k, v := range im.Properties {
		switch v := v.(type) {
		case string:
			props[k] = v
		case nil:
		default:
			props[k] = fmt.Sprint(v)
		}
	}
	container := im.ContainerFormat
	if f := props[canopyContainerFormatProp]; f != "" && container == "docker" {
		container = f
	}
	return providers.Image{
		Common: providers.Common{
			NativeID: im.ID, Name: im.Name, Region: region,
			Status: imageStatus(string(im.Status)), ProviderStatus: string(im.Status),
			Created: im.CreatedAt, Updated: im.UpdatedAt, Properties: props,
		},
		SizeBytes: im.SizeBytes, DiskFormat: im.DiskFormat, ContainerFormat: container,
		MinDiskGiB: int64(im.MinDiskGigabytes), MinRAMMiB: int64(im.MinRAMMegabytes),
	}
}

// ---- servers ----
