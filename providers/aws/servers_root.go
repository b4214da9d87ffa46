package aws

// Root volumes: a server launched with a root volume of a given size (the
// deferred volume canopy makes when it emulates volume-from-image).

import (
	"context"
	"fmt"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/canopy-cloud/canopy/providers"
)

// rootVolumeWait is how long CreateServer waits for EC2 to name the root
// volume it asked for, and how often it looks: each Cloud holds its own
// (defaultRootVolumeWait; tests shrink theirs).
type rootVolumeWait struct{ timeout, poll time.Duration }

var defaultRootVolumeWait = rootVolumeWait{timeout: time.Minute, poll: time.Second}

// mapRootVolume asks for the root volume of spec (RootVolumeGiB): a block
// device mapping for the AMI's root device, kept after termination, and the
// volume's own tags in place of the instance's.
func (c *Cloud) mapRootVolume(ctx context.Context, region string, spec providers.ServerSpec, in *ec2.RunInstancesInput) error {
	out, err := c.clients[region].DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{spec.ImageID}})
	if err != nil {
		return fail(err, reference, "describe image %s in %s", spec.ImageID, region)
	}
	var im *types.Image
	for i := range out.Images {
		if awssdk.ToString(out.Images[i].ImageId) == spec.ImageID {
			im = &out.Images[i]
		}
	}
	if im == nil {
		return fmt.Errorf("aws: create server %q: %w: image %q not found in region %s", spec.Name, providers.ErrInvalid, spec.ImageID, region)
	}
	dev := awssdk.ToString(im.RootDeviceName)
	if im.RootDeviceType == types.DeviceTypeInstanceStore || dev == "" {
		return fmt.Errorf("aws: create server %q: %w: image %s has no EBS root device, so it cannot make a root volume",
			spec.Name, providers.ErrUnsupported, spec.ImageID)
	}
	for _, bd := range im.BlockDeviceMappings {
		if awssdk.ToString(bd.DeviceName) == dev && bd.Ebs != nil && int64(awssdk.ToInt32(bd.Ebs.VolumeSize)) > spec.RootVolumeGiB {
			return fmt.Errorf("aws: create server %q: %w: root volume of %d GiB is smaller than image %s (%d GiB)",
				spec.Name, providers.ErrInvalid, spec.RootVolumeGiB, spec.ImageID, awssdk.ToInt32(bd.Ebs.VolumeSize))
		}
	}
	name := spec.RootVolumeName
	if name == "" {
		name = spec.Name + "-root"
	}
	token := ""
	if spec.IdempotencyToken != "" {
		token = "root:" + spec.IdempotencyToken
	}
	tags, err := ebsTags("volume", name, nil, map[string]string{tagToken: token})
	if err != nil {
		return err
	}
	// Unset fields (snapshot, volume type, encryption) are the AMI's.
	in.BlockDeviceMappings = []types.BlockDeviceMapping{{
		DeviceName: awssdk.String(dev),
		Ebs: &types.EbsBlockDevice{
			VolumeSize:          awssdk.Int32(int32(spec.RootVolumeGiB)),
			DeleteOnTermination: awssdk.Bool(false),
		},
	}}
	for i := range in.TagSpecifications {
		if in.TagSpecifications[i].ResourceType == types.ResourceTypeVolume {
			in.TagSpecifications[i].Tags = tags
		}
	}
	return nil
}

// awaitRootVolume waits for describe to show an instance's root volume
// (RunInstances answers before EC2 has attached it). It returns "" when the
// wait ends first, the instance is terminated, or ctx is done: the instance
// exists by then, so that is no error.
func (c *Cloud) awaitRootVolume(ctx context.Context, region, id string) string {
	wait := c.rootWait
	deadline := time.Now().Add(wait.timeout)
	for {
		out, err := c.clients[region].DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
		if err == nil {
			for _, r := range out.Reservations {
				for _, in := range r.Instances {
					if awssdk.ToString(in.InstanceId) != id {
						continue
					}
					if v := rootVolumeOf(in); v != "" {
						return v
					}
					if in.State != nil && (in.State.Name == types.InstanceStateNameTerminated || in.State.Name == types.InstanceStateNameShuttingDown) {
						return ""
					}
				}
			}
		}
		if time.Now().Add(wait.poll).After(deadline) {
			return ""
		}
		select {
		case <-ctx.Done():
			return ""
		case <-time.After(wait.poll):
		}
	}
}

// rememberRootVolume records a root volume just made like a volume
// CreateVolume made, so volume lookups find it while EC2's describe calls
// lag.
func (c *Cloud) rememberRootVolume(region string, s providers.Server, spec providers.ServerSpec, in *ec2.RunInstancesInput) {
	name := spec.RootVolumeName
	if name == "" {
		name = spec.Name + "-root"
	}
	v := providers.Volume{
		Common: providers.Common{
			NativeID: s.RootVolumeID, Name: name, Region: region, Zone: s.Zone,
			Status: volumeStatus(string(types.VolumeStateInUse)), ProviderStatus: string(types.VolumeStateInUse), Created: time.Now(),
			Properties: map[string]string{},
		},
		SizeGiB:     spec.RootVolumeGiB, // as volumeOf reads it later: no image, snapshot unknown here
		Attachments: []providers.Attachment{{ServerID: s.NativeID, Device: awssdk.ToString(in.BlockDeviceMappings[0].DeviceName)}},
	}
	if spec.IdempotencyToken != "" {
		v.Properties["client_token"] = "root:" + spec.IdempotencyToken
	}
	c.remember(s.RootVolumeID, region)
	st := c.ebs()
	st.mu.Lock()
	if _, ok := st.volumes[v.NativeID]; !ok {
		st.volumes[v.NativeID] = recentVolume{v: v, at: time.Now()}
	}
	st.mu.Unlock()
}

// rootVolumeOf returns the EBS volume an instance boots from: the one
// mapped at its root device.
func rootVolumeOf(in types.Instance) string {
	root := awssdk.ToString(in.RootDeviceName)
	if root == "" || (in.RootDeviceType != "" && in.RootDeviceType != types.DeviceTypeEbs) {
		return ""
	}
	for _, bd := range in.BlockDeviceMappings {
		if awssdk.ToString(bd.DeviceName) == root && bd.Ebs != nil {
			return awssdk.ToString(bd.Ebs.VolumeId)
		}
	}
	return ""
}
