package aws

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"
	"weak"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/canopy-cloud/canopy/providers"
)

// EBS: the adapter's block storage (providers.Volumes and
// providers.Snapshots).
//
//   - Volumes are EBS volumes (vol-…), made in an availability zone (the
//     spec's, else the first zone of the cloud's first region), empty or from
//     a snapshot. EBS cannot make a volume from an AMI: the adapter says so
//     through providers.Limited (Has(volume-from-image) is false) and answers
//     such a create with ErrUnsupported, and canopy emulates it (it records
//     the volume and makes it as the root volume when a server boots).
//   - Snapshots are EBS snapshots (snap-…). CreateSnapshot answers with the
//     snapshot's id at once (state pending), so this is plain Snapshots, not
//     SnapshotJobs.
//   - No Backups: EBS keeps no backups apart from snapshots. A volume's
//     bytes move through the EBS direct API (ebsdirect.go): read from a
//     snapshot of it, written only into a new snapshot and a new volume
//     made from it (CreateVolumeFromData), since EBS cannot write into an
//     existing volume: providers.VolumeDataCreator, over which canopy
//     emulates backups (package emulate).
//
// Labels are tags (the Name tag is the name); tags named canopy:… are the
// adapter's own (the idempotency token, a volume's description) and are
// shown as properties, not labels. A create's idempotency token is EC2's
// ClientToken where the call has one (CreateVolume) and, always, a
// canopy:token tag: a create first looks for a resource with that tag, so a
// retry returns the first one also where EC2 has no client token
// (CreateSnapshot) or forgot it.

// ebsAPI is the part of the EC2 client EBS uses. It is apart from ec2API so
// the compute fakes need not implement it: a client without it has no
// volumes (Has(volumes) is false).
type ebsAPI interface {
	ec2.DescribeVolumesAPIClient
	ec2.DescribeSnapshotsAPIClient
	ec2.DescribeVolumesModificationsAPIClient
	CreateVolume(context.Context, *ec2.CreateVolumeInput, ...func(*ec2.Options)) (*ec2.CreateVolumeOutput, error)
	DeleteVolume(context.Context, *ec2.DeleteVolumeInput, ...func(*ec2.Options)) (*ec2.DeleteVolumeOutput, error)
	ModifyVolume(context.Context, *ec2.ModifyVolumeInput, ...func(*ec2.Options)) (*ec2.ModifyVolumeOutput, error)
	AttachVolume(context.Context, *ec2.AttachVolumeInput, ...func(*ec2.Options)) (*ec2.AttachVolumeOutput, error)
	DetachVolume(context.Context, *ec2.DetachVolumeInput, ...func(*ec2.Options)) (*ec2.DetachVolumeOutput, error)
	CreateSnapshot(context.Context, *ec2.CreateSnapshotInput, ...func(*ec2.Options)) (*ec2.CreateSnapshotOutput, error)
	DeleteSnapshot(context.Context, *ec2.DeleteSnapshotInput, ...func(*ec2.Options)) (*ec2.DeleteSnapshotOutput, error)
}

var (
	_ providers.Volumes   = (*Cloud)(nil)
	_ providers.Snapshots = (*Cloud)(nil)
	_ providers.Limited   = (*Cloud)(nil)
)

// Tags the adapter keeps for itself.
const (
	tagToken       = "canopy:token"
	tagDescription = "canopy:description"
	tagPrefix      = "canopy:"
)

// ebsPageSizes are the MaxResults of the EBS lists (EC2's largest pages;
// tests shrink them).
var ebsPageSizes = struct{ volumes, snapshots int32 }{500, 1000}

// devices are the names AttachVolume picks from, the first free one: EC2's
// recommended range for EBS data volumes on Linux instances.
var devices = func() []string {
	var out []string
	for c := 'f'; c <= 'p'; c++ {
		out = append(out, "/dev/sd"+string(c))
	}
	return out
}()

// ebsState is what the adapter remembers about EBS between calls: volumes
// and snapshots it created until EC2's describe calls show them (EC2 is
// eventually consistent), modifications it started, devices it just gave
// out. It lives beside the Cloud (keyed weakly, dropped with it).
type ebsState struct {
	mu        sync.Mutex
	volumes   map[string]recentVolume   // native id → as created
	snapshots map[string]recentSnapshot // native id → as created
	modifying map[string]time.Time      // volume id → when ExtendVolume started
	devices   map[string]time.Time      // instance id + " " + device → when given
	attach    map[string]*sync.Mutex    // instance id → held while picking a device
}

type recentVolume struct {
	v     providers.Volume
	token string
	at    time.Time
}

type recentSnapshot struct {
	s     providers.Snapshot
	token string
	at    time.Time
}

var ebsStates sync.Map // weak.Pointer[Cloud] → *ebsState

func (c *Cloud) ebs() *ebsState {
	key := weak.Make(c)
	if st, ok := ebsStates.Load(key); ok {
		return st.(*ebsState)
	}
	st, loaded := ebsStates.LoadOrStore(key, &ebsState{
		volumes: map[string]recentVolume{}, snapshots: map[string]recentSnapshot{},
		modifying: map[string]time.Time{}, devices: map[string]time.Time{}, attach: map[string]*sync.Mutex{},
	})
	if !loaded {
		runtime.AddCleanup(c, func(k weak.Pointer[Cloud]) { ebsStates.Delete(k) }, key)
	}
	return st.(*ebsState)
}

// ebsClient returns the EBS client of a region.
func (c *Cloud) ebsClient(region string) (ebsAPI, error) {
	api, ok := c.clients[region].(ebsAPI)
	if !ok {
		return nil, fmt.Errorf("aws: cloud %q region %s: %w: the EC2 client has no EBS calls", c.name, region, providers.ErrUnsupported)
	}
	return api, nil
}

// Has implements providers.Limited. EBS cannot create a volume from an AMI
// (only from a snapshot, or an instance's root volume at launch): canopy
// emulates volume-from-image.
func (c *Cloud) Has(capability string) bool {
	switch capability {
	case providers.CapVolumeFromImage:
		return false
	case providers.CapVolumes, providers.CapSnapshots:
		for _, r := range c.regions {
			if _, err := c.ebsClient(r); err != nil {
				return false
			}
		}
	case providers.CapNetworks, providers.CapRouters, providers.CapSecurityGroups, providers.CapFloatingIPs:
		return c.hasNet() // net.go
	case providers.CapVolumeDataCreate:
		return c.s3.cfg != nil // the EBS direct API has the SDK's config (ebsdirect.go)
	case providers.CapImageTransfer: // the EBS direct API and RegisterImage (image_transfer.go)
		_, ok := c.clients[c.regions[0]].(registerAPI)
		return ok && c.s3.cfg != nil
	}
	return true
}

// ebsKinds are EBS error codes the generic mapping (errors.go) would get
// wrong for block storage.
var ebsKinds = map[string]error{
	"InvalidSnapshot.InUse":               providers.ErrConflict, // a snapshot an AMI uses
	"IncorrectModificationState":          providers.ErrConflict, // a modification in progress (or within 6 h of the last)
	"InvalidAttachment.NotFound":          providers.ErrConflict, // detaching a volume not attached there
	"InvalidVolume.ZoneMismatch":          providers.ErrInvalid,
	"VolumeModificationSizeLimitExceeded": providers.ErrInvalid,
}

// ebsFail is fail with the EBS corrections of ebsKinds.
func ebsFail(err error, m mode, format string, args ...any) error {
	e := fail(err, m, format, args...)
	var ae *Error
	if errors.As(e, &ae) {
		if k, ok := ebsKinds[ae.Code]; ok {
			ae.Kind = k
		}
	}
	return e
}

// ---------------------------------------------------------------- status

// volumeStatus maps an EBS volume state (types.VolumeState). A volume being
// modified or with an attachment in transit is UPDATING (see volumeOf).
func volumeStatus(state string) providers.Status {
	switch state {
	case "creating":
		return providers.StatusPending
	case "available", "in-use":
		return providers.StatusActive
	case "deleting":
		return providers.StatusDeleting
	case "deleted":
		return providers.StatusDeleted
	case "error":
		return providers.StatusError
	}
	return providers.StatusUnknown
}

// snapshotStatus maps an EBS snapshot state (types.SnapshotState).
// recoverable/recovering are snapshots in (or leaving) the Recycle Bin.
func snapshotStatus(state string) providers.Status {
	switch state {
	case "pending", "recovering":
		return providers.StatusPending
	case "completed":
		return providers.StatusActive
	case "error":
		return providers.StatusError
	case "recoverable":
		return providers.StatusDeleted
	}
	return providers.StatusUnknown
}

// ---------------------------------------------------------------- tags

// ebsTags builds the tags of a new volume or snapshot: Name, the labels,
// and the adapter's own. Labels may not use Name or the aws: and canopy:
// prefixes.
func ebsTags(what, name string, labels map[string]string, own map[string]string) ([]types.Tag, error) {
	var tags []types.Tag
	if name != "" {
		tags = append(tags, types.Tag{Key: awssdk.String("Name"), Value: awssdk.String(name)})
	}
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		lk := strings.ToLower(k)
		if k == "Name" || strings.HasPrefix(lk, "aws:") || strings.HasPrefix(lk, tagPrefix) {
			return nil, fmt.Errorf("aws: create %s %q: %w: label %q is reserved on AWS", what, name, providers.ErrInvalid, k)
		}
		tags = append(tags, types.Tag{Key: awssdk.String(k), Value: awssdk.String(labels[k])})
	}
	keys = keys[:0]
	for k, v := range own {
		if v != "" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		tags = append(tags, types.Tag{Key: awssdk.String(k), Value: awssdk.String(own[k])})
	}
	return tags, nil
}

// splitTags returns the labels, the name and the adapter's own tags.
func splitTags(tags []types.Tag) (labels map[string]string, name string, own map[string]string) {
	own = map[string]string{}
	var rest []types.Tag
	for _, t := range tags {
		k := awssdk.ToString(t.Key)
		if strings.HasPrefix(k, tagPrefix) {
			own[k] = awssdk.ToString(t.Value)
			continue
		}
		rest = append(rest, t)
	}
	labels, name = labelsOf(rest)
	return labels, name, own
}

// ---------------------------------------------------------------- conversion

// volumeOf converts an EBS volume; mod is its latest modification, if the
// adapter asked for it.
func volumeOf(region string, v types.Volume, mod *types.VolumeModification) providers.Volume {
	state := string(v.State)
	out := providers.Volume{
		Common: providers.Common{
			NativeID: awssdk.ToString(v.VolumeId), Region: region, Zone: awssdk.ToString(v.AvailabilityZone),
			Status: volumeStatus(state), ProviderStatus: state, Created: awssdk.ToTime(v.CreateTime),
		},
		SizeGiB: int64(awssdk.ToInt32(v.Size)), Type: string(v.VolumeType), SnapshotID: awssdk.ToString(v.SnapshotId),
	}
	labels, name, own := splitTags(v.Tags)
	out.Name, out.Labels = name, labels
	props := map[string]string{}
	set := func(k, val string) {
		if val != "" {
			props[k] = val
		}
	}
	set("description", own[tagDescription])
	set("client_token", own[tagToken])
	set("kms_key_id", awssdk.ToString(v.KmsKeyId))
	if awssdk.ToBool(v.Encrypted) {
		props["encrypted"] = "true"
	}
	if v.Iops != nil {
		props["iops"] = fmt.Sprint(*v.Iops)
	}
	if v.Throughput != nil {
		props["throughput"] = fmt.Sprint(*v.Throughput)
	}
	if awssdk.ToBool(v.MultiAttachEnabled) {
		props["multi_attach"] = "true"
	}
	transit := false
	for _, a := range v.Attachments {
		as := string(a.State)
		switch as {
		case "attaching", "attached", "busy":
			out.Attachments = append(out.Attachments, providers.Attachment{ServerID: awssdk.ToString(a.InstanceId), Device: awssdk.ToString(a.Device)})
		}
		if as == "attaching" || as == "detaching" {
			transit = true
		}
		if as != "attached" {
			set("attachment_state", as)
		}
		if awssdk.ToBool(a.DeleteOnTermination) {
			out.Bootable = out.Bootable || isRootDevice(awssdk.ToString(a.Device))
		}
	}
	if mod != nil {
		ms := string(mod.ModificationState)
		set("modification_state", ms)
		switch ms {
		case "modifying":
			transit = true
		case "failed":
			out.StatusMessage = "modification failed: " + awssdk.ToString(mod.StatusMessage)
		}
	}
	if transit && out.Status == providers.StatusActive {
		out.Status = providers.StatusUpdating
	}
	out.Properties = props
	return out
}

// isRootDevice says whether a device name is one EC2 gives root volumes.
func isRootDevice(dev string) bool {
	return dev == "/dev/xvda" || dev == "/dev/sda1" || dev == "/dev/sda"
}

func snapshotOf(region string, s types.Snapshot) providers.Snapshot {
	state := string(s.State)
	out := providers.Snapshot{
		Common: providers.Common{
			NativeID: awssdk.ToString(s.SnapshotId), Region: region,
			Status: snapshotStatus(state), ProviderStatus: state, Created: awssdk.ToTime(s.StartTime),
		},
		VolumeID: awssdk.ToString(s.VolumeId), SizeGiB: int64(awssdk.ToInt32(s.VolumeSize)), Description: awssdk.ToString(s.Description),
	}
	if state == "error" {
		out.StatusMessage = awssdk.ToString(s.StateMessage)
	}
	labels, name, own := splitTags(s.Tags)
	out.Name, out.Labels = name, labels
	props := map[string]string{}
	if v := own[tagToken]; v != "" {
		props["client_token"] = v
	}
	if p := awssdk.ToString(s.Progress); p != "" {
		props["progress"] = p
	}
	if awssdk.ToBool(s.Encrypted) {
		props["encrypted"] = "true"
	}
	if t := string(s.StorageTier); t != "" {
		props["storage_tier"] = t
	}
	out.Properties = props
	return out
}

func cloneVolume(v providers.Volume) providers.Volume {
	v.Labels, v.Properties = cloneMap(v.Labels), cloneMap(v.Properties)
	v.Attachments = append([]providers.Attachment(nil), v.Attachments...)
	return v
}

func cloneSnapshot(s providers.Snapshot) providers.Snapshot {
	s.Labels, s.Properties = cloneMap(s.Labels), cloneMap(s.Properties)
	return s
}
