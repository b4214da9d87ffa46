package router

import (
	"context"
	"sync"

	"google.golang.org/grpc/status"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
)

// FanOut runs fn on every cloud concurrently and merges the results. A
// cloud that fails contributes a CloudError instead of failing the call:
// "feels like one cloud" means one broken cloud never hides the others.
func FanOut[T any](ctx context.Context, clouds []*Cloud, fn func(context.Context, *Cloud) ([]T, error)) ([]T, []*canopyv1.CloudError) {
	type res struct {
		items []T
		err   error
	}
	out := make([]res, len(clouds))
	var wg sync.WaitGroup
	for i, cl := range clouds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			items, err := fn(ctx, cl)
			out[i] = res{items, err}
		}()
	}
	wg.Wait()
	var items []T
	var errs []*canopyv1.CloudError
	for i, r := range out {
		if r.err != nil {
			st := status.Convert(r.err)
			errs = append(errs, &canopyv1.CloudError{Cloud: clouds[i].Name, Code: int32(st.Code()), Message: st.Message()})
			continue
		}
		items = append(items, r.items...)
	}
	return items, errs
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
