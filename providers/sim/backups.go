package sim

import (
	"context"
	"fmt"
	"time"

	"github.com/canopy-cloud/canopy/providers"
)

// ---------------------------------------------------------------- backups

func backupOf(s providers.Snapshot) providers.Backup {
	return providers.Backup{Common: s.Common, VolumeID: s.VolumeID, SizeGiB: s.SizeGiB, Description: s.Description}
}

// ListBackups implements providers.Backups.
func (c *Cloud) ListBackups(ctx context.Context) ([]providers.Backup, error) {
	if err := c.volCall(ctx, "ListBackups", providers.CapBackups); err != nil {
		return nil, err
	}
	snaps := c.listSnaps(c.vol.Backups)
	out := make([]providers.Backup, len(snaps))
	for i, s := range snaps {
		out[i] = backupOf(s)
	}
	return out, nil
}

// GetBackup implements providers.Backups.
func (c *Cloud) GetBackup(ctx context.Context, id string) (providers.Backup, error) {
	if err := c.volCall(ctx, "GetBackup", providers.CapBackups); err != nil {
		return providers.Backup{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.snapView(c.vol.Backups, id, time.Now())
	if !ok {
		return providers.Backup{}, fmt.Errorf("sim: backup %q: %w", id, providers.ErrNotFound)
	}
	return backupOf(s), nil
}

// CreateBackup implements providers.Backups.
func (c *Cloud) CreateBackup(ctx context.Context, spec providers.BackupSpec) (providers.Backup, error) {
	if err := c.volCall(ctx, "CreateBackup", providers.CapBackups); err != nil {
		return providers.Backup{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	r, err := c.copyOf(c.vol.Backups, "bak", "backup", spec.Name, spec.VolumeID, spec.Description, spec.IdempotencyToken, spec.Labels)
	if err != nil {
		return providers.Backup{}, err
	}
	c.save()
	s, _ := c.snapView(c.vol.Backups, r.S.NativeID, time.Now())
	return backupOf(s), nil
}

// DeleteBackup implements providers.Backups.
func (c *Cloud) DeleteBackup(ctx context.Context, id string) error {
	if err := c.volCall(ctx, "DeleteBackup", providers.CapBackups); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.deleteCopy(c.vol.Backups, "backup", id)
}

// RestoreBackup implements providers.Backups.
func (c *Cloud) RestoreBackup(ctx context.Context, backupID string, spec providers.VolumeSpec) (providers.Volume, error) {
	if err := c.volCall(ctx, "RestoreBackup", providers.CapBackups); err != nil {
		return providers.Volume{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if v, ok := c.volumeByToken(spec.IdempotencyToken, now); ok {
		return v, nil
	}
	b, ok := c.snapView(c.vol.Backups, backupID, now)
	if !ok {
		return providers.Volume{}, fmt.Errorf("sim: restore backup %q: %w", backupID, providers.ErrNotFound)
	}
	if b.ProviderStatus != "available" {
		return providers.Volume{}, fmt.Errorf("sim: restore backup %q in state %s: %w", backupID, b.ProviderStatus, providers.ErrConflict)
	}
	if spec.SizeGiB == 0 {
		spec.SizeGiB = b.SizeGiB
	}
	if spec.SizeGiB < b.SizeGiB {
		return providers.Volume{}, fmt.Errorf("sim: restore backup: %w: %d GiB is smaller than the backup (%d GiB)", providers.ErrInvalid, spec.SizeGiB, b.SizeGiB)
	}
	zone, err := c.zoneOf(spec.Zone)
	if err != nil {
		return providers.Volume{}, fmt.Errorf("sim: restore backup: %w", err)
	}
	spec.ImageID, spec.SnapshotID = "", ""
	v := c.newVolume(spec, zone, now, append([]byte(nil), c.vol.Backups[backupID].Data...))
	r := c.vol.Volumes[v.NativeID]
	r.V.BackupID = backupID
	r.T.Raw = "restoring-backup"
	c.save()
	v, _ = c.volView(v.NativeID, now)
	return v, nil
}
