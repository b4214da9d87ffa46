package aws

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/canopy-cloud/canopy/providers"
)

// amiAPI is the part of the EC2 client deleting an AMI needs. It is apart
// from ec2API so the compute fakes need not implement it.
type amiAPI interface {
	DeregisterImage(context.Context, *ec2.DeregisterImageInput, ...func(*ec2.Options)) (*ec2.DeregisterImageOutput, error)
	DeleteSnapshot(context.Context, *ec2.DeleteSnapshotInput, ...func(*ec2.Options)) (*ec2.DeleteSnapshotOutput, error)
}

var _ providers.ImageDeleter = (*Cloud)(nil)

// DeleteImage implements providers.ImageDeleter: it deregisters the AMI,
// then deletes the EBS snapshots that held its disks, as the console's
// "deregister and delete snapshots" does. Deregistering alone would leave
// the snapshots billed and invisible to canopy. A snapshot another AMI
// still uses stays.
func (c *Cloud) DeleteImage(ctx context.Context, id string) error {
	if err := c.check(); err != nil {
		return err
	}
	if isContainerImageID(id) {
		if err := c.check(); err != nil {
			return err
		}
		return c.deleteContainerImage(ctx, id) // container_images.go
	}
	if !strings.HasPrefix(id, "ami-") {
		return fmt.Errorf("aws: image %q: %w", id, providers.ErrNotFound)
	}
	var region string
	var snaps []string
	err := c.inRegions(ctx, c.regionsOf(id), func(ctx context.Context, r string, api ec2API) error {
		out, err := api.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{id}})
		if err != nil {
			if err = fail(err, target, "describe image %s in %s", id, r); isNotFound(err) {
				return nil
			}
			return err
		}
		for _, im := range out.Images {
			if awssdk.ToString(im.ImageId) != id {
				continue
			}
			region = r // an AMI id lives in one region
			for _, bd := range im.BlockDeviceMappings {
				if bd.Ebs != nil && awssdk.ToString(bd.Ebs.SnapshotId) != "" {
					snaps = append(snaps, awssdk.ToString(bd.Ebs.SnapshotId))
				}
			}
			for _, t := range im.Tags { // registered from bytes (image_transfer.go)
				if sn := awssdk.ToString(t.Value); awssdk.ToString(t.Key) == tagSnapshot && !slices.Contains(snaps, sn) {
					snaps = append(snaps, sn)
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if region == "" {
		return fmt.Errorf("aws: image %q: %w", id, providers.ErrNotFound)
	}
	api, ok := c.clients[region].(amiAPI)
	if !ok {
		return fmt.Errorf("aws: delete image %s: the EC2 client cannot deregister images: %w", id, providers.ErrUnsupported)
	}
	if _, err := removal(ctx, api.DeregisterImage, &ec2.DeregisterImageInput{ImageId: awssdk.String(id)}); err != nil {
		return fail(err, target, "deregister image %s in %s", id, region)
	}
	c.mu.Lock()
	delete(c.where, id)
	c.mu.Unlock()
	var errs []error
	for _, sn := range snaps {
		_, err := api.DeleteSnapshot(context.WithoutCancel(ctx), &ec2.DeleteSnapshotInput{SnapshotId: awssdk.String(sn)})
		if err == nil {
			continue
		}
		err = fail(err, target, "image %s deregistered, but delete its snapshot %s in %s", id, sn, region)
		if isNotFound(err) || errors.Is(err, providers.ErrConflict) {
			continue // gone already, or still another AMI's
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
