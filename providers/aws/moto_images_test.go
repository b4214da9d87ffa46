//go:build aws

package aws_test

import (
	"context"
	"errors"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/canopy-cloud/canopy/providers"
)

// snapshotImage registers an AMI whose root disk is an EBS snapshot (as
// CreateImage makes them), in the given region; it returns the AMI and
// the snapshot its block device mapping names. (moto registers the AMI
// over a snapshot of its own making, not the one asked for: the one
// DescribeImages reports is the one that matters.)
func snapshotImage(t testing.TB, region, name string) (ami, snap string) {
	t.Helper()
	ctx := context.Background()
	api := ec2Client(t, region)
	vol, err := api.CreateVolume(ctx, &ec2.CreateVolumeInput{AvailabilityZone: awssdk.String(region + "a"), Size: awssdk.Int32(1)})
	if err != nil {
		t.Fatalf("create volume in %s: %v", region, err)
	}
	t.Cleanup(func() { _, _ = api.DeleteVolume(context.Background(), &ec2.DeleteVolumeInput{VolumeId: vol.VolumeId}) })
	sn, err := api.CreateSnapshot(ctx, &ec2.CreateSnapshotInput{VolumeId: vol.VolumeId})
	if err != nil {
		t.Fatalf("create snapshot: %v", err)
	}
	ami = registerOver(t, region, name, awssdk.ToString(sn.SnapshotId))
	out, err := api.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{ami}})
	if err != nil || len(out.Images) != 1 {
		t.Fatalf("describe image %s: %v", ami, err)
	}
	for _, bd := range out.Images[0].BlockDeviceMappings {
		if bd.Ebs != nil && bd.Ebs.SnapshotId != nil {
			snap = *bd.Ebs.SnapshotId
		}
	}
	if snap == "" {
		t.Fatalf("image %s has no EBS snapshot: %+v", ami, out.Images[0].BlockDeviceMappings)
	}
	return ami, snap
}

// registerOver registers an AMI whose root disk is snapshot snap.
func registerOver(t testing.TB, region, name, snap string) string {
	t.Helper()
	out, err := ec2Client(t, region).RegisterImage(context.Background(), &ec2.RegisterImageInput{
		Name: awssdk.String(name), Architecture: types.ArchitectureValuesX8664, RootDeviceName: awssdk.String("/dev/xvda"),
		VirtualizationType:  awssdk.String("hvm"),
		BlockDeviceMappings: []types.BlockDeviceMapping{{DeviceName: awssdk.String("/dev/xvda"), Ebs: &types.EbsBlockDevice{SnapshotId: awssdk.String(snap)}}},
	})
	if err != nil {
		t.Fatalf("register image over %s: %v", snap, err)
	}
	return awssdk.ToString(out.ImageId)
}

// MakeImage implements providertest.ImageMaker: an AMI over a snapshot,
// in the cloud's last region (so the adapter must find where it is).
func (h *motoHarness) MakeImage(ctx context.Context, t *testing.T, p providers.Provider, name string) string {
	ami, _ := snapshotImage(t, h.regions[len(h.regions)-1], name)
	return ami
}

// snapshotGone reports whether EC2 no longer has the snapshot.
func snapshotGone(t *testing.T, region, snap string) bool {
	t.Helper()
	out, err := ec2Client(t, region).DescribeSnapshots(context.Background(), &ec2.DescribeSnapshotsInput{SnapshotIds: []string{snap}})
	if err != nil {
		return true // InvalidSnapshot.NotFound
	}
	return len(out.Snapshots) == 0
}

// TestDeleteImageSnapshots: deleting an AMI deregisters it and deletes
// the snapshot under it. (A snapshot another AMI still uses stays; moto
// cannot arrange that case, since it gives every AMI its own snapshot.)
func TestDeleteImageSnapshots(t *testing.T) {
	resetMoto(t)
	ctx := context.Background()
	c := openMoto(t, []string{"us-east-1", "eu-west-1"}, nil)
	ami, snap := snapshotImage(t, "eu-west-1", "canopy-del-own")
	if err := c.DeleteImage(ctx, ami); err != nil {
		t.Fatalf("DeleteImage(%s): %v", ami, err)
	}
	out, err := ec2Client(t, "eu-west-1").DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"self"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, im := range out.Images {
		if awssdk.ToString(im.ImageId) == ami {
			t.Errorf("AMI %s still registered (%s)", ami, im.State)
		}
	}
	if !snapshotGone(t, "eu-west-1", snap) {
		t.Errorf("snapshot %s of the deleted AMI %s is still there", snap, ami)
	}

	if err := c.DeleteImage(ctx, ami); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("DeleteImage(%s) again: %v, want ErrNotFound", ami, err)
	}
}
