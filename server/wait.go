package server

import (
	"context"
	"errors"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/router"
	"github.com/canopy-cloud/canopy/store"
)

// waitServer blocks until done holds for the server or it reaches ERROR,
// through the cloud's batched poller (one list per interval however many
// callers wait). It is bounded by the caller's deadline, or by the
// configured wait timeout when the caller set none; an ERROR server is
// returned as it is, so the caller sees status and message. When the
// cloud announces its changes, what it announced since since (zero: ever,
// for a server the caller just made) may end the wait at once.
func (s *computeService) waitServer(ctx context.Context, cl *router.Cloud, m store.Mapping, what string, since time.Time, done func(providers.Server, bool) bool) (providers.Server, bool, error) {
	wctx, cancel := ctx, context.CancelFunc(func() {})
	if _, ok := ctx.Deadline(); !ok {
		wctx, cancel = context.WithTimeout(ctx, s.cfg.Wait.Timeout.Std())
	}
	defer cancel()
	start := time.Now()
	sv, present, err := cl.Servers.WaitSince(wctx, m.NativeID, since, func(sv providers.Server, present bool) bool {
		return done(sv, present) || (present && sv.Status == providers.StatusError)
	})
	if err == nil {
		if present {
			s.metrics.woke(cl.Name, "servers", sv.Updated)
		}
		return sv, present, nil
	}
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return sv, false, status.FromContextError(ctx.Err()).Err()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return sv, false, status.Errorf(codes.DeadlineExceeded, "cloud %q: server %s not %s after %s", cl.Name, m.ID, what, time.Since(start).Round(time.Millisecond))
	}
	return sv, false, router.CloudErr(cl.Name, "wait for server", err)
}
