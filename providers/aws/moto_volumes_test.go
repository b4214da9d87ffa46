//go:build aws

package aws_test

// EBS against moto, beyond the conformance suite (moto_test.go runs that):
// what the adapter does that the suite does not check, seen with the SDK
// behind the adapter's back.

import (
	"context"
	"errors"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/canopy-cloud/canopy/providers"
)

func TestMotoVolumeCapabilities(t *testing.T) {
	resetMoto(t)
	c := openMoto(t, []string{"us-east-1"}, nil)
	for capability, want := range map[string]bool{
		providers.CapVolumes: true, providers.CapSnapshots: true, providers.CapVolumeFromImage: false,
		providers.CapBackups: false, providers.CapVolumeData: false, providers.CapVolumeDataCreate: true,
	} {
		if got := providers.Has(c, capability); got != want {
			t.Errorf("Has(%s) = %v, want %v", capability, got, want)
		}
	}
}

// TestMotoVolumeTagsAndToken: labels are tags, the name is the Name tag,
// the token and description are canopy: tags, and a retry with the token
// finds the volume by its tag even in a fresh adapter (moto ignores
// CreateVolume's ClientToken).
func TestMotoVolumeTagsAndToken(t *testing.T) {
	resetMoto(t)
	ctx := context.Background()
	c := openMoto(t, []string{"us-east-1"}, nil)
	spec := providers.VolumeSpec{Name: "data", Zone: "us-east-1b", SizeGiB: 3, Type: "gp3", Description: "scratch",
		Labels: map[string]string{"team": "infra"}, IdempotencyToken: "0b6c2a0e-6a1e-4c55-9f3a-6a2d8c3b1f00"}
	v, err := c.CreateVolume(ctx, spec)
	if err != nil {
		t.Fatalf("CreateVolume: %v", err)
	}
	out, err := ec2Client(t, "us-east-1").DescribeVolumes(ctx, &ec2.DescribeVolumesInput{VolumeIds: []string{v.NativeID}})
	if err != nil || len(out.Volumes) != 1 {
		t.Fatalf("DescribeVolumes: %v", err)
	}
	tags := map[string]string{}
	for _, tg := range out.Volumes[0].Tags {
		tags[awssdk.ToString(tg.Key)] = awssdk.ToString(tg.Value)
	}
	if tags["Name"] != "data" || tags["team"] != "infra" || tags["canopy:token"] != spec.IdempotencyToken || tags["canopy:description"] != "scratch" {
		t.Errorf("tags = %v", tags)
	}
	if z := awssdk.ToString(out.Volumes[0].AvailabilityZone); z != "us-east-1b" || out.Volumes[0].VolumeType != types.VolumeTypeGp3 {
		t.Errorf("zone %s type %s, want us-east-1b gp3", z, out.Volumes[0].VolumeType)
	}
	got, err := c.GetVolume(ctx, v.NativeID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "data" || got.Labels["team"] != "infra" || len(got.Labels) != 1 || got.Properties["description"] != "scratch" ||
		got.Type != "gp3" || got.Zone != "us-east-1b" || got.Region != "us-east-1" {
		t.Errorf("GetVolume = %+v", got)
	}
	fresh := openMoto(t, []string{"us-east-1"}, nil)
	again, err := fresh.CreateVolume(ctx, spec)
	if err != nil || again.NativeID != v.NativeID {
		t.Errorf("CreateVolume again in a fresh adapter = %s, %v; want %s", again.NativeID, err, v.NativeID)
	}
	list, _ := fresh.ListVolumes(ctx)
	if len(list) != 1 {
		t.Errorf("ListVolumes = %d volumes, want 1", len(list))
	}
	if _, err := c.CreateVolume(ctx, providers.VolumeSpec{Name: "x", SizeGiB: 1, Labels: map[string]string{"canopy:token": "x"}}); !errors.Is(err, providers.ErrInvalid) {
		t.Errorf("reserved label: err = %v, want ErrInvalid", err)
	}
	if _, err := c.CreateVolume(ctx, providers.VolumeSpec{Name: "img", SizeGiB: 8, ImageID: "ami-12345678"}); !errors.Is(err, providers.ErrUnsupported) {
		t.Errorf("volume from image: err = %v, want ErrUnsupported", err)
	}
	if _, err := c.CreateVolume(ctx, providers.VolumeSpec{Name: "z", SizeGiB: 1, Zone: "us-west-2a"}); !errors.Is(err, providers.ErrInvalid) {
		t.Errorf("zone of another region: err = %v, want ErrInvalid", err)
	}
}

// TestMotoAttachDevices: attaches pick free devices from /dev/sdf, two
// volumes on one instance get two devices, and the attachment shows on the
// instance in EC2.
func TestMotoAttachDevices(t *testing.T) {
	resetMoto(t)
	ctx := context.Background()
	image := registerImage(t, "us-east-1", "attach-img")
	c := openMoto(t, []string{"us-east-1"}, nil)
	srv, err := c.CreateServer(ctx, providers.ServerSpec{Name: "vm", FlavorID: "t3.micro", ImageID: image, Zone: "us-east-1a"})
	if err != nil {
		t.Fatal(err)
	}
	var vols []string
	for _, n := range []string{"a", "b"} {
		v, err := c.CreateVolume(ctx, providers.VolumeSpec{Name: n, Zone: "us-east-1a", SizeGiB: 1})
		if err != nil {
			t.Fatal(err)
		}
		vols = append(vols, v.NativeID)
		if err := c.AttachVolume(ctx, v.NativeID, srv.NativeID); err != nil {
			t.Fatalf("AttachVolume %s: %v", n, err)
		}
	}
	devs := map[string]bool{}
	for _, id := range vols {
		v, err := c.GetVolume(ctx, id)
		if err != nil || len(v.Attachments) != 1 || v.Attachments[0].ServerID != srv.NativeID {
			t.Fatalf("GetVolume = %+v, %v", v, err)
		}
		devs[v.Attachments[0].Device] = true
	}
	if !devs["/dev/sdf"] || !devs["/dev/sdg"] {
		t.Errorf("devices = %v, want /dev/sdf and /dev/sdg", devs)
	}
	if err := c.AttachVolume(ctx, vols[0], srv.NativeID); !errors.Is(err, providers.ErrConflict) {
		t.Errorf("attach an attached volume: err = %v, want ErrConflict", err)
	}
	other, err := c.CreateVolume(ctx, providers.VolumeSpec{Name: "far", Zone: "us-east-1c", SizeGiB: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.AttachVolume(ctx, other.NativeID, srv.NativeID); !errors.Is(err, providers.ErrInvalid) {
		t.Errorf("attach across zones: err = %v, want ErrInvalid", err)
	}
	for _, id := range vols {
		if err := c.DetachVolume(ctx, id, srv.NativeID); err != nil {
			t.Errorf("DetachVolume: %v", err)
		}
	}
}

// TestMotoSnapshotTokenAndDelete: a snapshot retry finds the first one by
// its tag; a snapshot is listed with its volume and size; a deleted one is
// not found.
func TestMotoSnapshotTokenAndDelete(t *testing.T) {
	resetMoto(t)
	ctx := context.Background()
	c := openMoto(t, []string{"us-east-1", "eu-west-1"}, nil)
	v, err := c.CreateVolume(ctx, providers.VolumeSpec{Name: "src", Zone: "eu-west-1a", SizeGiB: 4})
	if err != nil {
		t.Fatal(err)
	}
	spec := providers.SnapshotSpec{Name: "s", VolumeID: v.NativeID, Description: "d", IdempotencyToken: "tok-1", Labels: map[string]string{"k": "v"}}
	s, err := c.CreateSnapshot(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if s.JobID != "" || s.NativeID == "" || s.Region != "eu-west-1" || s.SizeGiB != 4 || s.Name != "s" {
		t.Errorf("CreateSnapshot = %+v", s)
	}
	fresh := openMoto(t, []string{"us-east-1", "eu-west-1"}, nil)
	again, err := fresh.CreateSnapshot(ctx, spec)
	if err != nil || again.NativeID != s.NativeID {
		t.Errorf("CreateSnapshot again = %s, %v; want %s", again.NativeID, err, s.NativeID)
	}
	got, err := fresh.GetSnapshot(ctx, s.NativeID)
	if err != nil || got.Labels["k"] != "v" || got.Description != "d" || got.VolumeID != v.NativeID {
		t.Errorf("GetSnapshot = %+v, %v", got, err)
	}
	if _, err := c.CreateSnapshot(ctx, providers.SnapshotSpec{Name: "m", VolumeID: "vol-0123456789abcdef0"}); !errors.Is(err, providers.ErrInvalid) {
		t.Errorf("snapshot of a missing volume: err = %v, want ErrInvalid", err)
	}
	if _, err := c.GetSnapshot(ctx, s.NativeID); err != nil { // c sees it in EC2 now (no longer "created moments ago")
		t.Fatal(err)
	}
	if err := fresh.DeleteSnapshot(ctx, s.NativeID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetSnapshot(ctx, s.NativeID); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("GetSnapshot after delete: err = %v, want ErrNotFound", err)
	}
	if err := c.DeleteSnapshot(ctx, s.NativeID); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("DeleteSnapshot twice: err = %v, want ErrNotFound", err)
	}
}
