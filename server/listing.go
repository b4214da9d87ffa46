package server

import (
	"context"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/store"

	"github.com/canopy-cloud/canopy/router"
)

// listQuery is what every List request has in common.
type listQuery struct {
	pageSize  int32
	pageToken string
	loc       *canopyv1.Location
	labels    map[string]string
	// filters are every filter of the request: a page token is only valid
	// for the same ones.
	filters []any
}

// listAcross is the one List implementation: it fans fetch out to the
// clouds the location selects, keeps what keep accepts, and pages the merge
// in a stable order (cloud, name, id).
func listAcross[T router.Named](ctx context.Context, s *Server, q listQuery, fetch func(context.Context, *cloud) ([]T, error), keep func(T) bool) ([]T, string, []*canopyv1.CloudError, error) {
	size, err := router.PageSize(q.pageSize)
	if err != nil {
		return nil, "", nil, err
	}
	if err := router.CheckLabels("labels", q.labels); err != nil {
		return nil, "", nil, err
	}
	targets, err := s.listTargets(q.loc)
	if err != nil {
		return nil, "", nil, err
	}
	all, errs := fanOut(ctx, targets, fetch)
	var kept []T
	for _, it := range all {
		if keep(it) {
			kept = append(kept, it)
		}
	}
	key := func(it T) string { return router.SortKey(it.GetLocation().GetCloud(), it.GetName(), it.GetId()) }
	page, next, err := router.Paginate(kept, key, size, q.pageToken, router.FilterHash(append([]any{q.loc.String(), q.labels}, q.filters...)...))
	return page, next, errs, err
}

// adoptAll converts one cloud's native resources, giving each its canopy id
// (adopting those seen for the first time) in one batched store call.
func adoptAll[T, P any](ctx context.Context, s *Server, cl *cloud, kind string, list []T, native func(T) string, conv func(T, store.Mapping) P) ([]P, error) {
	natives := make([]string, len(list))
	for i, it := range list {
		natives[i] = native(it)
	}
	ms, err := s.adopt(ctx, cl, kind, natives)
	if err != nil {
		return nil, err
	}
	out := make([]P, len(list))
	for i, it := range list {
		out[i] = conv(it, ms[natives[i]])
	}
	return out, nil
}
