package aws

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	"github.com/canopy-cloud/canopy/providers"
)

// fakeEBS adds EBS to fakeEC2, for what moto cannot show: EC2's eventual
// consistency after a create, modifications in progress, volumes in
// transitional states, devices taken behind a describe's back, paging.
type fakeEBS struct {
	*fakeEC2
	volumes   map[string]*types.Volume
	snapshots map[string]*types.Snapshot
	mods      map[string]*types.VolumeModification
	hidden    map[string]bool     // created, not yet shown by describe
	taken     map[string]bool     // devices EC2 says are in use though describe does not show them
	tokens    map[string][]string // ClientTokens seen by CreateVolume
}

func newFakeEBS(region string) *fakeEBS {
	return &fakeEBS{fakeEC2: newFake(region), volumes: map[string]*types.Volume{}, snapshots: map[string]*types.Snapshot{},
		mods: map[string]*types.VolumeModification{}, hidden: map[string]bool{}, taken: map[string]bool{}, tokens: map[string][]string{}}
}

func fakeEBSCloud(regions ...string) (*Cloud, map[string]*fakeEBS) {
	fakes := map[string]*fakeEBS{}
	clients := map[string]ec2API{}
	for _, r := range regions {
		fakes[r] = newFakeEBS(r)
		clients[r] = fakes[r]
	}
	return newCloud("fake", Options{CatalogTTL: time.Hour, ImageOwners: []string{"self"}}, regions, clients), fakes
}

func (f *fakeEBS) DescribeVolumes(_ context.Context, in *ec2.DescribeVolumesInput, _ ...func(*ec2.Options)) (*ec2.DescribeVolumesOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count("DescribeVolumes")
	var ids []string
	if len(in.VolumeIds) > 0 {
		for _, id := range in.VolumeIds {
			if f.volumes[id] == nil || f.hidden[id] {
				return nil, apiErr("InvalidVolume.NotFound")
			}
		}
		ids = in.VolumeIds
	} else {
		for id := range f.volumes {
			if !f.hidden[id] {
				ids = append(ids, id)
			}
		}
		sort.Strings(ids)
	}
	var list []types.Volume
	for _, id := range ids {
		v := f.volumes[id]
		if matches(v.Tags, in.Filters) {
			list = append(list, *v)
		}
	}
	start := 0
	if in.NextToken != nil {
		start, _ = strconv.Atoi(*in.NextToken)
	}
	out := &ec2.DescribeVolumesOutput{}
	end := len(list)
	if in.MaxResults != nil && start+int(*in.MaxResults) < end {
		end = start + int(*in.MaxResults)
		out.NextToken = awssdk.String(strconv.Itoa(end))
	}
	out.Volumes = list[start:end]
	return out, nil
}

// matches applies tag:K filters.
func matches(tags []types.Tag, filters []types.Filter) bool {
	for _, fl := range filters {
		key, ok := strings.CutPrefix(awssdk.ToString(fl.Name), "tag:")
		if !ok {
			continue
		}
		found := false
		for _, tg := range tags {
			for _, v := range fl.Values {
				found = found || (awssdk.ToString(tg.Key) == key && awssdk.ToString(tg.Value) == v)
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func (f *fakeEBS) CreateVolume(_ context.Context, in *ec2.CreateVolumeInput, _ ...func(*ec2.Options)) (*ec2.CreateVolumeOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count("CreateVolume")
	f.seq++
	id := fmt.Sprintf("vol-%s%02d", f.region, f.seq)
	f.tokens[awssdk.ToString(in.ClientToken)] = append(f.tokens[awssdk.ToString(in.ClientToken)], id)
	now := time.Now()
	v := &types.Volume{VolumeId: &id, AvailabilityZone: in.AvailabilityZone, Size: in.Size, SnapshotId: in.SnapshotId,
		State: types.VolumeStateCreating, VolumeType: in.VolumeType, Tags: in.TagSpecifications[0].Tags, CreateTime: &now}
	f.volumes[id] = v
	f.hidden[id] = true
	return &ec2.CreateVolumeOutput{VolumeId: v.VolumeId, AvailabilityZone: v.AvailabilityZone, Size: v.Size, State: v.State,
		VolumeType: v.VolumeType, CreateTime: v.CreateTime}, nil // no tags in the answer
}

func (f *fakeEBS) DeleteVolume(_ context.Context, in *ec2.DeleteVolumeInput, _ ...func(*ec2.Options)) (*ec2.DeleteVolumeOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count("DeleteVolume")
	v := f.volumes[*in.VolumeId]
	if v == nil {
		return nil, apiErr("InvalidVolume.NotFound")
	}
	if v.State == types.VolumeStateInUse {
		return nil, apiErr("VolumeInUse")
	}
	v.State = types.VolumeStateDeleting
	return &ec2.DeleteVolumeOutput{}, nil
}

func (f *fakeEBS) ModifyVolume(_ context.Context, in *ec2.ModifyVolumeInput, _ ...func(*ec2.Options)) (*ec2.ModifyVolumeOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count("ModifyVolume")
	if m := f.mods[*in.VolumeId]; m != nil && m.ModificationState == types.VolumeModificationStateModifying {
		return nil, apiErr("IncorrectModificationState")
	}
	now := time.Now()
	f.mods[*in.VolumeId] = &types.VolumeModification{VolumeId: in.VolumeId, TargetSize: in.Size, StartTime: &now,
		ModificationState: types.VolumeModificationStateModifying}
	return &ec2.ModifyVolumeOutput{}, nil
}

func (f *fakeEBS) DescribeVolumesModifications(_ context.Context, in *ec2.DescribeVolumesModificationsInput, _ ...func(*ec2.Options)) (*ec2.DescribeVolumesModificationsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count("DescribeVolumesModifications")
	out := &ec2.DescribeVolumesModificationsOutput{}
	for _, id := range in.VolumeIds {
		if m := f.mods[id]; m != nil {
			out.VolumesModifications = append(out.VolumesModifications, *m)
		}
	}
	return out, nil
}

func (f *fakeEBS) AttachVolume(_ context.Context, in *ec2.AttachVolumeInput, _ ...func(*ec2.Options)) (*ec2.AttachVolumeOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count("AttachVolume")
	if f.taken[*in.Device] {
		return nil, &smithy.OperationError{ServiceID: "EC2", Err: &smithy.GenericAPIError{Code: "InvalidParameterValue",
			Message: "Invalid value '" + *in.Device + "' for unixDevice. Attachment point " + *in.Device + " is already in use", Fault: smithy.FaultClient}}
	}
	v := f.volumes[*in.VolumeId]
	v.State = types.VolumeStateInUse
	v.Attachments = []types.VolumeAttachment{{InstanceId: in.InstanceId, Device: in.Device, State: types.VolumeAttachmentStateAttaching}}
	f.taken[*in.Device] = true
	return &ec2.AttachVolumeOutput{}, nil
}

func (f *fakeEBS) DetachVolume(_ context.Context, in *ec2.DetachVolumeInput, _ ...func(*ec2.Options)) (*ec2.DetachVolumeOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count("DetachVolume")
	v := f.volumes[*in.VolumeId]
	v.Attachments[0].State = types.VolumeAttachmentStateDetaching
	return &ec2.DetachVolumeOutput{}, nil
}

func (f *fakeEBS) DescribeSnapshots(_ context.Context, in *ec2.DescribeSnapshotsInput, _ ...func(*ec2.Options)) (*ec2.DescribeSnapshotsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count("DescribeSnapshots")
	out := &ec2.DescribeSnapshotsOutput{}
	for _, id := range in.SnapshotIds {
		if f.snapshots[id] == nil || f.hidden[id] {
			return nil, apiErr("InvalidSnapshot.NotFound")
		}
	}
	for id, s := range f.snapshots {
		if !f.hidden[id] && matches(s.Tags, in.Filters) && (len(in.SnapshotIds) == 0 || in.SnapshotIds[0] == id) {
			out.Snapshots = append(out.Snapshots, *s)
		}
	}
	return out, nil
}

func (f *fakeEBS) CreateSnapshot(_ context.Context, in *ec2.CreateSnapshotInput, _ ...func(*ec2.Options)) (*ec2.CreateSnapshotOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count("CreateSnapshot")
	f.seq++
	id := fmt.Sprintf("snap-%s%02d", f.region, f.seq)
	s := &types.Snapshot{SnapshotId: &id, VolumeId: in.VolumeId, VolumeSize: f.volumes[*in.VolumeId].Size, State: types.SnapshotStatePending,
		Tags: in.TagSpecifications[0].Tags, Description: in.Description}
	f.snapshots[id] = s
	f.hidden[id] = true
	return &ec2.CreateSnapshotOutput{SnapshotId: s.SnapshotId, VolumeId: s.VolumeId, VolumeSize: s.VolumeSize, State: s.State, Tags: s.Tags}, nil
}

func (f *fakeEBS) DeleteSnapshot(_ context.Context, in *ec2.DeleteSnapshotInput, _ ...func(*ec2.Options)) (*ec2.DeleteSnapshotOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count("DeleteSnapshot")
	return nil, apiErr("InvalidSnapshot.InUse")
}

func (f *fakeEBS) show(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.hidden, id)
}

func (f *fakeEBS) calls(op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.fakeEC2.calls[op]
}

func TestVolumeStatus(t *testing.T) {
	for raw, want := range map[string]providers.Status{
		"creating": providers.StatusPending, "available": providers.StatusActive, "in-use": providers.StatusActive,
		"deleting": providers.StatusDeleting, "deleted": providers.StatusDeleted, "error": providers.StatusError, "odd": providers.StatusUnknown,
	} {
		if got := volumeStatus(raw); got != want {
			t.Errorf("volumeStatus(%s) = %v, want %v", raw, got, want)
		}
	}
	for raw, want := range map[string]providers.Status{
		"pending": providers.StatusPending, "completed": providers.StatusActive, "error": providers.StatusError,
		"recoverable": providers.StatusDeleted, "recovering": providers.StatusPending, "odd": providers.StatusUnknown,
	} {
		if got := snapshotStatus(raw); got != want {
			t.Errorf("snapshotStatus(%s) = %v, want %v", raw, got, want)
		}
	}
}

func TestVolumeOf(t *testing.T) {
	tags := []types.Tag{{Key: awssdk.String("Name"), Value: awssdk.String("n")}, {Key: awssdk.String("k"), Value: awssdk.String("v")},
		{Key: awssdk.String("canopy:token"), Value: awssdk.String("tok")}, {Key: awssdk.String("aws:x"), Value: awssdk.String("y")}}
	att := func(s types.VolumeAttachmentState) []types.VolumeAttachment {
		return []types.VolumeAttachment{{InstanceId: awssdk.String("i-1"), Device: awssdk.String("/dev/sdf"), State: s}}
	}
	for _, tc := range []struct {
		name   string
		v      types.Volume
		mod    *types.VolumeModification
		status providers.Status
		atts   int
	}{
		{"available", types.Volume{State: "available"}, nil, providers.StatusActive, 0},
		{"attaching", types.Volume{State: "in-use", Attachments: att("attaching")}, nil, providers.StatusUpdating, 1},
		{"attached", types.Volume{State: "in-use", Attachments: att("attached")}, nil, providers.StatusActive, 1},
		{"detaching", types.Volume{State: "in-use", Attachments: att("detaching")}, nil, providers.StatusUpdating, 0},
		{"modifying", types.Volume{State: "available"}, &types.VolumeModification{ModificationState: "modifying"}, providers.StatusUpdating, 0},
		{"optimizing", types.Volume{State: "available"}, &types.VolumeModification{ModificationState: "optimizing"}, providers.StatusActive, 0},
		{"creating", types.Volume{State: "creating"}, nil, providers.StatusPending, 0},
	} {
		tc.v.Tags, tc.v.VolumeId, tc.v.Size = tags, awssdk.String("vol-1"), awssdk.Int32(3)
		got := volumeOf("r", tc.v, tc.mod)
		if got.Status != tc.status || len(got.Attachments) != tc.atts || got.ProviderStatus != string(tc.v.State) {
			t.Errorf("%s: status %v (%s), %d attachments; want %v, %d", tc.name, got.Status, got.ProviderStatus, len(got.Attachments), tc.status, tc.atts)
		}
		if got.Name != "n" || len(got.Labels) != 1 || got.Labels["k"] != "v" || got.Properties["client_token"] != "tok" || got.SizeGiB != 3 {
			t.Errorf("%s: %+v", tc.name, got)
		}
	}
}

func TestEBSErrors(t *testing.T) {
	for code, want := range map[string]error{
		"InvalidVolume.NotFound": providers.ErrNotFound, "VolumeInUse": providers.ErrConflict, "IncorrectState": providers.ErrConflict,
		"InvalidSnapshot.InUse": providers.ErrConflict, "IncorrectModificationState": providers.ErrConflict,
		"InvalidAttachment.NotFound": providers.ErrConflict, "InvalidVolume.ZoneMismatch": providers.ErrInvalid,
		"VolumeLimitExceeded": providers.ErrQuota, "InvalidParameterValue": providers.ErrInvalid,
	} {
		if err := ebsFail(apiErr(code), target, "x"); !errors.Is(err, want) {
			t.Errorf("%s: %v, want %v", code, err, want)
		}
	}
}

func TestVolumeCapabilities(t *testing.T) {
	c, _ := fakeEBSCloud("r1")
	if !providers.Has(c, providers.CapVolumes) || !providers.Has(c, providers.CapSnapshots) || providers.Has(c, providers.CapVolumeFromImage) ||
		providers.Has(c, providers.CapBackups) || providers.Has(c, providers.CapVolumeData) {
		t.Errorf("capabilities wrong")
	}
	plain, _ := fakeCloud("r1") // a client without EBS calls
	if providers.Has(plain, providers.CapVolumes) {
		t.Errorf("Has(volumes) on a client without EBS")
	}
	if _, err := plain.ListVolumes(context.Background()); !errors.Is(err, providers.ErrUnsupported) {
		t.Errorf("ListVolumes without EBS: %v", err)
	}
}

// A volume created moments ago is seen (PENDING) even while EC2's describe
// calls do not show it; a retry with its token returns it, and EC2 gets the
// token as ClientToken.
func TestJustCreatedVolumeIsVisible(t *testing.T) {
	ctx := context.Background()
	c, fakes := fakeEBSCloud("r1")
	f := fakes["r1"]
	spec := providers.VolumeSpec{Name: "v", Zone: "r1b", SizeGiB: 2, Labels: map[string]string{"a": "b"}, Description: "d", IdempotencyToken: "tok"}
	v, err := c.CreateVolume(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if v.Status != providers.StatusPending || v.Name != "v" || v.Labels["a"] != "b" || v.Zone != "r1b" || v.Properties["description"] != "d" {
		t.Errorf("CreateVolume = %+v", v)
	}
	got, err := c.GetVolume(ctx, v.NativeID)
	if err != nil || got.NativeID != v.NativeID || got.Status != providers.StatusPending {
		t.Errorf("GetVolume before EC2 shows it = %+v, %v", got, err)
	}
	list, err := c.ListVolumes(ctx)
	if err != nil || len(list) != 1 {
		t.Errorf("ListVolumes before EC2 shows it = %d, %v", len(list), err)
	}
	again, err := c.CreateVolume(ctx, spec)
	if err != nil || again.NativeID != v.NativeID || f.calls("CreateVolume") != 1 {
		t.Errorf("retry = %s, %v (%d creates)", again.NativeID, err, f.calls("CreateVolume"))
	}
	if ids := f.tokens["tok"]; len(ids) != 1 {
		t.Errorf("ClientToken tok used by %v", ids)
	}
	f.show(v.NativeID)
	f.volumes[v.NativeID].State = types.VolumeStateAvailable
	got, _ = c.GetVolume(ctx, v.NativeID)
	if got.Status != providers.StatusActive || got.Properties["description"] != "d" {
		t.Errorf("GetVolume = %+v", got)
	}
	// Gone from EC2 now: not found (no longer "created moments ago").
	delete(f.volumes, v.NativeID)
	if _, err := c.GetVolume(ctx, v.NativeID); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("GetVolume after it vanished: %v", err)
	}
	if _, err := c.GetVolume(ctx, "i-123"); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("GetVolume(not a volume id): %v", err)
	}
}

func TestExtendVolumeModification(t *testing.T) {
	ctx := context.Background()
	c, fakes := fakeEBSCloud("r1")
	f := fakes["r1"]
	v, _ := c.CreateVolume(ctx, providers.VolumeSpec{Name: "v", SizeGiB: 2})
	f.show(v.NativeID)
	if err := c.ExtendVolume(ctx, v.NativeID, 3); !errors.Is(err, providers.ErrConflict) {
		t.Errorf("extend while creating: %v", err)
	}
	f.volumes[v.NativeID].State = types.VolumeStateAvailable
	if err := c.ExtendVolume(ctx, v.NativeID, 2); !errors.Is(err, providers.ErrInvalid) {
		t.Errorf("extend to the same size: %v", err)
	}
	if n := f.calls("DescribeVolumesModifications"); n != 0 {
		t.Errorf("%d DescribeVolumesModifications before any extend", n)
	}
	if err := c.ExtendVolume(ctx, v.NativeID, 5); err != nil {
		t.Fatal(err)
	}
	got, _ := c.GetVolume(ctx, v.NativeID)
	if got.Status != providers.StatusUpdating || got.Properties["modification_state"] != "modifying" {
		t.Errorf("while modifying: %v %v", got.Status, got.Properties)
	}
	if err := c.ExtendVolume(ctx, v.NativeID, 6); !errors.Is(err, providers.ErrConflict) {
		t.Errorf("extend while modifying: %v", err)
	}
	f.mods[v.NativeID].ModificationState = types.VolumeModificationStateOptimizing
	f.volumes[v.NativeID].Size = awssdk.Int32(5)
	got, _ = c.GetVolume(ctx, v.NativeID)
	if got.Status != providers.StatusActive || got.SizeGiB != 5 {
		t.Errorf("optimizing: %v %d GiB", got.Status, got.SizeGiB)
	}
	n := f.calls("DescribeVolumesModifications")
	c.GetVolume(ctx, v.NativeID)
	c.ListVolumes(ctx)
	if f.calls("DescribeVolumesModifications") != n {
		t.Errorf("modifications still asked for after the modification left modifying")
	}
}

func TestVolumeDeleteStates(t *testing.T) {
	ctx := context.Background()
	c, fakes := fakeEBSCloud("r1")
	f := fakes["r1"]
	v, _ := c.CreateVolume(ctx, providers.VolumeSpec{Name: "v", SizeGiB: 2})
	f.show(v.NativeID)
	f.volumes[v.NativeID].State = types.VolumeStateInUse
	if err := c.DeleteVolume(ctx, v.NativeID); !errors.Is(err, providers.ErrConflict) {
		t.Errorf("delete in use: %v", err)
	}
	f.volumes[v.NativeID].State = types.VolumeStateAvailable
	if err := c.DeleteVolume(ctx, v.NativeID); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteVolume(ctx, v.NativeID); err != nil || f.calls("DeleteVolume") != 2 {
		t.Errorf("delete while deleting = %v (%d calls), want nil without calling EC2", err, f.calls("DeleteVolume"))
	}
	f.volumes[v.NativeID].State = types.VolumeStateDeleted
	if _, err := c.GetVolume(ctx, v.NativeID); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("GetVolume(deleted): %v", err)
	}
	if list, _ := c.ListVolumes(ctx); len(list) != 0 {
		t.Errorf("ListVolumes lists a deleted volume")
	}
}

func TestListVolumesPages(t *testing.T) {
	ctx := context.Background()
	c, fakes := fakeEBSCloud("r1")
	f := fakes["r1"]
	old := ebsPageSizes
	ebsPageSizes.volumes = 2
	defer func() { ebsPageSizes = old }()
	for i := range 5 {
		v, _ := c.CreateVolume(ctx, providers.VolumeSpec{Name: fmt.Sprint(i), SizeGiB: 1})
		f.show(v.NativeID)
	}
	list, err := c.ListVolumes(ctx)
	if err != nil || len(list) != 5 || f.calls("DescribeVolumes") != 3 {
		t.Errorf("ListVolumes = %d volumes, %v in %d calls; want 5 in 3", len(list), err, f.calls("DescribeVolumes"))
	}
}

func TestAttachPicksAFreeDevice(t *testing.T) {
	ctx := context.Background()
	c, fakes := fakeEBSCloud("r1")
	f := fakes["r1"]
	f.instances["i-1"] = &types.Instance{InstanceId: awssdk.String("i-1"), State: &types.InstanceState{Name: types.InstanceStateNameRunning},
		Placement: &types.Placement{AvailabilityZone: awssdk.String("r1a")}, RootDeviceName: awssdk.String("/dev/xvda"),
		BlockDeviceMappings: []types.InstanceBlockDeviceMapping{{DeviceName: awssdk.String("/dev/xvda")}, {DeviceName: awssdk.String("/dev/xvdf")}}}
	f.taken["/dev/sdg"] = true // in use, though the describe does not say so
	v, _ := c.CreateVolume(ctx, providers.VolumeSpec{Name: "v", SizeGiB: 1, Zone: "r1a"})
	f.show(v.NativeID)
	f.volumes[v.NativeID].State = types.VolumeStateAvailable
	if err := c.AttachVolume(ctx, v.NativeID, "i-1"); err != nil {
		t.Fatal(err)
	}
	got, _ := c.GetVolume(ctx, v.NativeID)
	if len(got.Attachments) != 1 || got.Attachments[0].Device != "/dev/sdh" || got.Status != providers.StatusUpdating {
		t.Errorf("attached as %+v (%v), want /dev/sdh (sdf is xvdf, sdg is taken), UPDATING while attaching", got.Attachments, got.Status)
	}
	if err := c.DetachVolume(ctx, v.NativeID, "i-2"); !errors.Is(err, providers.ErrConflict) {
		t.Errorf("detach from another instance: %v", err)
	}
	f.volumes[v.NativeID].Attachments[0].State = types.VolumeAttachmentStateAttached
	if err := c.DetachVolume(ctx, v.NativeID, "i-1"); err != nil {
		t.Fatal(err)
	}
	got, _ = c.GetVolume(ctx, v.NativeID)
	if len(got.Attachments) != 0 || got.Status != providers.StatusUpdating {
		t.Errorf("detaching: %+v %v", got.Attachments, got.Status)
	}
	if err := c.DetachVolume(ctx, v.NativeID, "i-1"); !errors.Is(err, providers.ErrConflict) {
		t.Errorf("detach while detaching: %v", err)
	}
	if err := c.AttachVolume(ctx, v.NativeID, "i-9"); !errors.Is(err, providers.ErrConflict) {
		t.Errorf("attach an in-use volume: %v", err)
	}
}

func TestSnapshotTokenAndConflict(t *testing.T) {
	ctx := context.Background()
	c, fakes := fakeEBSCloud("r1")
	f := fakes["r1"]
	v, _ := c.CreateVolume(ctx, providers.VolumeSpec{Name: "v", SizeGiB: 4})
	f.show(v.NativeID)
	f.volumes[v.NativeID].State = types.VolumeStateAvailable
	spec := providers.SnapshotSpec{Name: "s", VolumeID: v.NativeID, IdempotencyToken: "tok"}
	s, err := c.CreateSnapshot(ctx, spec)
	if err != nil || s.JobID != "" || s.Status != providers.StatusPending || s.SizeGiB != 4 {
		t.Fatalf("CreateSnapshot = %+v, %v", s, err)
	}
	if got, err := c.GetSnapshot(ctx, s.NativeID); err != nil || got.NativeID != s.NativeID {
		t.Errorf("GetSnapshot before EC2 shows it = %+v, %v", got, err)
	}
	again, err := c.CreateSnapshot(ctx, spec)
	if err != nil || again.NativeID != s.NativeID || f.calls("CreateSnapshot") != 1 {
		t.Errorf("retry = %s, %v", again.NativeID, err)
	}
	f.show(s.NativeID)
	other, _ := fakeEBSCloudOn(f)
	again, err = other.CreateSnapshot(ctx, spec) // another adapter: found by the tag
	if err != nil || again.NativeID != s.NativeID || f.calls("CreateSnapshot") != 1 {
		t.Errorf("retry in another adapter = %s, %v", again.NativeID, err)
	}
	if err := c.DeleteSnapshot(ctx, s.NativeID); !errors.Is(err, providers.ErrConflict) {
		t.Errorf("delete a snapshot in use: %v", err)
	}
}

func fakeEBSCloudOn(f *fakeEBS) (*Cloud, *fakeEBS) {
	return newCloud("fake2", Options{CatalogTTL: time.Hour}, []string{f.region}, map[string]ec2API{f.region: f}), f
}
