package containerd

import (
	"context"
	"errors"
	"fmt"

	"github.com/containerd/containerd/errdefs"

	"github.com/canopy-cloud/canopy/providers"
)

// Error is a containerd error mapped to one of the providers sentinels;
// errors.Is finds both the sentinel (Kind) and containerd's error (Err).
type Error struct {
	Op   string // what the adapter was doing, e.g. "start container abc"
	Kind error  // a providers sentinel; nil when none fits
	Err  error
}

func (e *Error) Error() string {
	if e.Kind == nil {
		return fmt.Sprintf("containerd: %s: %v", e.Op, e.Err)
	}
	return fmt.Sprintf("containerd: %s: %v (%v)", e.Op, e.Err, e.Kind)
}

// Unwrap lets errors.Is see the sentinel and containerd's error.
func (e *Error) Unwrap() []error {
	if e.Kind == nil {
		return []error{e.Err}
	}
	return []error{e.Kind, e.Err}
}

// kindOf maps containerd's errdefs (which its client restores from gRPC
// codes) to the providers sentinels.
func kindOf(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, providers.ErrNotFound), errors.Is(err, providers.ErrInvalid), errors.Is(err, providers.ErrConflict),
		errors.Is(err, providers.ErrAlreadyExists), errors.Is(err, providers.ErrUnavailable), errors.Is(err, providers.ErrUnsupported):
		return nil // already mapped
	case errdefs.IsNotFound(err):
		return providers.ErrNotFound
	case errdefs.IsAlreadyExists(err):
		return providers.ErrAlreadyExists
	case errdefs.IsInvalidArgument(err):
		return providers.ErrInvalid
	case errdefs.IsFailedPrecondition(err), errdefs.IsConflict(err):
		return providers.ErrConflict
	case errdefs.IsUnavailable(err):
		return providers.ErrUnavailable
	case errdefs.IsNotImplemented(err):
		return providers.ErrUnsupported
	case errors.Is(err, context.DeadlineExceeded), errdefs.IsDeadlineExceeded(err):
		return providers.ErrUnavailable
	}
	return nil
}

// wrap maps err and says what the adapter was doing; nil stays nil.
func wrap(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return &Error{Op: fmt.Sprintf(format, args...), Kind: kindOf(err), Err: err}
}

// errorf makes an adapter error wrapping a sentinel.
func errorf(kind error, format string, args ...any) error {
	return fmt.Errorf("containerd: %w: %s", kind, fmt.Sprintf(format, args...))
}
