package aws

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/canopy-cloud/canopy/providers"
)

// ListFlavors implements providers.Compute: the instance types of every
// region (or the allow-listed ones), normalized. The catalogue is static, so
// it is kept for Options.CatalogTTL.
func (c *Cloud) ListFlavors(ctx context.Context) ([]providers.Flavor, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	c.catMu.Lock()
	defer c.catMu.Unlock()
	if c.flavors != nil && time.Since(c.flavorsAt) < c.opts.CatalogTTL {
		return cloneFlavors(c.flavors), nil
	}
	var mu sync.Mutex
	byType := map[string]*providers.Flavor{}
	in := map[string][]string{} // type → regions offering it
	err := c.eachRegion(ctx, func(ctx context.Context, region string, api ec2API) error {
		input := &ec2.DescribeInstanceTypesInput{}
		if len(c.opts.InstanceTypes) > 0 {
			// A filter, not InstanceTypes: a type a region does not offer
			// is left out rather than failing the list, and patterns such
			// as "t3.*" work.
			input.Filters = []types.Filter{{Name: awssdk.String("instance-type"), Values: c.opts.InstanceTypes}}
		}
		pages := ec2.NewDescribeInstanceTypesPaginator(api, input, func(o *ec2.DescribeInstanceTypesPaginatorOptions) { o.Limit = pageSizes.instanceTypes })
		for pages.HasMorePages() {
			page, err := pages.NextPage(ctx)
			if err != nil {
				return fail(err, reference, "describe instance types in %s", region)
			}
			mu.Lock()
			for _, it := range page.InstanceTypes {
				f, ok := flavorOf(it)
				if !ok {
					continue
				}
				if _, seen := byType[f.NativeID]; !seen {
					byType[f.NativeID] = &f
				}
				in[f.NativeID] = append(in[f.NativeID], region)
			}
			mu.Unlock()
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]providers.Flavor, 0, len(byType))
	for id, f := range byType {
		regions := in[id]
		sort.Strings(regions)
		if len(regions) == 1 {
			f.Region = regions[0]
		}
		if len(c.regions) > 1 {
			f.Properties["regions"] = strings.Join(regions, ",")
		}
		out = append(out, *f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].NativeID < out[j].NativeID })
	c.flavors, c.flavorsAt = out, time.Now()
	return cloneFlavors(out), nil
}

// flavorOf normalizes an instance type; false when EC2 left out its size.
func flavorOf(it types.InstanceTypeInfo) (providers.Flavor, bool) {
	name := string(it.InstanceType)
	f := providers.Flavor{Common: providers.Common{
		NativeID: name, Name: name, Status: providers.StatusActive, ProviderStatus: "available",
		Properties: map[string]string{},
	}}
	if it.VCpuInfo != nil {
		f.VCPUs = awssdk.ToInt32(it.VCpuInfo.DefaultVCpus)
	}
	if it.MemoryInfo != nil {
		f.RAMMiB = awssdk.ToInt64(it.MemoryInfo.SizeInMiB)
	}
	if it.InstanceStorageInfo != nil {
		f.DiskGiB = awssdk.ToInt64(it.InstanceStorageInfo.TotalSizeInGB)
	}
	if it.GpuInfo != nil {
		var models []string
		for _, g := range it.GpuInfo.Gpus {
			f.GPUs += awssdk.ToInt32(g.Count)
			models = append(models, strings.TrimSpace(awssdk.ToString(g.Manufacturer)+" "+awssdk.ToString(g.Name)))
		}
		if len(models) > 0 {
			f.Properties["gpu_model"] = strings.Join(models, ",")
		}
		if m := awssdk.ToInt32(it.GpuInfo.TotalGpuMemoryInMiB); m > 0 {
			f.Properties["gpu_memory_mib"] = strconv.Itoa(int(m))
		}
	}
	if name == "" || f.VCPUs <= 0 || f.RAMMiB <= 0 {
		return f, false
	}
	if it.ProcessorInfo != nil && len(it.ProcessorInfo.SupportedArchitectures) > 0 {
		var archs []string
		for _, a := range it.ProcessorInfo.SupportedArchitectures {
			archs = append(archs, string(a))
		}
		f.Properties["architectures"] = strings.Join(archs, ",")
	}
	if it.CurrentGeneration != nil {
		f.Properties["current_generation"] = strconv.FormatBool(*it.CurrentGeneration)
	}
	if it.BurstablePerformanceSupported != nil && *it.BurstablePerformanceSupported {
		f.Properties["burstable"] = "true"
	}
	if it.Hypervisor != "" {
		f.Properties["hypervisor"] = string(it.Hypervisor)
	}
	if it.NetworkInfo != nil && it.NetworkInfo.NetworkPerformance != nil {
		f.Properties["network_performance"] = *it.NetworkInfo.NetworkPerformance
	}
	if it.InstanceStorageInfo != nil && f.DiskGiB > 0 {
		f.Properties["local_storage"] = "instance-store"
	}
	return f, true
}

func cloneFlavors(in []providers.Flavor) []providers.Flavor {
	out := make([]providers.Flavor, len(in))
	for i, f := range in {
		f.Properties = cloneMap(f.Properties)
		f.Labels = cloneMap(f.Labels)
		out[i] = f
	}
	return out
}

func cloneMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// imageQueries are the DescribeImages calls that list the configured
// owners' AMIs: one for the owners, one for "shared" (AMIs other accounts
// let this one launch). Never the whole public catalogue.
func (c *Cloud) imageQueries() []*ec2.DescribeImagesInput {
	var filters []types.Filter
	names := make([]string, 0, len(c.opts.ImageFilters))
	for n := range c.opts.ImageFilters {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		filters = append(filters, types.Filter{Name: awssdk.String(n), Values: c.opts.ImageFilters[n]})
	}
	var owners []string
	shared := false
	for _, o := range c.opts.ImageOwners {
		if o == "shared" {
			shared = true
		} else {
			owners = append(owners, o)
		}
	}
	var qs []*ec2.DescribeImagesInput
	if len(owners) > 0 {
		qs = append(qs, &ec2.DescribeImagesInput{Owners: owners, Filters: filters})
	}
	if shared {
		qs = append(qs, &ec2.DescribeImagesInput{ExecutableUsers: []string{"self"}, Filters: filters})
	}
	return qs
}

// ListImages implements providers.Compute: the AMIs of the configured
// owners in every region, and the container images stored in the
// container_image_bucket (container_images.go).
func (c *Cloud) ListImages(ctx context.Context) ([]providers.Image, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	var mu sync.Mutex
	byID := map[string]providers.Image{}
	err := c.eachRegion(ctx, func(ctx context.Context, region string, api ec2API) error {
		for _, q := range c.imageQueries() {
			pages := ec2.NewDescribeImagesPaginator(api, q, func(o *ec2.DescribeImagesPaginatorOptions) { o.Limit = pageSizes.images })
			for pages.HasMorePages() {
				page, err := pages.NextPage(ctx)
				if err != nil {
					return fail(err, reference, "describe images in %s", region)
				}
				mu.Lock()
				for _, im := range page.Images {
					img := imageOf(region, im)
					if img.NativeID != "" {
						byID[img.NativeID] = img
					}
				}
				mu.Unlock()
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Container images (S3 objects, container_images.go) list beside
	// the AMIs, marked by their container format.
	cimgs, err := c.listContainerImages(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]providers.Image, 0, len(byID)+len(cimgs))
	for _, im := range byID {
		c.remember(im.NativeID, im.Region)
		out = append(out, im)
	}
	out = append(out, cimgs...)
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].NativeID < out[j].NativeID
	})
	return out, nil
}

// GetImage implements providers.Compute.
func (c *Cloud) GetImage(ctx context.Context, id string) (providers.Image, error) {
	if err := c.check(); err != nil {
		return providers.Image{}, err
	}
	if isContainerImageID(id) {
		return c.getContainerImage(ctx, id) // container_images.go
	}
	if !strings.HasPrefix(id, "ami-") {
		return providers.Image{}, fmt.Errorf("aws: image %q: %w", id, providers.ErrNotFound)
	}
	var mu sync.Mutex
	var found *providers.Image
	err := c.inRegions(ctx, c.regionsOf(id), func(ctx context.Context, region string, api ec2API) error {
		out, err := api.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{id}})
		if err != nil {
			err = fail(err, target, "describe image %s in %s", id, region)
			if isNotFound(err) {
				return nil
			}
			return err
		}
		for _, im := range out.Images {
			if awssdk.ToString(im.ImageId) == id {
				img := imageOf(region, im)
				mu.Lock()
				found = &img
				mu.Unlock()
			}
		}
		return nil
	})
	if err != nil {
		return providers.Image{}, err
	}
	if found == nil {
		return providers.Image{}, fmt.Errorf("aws: image %q: %w", id, providers.ErrNotFound)
	}
	c.remember(id, found.Region)
	return *found, nil
}

func imageOf(region string, im types.Image) providers.Image {
	img := providers.Image{
		Common: providers.Common{
			NativeID: awssdk.ToString(im.ImageId), Name: awssdk.ToString(im.Name), Region: region,
			Status: imageStatus(string(im.State)), ProviderStatus: string(im.State),
			Created: parseTime(awssdk.ToString(im.CreationDate)),
		},
		DiskFormat: "ami", ContainerFormat: "ami",
	}
	img.Labels, _ = labelsOf(im.Tags)
	if img.Name == "" {
		_, img.Name = labelsOf(im.Tags)
	}
	if img.Name == "" {
		img.Name = img.NativeID
	}
	if im.StateReason != nil && img.Status == providers.StatusError {
		img.StatusMessage = awssdk.ToString(im.StateReason.Message)
	}
	props := map[string]string{}
	set := func(k, v string) {
		if v != "" {
			props[k] = v
		}
	}
	set("architecture", string(im.Architecture))
	set("virtualization_type", string(im.VirtualizationType))
	set("root_device_type", string(im.RootDeviceType))
	set("root_device_name", awssdk.ToString(im.RootDeviceName))
	set("platform_details", awssdk.ToString(im.PlatformDetails))
	set("owner_id", awssdk.ToString(im.OwnerId))
	set("owner_alias", awssdk.ToString(im.ImageOwnerAlias))
	set("description", awssdk.ToString(im.Description))
	set("boot_mode", string(im.BootMode))
	set("deprecation_time", awssdk.ToString(im.DeprecationTime))
	if im.Public != nil {
		props["public"] = strconv.FormatBool(*im.Public)
	}
	var total int64
	for _, bd := range im.BlockDeviceMappings {
		if bd.Ebs == nil || bd.Ebs.VolumeSize == nil {
			continue
		}
		total += int64(*bd.Ebs.VolumeSize)
		if awssdk.ToString(bd.DeviceName) == awssdk.ToString(im.RootDeviceName) {
			img.MinDiskGiB = int64(*bd.Ebs.VolumeSize)
		}
	}
	if total > 0 {
		// The snapshots' provisioned size: EC2 reports no image file size.
		img.SizeBytes = total << 30
	}
	if f := img.Labels[tagFormat]; f != "" { // registered from bytes (image_transfer.go)
		img.DiskFormat, img.ContainerFormat = f, "bare"
		if _, name := labelsOf(im.Tags); name != "" {
			img.Name = name // the AMI's own name has a suffix: AMI names are unique
		}
		if n, err := strconv.ParseInt(img.Labels[tagSize], 10, 64); err == nil {
			img.SizeBytes = n
		}
		if n, err := strconv.ParseInt(img.Labels[tagMinGiB], 10, 64); err == nil {
			img.MinDiskGiB = n
		}
		if n, err := strconv.ParseInt(img.Labels[tagMinRAM], 10, 64); err == nil {
			img.MinRAMMiB = n
		}
	}
	img.Properties = props
	return img
}

func parseTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.000Z", time.RFC3339} {
		if t, err := time.Parse(layout, s); err == nil {
			return t
		}
	}
	return time.Time{}
}

// labelsOf splits EC2 tags into canopy labels and the Name tag; aws:*
// tags are AWS's own and are left out.
func labelsOf(tags []types.Tag) (labels map[string]string, name string) {
	for _, t := range tags {
		k, v := awssdk.ToString(t.Key), awssdk.ToString(t.Value)
		switch {
		case k == "Name":
			name = v
		case strings.HasPrefix(k, "aws:"):
		default:
			if labels == nil {
				labels = map[string]string{}
			}
			labels[k] = v
		}
	}
	return labels, name
}
