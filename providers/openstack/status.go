package openstack

import (
	"strings"

	"github.com/canopy-cloud/canopy/providers"
)

// serverStatus maps Nova's status and task_state to canopy's enum. A
// task_state of "deleting" wins over everything; any other task on a
// settled server (powering-on/off, rebooting, snapshotting...) means the
// server is changing on its own.
func serverStatus(status, taskState string) providers.Status {
	status, taskState = strings.ToUpper(status), strings.ToLower(taskState)
	if taskState == "deleting" || taskState == "soft-deleting" {
		return providers.StatusDeleting
	}
	switch status {
	case "BUILD":
		return providers.StatusPending
	case "ACTIVE", "SHUTOFF", "PAUSED", "SUSPENDED", "SHELVED", "SHELVED_OFFLOADED":
		if taskState != "" {
			return providers.StatusUpdating
		}
		if status == "ACTIVE" {
			return providers.StatusActive
		}
		// Not running, and staying so until asked.
		return providers.StatusStopped
	case "REBOOT", "HARD_REBOOT", "RESIZE", "VERIFY_RESIZE", "REVERT_RESIZE", "MIGRATING", "REBUILD", "PASSWORD":
		return providers.StatusUpdating
	case "DELETED", "SOFT_DELETED":
		return providers.StatusDeleted
	case "ERROR":
		return providers.StatusError
	}
	return providers.StatusUnknown
}

// imageStatus maps Glance v2 image statuses.
func imageStatus(status string) providers.Status {
	switch strings.ToLower(status) {
	case "queued", "saving", "importing", "uploading":
		return providers.StatusPending
	case "active":
		return providers.StatusActive
	case "killed":
		return providers.StatusError
	case "deleted", "pending_delete":
		return providers.StatusDeleted
	case "deactivated":
		return providers.StatusStopped
	}
	return providers.StatusUnknown
}
