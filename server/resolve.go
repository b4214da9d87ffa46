package server

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/store"

	"github.com/canopy-cloud/canopy/router"
)

// lookupID follows the id map to the cloud holding a resource. A mapping
// of another kind or another project is NOT_FOUND, so ids never leak.
func (s *Server) lookupID(ctx context.Context, kind, id string) (*cloud, store.Mapping, error) {
	m, err := s.store.Get(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, m, router.NotFound(kind, id)
	}
	if err != nil {
		return nil, m, router.StoreErr("get "+id, err)
	}
	if m.Kind != kind || m.Project != project(ctx) {
		return nil, m, router.NotFound(kind, id)
	}
	cl, ok := s.clouds.byName[m.Cloud]
	if !ok {
		return nil, m, status.Errorf(codes.Unavailable, "%s %s is in cloud %q, which is no longer configured", kind, id, m.Cloud)
	}
	return cl, m, nil
}

// adopt returns the mappings of native resources of one cloud and kind,
// giving stable ids to those seen for the first time. What canopy did not
// create belongs to the cloud's configured project, never to whoever listed
// it first.
func (s *Server) adopt(ctx context.Context, cl *cloud, kind string, natives []string) (map[string]store.Mapping, error) {
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
	ms, err := s.store.Adopt(ctx, cl.name, kind, cl.project, uniq)
	if err != nil {
		return nil, router.StoreErr("adopt "+kind+"s of "+cl.name, err)
	}
	for _, m := range ms {
		ids[m.NativeID] = m
	}
	return ids, nil
}

// routeCreate picks the cloud a create goes to: location.cloud, else the
// cloud location.zone routes to, else the only cloud.
func (s *Server) routeCreate(loc *canopyv1.Location) (*cloud, error) {
	var cl *cloud
	if name := loc.GetCloud(); name != "" {
		c, ok := s.clouds.byName[name]
		if !ok {
			return nil, router.BadRequest("location.cloud", "unknown cloud %q (known: %v)", name, s.clouds.names())
		}
		cl = c
	}
	if z := loc.GetZone(); z != "" {
		zc, ok := s.clouds.byZone[z]
		if !ok {
			return nil, s.zoneErr(z)
		}
		if cl != nil && zc != cl {
			return nil, router.BadRequest("location.zone", "zone %q belongs to cloud %q, not %q", z, zc.name, cl.name)
		}
		cl = zc
	}
	if cl == nil {
		if len(s.clouds.list) != 1 {
			return nil, router.BadRequest("location", "%d clouds are configured (%v): set location.cloud or location.zone", len(s.clouds.list), s.clouds.names())
		}
		cl = s.clouds.list[0]
	}
	if r := loc.GetRegion(); r != "" && !contains(cl.regions, r) {
		return nil, router.BadRequest("location.region", "cloud %q has no region %q (it has %v)", cl.name, r, cl.regions)
	}
	return cl, nil
}

// resolveIn finds the native id of a flavor or image named by canopy id,
// name or native id, in the cloud a server goes to.
func (s *Server) resolveIn(ctx context.Context, cl *cloud, kind, field, v string, list func(context.Context) ([]nativeNamed, error)) (string, error) {
	if v == "" {
		return "", router.BadRequest(field, "required: a canopy id or a name")
	}
	if id, isID, err := router.IDOrName(field, v); err != nil {
		return "", err
	} else if isID {
		m, err := s.store.Get(ctx, id)
		if errors.Is(err, store.ErrNotFound) || (err == nil && m.Kind != kind) {
			return "", router.BadRequest(field, "no %s with id %s", kind, id)
		}
		if err != nil {
			return "", router.StoreErr("get "+id, err)
		}
		if m.Cloud != cl.name {
			return "", router.BadRequest(field, "%s %s is in cloud %q, but the server goes to cloud %q", kind, id, m.Cloud, cl.name)
		}
		return m.NativeID, nil
	}
	items, err := list(ctx)
	if err != nil {
		return "", router.CloudErr(cl.name, "list "+kind+"s", err)
	}
	for _, it := range items {
		if it.name == v {
			return it.native, nil
		}
	}
	for _, it := range items {
		if it.native == v {
			return it.native, nil
		}
	}
	return "", router.BadRequest(field, "no %s %q in cloud %q", kind, v, cl.name)
}

type nativeNamed struct{ native, name string }
