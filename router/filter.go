package router

import (
	"fmt"
	"sort"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
)

// Named is what name lookups and merged lists need of any resource message.
type Named interface {
	GetId() string
	GetName() string
	GetLocation() *canopyv1.Location
}

// PickByName chooses the one resource with the name among a fanned-out
// list. None is NOT_FOUND (or UNAVAILABLE when some cloud did not answer,
// since the resource may live there); several is INVALID_ARGUMENT listing
// their ids, as shade does for ambiguous names.
func PickByName[T Named](kind, field, name string, items []T, errs []*canopyv1.CloudError) (T, error) {
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
		return zero, NotFound(kind, name)
	}
	ids := make([]string, len(found))
	for i, it := range found {
		ids[i] = it.GetLocation().GetCloud() + ":" + it.GetId()
	}
	sort.Strings(ids)
	return zero, BadRequest(field, "%d %ss are named %q (%s); use an id", len(found), kind, name, strings.Join(ids, ", "))
}

// OwnedBy keeps the resources of one project, so names never resolve to
// another project's resources.
func OwnedBy[T Named](project string, items []T) []T {
	var out []T
	for _, it := range items {
		if it.GetLocation().GetProject() == project {
			out = append(out, it)
		}
	}
	return out
}

// MatchLocation filters merged items by region and zone.
func MatchLocation(loc *canopyv1.Location, region, zone string) bool {
	if loc.GetRegion() != "" && loc.GetRegion() != region {
		return false
	}
	if loc.GetZone() != "" && loc.GetZone() != zone {
		return false
	}
	return true
}

// MatchLabels reports whether have carries every label of want.
func MatchLabels(want, have map[string]string) bool {
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}

// CheckIDFilter validates an optional canopy-id filter.
func CheckIDFilter(field, v string) error {
	if v == "" {
		return nil
	}
	if _, isID, err := IDOrName(field, v); err != nil || !isID {
		return BadRequest(field, "%q is not a canopy id", v)
	}
	return nil
}
