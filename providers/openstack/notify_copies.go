package openstack

import (
	"encoding/json"
	"fmt"

	"github.com/canopy-cloud/canopy/providers"
)

// Cinder's snapshot.* and backup.* notifications (unversioned, like
// volume.*: cinder/volume/volume_utils.py _usage_from_snapshot and
// _usage_from_backup). Neither payload carries updated_at nor the
// description, and a snapshot's metadata is Python's str() of a dict (not
// JSON): the caller lays the status and size over the copy it knows, and
// never adopts from them.

// snapshotPayload is what canopy reads of a snapshot.* payload.
type snapshotPayload struct {
	SnapshotID       string `json:"snapshot_id"`
	VolumeID         string `json:"volume_id"`
	VolumeSize       int64  `json:"volume_size"`
	DisplayName      string `json:"display_name"`
	Status           string `json:"status"`
	AvailabilityZone string `json:"availability_zone"`
	CreatedAt        string `json:"created_at"`
}

// backupPayload is what canopy reads of a backup.* payload.
type backupPayload struct {
	BackupID    string  `json:"backup_id"`
	VolumeID    string  `json:"volume_id"`
	Size        int64   `json:"size"`
	DisplayName string  `json:"display_name"`
	Status      string  `json:"status"`
	CreatedAt   string  `json:"created_at"`
	FailReason  *string `json:"fail_reason"`
}

// snapshotChange reads a Cinder snapshot.* notification.
func snapshotChange(region string, n notification) (providers.Change, error) {
	var p snapshotPayload
	if err := json.Unmarshal(n.Payload, &p); err != nil {
		return providers.Change{}, fmt.Errorf("%s: %w", n.EventType, err)
	}
	if p.SnapshotID == "" {
		return providers.Change{}, fmt.Errorf("%s: no snapshot_id", n.EventType)
	}
	s := providers.Snapshot{
		Common: providers.Common{
			NativeID: p.SnapshotID, Name: p.DisplayName, Region: region,
			Status: snapshotStatus(p.Status), ProviderStatus: p.Status, Created: osloTime(p.CreatedAt),
		},
		VolumeID: p.VolumeID, SizeGiB: p.VolumeSize,
	}
	if s.Status == providers.StatusError {
		s.StatusMessage = "Cinder reports the snapshot in status " + p.Status
	}
	ch := providers.Change{Kind: providers.KindSnapshot, NativeID: p.SnapshotID, Snapshot: &s,
		Emitted: osloTime(n.Timestamp), MessageID: n.MessageID, EventType: n.EventType}
	ch.Deleted = n.EventType == "snapshot.delete.end" || p.Status == "deleted"
	return ch, nil
}

// backupChange reads a Cinder backup.* notification.
func backupChange(region string, n notification) (providers.Change, error) {
	var p backupPayload
	if err := json.Unmarshal(n.Payload, &p); err != nil {
		return providers.Change{}, fmt.Errorf("%s: %w", n.EventType, err)
	}
	if p.BackupID == "" {
		return providers.Change{}, fmt.Errorf("%s: no backup_id", n.EventType)
	}
	b := providers.Backup{
		Common: providers.Common{
			NativeID: p.BackupID, Name: p.DisplayName, Region: region,
			Status: backupStatus(p.Status), ProviderStatus: p.Status, Created: osloTime(p.CreatedAt),
		},
		VolumeID: p.VolumeID, SizeGiB: p.Size,
	}
	if b.Status == providers.StatusError {
		b.StatusMessage = "Cinder reports the backup in status " + p.Status
		if p.FailReason != nil && *p.FailReason != "" {
			b.StatusMessage += ": " + *p.FailReason
		}
	}
	ch := providers.Change{Kind: providers.KindBackup, NativeID: p.BackupID, Backup: &b,
		Emitted: osloTime(n.Timestamp), MessageID: n.MessageID, EventType: n.EventType}
	ch.Deleted = n.EventType == "backup.delete.end" || p.Status == "deleted"
	return ch, nil
}
