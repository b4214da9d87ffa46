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
	find := func(ctx context.Context) (providers.Snapshot, bool, error) {
		return c.snapshotByToken(ctx, region, spec.IdempotencyToken)
	}
	create := func(ctx context.Context) (providers.Snapshot, error) {
		return c.createSnapshot(ctx, spec, region, vol, tags)
	}
	s, found, err := providers.FindOrCreate(ctx, c.replays, spec.IdempotencyToken, spec.Replay, find, create)
	if err != nil || found {
		return s, err
	}
	c.remember(s.NativeID, region)
	st := c.ebs()
	st.mu.Lock()
	st.snapshots[s.NativeID] = recentSnapshot{s: cloneSnapshot(s), token: spec.IdempotencyToken, at: time.Now()}
	st.mu.Unlock()
	return s, nil
}

// createSnapshot sends CreateSnapshot and reads its answer.
func (c *Cloud) createSnapshot(ctx context.Context, spec providers.SnapshotSpec, region string, vol types.Volume, tags []types.Tag) (providers.Snapshot, error) {
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
	out, err := api.CreateSnapshot(failpoint.Sent(ctx, "aws/snapshot:sent"), in, once(spec.IdempotencyToken)...)
	if err != nil {
		return providers.Snapshot{}, ebsFail(err, reference, "create snapshot of volume %s in %s", spec.VolumeID, region)
	}
	failpoint.Hit("aws/snapshot:posted")
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
	if _, err := removal(ctx, api.DeleteSnapshot, &ec2.DeleteSnapshotInput{SnapshotId: awssdk.String(id)}); err != nil {
		return ebsFail(err, target, "delete snapshot %s in %s", id, region)
	}
	c.forgetSnapshot(id)
	return nil
}
