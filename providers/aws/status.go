package aws

import "github.com/canopy-cloud/canopy/providers"

// Instance states (types.InstanceStateName) as EC2 spells them.
const (
	statePending      = "pending"
	stateRunning      = "running"
	stateStopping     = "stopping"
	stateStopped      = "stopped"
	stateShuttingDown = "shutting-down"
	stateTerminated   = "terminated"
)

// serverStatus maps an EC2 instance state to canopy's status. Terminated
// instances are DELETED: lists leave them out and lookups say not found, as
// deleted servers vanish on OpenStack. EC2 has no error state (a failed
// launch goes to terminated) and reboots are instantaneous (an instance
// being rebooted stays running).
func serverStatus(state string) providers.Status {
	switch state {
	case statePending:
		return providers.StatusPending
	case stateRunning:
		return providers.StatusActive
	case stateStopping:
		return providers.StatusUpdating
	case stateStopped:
		return providers.StatusStopped
	case stateShuttingDown:
		return providers.StatusDeleting
	case stateTerminated:
		return providers.StatusDeleted
	}
	return providers.StatusUnknown
}

// imageStatus maps an AMI state (types.ImageState).
func imageStatus(state string) providers.Status {
	switch state {
	case "available":
		return providers.StatusActive
	case "pending", "transient":
		return providers.StatusPending
	case "failed", "invalid", "error":
		return providers.StatusError
	case "deregistered":
		return providers.StatusDeleted
	case "disabled":
		return providers.StatusStopped
	}
	return providers.StatusUnknown
}
