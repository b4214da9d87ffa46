package aws

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/canopy-cloud/canopy/providers"
)

// rootFake is fakeEC2 with EBS-backed images and root volumes: the AMI has
// a root device (and a snapshot of snapGiB), RunInstances answers without
// the block device mappings (as EC2 does while the instance is pending) and
// describe shows them after lag more describe calls.
type rootFake struct {
	*fakeEC2
	snapGiB   int32
	storeType types.DeviceType
	lag       int                       // describe calls before the mapping shows
	runs      []*ec2.RunInstancesInput  // what RunInstances was asked
	pending   map[string]types.Instance // instance id → its mappings to come
	describes map[string]int            // instance id → describe calls seen
	// onDescribe, when set, is told of every describe of an instance (id,
	// how many so far), outside the lock: a test acts on the poll itself.
	onDescribe func(id string, n int)
}

func newRootFake(region string) *rootFake {
	return &rootFake{fakeEC2: newFake(region), snapGiB: 8, storeType: types.DeviceTypeEbs,
		pending: map[string]types.Instance{}, describes: map[string]int{}}
}

func (f *rootFake) DescribeImages(ctx context.Context, in *ec2.DescribeImagesInput, o ...func(*ec2.Options)) (*ec2.DescribeImagesOutput, error) {
	out, err := f.fakeEC2.DescribeImages(ctx, in, o...)
	if err != nil {
		return nil, err
	}
	for i := range out.Images {
		out.Images[i].RootDeviceName, out.Images[i].RootDeviceType = awssdk.String("/dev/xvda"), f.storeType
		out.Images[i].BlockDeviceMappings = []types.BlockDeviceMapping{{DeviceName: awssdk.String("/dev/xvda"),
			Ebs: &types.EbsBlockDevice{SnapshotId: awssdk.String("snap-ami"), VolumeSize: awssdk.Int32(f.snapGiB), DeleteOnTermination: awssdk.Bool(true)}}}
	}
	return out, nil
}

func (f *rootFake) RunInstances(ctx context.Context, in *ec2.RunInstancesInput, o ...func(*ec2.Options)) (*ec2.RunInstancesOutput, error) {
	out, err := f.fakeEC2.RunInstances(ctx, in, o...)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.runs = append(f.runs, in)
	id := awssdk.ToString(out.Instances[0].InstanceId)
	inst := f.instances[id]
	inst.RootDeviceName, inst.RootDeviceType = awssdk.String("/dev/xvda"), types.DeviceTypeEbs
	out.Instances[0].RootDeviceName, out.Instances[0].RootDeviceType = inst.RootDeviceName, inst.RootDeviceType
	del := true
	if len(in.BlockDeviceMappings) > 0 {
		del = awssdk.ToBool(in.BlockDeviceMappings[0].Ebs.DeleteOnTermination)
	}
	vol := "vol-root-" + id
	f.pending[id] = types.Instance{BlockDeviceMappings: []types.InstanceBlockDeviceMapping{
		{DeviceName: awssdk.String("/dev/sdf"), Ebs: &types.EbsInstanceBlockDevice{VolumeId: awssdk.String("vol-data")}},
		{DeviceName: awssdk.String("/dev/xvda"), Ebs: &types.EbsInstanceBlockDevice{VolumeId: awssdk.String(vol), DeleteOnTermination: awssdk.Bool(del)}},
	}}
	return out, nil
}

func (f *rootFake) DescribeInstances(ctx context.Context, in *ec2.DescribeInstancesInput, o ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error) {
	f.mu.Lock()
	seen := map[string]int{}
	for _, id := range in.InstanceIds {
		f.describes[id]++
		seen[id] = f.describes[id]
		if p, ok := f.pending[id]; ok && f.describes[id] > f.lag {
			delete(f.invisible, id)
			f.instances[id].BlockDeviceMappings = p.BlockDeviceMappings
			delete(f.pending, id)
		}
	}
	hook := f.onDescribe
	f.mu.Unlock()
	if hook != nil {
		for id, n := range seen {
			hook(id, n)
		}
	}
	return f.fakeEC2.DescribeInstances(ctx, in, o...)
}

func rootCloud(t *testing.T, f *rootFake) *Cloud {
	t.Helper()
	c := newCloud("fake", Options{CatalogTTL: time.Hour, ImageOwners: []string{"self"}}, []string{f.region}, map[string]ec2API{f.region: f})
	c.rootWait = rootVolumeWait{timeout: time.Second, poll: time.Millisecond}
	return c
}

func tagsOf(tags []types.Tag) map[string]string {
	m := map[string]string{}
	for _, t := range tags {
		m[awssdk.ToString(t.Key)] = awssdk.ToString(t.Value)
	}
	return m
}

// A root volume: RunInstances maps the AMI's root device at the size asked,
// kept after termination and tagged as the volume; CreateServer waits for
// describe to name it, and get/list read it from the mapping.
func TestRootVolume(t *testing.T) {
	ctx := context.Background()
	f := newRootFake("us-east-1")
	f.lag = 3
	c := rootCloud(t, f)
	s, err := c.CreateServer(ctx, providers.ServerSpec{Name: "web", FlavorID: "t3.micro", ImageID: "ami-us-east-1",
		Labels: map[string]string{"tier": "web"}, IdempotencyToken: "srv-1", RootVolumeGiB: 20, RootVolumeName: "data-disk"})
	if err != nil {
		t.Fatal(err)
	}
	want := "vol-root-" + s.NativeID
	if s.RootVolumeID != want {
		t.Fatalf("RootVolumeID = %q, want %q", s.RootVolumeID, want)
	}
	if len(f.runs) != 1 {
		t.Fatalf("RunInstances called %d times", len(f.runs))
	}
	in := f.runs[0]
	if len(in.BlockDeviceMappings) != 1 {
		t.Fatalf("block device mappings = %+v", in.BlockDeviceMappings)
	}
	bd := in.BlockDeviceMappings[0]
	if awssdk.ToString(bd.DeviceName) != "/dev/xvda" || bd.Ebs == nil || awssdk.ToInt32(bd.Ebs.VolumeSize) != 20 ||
		bd.Ebs.DeleteOnTermination == nil || *bd.Ebs.DeleteOnTermination || bd.Ebs.SnapshotId != nil {
		t.Errorf("root mapping = %+v %+v", bd, bd.Ebs)
	}
	var inst, vol map[string]string
	for _, ts := range in.TagSpecifications {
		switch ts.ResourceType {
		case types.ResourceTypeInstance:
			inst = tagsOf(ts.Tags)
		case types.ResourceTypeVolume:
			vol = tagsOf(ts.Tags)
		}
	}
	if inst["Name"] != "web" || inst["tier"] != "web" {
		t.Errorf("instance tags = %v", inst)
	}
	if len(vol) != 2 || vol["Name"] != "data-disk" || vol[tagToken] != "root:srv-1" {
		t.Errorf("volume tags = %v, want Name=data-disk and %s=root:srv-1 only", vol, tagToken)
	}
	got, err := c.GetServer(ctx, s.NativeID)
	if err != nil || got.RootVolumeID != want {
		t.Errorf("GetServer = %+v, %v; want root volume %s", got, err, want)
	}
	list, err := c.ListServers(ctx)
	if err != nil || len(list) != 1 || list[0].RootVolumeID != want {
		t.Errorf("ListServers = %+v, %v", list, err)
	}
	// Until EC2's volume describe calls catch up, the volume is known.
	rv, ok := c.recentVolume(want)
	if !ok || rv.Name != "data-disk" || rv.SizeGiB != 20 || rv.Zone != "us-east-1a" || len(rv.Attachments) != 1 ||
		rv.Attachments[0].ServerID != s.NativeID || rv.Properties["client_token"] != "root:srv-1" {
		t.Errorf("recent root volume = %+v, %v", rv, ok)
	}
	if r, ok := c.whereIs(want); !ok || r != "us-east-1" {
		t.Errorf("root volume region = %q, %v", r, ok)
	}
}

// No RootVolumeName: the server's name with -root; no token, no token tag.
// Without RootVolumeGiB nothing changes: no mapping, no image lookup, no
// wait; the server's tags go on its volumes as before.
func TestRootVolumeDefaults(t *testing.T) {
	ctx := context.Background()
	f := newRootFake("us-east-1")
	c := rootCloud(t, f)
	if _, err := c.CreateServer(ctx, providers.ServerSpec{Name: "db", FlavorID: "t3.micro", ImageID: "ami-us-east-1", RootVolumeGiB: 8}); err != nil {
		t.Fatal(err)
	}
	vol := tagsOf(f.runs[0].TagSpecifications[1].Tags)
	if len(vol) != 1 || vol["Name"] != "db-root" {
		t.Errorf("volume tags = %v", vol)
	}
	images, describes := f.calls["DescribeImages"], f.calls["DescribeInstances"]
	s, err := c.CreateServer(ctx, providers.ServerSpec{Name: "plain", FlavorID: "t3.micro", ImageID: "ami-us-east-1", Labels: map[string]string{"a": "b"}})
	if err != nil {
		t.Fatal(err)
	}
	in := f.runs[1]
	if in.BlockDeviceMappings != nil || f.calls["DescribeImages"] != images || f.calls["DescribeInstances"] != describes {
		t.Errorf("plain server: mappings %+v, DescribeImages %d→%d, DescribeInstances %d→%d",
			in.BlockDeviceMappings, images, f.calls["DescribeImages"], describes, f.calls["DescribeInstances"])
	}
	if vol := tagsOf(in.TagSpecifications[1].Tags); vol["Name"] != "plain" || vol["a"] != "b" {
		t.Errorf("plain server's volume tags = %v", vol)
	}
	// An EBS-backed instance boots from its root volume all the same.
	got, err := c.GetServer(ctx, s.NativeID)
	if err != nil || got.RootVolumeID != "vol-root-"+s.NativeID {
		t.Errorf("GetServer(plain) = %+v, %v", got, err)
	}
}

// Describe never names the root volume within the wait: the server is
// returned (it exists) without RootVolumeID; canopy binds it later. The
// wait is ended by its timeout, then by the caller's context, which is
// cancelled from the third poll itself (no wall-clock window).
func TestRootVolumeSlow(t *testing.T) {
	ctx := context.Background()
	f := newRootFake("us-east-1")
	f.lag = 1 << 30
	c := rootCloud(t, f)
	create := func(ctx context.Context, name string) (providers.Server, error) {
		t.Helper()
		type res struct {
			s   providers.Server
			err error
		}
		ch := make(chan res, 1)
		go func() {
			s, err := c.CreateServer(ctx, providers.ServerSpec{Name: name, FlavorID: "t3.micro", ImageID: "ami-us-east-1", RootVolumeGiB: 10})
			ch <- res{s, err}
		}()
		select {
		case r := <-ch:
			return r.s, r.err
		case <-time.After(10 * time.Second):
			t.Fatalf("CreateServer(%s) still waiting for the root volume after 10s", name)
		}
		return providers.Server{}, nil
	}
	c.rootWait = rootVolumeWait{timeout: 30 * time.Millisecond, poll: 5 * time.Millisecond}
	s, err := create(ctx, "slow")
	if err != nil || s.NativeID == "" || s.RootVolumeID != "" {
		t.Fatalf("CreateServer = %+v, %v; want the server without a root volume id", s, err)
	}
	f.mu.Lock()
	n := f.describes[s.NativeID]
	f.mu.Unlock()
	if n < 1 {
		t.Errorf("DescribeInstances of %s called %d times, want at least one poll", s.NativeID, n)
	}
	// A cancelled context ends the wait at once, still without an error:
	// cancelled on the third poll, at most one more (a poll timer that
	// fired at the same moment) follows.
	c.rootWait = rootVolumeWait{timeout: time.Hour, poll: time.Millisecond}
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var polled atomic.Int64
	f.mu.Lock()
	f.onDescribe = func(id string, n int) {
		polled.Store(int64(n))
		if n == 3 {
			cancel()
		}
	}
	f.mu.Unlock()
	s2, err := create(cctx, "slow2")
	if err != nil || s2.NativeID == "" || s2.RootVolumeID != "" {
		t.Fatalf("CreateServer with a cancelled wait = %+v, %v", s2, err)
	}
	if got := polled.Load(); got < 3 || got > 4 {
		t.Errorf("%d polls; want the wait to end at the cancel on the third", got)
	}
}

// What cannot be: booting an existing volume (EC2 launches from AMIs
// only), a root volume smaller than the image, one from an instance-store
// image; none of them launches anything.
func TestRootVolumeRefusals(t *testing.T) {
	ctx := context.Background()
	f := newRootFake("us-east-1")
	c := rootCloud(t, f)
	base := providers.ServerSpec{Name: "x", FlavorID: "t3.micro", ImageID: "ami-us-east-1"}

	spec := base
	spec.BootVolumeID = "vol-123"
	_, err := c.CreateServer(ctx, spec)
	if !errors.Is(err, providers.ErrUnsupported) || !strings.Contains(err.Error(), "vol-123") {
		t.Errorf("boot volume: %v, want ErrUnsupported naming the volume", err)
	}
	spec = base
	spec.RootVolumeGiB = 4
	if _, err := c.CreateServer(ctx, spec); !errors.Is(err, providers.ErrInvalid) {
		t.Errorf("4 GiB root of an 8 GiB image: %v, want ErrInvalid", err)
	}
	spec.RootVolumeGiB = -1
	if _, err := c.CreateServer(ctx, spec); !errors.Is(err, providers.ErrInvalid) {
		t.Errorf("negative root size: %v, want ErrInvalid", err)
	}
	spec.RootVolumeGiB = 8
	f.storeType = types.DeviceTypeInstanceStore
	if _, err := c.CreateServer(ctx, spec); !errors.Is(err, providers.ErrUnsupported) {
		t.Errorf("instance-store image: %v, want ErrUnsupported", err)
	}
	f.storeType = types.DeviceTypeEbs
	spec.ImageID = "ami-elsewhere"
	if _, err := c.CreateServer(ctx, spec); !errors.Is(err, providers.ErrInvalid) {
		t.Errorf("missing image: %v, want ErrInvalid", err)
	}
	if len(f.runs) != 0 {
		t.Errorf("RunInstances called %d times", len(f.runs))
	}
}

func TestRootVolumeOf(t *testing.T) {
	m := func(dev, vol string) types.InstanceBlockDeviceMapping {
		return types.InstanceBlockDeviceMapping{DeviceName: awssdk.String(dev), Ebs: &types.EbsInstanceBlockDevice{VolumeId: awssdk.String(vol)}}
	}
	in := types.Instance{RootDeviceName: awssdk.String("/dev/sda1"), RootDeviceType: types.DeviceTypeEbs,
		BlockDeviceMappings: []types.InstanceBlockDeviceMapping{m("/dev/sdf", "vol-data"), m("/dev/sda1", "vol-root")}}
	if got := rootVolumeOf(in); got != "vol-root" {
		t.Errorf("rootVolumeOf = %q", got)
	}
	if got := serverOf("r", in).RootVolumeID; got != "vol-root" {
		t.Errorf("serverOf RootVolumeID = %q", got)
	}
	in.RootDeviceType = types.DeviceTypeInstanceStore
	if got := rootVolumeOf(in); got != "" {
		t.Errorf("instance-store root = %q", got)
	}
	in.RootDeviceType, in.RootDeviceName = types.DeviceTypeEbs, nil
	if got := rootVolumeOf(in); got != "" {
		t.Errorf("no root device name = %q", got)
	}
}
