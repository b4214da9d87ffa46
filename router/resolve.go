package router

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/canopy-cloud/canopy/auth"
	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/store"
)

// LookupID follows the id map to the cloud holding a resource. A mapping
// of another kind, or of another project that does not share it with the
// caller (sharing.go), is NOT_FOUND, so ids never leak. A shared
// resource's mapping names its owner: callers that change it check that.
func (r *Router) LookupID(ctx context.Context, kind, id string) (*Cloud, store.Mapping, error) {
	m, err := r.store.Get(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, m, NotFound(kind, id)
	}
	if err != nil {
		return nil, m, StoreErr("get "+id, err)
	}
	if m.Kind != kind {
		return nil, m, NotFound(kind, id)
	}
	if m.Project != Project(ctx) {
		if ok, err := r.sharedWith(ctx, m); err != nil {
			return nil, m, err
		} else if !ok {
			return nil, m, NotFound(kind, id)
		}
	}
	cl, ok := r.byName[m.Cloud]
	if !ok {
		return nil, m, status.Errorf(codes.Unavailable, "%s %s is in cloud %q, which is no longer configured", kind, id, m.Cloud)
	}
	return cl, m, nil
}

// Adopt returns the mappings of native resources of one cloud and kind,
// giving stable ids to those seen for the first time. What canopy did not
// create belongs to the cloud's configured project, never to whoever listed
// it first. natives come from a list or a poll, which may predate a
// delete: a store that keeps tombstones (store.Cached) answers a just
// deleted native with its old mapping instead of adopting it anew.
func (r *Router) Adopt(ctx context.Context, cl *Cloud, kind string, natives []string) (map[string]store.Mapping, error) {
	uniq := make([]string, 0, len(natives))
	seen := make(map[string]bool, len(natives))
	for _, n := range natives {
		if n != "" && !seen[n] {
			seen[n] = true
			uniq = append(uniq, n)
		}
	}
	ids := make(map[string]store.Mapping, len(uniq))
	if len(uniq) == 0 {
		return ids, nil
	}
	ms, err := r.adopt(ctx, cl.Name, kind, cl.Project, uniq)
	if err != nil {
		return nil, StoreErr("adopt "+kind+"s of "+cl.Name, err)
	}
	for _, m := range ms {
		ids[m.NativeID] = m
	}
	return ids, nil
}

// AdoptOne is Adopt for one native id; an empty one maps to the zero
// Mapping, as Adopt leaves it out.
func (r *Router) AdoptOne(ctx context.Context, cl *Cloud, kind, native string) (store.Mapping, error) {
	if native == "" {
		return store.Mapping{}, nil
	}
	ms, err := r.adopt(ctx, cl.Name, kind, cl.Project, []string{native})
	if err != nil {
		return store.Mapping{}, StoreErr("adopt "+kind+" of "+cl.Name, err)
	}
	if len(ms) != 1 {
		return store.Mapping{}, status.Errorf(codes.Internal, "adopt %s %s of %s: store answered %d mappings for one id", kind, native, cl.Name, len(ms))
	}
	return ms[0], nil
}

// adopt is the store's adoption of natives seen in a list or a poll:
// AdoptListed when the store keeps tombstones of deleted mappings.
func (r *Router) adopt(ctx context.Context, cloud, kind, project string, natives []string) ([]store.Mapping, error) {
	if l, ok := r.store.(listedAdopter); ok {
		return l.AdoptListed(ctx, cloud, kind, project, natives)
	}
	return r.store.Adopt(ctx, cloud, kind, project, natives)
}

// listedAdopter is a store that tells a deleted native from a new one
// (store.Cached.AdoptListed).
type listedAdopter interface {
	AdoptListed(ctx context.Context, cloud, kind, project string, nativeIDs []string) ([]store.Mapping, error)
}

// RouteCreate picks the cloud a create goes to: location.cloud, else the
// cloud location.zone routes to, else the only cloud.
func (r *Router) RouteCreate(loc *canopyv1.Location) (*Cloud, error) {
	var cl *Cloud
	if name := loc.GetCloud(); name != "" {
		c, ok := r.byName[name]
		if !ok {
			return nil, BadRequest("location.cloud", "unknown cloud %q (known: %v)", name, r.Names())
		}
		cl = c
	}
	if z := loc.GetZone(); z != "" {
		zc, ok := r.byZone[z]
		if !ok {
			return nil, r.ZoneErr(z)
		}
		if cl != nil && zc != cl {
			return nil, BadRequest("location.zone", "zone %q belongs to cloud %q, not %q", z, zc.Name, cl.Name)
		}
		cl = zc
	}
	if cl == nil {
		if len(r.list) != 1 {
			return nil, BadRequest("location", "%d clouds are configured (%v): set location.cloud or location.zone", len(r.list), r.Names())
		}
		cl = r.list[0]
	}
	if r := loc.GetRegion(); r != "" && !Contains(cl.Regions, r) {
		return nil, BadRequest("location.region", "cloud %q has no region %q (it has %v)", cl.Name, r, cl.Regions)
	}
	return cl, nil
}

// ResolveIn finds the native id of a flavor or image named by canopy id,
// name or native id, in the cloud a server goes to.
func (r *Router) ResolveIn(ctx context.Context, cl *Cloud, kind, field, v string, list func(context.Context) ([]NativeNamed, error)) (string, error) {
	if v == "" {
		return "", BadRequest(field, "required: a canopy id or a name")
	}
	if id, isID, err := IDOrName(field, v); err != nil {
		return "", err
	} else if isID {
		m, err := r.store.Get(ctx, id)
		if errors.Is(err, store.ErrNotFound) || (err == nil && m.Kind != kind) {
			return "", BadRequest(field, "no %s with id %s", kind, id)
		}
		if err != nil {
			return "", StoreErr("get "+id, err)
		}
		if ok, err := r.usable(ctx, m); err != nil {
			return "", err
		} else if !ok {
			return "", BadRequest(field, "no %s with id %s", kind, id)
		}
		if m.Cloud != cl.Name {
			return "", BadRequest(field, "%s %s is in cloud %q, but the server goes to cloud %q", kind, id, m.Cloud, cl.Name)
		}
		return m.NativeID, nil
	}
	items, err := list(ctx)
	if err != nil {
		return "", CloudErr(cl.Name, "list "+kind+"s", err)
	}
	for _, byName := range []bool{true, false} {
		for _, it := range items {
			if (byName && it.Name != v) || (!byName && it.Native != v) {
				continue
			}
			// Another project's private image of the same name is not
			// this caller's to boot, nor to learn of.
			m, err := r.store.Lookup(ctx, cl.Name, kind, it.Native)
			if errors.Is(err, store.ErrNotFound) {
				return it.Native, nil // never listed yet: the cloud's own
			}
			if err != nil {
				return "", StoreErr("lookup "+kind+" "+it.Native, err)
			}
			if ok, err := r.usable(ctx, m); err != nil {
				return "", err
			} else if ok {
				return it.Native, nil
			}
		}
	}
	return "", BadRequest(field, "no %s %q in cloud %q", kind, v, cl.Name)
}

// usable reports whether the caller may use m: its own, or shared with it.
func (r *Router) usable(ctx context.Context, m store.Mapping) (bool, error) {
	if m.Project == Project(ctx) {
		return true, nil
	}
	return r.sharedWith(ctx, m)
}

// NativeNamed is a native resource by id and name, as ResolveIn looks them up.
type NativeNamed struct{ Native, Name string }

// Project is the caller's project, from its token: what it may see.
func Project(ctx context.Context) string {
	p, _ := auth.FromContext(ctx)
	return p.Project
}
