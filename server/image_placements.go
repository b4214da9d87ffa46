package server

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
	"sync"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/router"
	"github.com/canopy-cloud/canopy/store"
)

// An image's placements are its realizations per cloud: the image as
// uploaded (the origin) and the replicas ReplicateImage made of it, each
// an image of its own with its own canopy id. They are one record per
// origin in the RecordStore, and every replica points back to its origin
// (placementOfNamespace), so any of them finds the others.

const (
	placementsNamespace  = "image-placements"   // origin id → placementSet
	placementOfNamespace = "image-placement-of" // replica id → origin id
)

// placement is an image's realization in one cloud.
type placement struct {
	ImageID  string `json:"image"`
	NativeID string `json:"native"`
	Format   string `json:"format,omitempty"`
	SHA256   string `json:"sha256,omitempty"`
	Size     int64  `json:"size,omitempty"`
	Origin   bool   `json:"origin,omitempty"`
	Moved    int64  `json:"moved,omitempty"`
}

// placementSet is every placement of one origin image.
type placementSet struct {
	Origin string `json:"origin"`
	// SHA256 and Size are the origin's bytes, once read.
	SHA256 string               `json:"sha256,omitempty"`
	Size   int64                `json:"size,omitempty"`
	Clouds map[string]placement `json:"clouds"`
}

// placements reads and changes placement records. Its lock serializes
// this process's read-modify-writes of a record (operations replicating
// one image to different clouds at once).
type placements struct {
	st store.RecordStore
	mu sync.Mutex
}

// originOf is the origin of image id: itself unless it is a replica.
func (p *placements) originOf(ctx context.Context, id string) (string, error) {
	raw, err := p.st.GetRecord(ctx, placementOfNamespace, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return id, nil
	case err != nil:
		return "", router.StoreErr("get origin of image "+id, err)
	}
	return string(raw), nil
}

// load returns the placements of origin (found false: none recorded).
func (p *placements) load(ctx context.Context, origin string) (placementSet, bool, error) {
	raw, err := p.st.GetRecord(ctx, placementsNamespace, origin)
	if errors.Is(err, store.ErrNotFound) {
		return placementSet{Origin: origin, Clouds: map[string]placement{}}, false, nil
	}
	if err != nil {
		return placementSet{}, false, router.StoreErr("get placements of image "+origin, err)
	}
	var s placementSet
	if err := json.Unmarshal(raw, &s); err != nil {
		return placementSet{}, false, router.StoreErr("read placements of image "+origin, err)
	}
	if s.Clouds == nil {
		s.Clouds = map[string]placement{}
	}
	return s, true, nil
}

// update changes the placements of origin under the lock, durably.
func (p *placements) update(ctx context.Context, origin string, change func(*placementSet)) (placementSet, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s, _, err := p.load(ctx, origin)
	if err != nil {
		return s, err
	}
	change(&s)
	raw, err := json.Marshal(s)
	if err != nil {
		return s, router.StoreErr("encode placements", err)
	}
	for cloud, pl := range s.Clouds {
		if pl.Origin || pl.ImageID == origin {
			continue
		}
		if err := p.st.PutRecord(ctx, placementOfNamespace, pl.ImageID, []byte(origin)); err != nil {
			return s, router.StoreErr("record the origin of image "+pl.ImageID+" in cloud "+cloud, err)
		}
	}
	if err := p.st.PutRecord(ctx, placementsNamespace, origin, raw); err != nil {
		return s, router.StoreErr("save placements of image "+origin, err)
	}
	return s, nil
}

// forget drops a deleted image from its placements. When it was the
// origin, the first replica left (by cloud name) becomes the origin, so
// the others still find each other and replication reads from it.
func (p *placements) forget(ctx context.Context, id string) error {
	if p == nil {
		return nil
	}
	origin, err := p.originOf(ctx, id)
	if err != nil {
		return err
	}
	_ = p.st.DeleteRecord(ctx, placementOfNamespace, id)
	if id != origin {
		_, err = p.update(ctx, origin, func(s *placementSet) {
			for cloud, pl := range s.Clouds {
				if pl.ImageID == id {
					delete(s.Clouds, cloud)
				}
			}
		})
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	s, found, err := p.load(ctx, origin)
	if err != nil || !found {
		return err
	}
	var heir string
	for cloud, pl := range s.Clouds {
		if pl.ImageID == id {
			delete(s.Clouds, cloud)
		} else if heir == "" || cloud < heir {
			heir = cloud
		}
	}
	if err := p.st.DeleteRecord(ctx, placementsNamespace, origin); err != nil && !errors.Is(err, store.ErrNotFound) {
		return router.StoreErr("drop placements of image "+origin, err)
	}
	if heir == "" {
		return nil
	}
	next := s.Clouds[heir]
	next.Origin = true
	s.Clouds[heir] = next
	s.Origin, s.SHA256, s.Size = next.ImageID, next.SHA256, next.Size
	raw, err := json.Marshal(s)
	if err != nil {
		return router.StoreErr("encode placements", err)
	}
	if err := p.st.PutRecord(ctx, placementsNamespace, s.Origin, raw); err != nil {
		return router.StoreErr("save placements of image "+s.Origin, err)
	}
	_ = p.st.DeleteRecord(ctx, placementOfNamespace, s.Origin)
	for _, pl := range s.Clouds {
		if pl.ImageID != s.Origin {
			if err := p.st.PutRecord(ctx, placementOfNamespace, pl.ImageID, []byte(s.Origin)); err != nil {
				return router.StoreErr("record the origin of image "+pl.ImageID, err)
			}
		}
	}
	return nil
}

// byCloud is the placements as Image.placements shows them.
func (s placementSet) byCloud() map[string]string {
	if len(s.Clouds) < 2 { // the origin alone: never replicated
		return nil
	}
	out := make(map[string]string, len(s.Clouds))
	for cloud, pl := range s.Clouds {
		out[cloud] = pl.ImageID
	}
	return out
}

// pb is the ListImagePlacementsResponse of s, by cloud name.
func (s placementSet) pb() *canopyv1.ListImagePlacementsResponse {
	out := &canopyv1.ListImagePlacementsResponse{OriginId: s.Origin, Sha256: s.SHA256}
	clouds := make([]string, 0, len(s.Clouds))
	for c := range s.Clouds {
		clouds = append(clouds, c)
	}
	sort.Strings(clouds)
	for _, c := range clouds {
		pl := s.Clouds[c]
		out.Placements = append(out.Placements, &canopyv1.ImagePlacement{Cloud: c, ImageId: pl.ImageID, NativeId: pl.NativeID,
			DiskFormat: pl.Format, Sha256: pl.SHA256, SizeBytes: pl.Size, Origin: pl.Origin, BytesMoved: pl.Moved})
	}
	return out
}

// withPlacements fills im.placements from the records (one read of each
// namespace for a whole page).
func (p *placements) withPlacements(ctx context.Context, ims ...*canopyv1.Image) error {
	if p == nil || len(ims) == 0 {
		return nil
	}
	sets, err := p.st.ListRecords(ctx, placementsNamespace, "")
	if err != nil || len(sets) == 0 {
		return err
	}
	of, err := p.st.ListRecords(ctx, placementOfNamespace, "")
	if err != nil {
		return err
	}
	origins := make(map[string]string, len(of))
	for _, r := range of {
		origins[r.Key] = string(r.Value)
	}
	byOrigin := make(map[string]map[string]string, len(sets))
	for _, r := range sets {
		var s placementSet
		if json.Unmarshal(r.Value, &s) == nil {
			byOrigin[r.Key] = s.byCloud()
		}
	}
	for _, im := range ims {
		origin := im.GetId()
		if o, ok := origins[origin]; ok {
			origin = o
		}
		im.Placements = byOrigin[origin]
	}
	return nil
}

// oneByName keeps, of the images named name that are placements of one
// image (its origin and replicas), only the origin: one image in many
// clouds is one name, not an ambiguity. Other images stay as they are.
func (p *placements) oneByName(ctx context.Context, ims []*canopyv1.Image, name string) ([]*canopyv1.Image, error) {
	if p == nil {
		return ims, nil
	}
	origins := map[string]string{} // image id → origin id, of those named name
	for _, im := range ims {
		if im.GetName() != name {
			continue
		}
		o, err := p.originOf(ctx, im.GetId())
		if err != nil {
			return nil, err
		}
		origins[im.GetId()] = o
	}
	if len(origins) < 2 {
		return ims, nil
	}
	// The one kept of each group: its origin when listed, else the first.
	keep := map[string]string{}
	for _, im := range ims {
		if o, named := origins[im.GetId()]; named && (keep[o] == "" || im.GetId() == o) {
			keep[o] = im.GetId()
		}
	}
	out := ims[:0:0]
	for _, im := range ims {
		if o, named := origins[im.GetId()]; !named || keep[o] == im.GetId() {
			out = append(out, im)
		}
	}
	return out, nil
}
