package router

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/canopy-cloud/canopy/auth"
	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/store"
)

// Who sees what, beyond "a project sees its own resources":
//
//   - Catalogue kinds (flavors) belong to no project: every project uses
//     them by id or name.
//   - An image has a Sharing when canopy uploaded it: its project sees it,
//     and others as its visibility says (Glance's private, shared with
//     named projects, public). An image canopy did not make (the cloud's
//     own, adopted with a stable id) has none: it is the catalogue every
//     project boots from, and PUBLIC.
//   - An admin token sees every image by id (to inspect and delete).
//
// Everything else stays its project's alone: another project's id is
// NOT_FOUND, so ids never reveal what exists.

// sharingNamespace is the RecordStore namespace of image sharings, keyed
// by canopy id.
const sharingNamespace = "image-sharing"

// Sharing says who besides its project may see and use an image canopy
// uploaded.
type Sharing struct {
	Visibility canopyv1.Visibility `json:"visibility"`
	Projects   []string            `json:"projects,omitempty"` // with VISIBILITY_SHARED
}

// Allows reports whether project may see the image (its owner aside).
func (s Sharing) Allows(project string) bool {
	switch s.Visibility {
	case canopyv1.Visibility_VISIBILITY_PUBLIC:
		return true
	case canopyv1.Visibility_VISIBILITY_SHARED:
		return slices.Contains(s.Projects, project)
	}
	return false
}

// Catalogue is the Sharing of an image canopy did not upload.
var Catalogue = Sharing{Visibility: canopyv1.Visibility_VISIBILITY_PUBLIC}

// LoadSharing returns the sharing of image m; uploaded is false for a
// catalogue image (one canopy did not upload).
func LoadSharing(ctx context.Context, st store.RecordStore, m store.Mapping) (s Sharing, uploaded bool, err error) {
	raw, err := st.GetRecord(ctx, sharingNamespace, m.ID)
	if errors.Is(err, store.ErrNotFound) {
		s, uploaded = EffectiveSharing(m, Sharing{}, false)
		return s, uploaded, nil
	}
	if err != nil {
		return s, false, StoreErr("get sharing of image "+m.ID, err)
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return s, false, StoreErr("read sharing of image "+m.ID, err)
	}
	return s, true, nil
}

// EffectiveSharing is the sharing of image m given its record (found says
// whether it has one): without one, an adopted image (the cloud's own) is
// the PUBLIC catalogue, and one canopy made is PRIVATE to its project.
func EffectiveSharing(m store.Mapping, rec Sharing, found bool) (s Sharing, uploaded bool) {
	switch {
	case found:
		return rec, true
	case m.ID == store.AdoptedID(m.Cloud, m.Kind, m.NativeID):
		return Catalogue, false
	}
	return Sharing{Visibility: canopyv1.Visibility_VISIBILITY_PRIVATE}, true
}

// SaveSharing records (or replaces) an image's sharing, durably.
func SaveSharing(ctx context.Context, st store.RecordStore, id string, s Sharing) error {
	raw, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("router: encode sharing: %w", err)
	}
	if err := st.PutRecord(ctx, sharingNamespace, id, raw); err != nil {
		return StoreErr("save sharing of image "+id, err)
	}
	return nil
}

// DropSharing forgets a deleted image's sharing; a missing one is fine.
func DropSharing(ctx context.Context, st store.RecordStore, id string) error {
	if err := st.DeleteRecord(ctx, sharingNamespace, id); err != nil && !errors.Is(err, store.ErrNotFound) {
		return StoreErr("drop sharing of image "+id, err)
	}
	return nil
}

// Sharings returns the sharing of every image canopy uploaded, by canopy
// id: one store read for a whole list.
func Sharings(ctx context.Context, st store.RecordStore) (map[string]Sharing, error) {
	recs, err := st.ListRecords(ctx, sharingNamespace, "")
	if err != nil {
		return nil, StoreErr("list image sharings", err)
	}
	out := make(map[string]Sharing, len(recs))
	for _, r := range recs {
		var s Sharing
		if json.Unmarshal(r.Value, &s) == nil {
			out[r.Key] = s
		}
	}
	return out, nil
}

// Admin reports whether the caller's token has the admin scope.
func Admin(ctx context.Context) bool {
	p, _ := auth.FromContext(ctx)
	return p.Has(auth.ScopeAdmin)
}

// sharedWith reports whether the caller may see m, a resource of another
// project (see the rules above).
func (r *Router) sharedWith(ctx context.Context, m store.Mapping) (bool, error) {
	switch m.Kind {
	case providers.KindFlavor:
		return true, nil
	case providers.KindImage:
		if Admin(ctx) {
			return true, nil
		}
		s, _, err := LoadSharing(ctx, r.store, m)
		if err != nil {
			return false, err
		}
		return s.Allows(Project(ctx)), nil
	}
	return false, nil
}
