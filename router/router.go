// Package router is what sits between canopy's gRPC services and the
// clouds. It owns each configured cloud's stack, built once when it opens
// (Open): the adapter, the cache layer over it (package cache: reads,
// batched pollers, the rate limiter), the emulation layer over block
// storage (package emulate) and the byte transfer drivers. It resolves
// where a call goes (a create's Location to a cloud; a canopy id to its
// cloud and native id, through the store's id map), fans lists out across
// clouds and merges them in one stable, paged order, and holds the request
// validation helpers and the one mapping of provider errors to gRPC
// statuses (CloudErr).
//
// It holds no gRPC service: the services in package server are thin types
// over the Resolver interface.
package router

import (
	"context"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/store"
)

// Resolver is what services need of the router: the clouds, and the
// resolution of locations, ids and names to them. *Router implements it;
// services hold it (or a narrower interface of their own), never the
// concrete router.
type Resolver interface {
	Clouds() []*Cloud
	Cloud(name string) (*Cloud, bool)
	// RouteCreate picks the cloud a create goes to.
	RouteCreate(loc *canopyv1.Location) (*Cloud, error)
	// ListTargets picks the clouds a list goes to.
	ListTargets(loc *canopyv1.Location) ([]*Cloud, error)
	// LookupID follows the id map to the cloud of a resource.
	LookupID(ctx context.Context, kind, id string) (*Cloud, store.Mapping, error)
	// Adopt maps native ids to canopy ids, giving new ones stable ids.
	Adopt(ctx context.Context, cl *Cloud, kind string, natives []string) (map[string]store.Mapping, error)
	// AdoptOne is Adopt for one native id: the Get paths convert one
	// resource per call, and the maps of a batch were most of what a
	// cached Get allocated.
	AdoptOne(ctx context.Context, cl *Cloud, kind, native string) (store.Mapping, error)
	// ClaimTokens checks listed resources' idempotency tokens: binds those
	// a crash left pending, and returns (and deletes or reports) the crash
	// duplicates, which lists drop (duplicates.go; use Claimed).
	ClaimTokens(ctx context.Context, cl *Cloud, kind string, natives, tokens []string, ids map[string]store.Mapping, del func(context.Context, string) error) map[string]bool
	// ResolveIn finds the native id of a flavor or image in a cloud.
	ResolveIn(ctx context.Context, cl *Cloud, kind, field, v string, list func(context.Context) ([]NativeNamed, error)) (string, error)
}

var _ Resolver = (*Router)(nil)

// Find resolves a reference to a project's resource, a canopy id or a
// name, to its cloud and id mapping. A name is looked up in every cloud's
// list (list), among the caller's resources only; an id through the id
// map. It is the one "find by id or name" of every kind a project owns.
func Find[T Named](ctx context.Context, r Resolver, kind, field, ref string, list func(context.Context, *Cloud) ([]T, error)) (*Cloud, store.Mapping, error) {
	id, isID, err := IDOrName(field, ref)
	if err != nil {
		return nil, store.Mapping{}, err
	}
	if !isID {
		all, errs := FanOut(ctx, r.Clouds(), list)
		x, err := PickByName(kind, field, id, OwnedBy(Project(ctx), all), errs)
		if err != nil {
			return nil, store.Mapping{}, err
		}
		id = x.GetId()
	}
	return r.LookupID(ctx, kind, id)
}
