package router

import (
	"context"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/store"
)

// Query is what every List request has in common.
type Query struct {
	PageSize  int32
	PageToken string
	Location  *canopyv1.Location
	Labels    map[string]string
	// filters are every filter of the request: a page token is only valid
	// for the same ones.
	Filters []any
}

// List is the one List implementation: it fans fetch out to the
// clouds the location selects, keeps what keep accepts, and pages the merge
// in a stable order (cloud, name, id).
func List[T Named](ctx context.Context, r Resolver, q Query, fetch func(context.Context, *Cloud) ([]T, error), keep func(T) bool) ([]T, string, []*canopyv1.CloudError, error) {
	return ListWith(ctx, r, q, fetch, nil, keep)
}

// ListWith is List with resources of no one cloud (global networks and
// groups) merged in: extra lists them, when the location names no cloud.
// They sort first (their cloud is empty).
func ListWith[T Named](ctx context.Context, r Resolver, q Query, fetch func(context.Context, *Cloud) ([]T, error), extra func(context.Context) ([]T, error), keep func(T) bool) ([]T, string, []*canopyv1.CloudError, error) {
	size, err := PageSize(q.PageSize)
	if err != nil {
		return nil, "", nil, err
	}
	if err := CheckLabels("labels", q.Labels); err != nil {
		return nil, "", nil, err
	}
	targets, err := r.ListTargets(q.Location)
	if err != nil {
		return nil, "", nil, err
	}
	all, errs := FanOut(ctx, targets, fetch)
	if extra != nil && q.Location.GetCloud() == "" {
		more, err := extra(ctx)
		if err != nil {
			return nil, "", nil, err
		}
		all = append(more, all...)
	}
	proj := q.Location.GetProject() // authorized by ListScope
	kept := make([]T, 0, len(all))
	for _, it := range all {
		if p := it.GetLocation().GetProject(); proj != "" && p != "" && p != proj {
			continue
		}
		if keep(it) {
			kept = append(kept, it)
		}
	}
	key := func(it T) string { return SortKey(it.GetLocation().GetCloud(), it.GetName(), it.GetId()) }
	page, next, err := Paginate(kept, key, size, q.PageToken, FilterHash(append([]any{q.Location.String(), q.Labels}, q.Filters...)...))
	return page, next, errs, err
}

// AdoptAll converts one cloud's native resources, giving each its canopy id
// (adopting those seen for the first time) in one batched store call.
func AdoptAll[T, P any](ctx context.Context, r Resolver, cl *Cloud, kind string, list []T, native func(T) string, conv func(T, store.Mapping) P) ([]P, error) {
	natives := make([]string, len(list))
	for i, it := range list {
		natives[i] = native(it)
	}
	ms, err := r.Adopt(ctx, cl, kind, natives)
	if err != nil {
		return nil, err
	}
	out := make([]P, len(list))
	for i, it := range list {
		out[i] = conv(it, ms[natives[i]])
	}
	return out, nil
}
