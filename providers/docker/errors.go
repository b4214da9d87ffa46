package docker

import (
	"context"
	"errors"
	"fmt"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/client"

	"github.com/canopy-cloud/canopy/providers"
)

// mapErr wraps an Engine API error with what was being done, on which host,
// and the providers sentinel that fits (errors.Is finds both the sentinel
// and the client's error). The Engine's HTTP status decides: 404 not
// found, 409 conflict, 400 invalid, 401/403, 503 and a refused connection
// unavailable, 501 unsupported.
func mapErr(err error, h *host, op, id string) error {
	if err == nil {
		return nil
	}
	what := op
	if id != "" {
		what = op + " " + id
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("docker: %s on host %s: %w", what, h.name, err)
	}
	kind := kindOf(err)
	if kind == nil {
		return fmt.Errorf("docker: %s on host %s: %w", what, h.name, err)
	}
	return fmt.Errorf("docker: %s on host %s: %w: %w", what, h.name, kind, err)
}

// kindOf maps an Engine API error to a providers sentinel (nil: none fits).
func kindOf(err error) error {
	switch {
	case client.IsErrConnectionFailed(err):
		return providers.ErrUnavailable
	case cerrdefs.IsNotFound(err):
		return providers.ErrNotFound
	case cerrdefs.IsConflict(err), cerrdefs.IsAlreadyExists(err):
		return providers.ErrConflict
	case cerrdefs.IsInvalidArgument(err):
		return providers.ErrInvalid
	case cerrdefs.IsUnauthorized(err):
		return providers.ErrUnauthenticated
	case cerrdefs.IsPermissionDenied(err):
		return providers.ErrPermission
	case cerrdefs.IsUnavailable(err):
		return providers.ErrUnavailable
	case cerrdefs.IsNotImplemented(err):
		return providers.ErrUnsupported
	case cerrdefs.IsResourceExhausted(err):
		return providers.ErrQuota
	}
	return nil
}
