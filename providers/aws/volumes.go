package aws

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/canopy-cloud/canopy/internal/failpoint"
	"github.com/canopy-cloud/canopy/providers"
)

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
	// EC2 honours the ClientToken; moto does not, and a replay after a
	// crash has no memory of the earlier attempt: the canopy:token tag
	// look-up (ReplayGuard) finds what it made.
	find := func(ctx context.Context) (providers.Volume, bool, error) {
		return c.volumeByToken(ctx, region, spec.IdempotencyToken)
	}
	var out *ec2.CreateVolumeOutput
	create := func(ctx context.Context) (providers.Volume, error) {
		var err error
		out, err = api.CreateVolume(failpoint.Sent(ctx, "aws/volume:sent"), in, once(spec.IdempotencyToken)...)
		if err != nil {
			return providers.Volume{}, ebsFail(err, reference, "create volume in %s", zone)
		}
		failpoint.Hit("aws/volume:posted")
		return providers.Volume{}, nil
	}
	if v, found, err := providers.FindOrCreate(ctx, c.replays, spec.IdempotencyToken, spec.Replay, find, create); err != nil || found {
		return v, err
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
	if _, err := removal(ctx, api.DeleteVolume, &ec2.DeleteVolumeInput{VolumeId: awssdk.String(id)}); err != nil {
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
