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
//   - No Backups and no VolumeData: canopy emulates backups on top of
//     snapshots/objects; EBS has no API to read or write a volume's blocks
//     without attaching it to an instance.
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

// ---------------------------------------------------------------- volumes

// describeVolumes lists the volumes of a region that match the filters
// (all: none), with the SDK's paginator.
func (c *Cloud) describeVolumes(ctx context.Context, region string, filters []types.Filter) ([]types.Volume, error) {
	api, err := c.ebsClient(region)
	if err != nil {
		return nil, err
	}
	var out []types.Volume
	pages := ec2.NewDescribeVolumesPaginator(api, &ec2.DescribeVolumesInput{Filters: filters},
		func(o *ec2.DescribeVolumesPaginatorOptions) { o.Limit = ebsPageSizes.volumes })
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, ebsFail(err, reference, "describe volumes in %s", region)
		}
		out = append(out, page.Volumes...)
	}
	return out, nil
}

// modifications returns the latest modification of each volume in ids
// that ExtendVolume started and that may still run; finished ones are
// forgotten.
func (c *Cloud) modifications(ctx context.Context, region string, ids []string) (map[string]*types.VolumeModification, error) {
	st := c.ebs()
	st.mu.Lock()
	var ask []string
	for _, id := range ids {
		if at, ok := st.modifying[id]; ok {
			if time.Since(at) > 24*time.Hour {
				delete(st.modifying, id)
				continue
			}
			ask = append(ask, id)
		}
	}
	st.mu.Unlock()
	out := map[string]*types.VolumeModification{}
	if len(ask) == 0 {
		return out, nil
	}
	api, err := c.ebsClient(region)
	if err != nil {
		return nil, err
	}
	pages := ec2.NewDescribeVolumesModificationsPaginator(api, &ec2.DescribeVolumesModificationsInput{VolumeIds: ask})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			err = ebsFail(err, target, "describe volume modifications in %s", region)
			if isNotFound(err) {
				return out, nil // a volume of the batch is gone: its state says so
			}
			return nil, err
		}
		for i := range page.VolumesModifications {
			m := page.VolumesModifications[i]
			id := awssdk.ToString(m.VolumeId)
			if prev, ok := out[id]; !ok || awssdk.ToTime(m.StartTime).After(awssdk.ToTime(prev.StartTime)) {
				out[id] = &m
			}
		}
	}
	st.mu.Lock()
	for id, m := range out {
		if m.ModificationState != types.VolumeModificationStateModifying {
			delete(st.modifying, id)
		}
	}
	st.mu.Unlock()
	return out, nil
}

// ListVolumes implements providers.Volumes: the volumes of every region;
// deleted ones are left out.
func (c *Cloud) ListVolumes(ctx context.Context) ([]providers.Volume, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	var mu sync.Mutex
	var out []providers.Volume
	err := c.eachRegion(ctx, func(ctx context.Context, region string, _ ec2API) error {
		vols, err := c.describeVolumes(ctx, region, nil)
		if err != nil {
			return err
		}
		ids := make([]string, 0, len(vols))
		for _, v := range vols {
			ids = append(ids, awssdk.ToString(v.VolumeId))
		}
		mods, err := c.modifications(ctx, region, ids)
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		for _, v := range vols {
			pv := volumeOf(region, v, mods[awssdk.ToString(v.VolumeId)])
			if pv.NativeID != "" && pv.Status != providers.StatusDeleted {
				out = append(out, pv)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, v := range out {
		seen[v.NativeID] = true
		c.remember(v.NativeID, v.Region)
	}
	// Volumes created moments ago that the lists did not show yet.
	for _, r := range c.unseenVolumes(seen) {
		v, err := c.GetVolume(ctx, r.NativeID)
		switch {
		case err == nil:
			out = append(out, v)
		case !isNotFound(err):
			return nil, err
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].NativeID < out[j].NativeID })
	return out, nil
}

// unseenVolumes returns the volumes created lately that a list did not
// show, and forgets those it did (or that are too old to wait for).
func (c *Cloud) unseenVolumes(seen map[string]bool) []providers.Volume {
	st := c.ebs()
	st.mu.Lock()
	defer st.mu.Unlock()
	var out []providers.Volume
	for id, r := range st.volumes {
		switch {
		case seen[id] || time.Since(r.at) > recentWindow:
			delete(st.volumes, id)
		default:
			out = append(out, cloneVolume(r.v))
		}
	}
	return out
}

// recentVolume returns a volume this adapter created moments ago.
func (c *Cloud) recentVolume(id string) (providers.Volume, bool) {
	st := c.ebs()
	st.mu.Lock()
	defer st.mu.Unlock()
	r, ok := st.volumes[id]
	if !ok || time.Since(r.at) > recentWindow {
		delete(st.volumes, id)
		return providers.Volume{}, false
	}
	return cloneVolume(r.v), true
}

// describeVolume finds a volume by id in its region (or every region when
// its region is not known). A deleted volume is not found.
func (c *Cloud) describeVolume(ctx context.Context, id string) (string, types.Volume, error) {
	if !strings.HasPrefix(id, "vol-") {
		return "", types.Volume{}, fmt.Errorf("aws: volume %q: %w", id, providers.ErrNotFound)
	}
	var mu sync.Mutex
	var region string
	var found *types.Volume
	err := c.inRegions(ctx, c.regionsOf(id), func(ctx context.Context, r string, _ ec2API) error {
		api, err := c.ebsClient(r)
		if err != nil {
			return err
		}
		out, err := api.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{VolumeIds: []string{id}})
		if err != nil {
			err = ebsFail(err, target, "describe volume %s in %s", id, r)
			if isNotFound(err) {
				return nil
			}
			return err
		}
		for i := range out.Volumes {
			if awssdk.ToString(out.Volumes[i].VolumeId) == id {
				mu.Lock()
				region, found = r, &out.Volumes[i]
				mu.Unlock()
			}
		}
		return nil
	})
	if err != nil {
		return "", types.Volume{}, err
	}
	if found == nil || found.State == types.VolumeStateDeleted {
		if _, ok := c.recentVolume(id); !ok || found != nil {
			c.forgetVolume(id)
			return "", types.Volume{}, fmt.Errorf("aws: volume %q: %w", id, providers.ErrNotFound)
		}
		return "", types.Volume{}, fmt.Errorf("aws: volume %q: %w: %w", id, providers.ErrNotFound, errNotYetVisible)
	}
	c.remember(id, region)
	c.forgetVolume(id)
	return region, *found, nil
}

// errNotYetVisible marks a lookup of a volume this adapter created moments
// ago that EC2's describe calls do not show yet.
var errNotYetVisible = errors.New("created moments ago, not visible yet")

func (c *Cloud) forgetVolume(id string) {
	st := c.ebs()
	st.mu.Lock()
	delete(st.volumes, id)
	st.mu.Unlock()
}

// GetVolume implements providers.Volumes.
func (c *Cloud) GetVolume(ctx context.Context, id string) (providers.Volume, error) {
	if err := c.check(); err != nil {
		return providers.Volume{}, err
	}
	region, v, err := c.describeVolume(ctx, id)
	if err != nil {
		if errors.Is(err, errNotYetVisible) {
			if rv, ok := c.recentVolume(id); ok {
				return rv, nil
			}
		}
		return providers.Volume{}, err
	}
	mods, err := c.modifications(ctx, region, []string{id})
	if err != nil {
		return providers.Volume{}, err
	}
	return volumeOf(region, v, mods[id]), nil
}

// volumeZone returns the zone and region of a new volume: the spec's zone,
// else the first zone of the cloud's first region.
func (c *Cloud) volumeZone(ctx context.Context, zone string) (string, string, error) {
	if zone != "" {
		r, err := c.zoneToRegion(ctx, zone)
		return zone, r, err
	}
	zones, err := c.loadZones(ctx)
	if err != nil {
		return "", "", err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, z := range zones {
		if c.zoneRegion[z] == c.regions[0] {
			return z, c.regions[0], nil
		}
	}
	return "", "", fmt.Errorf("aws: %w: region %s has no available zone", providers.ErrUnavailable, c.regions[0])
}

// byToken returns the volume a create with this token made: one created
// moments ago by this adapter, else one EC2 lists with the token's tag.
func (c *Cloud) volumeByToken(ctx context.Context, region, token string) (providers.Volume, bool, error) {
	st := c.ebs()
	st.mu.Lock()
	for _, r := range st.volumes {
		if r.token == token && time.Since(r.at) <= recentWindow {
			st.mu.Unlock()
			v, err := c.GetVolume(ctx, r.v.NativeID)
			if isNotFound(err) {
				return providers.Volume{}, false, fmt.Errorf("aws: create volume: %w: idempotency token %q belongs to volume %s, which is gone",
					providers.ErrAlreadyExists, token, r.v.NativeID)
			}
			return v, err == nil, err
		}
	}
	st.mu.Unlock()
	vols, err := c.describeVolumes(ctx, region, []types.Filter{{Name: awssdk.String("tag:" + tagToken), Values: []string{token}}})
	if err != nil {
		return providers.Volume{}, false, err
	}
	for _, v := range vols {
		if v.State != types.VolumeStateDeleted && v.State != types.VolumeStateDeleting {
			c.remember(awssdk.ToString(v.VolumeId), region)
			return volumeOf(region, v, nil), true, nil
		}
	}
	return providers.Volume{}, false, nil
}

// CreateVolume implements providers.Volumes with CreateVolume: empty, or
// from a snapshot (a zero size is the snapshot's). An image source is
// ErrUnsupported (EBS has no volume-from-AMI; canopy emulates it).
func (c *Cloud) CreateVolume(ctx context.Context, spec providers.VolumeSpec) (providers.Volume, error) {
	if err := c.check(); err != nil {
		return providers.Volume{}, err
	}
	switch {
	case spec.ImageID != "" && spec.SnapshotID != "":
		return providers.Volume{}, fmt.Errorf("aws: create volume %q: %w: both an image and a snapshot", spec.Name, providers.ErrInvalid)
	case spec.ImageID != "":
		return providers.Volume{}, fmt.Errorf("aws: create volume %q: %w: EBS cannot create a volume from an image (AMI %s); canopy emulates it",
			spec.Name, providers.ErrUnsupported, spec.ImageID)
	case spec.SizeGiB < 0 || (spec.SizeGiB == 0 && spec.SnapshotID == ""):
		return providers.Volume{}, fmt.Errorf("aws: create volume %q: %w: size must be positive (got %d GiB)", spec.Name, providers.ErrInvalid, spec.SizeGiB)
	case spec.SizeGiB > 1<<16:
		return providers.Volume{}, fmt.Errorf("aws: create volume %q: %w: %d GiB is more than EBS's 64 TiB", spec.Name, providers.ErrInvalid, spec.SizeGiB)
	case len(spec.IdempotencyToken) > 64:
		return providers.Volume{}, fmt.Errorf("aws: create volume %q: %w: idempotency token longer than EC2's 64 characters", spec.Name, providers.ErrInvalid)
	}
	tags, err := ebsTags("volume", spec.Name, spec.Labels, map[string]string{tagToken: spec.IdempotencyToken, tagDescription: spec.Description})
	if err != nil {
		return providers.Volume{}, err
	}
	zone, region, err := c.volumeZone(ctx, spec.Zone)
	if err != nil {
		return providers.Volume{}, err
	}
	if spec.IdempotencyToken != "" {
		if v, ok, err := c.volumeByToken(ctx, region, spec.IdempotencyToken); err != nil || ok {
			return v, err
		}
	}
	api, err := c.ebsClient(region)
	if err != nil {
		return providers.Volume{}, err
	}
	in := &ec2.CreateVolumeInput{
		AvailabilityZone:  awssdk.String(zone),
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeVolume, Tags: tags}},
	}
	if spec.SizeGiB > 0 {
		in.Size = awssdk.Int32(int32(spec.SizeGiB))
	}
	if spec.SnapshotID != "" {
		in.SnapshotId = awssdk.String(spec.SnapshotID)
	}
	if spec.Type != "" {
		in.VolumeType = types.VolumeType(spec.Type)
	}
	if spec.IdempotencyToken != "" {
		in.ClientToken = awssdk.String(spec.IdempotencyToken)
	}
	out, err := api.CreateVolume(ctx, in)
	if err != nil {
		return providers.Volume{}, ebsFail(err, reference, "create volume in %s", zone)
	}
	v := volumeOf(region, types.Volume{
		VolumeId: out.VolumeId, AvailabilityZone: out.AvailabilityZone, CreateTime: out.CreateTime, Size: out.Size,
		SnapshotId: out.SnapshotId, State: out.State, VolumeType: out.VolumeType, Tags: out.Tags, Encrypted: out.Encrypted,
		KmsKeyId: out.KmsKeyId, Iops: out.Iops, Throughput: out.Throughput, MultiAttachEnabled: out.MultiAttachEnabled,
	}, nil)
	if v.NativeID == "" {
		return providers.Volume{}, fmt.Errorf("aws: create volume in %s: %w: no volume in the answer", zone, providers.ErrUnavailable)
	}
	if v.Status == providers.StatusDeleted || v.Status == providers.StatusDeleting {
		// A ClientToken reused after its volume was deleted: EC2 answers
		// with that volume.
		return providers.Volume{}, fmt.Errorf("aws: create volume in %s: %w: idempotency token %q belongs to volume %s, which is %s",
			zone, providers.ErrAlreadyExists, spec.IdempotencyToken, v.NativeID, v.ProviderStatus)
	}
	// EC2 answers with what it was asked (the tags too, usually): fill in
	// what an answer may lack, so the volume reads the same now as later.
	if v.Name == "" {
		v.Name = spec.Name
	}
	if len(v.Labels) == 0 && len(spec.Labels) > 0 {
		v.Labels = cloneMap(spec.Labels)
	}
	if spec.Description != "" {
		v.Properties["description"] = spec.Description
	}
	if spec.IdempotencyToken != "" {
		v.Properties["client_token"] = spec.IdempotencyToken
	}
	if v.Created.IsZero() {
		v.Created = time.Now()
	}
	c.remember(v.NativeID, region)
	st := c.ebs()
	st.mu.Lock()
	st.volumes[v.NativeID] = recentVolume{v: cloneVolume(v), token: spec.IdempotencyToken, at: time.Now()}
	st.mu.Unlock()
	return v, nil
}

// DeleteVolume implements providers.Volumes. A volume already deleting is
// not an error; an attached one is a conflict (VolumeInUse).
func (c *Cloud) DeleteVolume(ctx context.Context, id string) error {
	if err := c.check(); err != nil {
		return err
	}
	region, v, err := c.describeVolume(ctx, id)
	if err != nil {
		if !errors.Is(err, errNotYetVisible) {
			return err
		}
		region, _ = c.whereIs(id) // created moments ago: delete it all the same
	}
	if v.State == types.VolumeStateDeleting {
		return nil
	}
	api, err := c.ebsClient(region)
	if err != nil {
		return err
	}
	if _, err := api.DeleteVolume(ctx, &ec2.DeleteVolumeInput{VolumeId: awssdk.String(id)}); err != nil {
		return ebsFail(err, target, "delete volume %s in %s", id, region)
	}
	c.forgetVolume(id)
	return nil
}

// ExtendVolume implements providers.Volumes with ModifyVolume. The volume
// is UPDATING while EC2 says the modification is "modifying"; it shows the
// new size once EC2 does (from "optimizing" on, when the space is usable).
func (c *Cloud) ExtendVolume(ctx context.Context, id string, sizeGiB int64) error {
	if err := c.check(); err != nil {
		return err
	}
	region, v, err := c.describeVolume(ctx, id)
	if err != nil {
		if errors.Is(err, errNotYetVisible) {
			return fmt.Errorf("aws: extend volume %s: %w: it is still being created", id, providers.ErrConflict)
		}
		return err
	}
	cur := int64(awssdk.ToInt32(v.Size))
	switch {
	case sizeGiB <= cur:
		return fmt.Errorf("aws: extend volume %s to %d GiB: %w: it has %d GiB already", id, sizeGiB, providers.ErrInvalid, cur)
	case sizeGiB > 1<<16:
		return fmt.Errorf("aws: extend volume %s: %w: %d GiB is more than EBS's 64 TiB", id, providers.ErrInvalid, sizeGiB)
	case v.State != types.VolumeStateAvailable && v.State != types.VolumeStateInUse:
		return fmt.Errorf("aws: extend volume %s in state %s: %w", id, v.State, providers.ErrConflict)
	}
	api, err := c.ebsClient(region)
	if err != nil {
		return err
	}
	if _, err := api.ModifyVolume(ctx, &ec2.ModifyVolumeInput{VolumeId: awssdk.String(id), Size: awssdk.Int32(int32(sizeGiB))}); err != nil {
		return ebsFail(err, target, "modify volume %s in %s", id, region)
	}
	st := c.ebs()
	st.mu.Lock()
	st.modifying[id] = time.Now()
	st.mu.Unlock()
	return nil
}

// instanceLock serializes the attaches to one instance, so two never pick
// the same device.
func (c *Cloud) instanceLock(id string) *sync.Mutex {
	st := c.ebs()
	st.mu.Lock()
	defer st.mu.Unlock()
	m, ok := st.attach[id]
	if !ok {
		m = &sync.Mutex{}
		st.attach[id] = m
	}
	return m
}

// deviceLetter is the letter of /dev/sdX, /dev/xvdX (and /dev/sdX1...): EC2
// treats sdf and xvdf as the same slot.
func deviceLetter(dev string) string {
	dev = strings.TrimPrefix(dev, "/dev/")
	for _, p := range []string{"xvd", "sd", "hd", "vd"} {
		if strings.HasPrefix(dev, p) && len(dev) > len(p) {
			return dev[len(p) : len(p)+1]
		}
	}
	return dev
}

// freeDevice picks the first device of devices the instance does not use
// and this adapter did not give out in the last minute (EC2's describe may
// lag behind an attach). Callers hold the instance's lock.
func (c *Cloud) freeDevice(in types.Instance, skip map[string]bool) (string, bool) {
	used := map[string]bool{}
	if in.RootDeviceName != nil {
		used[deviceLetter(*in.RootDeviceName)] = true
	}
	for _, b := range in.BlockDeviceMappings {
		used[deviceLetter(awssdk.ToString(b.DeviceName))] = true
	}
	id := awssdk.ToString(in.InstanceId)
	st := c.ebs()
	st.mu.Lock()
	defer st.mu.Unlock()
	for k, at := range st.devices {
		if time.Since(at) > time.Minute {
			delete(st.devices, k)
		} else if inst, dev, _ := strings.Cut(k, " "); inst == id {
			used[deviceLetter(dev)] = true
		}
	}
	for _, d := range devices {
		if !used[deviceLetter(d)] && !skip[d] {
			st.devices[id+" "+d] = time.Now()
			return d, true
		}
	}
	return "", false
}

// AttachVolume implements providers.Volumes with AttachVolume on the first
// free device from /dev/sdf. Only an available volume attaches (one
// attached anywhere is a conflict, as on the other clouds; EBS multi-attach
// is not used).
func (c *Cloud) AttachVolume(ctx context.Context, volumeID, serverID string) error {
	if err := c.check(); err != nil {
		return err
	}
	region, v, err := c.describeVolume(ctx, volumeID)
	if err != nil {
		if errors.Is(err, errNotYetVisible) {
			return fmt.Errorf("aws: attach volume %s: %w: it is still being created", volumeID, providers.ErrConflict)
		}
		return err
	}
	if v.State != types.VolumeStateAvailable {
		return fmt.Errorf("aws: attach volume %s in state %s: %w", volumeID, v.State, providers.ErrConflict)
	}
	lock := c.instanceLock(serverID)
	lock.Lock()
	defer lock.Unlock()
	_, in, err := c.describeInstance(ctx, serverID)
	if err != nil {
		if _, ok := c.recentServer(serverID); ok && isNotFound(err) {
			return fmt.Errorf("aws: attach volume %s to instance %s: %w: the instance is still pending", volumeID, serverID, providers.ErrConflict)
		}
		return fmt.Errorf("aws: attach volume %s: %w", volumeID, err)
	}
	if az := in.Placement; az != nil && awssdk.ToString(az.AvailabilityZone) != awssdk.ToString(v.AvailabilityZone) {
		return fmt.Errorf("aws: attach volume %s (zone %s) to instance %s (zone %s): %w: not in the same zone",
			volumeID, awssdk.ToString(v.AvailabilityZone), serverID, awssdk.ToString(az.AvailabilityZone), providers.ErrInvalid)
	}
	if s := instanceState(in); s != stateRunning && s != stateStopped {
		return fmt.Errorf("aws: attach volume %s to instance %s in state %s: %w", volumeID, serverID, s, providers.ErrConflict)
	}
	api, err := c.ebsClient(region)
	if err != nil {
		return err
	}
	skip := map[string]bool{}
	for {
		dev, ok := c.freeDevice(in, skip)
		if !ok {
			return fmt.Errorf("aws: attach volume %s to instance %s: %w: no free device in /dev/sdf../dev/sdp", volumeID, serverID, providers.ErrQuota)
		}
		_, err := api.AttachVolume(ctx, &ec2.AttachVolumeInput{VolumeId: awssdk.String(volumeID), InstanceId: awssdk.String(serverID), Device: awssdk.String(dev)})
		if err == nil {
			return nil
		}
		err = ebsFail(err, reference, "attach volume %s to instance %s as %s in %s", volumeID, serverID, dev, region)
		var ae *Error
		if errors.As(err, &ae) && strings.Contains(strings.ToLower(ae.Message), "already in use") {
			skip[dev] = true // taken behind the describe's back: the next one
			continue
		}
		if errors.As(err, &ae) && strings.HasPrefix(ae.Code, "InvalidInstanceID") {
			ae.Kind = providers.ErrNotFound
		}
		return err
	}
}

// DetachVolume implements providers.Volumes with DetachVolume. A volume not
// attached to that instance (or already detaching from it) is a conflict.
func (c *Cloud) DetachVolume(ctx context.Context, volumeID, serverID string) error {
	if err := c.check(); err != nil {
		return err
	}
	region, v, err := c.describeVolume(ctx, volumeID)
	if err != nil {
		if errors.Is(err, errNotYetVisible) {
			return fmt.Errorf("aws: detach volume %s: %w: not attached to instance %s", volumeID, providers.ErrConflict, serverID)
		}
		return err
	}
	attached := false
	for _, a := range v.Attachments {
		if awssdk.ToString(a.InstanceId) == serverID && (a.State == types.VolumeAttachmentStateAttached ||
			a.State == types.VolumeAttachmentStateAttaching || a.State == types.VolumeAttachmentStateBusy) {
			attached = true
		}
	}
	if !attached {
		return fmt.Errorf("aws: detach volume %s: %w: not attached to instance %s", volumeID, providers.ErrConflict, serverID)
	}
	api, err := c.ebsClient(region)
	if err != nil {
		return err
	}
	if _, err := api.DetachVolume(ctx, &ec2.DetachVolumeInput{VolumeId: awssdk.String(volumeID), InstanceId: awssdk.String(serverID)}); err != nil {
		return ebsFail(err, target, "detach volume %s from instance %s in %s", volumeID, serverID, region)
	}
	return nil
}

// ---------------------------------------------------------------- snapshots

// describeSnapshots lists the account's snapshots of a region (owner
// self) that match the filters, with the SDK's paginator.
func (c *Cloud) describeSnapshots(ctx context.Context, region string, filters []types.Filter) ([]types.Snapshot, error) {
	api, err := c.ebsClient(region)
	if err != nil {
		return nil, err
	}
	var out []types.Snapshot
	pages := ec2.NewDescribeSnapshotsPaginator(api, &ec2.DescribeSnapshotsInput{OwnerIds: []string{"self"}, Filters: filters},
		func(o *ec2.DescribeSnapshotsPaginatorOptions) { o.Limit = ebsPageSizes.snapshots })
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, ebsFail(err, reference, "describe snapshots in %s", region)
		}
		out = append(out, page.Snapshots...)
	}
	return out, nil
}

// ListSnapshots implements providers.Snapshots: the account's own snapshots
// in every region (not the public ones, nor those shared with it).
func (c *Cloud) ListSnapshots(ctx context.Context) ([]providers.Snapshot, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	var mu sync.Mutex
	var out []providers.Snapshot
	err := c.eachRegion(ctx, func(ctx context.Context, region string, _ ec2API) error {
		snaps, err := c.describeSnapshots(ctx, region, nil)
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		for _, s := range snaps {
			ps := snapshotOf(region, s)
			if ps.NativeID != "" && ps.Status != providers.StatusDeleted {
				out = append(out, ps)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, s := range out {
		seen[s.NativeID] = true
		c.remember(s.NativeID, s.Region)
	}
	st := c.ebs()
	st.mu.Lock()
	var unseen []string
	for id, r := range st.snapshots {
		switch {
		case seen[id] || time.Since(r.at) > recentWindow:
			delete(st.snapshots, id)
		default:
			unseen = append(unseen, id)
		}
	}
	st.mu.Unlock()
	for _, id := range unseen {
		s, err := c.GetSnapshot(ctx, id)
		switch {
		case err == nil:
			out = append(out, s)
		case !isNotFound(err):
			return nil, err
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].NativeID < out[j].NativeID })
	return out, nil
}

func (c *Cloud) recentSnapshot(id string) (providers.Snapshot, bool) {
	st := c.ebs()
	st.mu.Lock()
	defer st.mu.Unlock()
	r, ok := st.snapshots[id]
	if !ok || time.Since(r.at) > recentWindow {
		delete(st.snapshots, id)
		return providers.Snapshot{}, false
	}
	return cloneSnapshot(r.s), true
}

func (c *Cloud) forgetSnapshot(id string) {
	st := c.ebs()
	st.mu.Lock()
	delete(st.snapshots, id)
	st.mu.Unlock()
}

// describeSnapshot finds a snapshot by id in its region (or every region).
func (c *Cloud) describeSnapshot(ctx context.Context, id string) (string, types.Snapshot, error) {
	if !strings.HasPrefix(id, "snap-") {
		return "", types.Snapshot{}, fmt.Errorf("aws: snapshot %q: %w", id, providers.ErrNotFound)
	}
	var mu sync.Mutex
	var region string
	var found *types.Snapshot
	err := c.inRegions(ctx, c.regionsOf(id), func(ctx context.Context, r string, _ ec2API) error {
		api, err := c.ebsClient(r)
		if err != nil {
			return err
		}
		out, err := api.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{SnapshotIds: []string{id}})
		if err != nil {
			err = ebsFail(err, target, "describe snapshot %s in %s", id, r)
			if isNotFound(err) {
				return nil
			}
			return err
		}
		for i := range out.Snapshots {
			if awssdk.ToString(out.Snapshots[i].SnapshotId) == id {
				mu.Lock()
				region, found = r, &out.Snapshots[i]
				mu.Unlock()
			}
		}
		return nil
	})
	if err != nil {
		return "", types.Snapshot{}, err
	}
	if found == nil || found.State == types.SnapshotStateRecoverable {
		if _, ok := c.recentSnapshot(id); !ok || found != nil {
			c.forgetSnapshot(id)
			return "", types.Snapshot{}, fmt.Errorf("aws: snapshot %q: %w", id, providers.ErrNotFound)
		}
		return "", types.Snapshot{}, fmt.Errorf("aws: snapshot %q: %w: %w", id, providers.ErrNotFound, errNotYetVisible)
	}
	c.remember(id, region)
	c.forgetSnapshot(id)
	return region, *found, nil
}

// GetSnapshot implements providers.Snapshots.
func (c *Cloud) GetSnapshot(ctx context.Context, id string) (providers.Snapshot, error) {
	if err := c.check(); err != nil {
		return providers.Snapshot{}, err
	}
	region, s, err := c.describeSnapshot(ctx, id)
	if err != nil {
		if errors.Is(err, errNotYetVisible) {
			if rs, ok := c.recentSnapshot(id); ok {
				return rs, nil
			}
		}
		return providers.Snapshot{}, err
	}
	return snapshotOf(region, s), nil
}

// CreateSnapshot implements providers.Snapshots with CreateSnapshot, which
// answers with the snapshot (pending) at once. EC2 has no client token
// here: the canopy:token tag finds the snapshot a retried create made.
func (c *Cloud) CreateSnapshot(ctx context.Context, spec providers.SnapshotSpec) (providers.Snapshot, error) {
	if err := c.check(); err != nil {
		return providers.Snapshot{}, err
	}
	if len(spec.Description) > 255 {
		return providers.Snapshot{}, fmt.Errorf("aws: create snapshot %q: %w: description longer than EC2's 255 characters", spec.Name, providers.ErrInvalid)
	}
	tags, err := ebsTags("snapshot", spec.Name, spec.Labels, map[string]string{tagToken: spec.IdempotencyToken})
	if err != nil {
		return providers.Snapshot{}, err
	}
	region, vol, err := c.describeVolume(ctx, spec.VolumeID)
	switch {
	case errors.Is(err, errNotYetVisible):
		return providers.Snapshot{}, fmt.Errorf("aws: create snapshot of volume %s: %w: it is still being created", spec.VolumeID, providers.ErrConflict)
	case isNotFound(err):
		return providers.Snapshot{}, fmt.Errorf("aws: create snapshot: %w: volume %q does not exist", providers.ErrInvalid, spec.VolumeID)
	case err != nil:
		return providers.Snapshot{}, err
	}
	if spec.IdempotencyToken != "" {
		if s, ok, err := c.snapshotByToken(ctx, region, spec.IdempotencyToken); err != nil || ok {
			return s, err
		}
	}
	if vol.State != types.VolumeStateAvailable && vol.State != types.VolumeStateInUse {
		return providers.Snapshot{}, fmt.Errorf("aws: create snapshot of volume %s in state %s: %w", spec.VolumeID, vol.State, providers.ErrConflict)
	}
	api, err := c.ebsClient(region)
	if err != nil {
		return providers.Snapshot{}, err
	}
	in := &ec2.CreateSnapshotInput{
		VolumeId:          awssdk.String(spec.VolumeID),
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeSnapshot, Tags: tags}},
	}
	if spec.Description != "" {
		in.Description = awssdk.String(spec.Description)
	}
	out, err := api.CreateSnapshot(ctx, in)
	if err != nil {
		return providers.Snapshot{}, ebsFail(err, reference, "create snapshot of volume %s in %s", spec.VolumeID, region)
	}
	s := snapshotOf(region, types.Snapshot{
		SnapshotId: out.SnapshotId, VolumeId: out.VolumeId, VolumeSize: out.VolumeSize, Description: out.Description,
		State: out.State, StateMessage: out.StateMessage, StartTime: out.StartTime, Progress: out.Progress, Tags: out.Tags,
		Encrypted: out.Encrypted, StorageTier: out.StorageTier,
	})
	if s.NativeID == "" {
		return providers.Snapshot{}, fmt.Errorf("aws: create snapshot of volume %s in %s: %w: no snapshot in the answer", spec.VolumeID, region, providers.ErrUnavailable)
	}
	if s.Name == "" {
		s.Name = spec.Name
	}
	if len(s.Labels) == 0 && len(spec.Labels) > 0 {
		s.Labels = cloneMap(spec.Labels)
	}
	if spec.IdempotencyToken != "" {
		s.Properties["client_token"] = spec.IdempotencyToken
	}
	if s.VolumeID == "" {
		s.VolumeID = spec.VolumeID
	}
	if s.SizeGiB == 0 {
		s.SizeGiB = int64(awssdk.ToInt32(vol.Size))
	}
	if s.Created.IsZero() {
		s.Created = time.Now()
	}
	c.remember(s.NativeID, region)
	st := c.ebs()
	st.mu.Lock()
	st.snapshots[s.NativeID] = recentSnapshot{s: cloneSnapshot(s), token: spec.IdempotencyToken, at: time.Now()}
	st.mu.Unlock()
	return s, nil
}

// snapshotByToken returns the snapshot a create with this token made.
func (c *Cloud) snapshotByToken(ctx context.Context, region, token string) (providers.Snapshot, bool, error) {
	st := c.ebs()
	st.mu.Lock()
	for _, r := range st.snapshots {
		if r.token == token && time.Since(r.at) <= recentWindow {
			st.mu.Unlock()
			s, err := c.GetSnapshot(ctx, r.s.NativeID)
			if isNotFound(err) {
				return providers.Snapshot{}, false, fmt.Errorf("aws: create snapshot: %w: idempotency token %q belongs to snapshot %s, which is gone",
					providers.ErrAlreadyExists, token, r.s.NativeID)
			}
			return s, err == nil, err
		}
	}
	st.mu.Unlock()
	snaps, err := c.describeSnapshots(ctx, region, []types.Filter{{Name: awssdk.String("tag:" + tagToken), Values: []string{token}}})
	if err != nil {
		return providers.Snapshot{}, false, err
	}
	for _, s := range snaps {
		if ps := snapshotOf(region, s); ps.Status != providers.StatusDeleted {
			c.remember(ps.NativeID, region)
			return ps, true, nil
		}
	}
	return providers.Snapshot{}, false, nil
}

// DeleteSnapshot implements providers.Snapshots. A snapshot an AMI uses is
// a conflict.
func (c *Cloud) DeleteSnapshot(ctx context.Context, id string) error {
	if err := c.check(); err != nil {
		return err
	}
	region, _, err := c.describeSnapshot(ctx, id)
	if err != nil {
		if !errors.Is(err, errNotYetVisible) {
			return err
		}
		region, _ = c.whereIs(id)
	}
	api, err := c.ebsClient(region)
	if err != nil {
		return err
	}
	if _, err := api.DeleteSnapshot(ctx, &ec2.DeleteSnapshotInput{SnapshotId: awssdk.String(id)}); err != nil {
		return ebsFail(err, target, "delete snapshot %s in %s", id, region)
	}
	c.forgetSnapshot(id)
	return nil
}
