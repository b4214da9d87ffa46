package openstack

// Cinder backups (providers.Backups), driven through cinder-backup. Not
// every Cinder runs a backup service and a user cannot ask (os-services
// is admin-only), so the cloud's config says so (Options.VolumeBackups);
// without one the adapter reports no backups (providers.Limited) and
// canopy emulates them over VolumeData (volumedata.go).
//
// Idempotency is the volumes' scheme: the token is kept in the backup's
// metadata (microversion 3.43) under "canopy-token". Cinder cannot filter
// backups by metadata, so the look-up lists them all. A restore is a
// volume created with backup_id (3.47), so it carries its own token like
// any volume.

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/backups"

	"github.com/canopy-cloud/canopy/internal/failpoint"
	"github.com/canopy-cloud/canopy/providers"
)

var (
	_ providers.Backups = (*Cloud)(nil)
	_ providers.Limited = (*Cloud)(nil)
)

// Has implements providers.Limited: backups only where the config says
// cinder-backup runs; everything else the type implements it has.
func (c *Cloud) Has(capability string) bool {
	if capability == providers.CapBackups {
		return c.opts.VolumeBackups == nil || *c.opts.VolumeBackups
	}
	return true
}

// backupStatus maps Cinder backup statuses.
func backupStatus(status string) providers.Status {
	s := strings.ToLower(status)
	switch s {
	case "creating":
		return providers.StatusPending
	case "available":
		return providers.StatusActive
	case "restoring":
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

func toBackup(region string, b backups.Backup) providers.Backup {
	var md map[string]string
	if b.Metadata != nil {
		md = *b.Metadata
	}
	labels, token := splitToken(md)
	props := map[string]string{}
	if token != "" {
		props[providers.PropToken] = token
	}
	if b.Container != "" {
		props["container"] = b.Container
	}
	if b.IsIncremental {
		props["incremental"] = "true"
	}
	out := providers.Backup{
		Common: providers.Common{
			NativeID: b.ID, Name: b.Name, Region: region,
			Status: backupStatus(b.Status), ProviderStatus: b.Status,
			Created: b.CreatedAt, Updated: b.UpdatedAt, Labels: labels, Properties: props,
		},
		VolumeID: b.VolumeID, SizeGiB: int64(b.Size), Description: b.Description,
	}
	if out.Status == providers.StatusError {
		out.StatusMessage = "Cinder reports the backup in status " + b.Status
		if b.FailReason != "" {
			out.StatusMessage += ": " + b.FailReason
		}
	}
	return out
}

func (c *Cloud) listBackups(ctx context.Context, sc *gophercloud.ServiceClient) ([]backups.Backup, error) {
	pages, err := backups.ListDetail(sc, backups.ListDetailOpts{Limit: c.opts.PageSize}).AllPages(ctx)
	if err != nil {
		return nil, err
	}
	return backups.ExtractBackups(pages)
}

// backupsOn is the Cinder client, or ErrUnsupported when the config says
// the cloud runs no backup service.
func (c *Cloud) backupsOn(ctx context.Context) (*gophercloud.ServiceClient, string, error) {
	if !c.Has(providers.CapBackups) {
		return nil, "", fmt.Errorf("openstack: cloud %s: %w: the config says it runs no cinder-backup (volume_backups: false)", c.name, providers.ErrUnsupported)
	}
	return c.cinder(ctx)
}

// ListBackups implements providers.Backups.
func (c *Cloud) ListBackups(ctx context.Context) ([]providers.Backup, error) {
	sc, region, err := c.backupsOn(ctx)
	if err != nil {
		return nil, err
	}
	list, err := c.listBackups(ctx, sc)
	if err != nil {
		return nil, volFail(err, "list backups in %s", region)
	}
	out := make([]providers.Backup, 0, len(list))
	for _, b := range list {
		out = append(out, toBackup(region, b))
	}
	return out, nil
}

// GetBackup implements providers.Backups.
func (c *Cloud) GetBackup(ctx context.Context, id string) (providers.Backup, error) {
	sc, region, err := c.backupsOn(ctx)
	if err != nil {
		return providers.Backup{}, err
	}
	b, err := backups.Get(ctx, sc, url.PathEscape(id)).Extract()
	if err != nil {
		return providers.Backup{}, volFail(err, "get backup %s in %s", id, region)
	}
	return toBackup(region, *b), nil
}

// backupKind is the tokened-create rule (cinderKind) for backups.
func backupKind(sc *gophercloud.ServiceClient) cinderKind[backups.Backup] {
	return cinderKind[backups.Backup]{
		token: func(b backups.Backup) string {
			if b.Metadata == nil {
				return ""
			}
			return (*b.Metadata)[volumeTokenKey]
		},
		status:  func(b backups.Backup) string { return b.Status },
		created: func(b backups.Backup) time.Time { return b.CreatedAt },
		id:      func(b backups.Backup) string { return b.ID },
		norm:    backupStatus,
		get: func(ctx context.Context, id string) (string, error) {
			x, err := backups.Get(ctx, sc, id).Extract()
			if err != nil {
				return "", err
			}
			return x.Status, nil
		},
		del: func(ctx context.Context, id string) error { return backups.Delete(ctx, sc, id).ExtractErr() },
	}
}

// CreateBackup implements providers.Backups: a full backup, of an attached
// volume too (force). A retry with the same token returns the first one.
func (c *Cloud) CreateBackup(ctx context.Context, spec providers.BackupSpec) (providers.Backup, error) {
	fail := func(err error) (providers.Backup, error) {
		return providers.Backup{}, fmt.Errorf("openstack: create backup %q of volume %s: %w", spec.Name, spec.VolumeID, err)
	}
	if spec.VolumeID == "" {
		return fail(fmt.Errorf("%w: volume_id is empty", providers.ErrInvalid))
	}
	sc, region, err := c.backupsOn(ctx)
	if err != nil {
		return providers.Backup{}, err
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
	find := func(ctx context.Context) (backups.Backup, bool, error) {
		all, err := c.listBackups(ctx, sc)
		if err != nil {
			return backups.Backup{}, false, mapErr(err)
		}
		b, ok := backupKind(sc).pick(all, tv)
		return b, ok, nil
	}
	create := func(ctx context.Context) (backups.Backup, error) {
		created, err := backups.Create(failpoint.Sent(ctx, "openstack/backup:sent"), sc, backups.CreateOpts{
			VolumeID: spec.VolumeID, Force: true, Name: spec.Name, Description: spec.Description, Metadata: md,
		}).Extract()
		if err != nil {
			err = mapErr(err)
			if isHTTP(err, 400) && strings.Contains(strings.ToLower(err.Error()), "status") {
				err = asKind(err, providers.ErrConflict) // the volume is busy
			}
			return backups.Backup{}, err
		}
		failpoint.Hit("openstack/backup:posted")
		// Cinder's create answers with the id and name only.
		if got, gerr := backups.Get(ctx, sc, created.ID).Extract(); gerr == nil {
			return *got, nil
		}
		created.VolumeID = spec.VolumeID
		return *created, nil
	}
	b, found, err := providers.FindOrCreate(ctx, c.replays, replayKey("backup", tv), spec.Replay, find, create)
	if err != nil {
		return fail(err)
	}
	if !found {
		b = backupKind(sc).settle(ctx, func(ctx context.Context) ([]backups.Backup, error) { return c.listBackups(ctx, sc) }, b, tv)
	}
	return toBackup(region, b), nil
}

// DeleteBackup implements providers.Backups. One Cinder will not delete
// now (being made or restored from) is ErrConflict; one already being
// deleted is not an error.
func (c *Cloud) DeleteBackup(ctx context.Context, id string) error {
	sc, region, err := c.backupsOn(ctx)
	if err != nil {
		return err
	}
	err = backups.Delete(ctx, sc, url.PathEscape(id)).ExtractErr()
	if err == nil {
		return nil
	}
	err = mapErr(err)
	if isHTTP(err, 400) || isHTTP(err, 409) {
		if b, gerr := backups.Get(ctx, sc, url.PathEscape(id)).Extract(); gerr == nil && backupStatus(b.Status) == providers.StatusDeleting {
			return nil
		}
		err = asKind(err, providers.ErrConflict)
	}
	return fmt.Errorf("openstack: delete backup %s in %s: %w", id, region, err)
}

// RestoreBackup implements providers.Backups: a new volume created from
// the backup (backup_id, microversion 3.47), named and tokened by spec like
// any volume, of the backup's size unless spec says more.
func (c *Cloud) RestoreBackup(ctx context.Context, backupID string, spec providers.VolumeSpec) (providers.Volume, error) {
	if backupID == "" {
		return providers.Volume{}, fmt.Errorf("openstack: restore backup: %w: backup_id is empty", providers.ErrInvalid)
	}
	b, err := c.GetBackup(ctx, backupID)
	if err != nil {
		return providers.Volume{}, fmt.Errorf("openstack: restore backup %s: %w", backupID, err)
	}
	if b.Status != providers.StatusActive {
		return providers.Volume{}, fmt.Errorf("openstack: restore backup %s: %w: it is %s, not available", backupID, providers.ErrConflict, b.ProviderStatus)
	}
	if spec.SizeGiB == 0 {
		spec.SizeGiB = b.SizeGiB
	}
	if spec.SizeGiB < b.SizeGiB {
		return providers.Volume{}, fmt.Errorf("openstack: restore backup %s: %w: size_gib %d is smaller than the backup's %d GiB", backupID, providers.ErrInvalid, spec.SizeGiB, b.SizeGiB)
	}
	spec.ImageID, spec.SnapshotID = "", ""
	return c.createVolume(ctx, spec, backupID)
}
