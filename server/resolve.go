package server

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/store"
)

// lookupID follows the id map to the cloud holding a resource. A mapping
// of another kind or another project is NOT_FOUND, so ids never leak.
func (s *Server) lookupID(ctx context.Context, kind, id string) (*cloud, store.Mapping, error) {
	m, err := s.store.Get(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, m, notFound(kind, id)
	}
	if err != nil {
		return nil, m, storeErr("get "+id, err)
	}
	if m.Kind != kind || m.Project != project(ctx) {
		return nil, m, notFound(kind, id)
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
		return nil, storeErr("adopt "+kind+"s of "+cl.name, err)
	}
	for _, m := range ms {
		ids[m.NativeID] = m
	}
	return ids, nil
}

// named is what name lookups need of any resource message.
type named interface {
	GetId() string
	GetName() string
	GetLocation() *canopyv1.Location
}

// pickByName chooses the one resource with the name among a fanned-out
// list. None is NOT_FOUND (or UNAVAILABLE when some cloud did not answer,
// since the resource may live there); several is INVALID_ARGUMENT listing
// their ids, as shade does for ambiguous names.
func pickByName[T named](kind, field, name string, items []T, errs []*canopyv1.CloudError) (T, error) {
	var found []T
	for _, it := range items {
		if it.GetName() == name {
			found = append(found, it)
		}
	}
	var zero T
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		if len(errs) > 0 {
			clouds := make([]string, len(errs))
			for i, e := range errs {
				clouds[i] = fmt.Sprintf("%s (%s)", e.Cloud, e.Message)
			}
			return zero, status.Errorf(codes.Unavailable, "%s %q not found in the clouds that answered; unreachable: %s", kind, name, strings.Join(clouds, "; "))
		}
		return zero, notFound(kind, name)
	}
	ids := make([]string, len(found))
	for i, it := range found {
		ids[i] = it.GetLocation().GetCloud() + ":" + it.GetId()
	}
	sort.Strings(ids)
	return zero, badRequest(field, "%d %ss are named %q (%s); use an id", len(found), kind, name, strings.Join(ids, ", "))
}

// routeCreate picks the cloud a create goes to: location.cloud, else the
// cloud location.zone routes to, else the only cloud.
func (s *Server) routeCreate(loc *canopyv1.Location) (*cloud, error) {
	var cl *cloud
	if name := loc.GetCloud(); name != "" {
		c, ok := s.clouds.byName[name]
		if !ok {
			return nil, badRequest("location.cloud", "unknown cloud %q (known: %v)", name, s.clouds.names())
		}
		cl = c
	}
	if z := loc.GetZone(); z != "" {
		zc, ok := s.clouds.byZone[z]
		if !ok {
			return nil, s.zoneErr(z)
		}
		if cl != nil && zc != cl {
			return nil, badRequest("location.zone", "zone %q belongs to cloud %q, not %q", z, zc.name, cl.name)
		}
		cl = zc
	}
	if cl == nil {
		if len(s.clouds.list) != 1 {
			return nil, badRequest("location", "%d clouds are configured (%v): set location.cloud or location.zone", len(s.clouds.list), s.clouds.names())
		}
		cl = s.clouds.list[0]
	}
	if r := loc.GetRegion(); r != "" && !contains(cl.regions, r) {
		return nil, badRequest("location.region", "cloud %q has no region %q (it has %v)", cl.name, r, cl.regions)
	}
	return cl, nil
}

// resolveIn finds the native id of a flavor or image named by canopy id,
// name or native id, in the cloud a server goes to.
func (s *Server) resolveIn(ctx context.Context, cl *cloud, kind, field, v string, list func(context.Context) ([]nativeNamed, error)) (string, error) {
	if v == "" {
		return "", badRequest(field, "required: a canopy id or a name")
	}
	if id, isID, err := idOrName(field, v); err != nil {
		return "", err
	} else if isID {
		m, err := s.store.Get(ctx, id)
		if errors.Is(err, store.ErrNotFound) || (err == nil && m.Kind != kind) {
			return "", badRequest(field, "no %s with id %s", kind, id)
		}
		if err != nil {
			return "", storeErr("get "+id, err)
		}
		if m.Cloud != cl.name {
			return "", badRequest(field, "%s %s is in cloud %q, but the server goes to cloud %q", kind, id, m.Cloud, cl.name)
		}
		return m.NativeID, nil
	}
	items, err := list(ctx)
	if err != nil {
		return "", cloudErr(cl.name, "list "+kind+"s", err)
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
	return "", badRequest(field, "no %s %q in cloud %q", kind, v, cl.name)
}

type nativeNamed struct{ native, name string }

// ownedBy keeps the resources of one project, so names never resolve to
// another project's resources.
func ownedBy[T named](project string, items []T) []T {
	var out []T
	for _, it := range items {
		if it.GetLocation().GetProject() == project {
			out = append(out, it)
		}
	}
	return out
}
