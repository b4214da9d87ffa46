package emulate

import (
	"errors"
	"fmt"

	"github.com/canopy-cloud/canopy/providers"
)

// CapabilityError says a cloud lacks a capability canopy cannot emulate on
// it (volumes themselves; snapshots or backups without VolumeData; a
// deferred volume without compute). It wraps providers.ErrUnsupported; the
// router maps it to FAILED_PRECONDITION naming the cloud and capability.
type CapabilityError struct {
	Cloud      string
	Capability string
}

func (e *CapabilityError) Error() string {
	return fmt.Sprintf("cloud %q does not support %s", e.Cloud, e.Capability)
}

func (e *CapabilityError) Unwrap() error { return providers.ErrUnsupported }

// Error is a failure where the bytes of an emulated copy live: the backup
// bucket (which may be another cloud's) or canopy's store. Cloud is the
// cloud at fault, Op what was being done. Err is the cause: a provider
// sentinel that says what kind of failure it is (ErrConflict: the
// configuration no longer holds; ErrIntegrity: the bytes do not match what
// was recorded), or the bucket cloud's own error. Msg, when set, is the
// whole message to show; otherwise the router names Cloud and Op as for
// any cloud error.
type Error struct {
	Cloud string
	Op    string
	Err   error
	Msg   string
}

func (e *Error) Error() string {
	if e.Msg != "" {
		return e.Msg
	}
	return fmt.Sprintf("cloud %q: %s: %v", e.Cloud, e.Op, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// errCorrupt is a record canopy wrote that it cannot read back: its own
// state is broken, which is neither the caller's nor a cloud's fault.
var errCorrupt = errors.New("corrupt emulation record")
