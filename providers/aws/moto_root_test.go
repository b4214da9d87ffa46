//go:build aws

package aws_test

// Root volumes against moto: what canopy's emulated volume-from-image
// (server/emulate_boot.go) asks of the adapter, seen with the SDK behind
// the adapter's back.

import (
	"context"
	"errors"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/canopy-cloud/canopy/providers"
)

// TestMotoRootVolume: a server with RootVolumeGiB gets a root volume of
// that size at the AMI's root device, named by RootVolumeName, whose id the
// server reports (create, get, list), and which survives the instance.
func TestMotoRootVolume(t *testing.T) {
	resetMoto(t)
	ctx := context.Background()
	const region = "us-east-1"
	image := registerImage(t, region, "canopy-root-test")
	c := openMoto(t, []string{region}, nil)
	sdk := ec2Client(t, region)

	s, err := c.CreateServer(ctx, providers.ServerSpec{Name: "web", FlavorID: "t3.micro", ImageID: image,
		Labels: map[string]string{"tier": "web"}, IdempotencyToken: "0d1e2f30-root-test",
		RootVolumeGiB: 20, RootVolumeName: "boot-disk"})
	if err != nil {
		t.Fatalf("CreateServer: %v", err)
	}
	if s.RootVolumeID == "" {
		t.Fatalf("CreateServer returned no RootVolumeID: %+v", s)
	}
	out, err := sdk.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{VolumeIds: []string{s.RootVolumeID}})
	if err != nil || len(out.Volumes) != 1 {
		t.Fatalf("DescribeVolumes(%s): %v", s.RootVolumeID, err)
	}
	v := out.Volumes[0]
	tags := map[string]string{}
	for _, tg := range v.Tags {
		tags[awssdk.ToString(tg.Key)] = awssdk.ToString(tg.Value)
	}
	if awssdk.ToInt32(v.Size) != 20 || tags["Name"] != "boot-disk" || tags["canopy:token"] != "root:0d1e2f30-root-test" || tags["tier"] != "" {
		t.Errorf("root volume size %d, tags %v; want 20 GiB, Name=boot-disk, canopy:token=root:…, no server labels", awssdk.ToInt32(v.Size), tags)
	}
	ims, err := sdk.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{image}})
	if err != nil || len(ims.Images) != 1 {
		t.Fatalf("DescribeImages: %v", err)
	}
	rootDev := awssdk.ToString(ims.Images[0].RootDeviceName) // moto's own choice, whatever RegisterImage asked
	if len(v.Attachments) != 1 {
		t.Fatalf("root volume attachments = %+v, want one", v.Attachments)
	}
	if awssdk.ToString(v.Attachments[0].InstanceId) != s.NativeID ||
		awssdk.ToString(v.Attachments[0].Device) != rootDev || awssdk.ToBool(v.Attachments[0].DeleteOnTermination) {
		t.Errorf("root volume attachments = %s at %s (delete on termination %v); want %s at %s, kept on termination", awssdk.ToString(v.Attachments[0].InstanceId), awssdk.ToString(v.Attachments[0].Device), awssdk.ToBool(v.Attachments[0].DeleteOnTermination), s.NativeID, rootDev)
	}
	got, err := c.GetServer(ctx, s.NativeID)
	if err != nil || got.RootVolumeID != s.RootVolumeID {
		t.Errorf("GetServer = %+v, %v; want root volume %s", got, err, s.RootVolumeID)
	}
	list, err := c.ListServers(ctx)
	if err != nil || len(list) != 1 || list[0].RootVolumeID != s.RootVolumeID {
		t.Errorf("ListServers = %+v, %v", list, err)
	}
	av, err := c.GetVolume(ctx, s.RootVolumeID)
	if err != nil || av.Name != "boot-disk" || av.SizeGiB != 20 || len(av.Attachments) != 1 || av.Attachments[0].ServerID != s.NativeID {
		t.Errorf("GetVolume = %+v, %v", av, err)
	}

	// Terminated, the instance leaves its root volume behind, free.
	if err := c.DeleteServer(ctx, s.NativeID); err != nil {
		t.Fatalf("DeleteServer: %v", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := c.GetServer(ctx, s.NativeID)
		if errors.Is(err, providers.ErrNotFound) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server still there after terminate: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	av, err = c.GetVolume(ctx, s.RootVolumeID)
	if err != nil || av.Status != providers.StatusActive || len(av.Attachments) != 0 || av.SizeGiB != 20 || av.Name != "boot-disk" {
		t.Fatalf("root volume after terminate = %+v, %v; want it available, detached", av, err)
	}
	if err := c.DeleteVolume(ctx, s.RootVolumeID); err != nil {
		t.Errorf("DeleteVolume of the former root volume: %v", err)
	}
}

// TestMotoRootVolumeRefusals: EC2 cannot boot an existing volume; nothing
// is launched.
func TestMotoRootVolumeRefusals(t *testing.T) {
	resetMoto(t)
	ctx := context.Background()
	const region = "us-east-1"
	image := registerImage(t, region, "canopy-root-test")
	c := openMoto(t, []string{region}, nil)
	vol, err := c.CreateVolume(ctx, providers.VolumeSpec{Name: "d", SizeGiB: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateServer(ctx, providers.ServerSpec{Name: "x", FlavorID: "t3.micro", ImageID: image, BootVolumeID: vol.NativeID}); !errors.Is(err, providers.ErrUnsupported) {
		t.Errorf("boot an existing volume: %v, want ErrUnsupported", err)
	}
	out, err := ec2Client(t, region).DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range out.Reservations {
		for _, in := range r.Instances {
			if in.State == nil || in.State.Name != types.InstanceStateNameTerminated {
				t.Errorf("instance %s launched", awssdk.ToString(in.InstanceId))
			}
		}
	}
}
