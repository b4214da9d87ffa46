package openstack

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/snapshots"

	"github.com/canopy-cloud/canopy/internal/failpoint"
	"github.com/canopy-cloud/canopy/providers"
)

func (c *Cloud) listSnapshots(ctx context.Context, sc *gophercloud.ServiceClient, md map[string]string) ([]snapshots.Snapshot, error) {
	pages, err := snapshots.ListDetail(sc, listQuery{limit: c.opts.PageSize, metadata: md}).AllPages(ctx)
	if err != nil {
		return nil, err
	}
	return snapshots.ExtractSnapshots(pages)
}

// ListSnapshots implements providers.Snapshots.
func (c *Cloud) ListSnapshots(ctx context.Context) ([]providers.Snapshot, error) {
	sc, region, err := c.cinder(ctx)
	if err != nil {
		return nil, err
	}
	list, err := c.listSnapshots(ctx, sc, nil)
	if err != nil {
		return nil, volFail(err, "list snapshots in %s", region)
	}
	out := make([]providers.Snapshot, 0, len(list))
	for _, s := range list {
		out = append(out, toSnapshot(region, s))
	}
	return out, nil
}

// GetSnapshot implements providers.Snapshots.
func (c *Cloud) GetSnapshot(ctx context.Context, id string) (providers.Snapshot, error) {
	sc, region, err := c.cinder(ctx)
	if err != nil {
		return providers.Snapshot{}, err
	}
	s, err := snapshots.Get(ctx, sc, url.PathEscape(id)).Extract()
	if err != nil {
		return providers.Snapshot{}, volFail(err, "get snapshot %s in %s", id, region)
	}
	return toSnapshot(region, *s), nil
}

// snapshotKind is the tokened-create rule (cinderKind) for snapshots.
func snapshotKind(sc *gophercloud.ServiceClient) cinderKind[snapshots.Snapshot] {
	return cinderKind[snapshots.Snapshot]{
		token:   func(s snapshots.Snapshot) string { return s.Metadata[volumeTokenKey] },
		status:  func(s snapshots.Snapshot) string { return s.Status },
		created: func(s snapshots.Snapshot) time.Time { return s.CreatedAt },
		id:      func(s snapshots.Snapshot) string { return s.ID },
		norm:    snapshotStatus,
		get: func(ctx context.Context, id string) (string, error) {
			x, err := snapshots.Get(ctx, sc, id).Extract()
			if err != nil {
				return "", err
			}
			return x.Status, nil
		},
		del: func(ctx context.Context, id string) error { return snapshots.Delete(ctx, sc, id).ExtractErr() },
	}
}

// CreateSnapshot implements providers.Snapshots (Cinder answers with the
// snapshot itself, never a job). Snapshots of attached volumes are allowed
// (force), as Cinder ≥ 3.66 does by default.
func (c *Cloud) CreateSnapshot(ctx context.Context, spec providers.SnapshotSpec) (providers.Snapshot, error) {
	fail := func(err error) (providers.Snapshot, error) {
		return providers.Snapshot{}, fmt.Errorf("openstack: create snapshot %q of volume %s: %w", spec.Name, spec.VolumeID, err)
	}
	if spec.VolumeID == "" {
		return fail(fmt.Errorf("%w: volume_id is empty", providers.ErrInvalid))
	}
	sc, _, err := c.cinder(ctx)
	if err != nil {
		return providers.Snapshot{}, err
	}
	region := c.Region()
	md := copyMap(spec.Labels)
	if md == nil {
		md = map[string]string{}
	}
	delete(md, volumeTokenKey)
	var tv string
	if spec.IdempotencyToken != "" {
		tv = tokenValue(spec.IdempotencyToken)
		md[volumeTokenKey] = tv
	}
	find := func(ctx context.Context) (snapshots.Snapshot, bool, error) {
		prior, err := c.listSnapshots(ctx, sc, map[string]string{volumeTokenKey: tv})
		if err != nil {
			return snapshots.Snapshot{}, false, mapErr(err)
		}
		s, ok := snapshotKind(sc).pick(prior, tv)
		return s, ok, nil
	}
	create := func(ctx context.Context) (snapshots.Snapshot, error) {
		created, err := snapshots.Create(failpoint.Sent(ctx, "openstack/snapshot:sent"), sc, snapshots.CreateOpts{
			VolumeID: spec.VolumeID, Force: true, Name: spec.Name, Description: spec.Description, Metadata: md,
		}).Extract()
		if err != nil {
			err = mapErr(err)
			if isHTTP(err, 400) && strings.Contains(strings.ToLower(err.Error()), "status") {
				err = asKind(err, providers.ErrConflict) // the volume is busy
			}
			return snapshots.Snapshot{}, err
		}
		failpoint.Hit("openstack/snapshot:posted")
		return *created, nil
	}
	created, found, err := providers.FindOrCreate(ctx, c.replays, replayKey("snapshot", tv), spec.Replay, find, create)
	if err != nil {
		return fail(err)
	}
	if !found {
		created = snapshotKind(sc).settle(ctx, func(ctx context.Context) ([]snapshots.Snapshot, error) {
			return c.listSnapshots(ctx, sc, map[string]string{volumeTokenKey: tv})
		}, created, tv)
	}
	return toSnapshot(region, created), nil
}

// DeleteSnapshot implements providers.Snapshots. A snapshot Cinder will
// not delete now (volumes made from it on some backends, busy) is
// ErrConflict; one already being deleted is not an error.
func (c *Cloud) DeleteSnapshot(ctx context.Context, id string) error {
	sc, region, err := c.cinder(ctx)
	if err != nil {
		return err
	}
	err = snapshots.Delete(ctx, sc, url.PathEscape(id)).ExtractErr()
	if err == nil {
		return nil
	}
	err = mapErr(err)
	if isHTTP(err, 400) || isHTTP(err, 409) {
		if s, gerr := snapshots.Get(ctx, sc, url.PathEscape(id)).Extract(); gerr == nil && snapshotStatus(s.Status) == providers.StatusDeleting {
			return nil
		}
		err = asKind(err, providers.ErrConflict)
	}
	return fmt.Errorf("openstack: delete snapshot %s in %s: %w", id, region, err)
}
