package router

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
)

// FanOut runs fn on every cloud concurrently and merges the results. A
// cloud that fails contributes a CloudError instead of failing the call:
// "feels like one cloud" means one broken cloud never hides the others.
//
// A caller's deadline bounds the wait, not the answer: FanOut returns a
// little before the deadline (answerMargin) with what the clouds that
// answered returned, and a DEADLINE_EXCEEDED CloudError naming each cloud
// still out. Waiting for the slow one until the deadline itself would hand
// the caller DEADLINE_EXCEEDED and nothing, although the others answered
// long before. The calls still out are cancelled when FanOut returns.
func FanOut[T any](ctx context.Context, clouds []*Cloud, fn func(context.Context, *Cloud) ([]T, error)) ([]T, []*canopyv1.CloudError) {
	type res struct {
		i     int
		items []T
		err   error
	}
	// The calls get a context that ends answerMargin before the caller's:
	// the fan-out stops waiting when it ends, and a call still out sees
	// DeadlineExceeded (its breaker counts a cloud that did not answer in
	// time), not the Canceled of a caller that gave up.
	var cctx context.Context
	var cancel context.CancelFunc
	if dl, ok := ctx.Deadline(); ok {
		cctx, cancel = context.WithDeadline(ctx, dl.Add(-answerMargin(time.Until(dl))))
	} else {
		cctx, cancel = context.WithCancel(ctx)
	}
	defer cancel()
	start := time.Now()
	results := make(chan res, len(clouds)) // buffered: a late cloud never blocks
	for i, cl := range clouds {
		go func() {
			items, err := fn(cctx, cl)
			results <- res{i, items, err}
		}()
	}
	out := make([]*res, len(clouds))
	for got := 0; got < len(clouds); got++ {
		select {
		case r := <-results:
			out[r.i] = &r
			continue
		case <-cctx.Done():
		}
		break
	}
	for drained := false; !drained; { // answers that came with the deadline
		select {
		case r := <-results:
			out[r.i] = &r
		default:
			drained = true
		}
	}
	var items []T
	var errs []*canopyv1.CloudError
	for i, r := range out {
		err := error(nil)
		switch {
		case r == nil:
			err = status.Error(codes.DeadlineExceeded, fmt.Sprintf("cloud %q did not answer within the call's deadline (%s)", clouds[i].Name, time.Since(start).Round(time.Millisecond)))
		case r.err != nil:
			err = r.err
		default:
			items = append(items, r.items...)
			continue
		}
		st, ok := status.FromError(err)
		if !ok { // a bare context error keeps its code
			st = status.FromContextError(err)
		}
		errs = append(errs, &canopyv1.CloudError{Cloud: clouds[i].Name, Code: int32(st.Code()), Message: st.Message()})
	}
	return items, errs
}

// answerMargin is how long before a caller's deadline a fan-out stops
// waiting, so that its partial answer still reaches the caller in time
// on a loaded machine (paging, conversion, the interceptors, the wire):
// 10 % of the time left, between 20 and 500 ms. 5 % (50 ms of a second)
// was seen to miss the deadline on 2 busy cores.
func answerMargin(left time.Duration) time.Duration {
	return min(max(left/10, 20*time.Millisecond), 500*time.Millisecond)
}

// Unreachable names the clouds whose part of a fanned-out list is missing,
// in the order of errs: the AIP-217 `unreachable` field of a list response
// (cloud_errors says why for each).
func Unreachable(errs []*canopyv1.CloudError) []string {
	if len(errs) == 0 {
		return nil
	}
	out := make([]string, len(errs))
	for i, e := range errs {
		out[i] = e.GetCloud()
	}
	return out
}

// ListTargets picks the clouds a list goes to: the location's cloud, the
// cloud its zone routes to, or every cloud.
func (r *Router) ListTargets(loc *canopyv1.Location) ([]*Cloud, error) {
	if loc.GetCloud() != "" {
		cl, ok := r.byName[loc.GetCloud()]
		if !ok {
			return nil, BadRequest("location.cloud", "unknown cloud %q (known: %v)", loc.GetCloud(), r.Names())
		}
		return []*Cloud{cl}, nil
	}
	if z := loc.GetZone(); z != "" {
		cl, ok := r.byZone[z]
		if !ok {
			return nil, r.ZoneErr(z)
		}
		return []*Cloud{cl}, nil
	}
	return r.list, nil
}

// ZoneErr explains why a zone does not route: unknown, or offered by
// several clouds.
func (r *Router) ZoneErr(z string) error {
	if clouds, ok := r.ambiguous[z]; ok {
		return BadRequest("location.zone", "zone %q is offered by clouds %v: set location.cloud (or map the zone in the config's zones:)", z, clouds)
	}
	return BadRequest("location.zone", "unknown zone %q", z)
}
