package openstack

// Cinder block storage: volumes (providers.Volumes) and snapshots
// (providers.Snapshots). Attach and detach go through Nova's volume
// attachments, as openstacksdk's and the CLI's do, so Nova and Cinder stay
// in step.
//
// Labels are volume (snapshot) metadata. Cinder has no client token, so
// canopy's idempotency token is kept in the metadata key "canopy-token":
// a create first looks for a volume carrying it (Cinder filters lists by
// metadata) and returns that one; after creating, it looks again and, if a
// concurrent create with the same token won (the oldest), deletes its own
// and returns the winner. The key is not shown as a label; its value is
// Properties["client_token"].
//
// Backups are cinder-backup's (backups.go), where the config says the
// cloud runs it; VolumeData goes through Glance (volumedata.go), so
// canopy emulates backups on a Cinder without a backup service.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	gopenstack "github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/snapshots"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"
	"github.com/gophercloud/gophercloud/v2/openstack/utils"

	"github.com/canopy-cloud/canopy/internal/failpoint"
	"github.com/canopy-cloud/canopy/providers"
)

var (
	_ providers.Volumes   = (*Cloud)(nil)
	_ providers.Snapshots = (*Cloud)(nil)
)

const (
	// volumeTokenKey is the metadata key holding canopy's idempotency token.
	volumeTokenKey = "canopy-token"
	// CinderMicroversion is the Cinder microversion the adapter asks for
	// (3.42: extend in-use volumes; 3.47: backup_id), bounded by the
	// server's maximum.
	CinderMicroversion = "3.60"
)

// cinderState is the block-storage client of each Cloud, made on first use
// (kept beside the Cloud, like Swift's, so the compute side is untouched).
var cinderState sync.Map // *Cloud → *gophercloud.ServiceClient

// cinder returns the Block Storage v3 client, negotiating the microversion
// on first use.
func (c *Cloud) cinder(ctx context.Context) (*gophercloud.ServiceClient, string, error) {
	cl, err := c.clients(ctx)
	if err != nil {
		return nil, "", err
	}
	if v, ok := cinderState.Load(c); ok {
		return v.(*gophercloud.ServiceClient), cl.region, nil
	}
	var sc *gophercloud.ServiceClient
	if o := c.cc.Overrides["volume"]; o != "" {
		base := gophercloud.NormalizeURL(o)
		sc = &gophercloud.ServiceClient{ProviderClient: cl.provider, Endpoint: base, ResourceBase: base, Type: "block-storage"}
	} else {
		eo := gophercloud.EndpointOpts{Region: cl.region, Availability: availability(c.cc.Interface)}
		if sc, err = gopenstack.NewBlockStorageV3(cl.provider, eo); err != nil {
			return nil, "", fmt.Errorf("openstack: cloud %s: %w: no block-storage v3 endpoint (Cinder) in region %q: %v", c.cc.Cloud, providers.ErrUnsupported, cl.region, err)
		}
	}
	// The version document lives at .../v3/, the endpoint is .../v3/<project>/.
	probe := *sc
	if i := strings.Index(probe.Endpoint, "/v3/"); i >= 0 {
		probe.Endpoint = probe.Endpoint[:i+len("/v3/")]
	}
	mv, err := utils.GetSupportedMicroversions(ctx, &probe)
	if err != nil {
		if ctx.Err() != nil {
			return nil, "", ctx.Err()
		}
		var urlErr *url.Error
		if errors.As(err, &urlErr) {
			return nil, "", fmt.Errorf("openstack: cloud %s: block-storage version document: %w", c.cc.Cloud, mapErr(err))
		}
		mv = utils.SupportedMicroversions{} // no microversions: the 3.0 baseline
	}
	sc.Microversion = negotiate(CinderMicroversion, mv)
	v, _ := cinderState.LoadOrStore(c, sc)
	return v.(*gophercloud.ServiceClient), cl.region, nil
}

// CinderMicroversionInUse returns the negotiated Cinder microversion ("" =
// the 3.0 baseline), reaching the cloud on first use.
func (c *Cloud) CinderMicroversionInUse(ctx context.Context) (string, error) {
	sc, _, err := c.cinder(ctx)
	if err != nil {
		return "", err
	}
	return sc.Microversion, nil
}

func volFail(err error, format string, args ...any) error {
	return fmt.Errorf("openstack: %s: %w", fmt.Sprintf(format, args...), mapErr(err))
}

// asKind re-classifies a mapped Cinder/Nova error: the same HTTP answer,
// a different sentinel (a 400 that means "not in a state for that").
func asKind(err error, kind error) error {
	var ae *APIError
	if errors.As(err, &ae) {
		cp := *ae
		cp.Kind = kind
		return &cp
	}
	return fmt.Errorf("%w: %v", kind, err)
}

func isHTTP(err error, code int) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Code == code
}

// deleteLoser deletes a resource a create made that lost the oldest-wins
// race with a concurrent create of the same token. Cinder refuses to
// delete a volume or snapshot while it is still being created, which under
// load lasts seconds to minutes: it tries at once and, if refused, goes on
// in the background until the resource settles (bounded). What it cannot
// delete, canopy's lists delete later as a crash duplicate
// (router.Claimed).
func deleteLoser(ctx context.Context, id string, status func(context.Context, string) (string, error), del func(context.Context, string) error) {
	if err := del(ctx, id); err == nil || gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		return // the common case: deletable at once
	}
	go deleteSettled(id, status, del)
}

func deleteSettled(id string, status func(context.Context, string) (string, error), del func(context.Context, string) error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	for ctx.Err() == nil {
		st, err := status(ctx, id)
		if gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
			return
		}
		if err == nil && st != "creating" && st != "downloading" {
			if err := del(ctx, id); err == nil || gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
				return
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// replayKey is the ReplayGuard key of a token of one kind ("" without one).
func replayKey(kind, token string) string {
	if token == "" {
		return ""
	}
	return kind + "\x00" + token
}

// tokenValue is the metadata value carrying a token: the token itself when
// it is short and safe inside Cinder's metadata filter ({'k':'v'}), else
// its sha256. A token that itself starts "sha256:" is hashed too, so it
// never equals another token's digest.
func tokenValue(token string) string {
	if len(token) > 200 || strings.HasPrefix(token, "sha256:") || strings.ContainsAny(token, `'"\{}`) || strings.IndexFunc(token, func(r rune) bool { return r < 0x20 || r > 0x7e }) >= 0 {
		sum := sha256.Sum256([]byte(token))
		return "sha256:" + hex.EncodeToString(sum[:])
	}
	return token
}

// ---- status ----

// volumeStatus maps Cinder volume statuses to canopy's enum.
func volumeStatus(status string) providers.Status {
	s := strings.ToLower(status)
	switch s {
	case "creating", "downloading":
		return providers.StatusPending
	case "available", "in-use":
		return providers.StatusActive
	case "attaching", "detaching", "extending", "backing-up", "restoring-backup", "reserved",
		"uploading", "retyping", "maintenance", "awaiting-transfer":
		return providers.StatusUpdating
	case "deleting":
		return providers.StatusDeleting
	case "deleted":
		return providers.StatusDeleted
	}
	if strings.HasPrefix(s, "error") {
		return providers.StatusError // error, error_deleting, error_extending, error_restoring, ...
	}
	return providers.StatusUnknown
}

// snapshotStatus maps Cinder snapshot statuses.
func snapshotStatus(status string) providers.Status {
	s := strings.ToLower(status)
	switch s {
	case "creating":
		return providers.StatusPending
	case "available":
		return providers.StatusActive
	case "backing-up", "restoring", "unmanaging":
		return providers.StatusUpdating
	case "deleting":
		return providers.StatusDeleting
	case "deleted":
		return providers.StatusDeleted
	}
	if strings.HasPrefix(s, "error") {
		return providers.StatusError
	}
	return providers.StatusUnknown
}

// ---- conversion ----

func splitToken(md map[string]string) (labels map[string]string, token string) {
	labels = make(map[string]string, len(md))
	for k, v := range md {
		if k == volumeTokenKey {
			token = v
			continue
		}
		labels[k] = v
	}
	return labels, token
}

func toVolume(region string, v volumes.Volume) providers.Volume {
	labels, token := splitToken(v.Metadata)
	props := map[string]string{}
	if token != "" {
		props["client_token"] = token
	}
	if v.Multiattach {
		props["multiattach"] = "true"
	}
	if v.Encrypted {
		props["encrypted"] = "true"
	}
	if v.SourceVolID != "" {
		props["source_volid"] = v.SourceVolID
	}
	if v.Description != "" {
		props["description"] = v.Description
	}
	out := providers.Volume{
		Common: providers.Common{
			NativeID: v.ID, Name: v.Name, Region: region, Zone: v.AvailabilityZone,
			Status: volumeStatus(v.Status), ProviderStatus: v.Status,
			Created: v.CreatedAt, Updated: v.UpdatedAt, Labels: labels, Properties: props,
		},
		SizeGiB: int64(v.Size), Type: v.VolumeType, SnapshotID: v.SnapshotID,
		ImageID:  v.VolumeImageMetadata["image_id"],
		Bootable: strings.EqualFold(v.Bootable, "true"),
	}
	if v.BackupID != nil {
		out.BackupID = *v.BackupID
	}
	if out.Status == providers.StatusError {
		out.StatusMessage = "Cinder reports the volume in status " + v.Status
	}
	for _, a := range v.Attachments {
		out.Attachments = append(out.Attachments, providers.Attachment{ServerID: a.ServerID, Device: a.Device})
	}
	return out
}

func toSnapshot(region string, s snapshots.Snapshot) providers.Snapshot {
	labels, token := splitToken(s.Metadata)
	props := map[string]string{}
	if token != "" {
		props["client_token"] = token
	}
	if s.Progress != "" {
		props["progress"] = s.Progress
	}
	out := providers.Snapshot{
		Common: providers.Common{
			NativeID: s.ID, Name: s.Name, Region: region,
			Status: snapshotStatus(s.Status), ProviderStatus: s.Status,
			Created: s.CreatedAt, Updated: s.UpdatedAt, Labels: labels, Properties: props,
		},
		VolumeID: s.VolumeID, SizeGiB: int64(s.Size), Description: s.Description,
	}
	if out.Status == providers.StatusError {
		out.StatusMessage = "Cinder reports the snapshot in status " + s.Status
	}
	return out
}

// ---- volumes ----

// listQuery is a Cinder list query: a page size and a metadata filter.
type listQuery struct {
	limit    int
	metadata map[string]string
}

func (q listQuery) query() string {
	v := url.Values{}
	if q.limit > 0 {
		v.Set("limit", strconv.Itoa(q.limit))
	}
	if len(q.metadata) > 0 {
		keys := make([]string, 0, len(q.metadata))
		for k := range q.metadata {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, 0, len(keys))
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("'%s':'%s'", k, q.metadata[k]))
		}
		v.Set("metadata", "{"+strings.Join(parts, ",")+"}")
	}
	if len(v) == 0 {
		return ""
	}
	return "?" + v.Encode()
}

func (q listQuery) ToVolumeListQuery() (string, error)   { return q.query(), nil }
func (q listQuery) ToSnapshotListQuery() (string, error) { return q.query(), nil }

func (c *Cloud) listVolumes(ctx context.Context, sc *gophercloud.ServiceClient, md map[string]string) ([]volumes.Volume, error) {
	pages, err := volumes.List(sc, listQuery{limit: c.opts.PageSize, metadata: md}).AllPages(ctx)
	if err != nil {
		return nil, err
	}
	return volumes.ExtractVolumes(pages)
}

// ListVolumes implements providers.Volumes: every volume of the project,
// canopy's or not, following Cinder's next links.
func (c *Cloud) ListVolumes(ctx context.Context) ([]providers.Volume, error) {
	sc, region, err := c.cinder(ctx)
	if err != nil {
		return nil, err
	}
	list, err := c.listVolumes(ctx, sc, nil)
	if err != nil {
		return nil, volFail(err, "list volumes in %s", region)
	}
	out := make([]providers.Volume, 0, len(list))
	for _, v := range list {
		out = append(out, toVolume(region, v))
	}
	return out, nil
}

// GetVolume implements providers.Volumes.
func (c *Cloud) GetVolume(ctx context.Context, id string) (providers.Volume, error) {
	sc, region, err := c.cinder(ctx)
	if err != nil {
		return providers.Volume{}, err
	}
	v, err := volumes.Get(ctx, sc, url.PathEscape(id)).Extract()
	if err != nil {
		return providers.Volume{}, volFail(err, "get volume %s in %s", id, region)
	}
	return toVolume(region, *v), nil
}

// volumeKind is the tokened-create rule (cinderKind) for volumes.
func volumeKind(sc *gophercloud.ServiceClient) cinderKind[volumes.Volume] {
	return cinderKind[volumes.Volume]{
		token:   func(v volumes.Volume) string { return v.Metadata[volumeTokenKey] },
		status:  func(v volumes.Volume) string { return v.Status },
		created: func(v volumes.Volume) time.Time { return v.CreatedAt },
		id:      func(v volumes.Volume) string { return v.ID },
		norm:    volumeStatus,
		get: func(ctx context.Context, id string) (string, error) {
			x, err := volumes.Get(ctx, sc, id).Extract()
			if err != nil {
				return "", err
			}
			return x.Status, nil
		},
		del: func(ctx context.Context, id string) error { return volumes.Delete(ctx, sc, id, nil).ExtractErr() },
	}
}

// CreateVolume implements providers.Volumes: empty, from an image
// (imageRef) or from a snapshot. With an idempotency token a retry returns
// the volume the first attempt made.
func (c *Cloud) CreateVolume(ctx context.Context, spec providers.VolumeSpec) (providers.Volume, error) {
	return c.createVolume(ctx, spec, "")
}

// createVolume is CreateVolume, from a backup when backupID is set.
func (c *Cloud) createVolume(ctx context.Context, spec providers.VolumeSpec, backupID string) (providers.Volume, error) {
	fail := func(err error) (providers.Volume, error) {
		return providers.Volume{}, fmt.Errorf("openstack: create volume %q: %w", spec.Name, err)
	}
	switch {
	case spec.SizeGiB < 0:
		return fail(fmt.Errorf("%w: size_gib %d is negative", providers.ErrInvalid, spec.SizeGiB))
	case spec.SizeGiB == 0 && spec.SnapshotID == "":
		return fail(fmt.Errorf("%w: size_gib is required unless the volume is made from a snapshot", providers.ErrInvalid))
	case spec.ImageID != "" && spec.SnapshotID != "":
		return fail(fmt.Errorf("%w: image_id and snapshot_id are both set (at most one source)", providers.ErrInvalid))
	case spec.SizeGiB > 1<<31-1:
		return fail(fmt.Errorf("%w: size_gib %d is too large", providers.ErrInvalid, spec.SizeGiB))
	}
	sc, region, err := c.cinder(ctx)
	if err != nil {
		return providers.Volume{}, err
	}
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
	opts := volumes.CreateOpts{
		Size: int(spec.SizeGiB), AvailabilityZone: spec.Zone, Name: spec.Name, Description: spec.Description,
		Metadata: md, ImageID: spec.ImageID, SnapshotID: spec.SnapshotID, BackupID: backupID, VolumeType: spec.Type,
	}
	find := func(ctx context.Context) (volumes.Volume, bool, error) {
		prior, err := c.listVolumes(ctx, sc, map[string]string{volumeTokenKey: tv})
		if err != nil {
			return volumes.Volume{}, false, mapErr(err)
		}
		v, ok := volumeKind(sc).pick(prior, tv)
		return v, ok, nil
	}
	create := func(ctx context.Context) (volumes.Volume, error) {
		created, err := volumes.Create(failpoint.Sent(ctx, "openstack/volume:sent"), sc, opts, nil).Extract()
		if err != nil {
			return volumes.Volume{}, mapErr(err)
		}
		failpoint.Hit("openstack/volume:posted")
		return *created, nil
	}
	v, found, err := providers.FindOrCreate(ctx, c.replays, replayKey("volume", tv), spec.Replay, find, create)
	if err != nil {
		return fail(err)
	}
	if !found {
		// Another replica may have raced us past the lookup: the oldest
		// volume with the token wins and the others are deleted.
		v = volumeKind(sc).settle(ctx, func(ctx context.Context) ([]volumes.Volume, error) {
			return c.listVolumes(ctx, sc, map[string]string{volumeTokenKey: tv})
		}, v, tv)
	}
	return toVolume(region, v), nil
}

// DeleteVolume implements providers.Volumes. Cinder refuses (400) to
// delete a volume that is attached, has snapshots or is busy: that is
// ErrConflict; one already being deleted is not an error.
func (c *Cloud) DeleteVolume(ctx context.Context, id string) error {
	sc, region, err := c.cinder(ctx)
	if err != nil {
		return err
	}
	err = volumes.Delete(ctx, sc, url.PathEscape(id), nil).ExtractErr()
	if err == nil {
		return nil
	}
	err = mapErr(err)
	if isHTTP(err, 400) || isHTTP(err, 409) {
		v, gerr := volumes.Get(ctx, sc, url.PathEscape(id)).Extract()
		switch {
		case gerr == nil && volumeStatus(v.Status) == providers.StatusDeleting:
			return nil
		case gophercloud.ResponseCodeIs(gerr, http.StatusNotFound):
			// it finished deleting between the two calls
			return fmt.Errorf("openstack: delete volume %s in %s: %w", id, region, providers.ErrNotFound)
		}
		err = asKind(err, providers.ErrConflict)
	}
	return fmt.Errorf("openstack: delete volume %s in %s: %w", id, region, err)
}

// ExtendVolume implements providers.Volumes. Growing to the current size
// is done already (a retried extend); shrinking is ErrInvalid.
func (c *Cloud) ExtendVolume(ctx context.Context, id string, sizeGiB int64) error {
	sc, region, err := c.cinder(ctx)
	if err != nil {
		return err
	}
	v, err := volumes.Get(ctx, sc, url.PathEscape(id)).Extract()
	if err != nil {
		return volFail(err, "extend volume %s in %s", id, region)
	}
	switch {
	case sizeGiB == int64(v.Size):
		return nil
	case sizeGiB < int64(v.Size):
		return fmt.Errorf("openstack: extend volume %s in %s: %w: %d GiB is smaller than its %d GiB (volumes only grow)", id, region, providers.ErrInvalid, sizeGiB, v.Size)
	case sizeGiB > 1<<31-1:
		return fmt.Errorf("openstack: extend volume %s in %s: %w: %d GiB is too large", id, region, providers.ErrInvalid, sizeGiB)
	}
	err = volumes.ExtendSize(ctx, sc, url.PathEscape(id), volumes.ExtendSizeOpts{NewSize: int(sizeGiB)}).ExtractErr()
	if err != nil {
		err = mapErr(err)
		var ae *APIError
		if errors.As(err, &ae) && ae.Code == 400 && strings.Contains(strings.ToLower(ae.Message), "status") {
			err = asKind(err, providers.ErrConflict) // not available (in use on an old Cinder, busy)
		}
		return fmt.Errorf("openstack: extend volume %s in %s: %w", id, region, err)
	}
	return nil
}
