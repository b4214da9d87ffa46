package server

import (
	"context"
	"fmt"
	"sort"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/router"
	"github.com/canopy-cloud/canopy/store"
)

// cloudFlavors lists one cloud's flavors with canopy ids.
func (s *computeService) cloudFlavors(ctx context.Context, cl *router.Cloud) ([]*canopyv1.Flavor, error) {
	c, err := cl.ComputeOrFail()
	if err != nil {
		return nil, err
	}
	list, err := c.ListFlavors(ctx)
	if err != nil {
		return nil, router.CloudErr(cl.Name, "list flavors", err)
	}
	return router.AdoptAll(ctx, s.rt, cl, providers.KindFlavor, list, func(f providers.Flavor) string { return f.NativeID },
		func(f providers.Flavor, m store.Mapping) *canopyv1.Flavor { return flavorPB(cl.Name, m.ID, f) })
}

// cloudImages lists one cloud's images with canopy ids.
func (s *computeService) cloudImages(ctx context.Context, cl *router.Cloud) ([]*canopyv1.Image, error) {
	c, err := cl.ComputeOrFail()
	if err != nil {
		return nil, err
	}
	list, err := c.ListImages(ctx)
	if err != nil {
		return nil, router.CloudErr(cl.Name, "list images", err)
	}
	shared, err := router.Sharings(ctx, s.store)
	if err != nil {
		return nil, err
	}
	return router.AdoptAll(ctx, s.rt, cl, providers.KindImage, list, func(im providers.Image) string { return im.NativeID },
		func(im providers.Image, m store.Mapping) *canopyv1.Image {
			rec, found := shared[m.ID]
			sh, _ := router.EffectiveSharing(m, rec, found)
			return withSharing(imagePB(cl.Name, m.ID, im), m, sh)
		})
}

// visibleImages is cloudImages keeping what the caller's project sees.
func (s *computeService) visibleImages(ctx context.Context, cl *router.Cloud) ([]*canopyv1.Image, error) {
	all, err := s.cloudImages(ctx, cl)
	out := all[:0]
	for _, im := range all {
		if visibleImage(ctx, im) {
			out = append(out, im)
		}
	}
	return out, err
}

// ListFlavors implements canopyv1.ComputeServiceServer.
func (s *computeService) ListFlavors(ctx context.Context, req *canopyv1.ListFlavorsRequest) (*canopyv1.ListFlavorsResponse, error) {
	q := router.Query{PageSize: req.GetPageSize(), PageToken: req.GetPageToken(), Location: req.GetLocation(), Labels: req.GetLabels(), Filters: []any{"flavors", req.GetName()}}
	page, next, errs, err := router.List(ctx, s.rt, q, s.cloudFlavors, func(f *canopyv1.Flavor) bool {
		return (req.GetName() == "" || f.Name == req.GetName()) && router.MatchLabels(req.GetLabels(), f.Labels) && router.MatchLocation(req.GetLocation(), f.Location.GetRegion(), "")
	})
	if err != nil {
		return nil, err
	}
	return &canopyv1.ListFlavorsResponse{Flavors: page, NextPageToken: next, CloudErrors: errs, Unreachable: router.Unreachable(errs)}, nil
}

// GetFlavor implements canopyv1.ComputeServiceServer.
func (s *computeService) GetFlavor(ctx context.Context, req *canopyv1.GetFlavorRequest) (*canopyv1.Flavor, error) {
	v, isID, err := router.IDOrName("id", req.GetId())
	if err != nil {
		return nil, err
	}
	if !isID {
		all, errs := router.FanOut(ctx, s.rt.Clouds(), s.cloudFlavors)
		return router.PickByName(providers.KindFlavor, "id", v, all, errs)
	}
	cl, m, err := s.rt.LookupID(ctx, providers.KindFlavor, v)
	if err != nil {
		return nil, err
	}
	list, err := s.cloudFlavors(ctx, cl)
	if err != nil {
		return nil, err
	}
	for _, f := range list {
		if f.NativeId == m.NativeID {
			return f, nil
		}
	}
	return nil, router.NotFound(providers.KindFlavor, v)
}

// FindFlavor implements canopyv1.ComputeServiceServer: the smallest flavor
// meeting every minimum. "Smallest" orders by memory, then vcpus, disk and
// GPUs; ties break by cloud name, flavor name and native id, so the answer
// is the same on every call.
func (s *computeService) FindFlavor(ctx context.Context, req *canopyv1.FindFlavorRequest) (*canopyv1.Flavor, error) {
	for field, v := range map[string]int64{"min_vcpus": int64(req.GetMinVcpus()), "min_ram_mib": req.GetMinRamMib(), "min_disk_gib": req.GetMinDiskGib(), "min_gpus": int64(req.GetMinGpus())} {
		if v < 0 {
			return nil, router.BadRequest(field, "must not be negative, got %d", v)
		}
	}
	targets, err := s.rt.ListTargets(req.GetLocation())
	if err != nil {
		return nil, err
	}
	all, errs := router.FanOut(ctx, targets, s.cloudFlavors)
	var fit []*canopyv1.Flavor
	for _, f := range all {
		if f.Vcpus >= req.GetMinVcpus() && f.RamMib >= req.GetMinRamMib() && f.DiskGib >= req.GetMinDiskGib() &&
			f.Gpus >= req.GetMinGpus() && f.Status == canopyv1.Status_STATUS_ACTIVE && router.MatchLocation(req.GetLocation(), f.Location.GetRegion(), "") {
			fit = append(fit, f)
		}
	}
	if len(fit) == 0 {
		want := fmt.Sprintf("vcpus>=%d ram_mib>=%d disk_gib>=%d gpus>=%d", req.GetMinVcpus(), req.GetMinRamMib(), req.GetMinDiskGib(), req.GetMinGpus())
		if len(errs) > 0 {
			return router.PickByName[*canopyv1.Flavor](providers.KindFlavor, "", want, nil, errs)
		}
		return nil, status.Errorf(codes.NotFound, "no flavor has %s (searched %d clouds)", want, len(targets))
	}
	sort.Slice(fit, func(i, j int) bool {
		a, b := fit[i], fit[j]
		switch {
		case a.RamMib != b.RamMib:
			return a.RamMib < b.RamMib
		case a.Vcpus != b.Vcpus:
			return a.Vcpus < b.Vcpus
		case a.DiskGib != b.DiskGib:
			return a.DiskGib < b.DiskGib
		case a.Gpus != b.Gpus:
			return a.Gpus < b.Gpus
		case a.Location.GetCloud() != b.Location.GetCloud():
			return a.Location.GetCloud() < b.Location.GetCloud()
		case a.Name != b.Name:
			return a.Name < b.Name
		}
		return a.NativeId < b.NativeId
	})
	return fit[0], nil
}

// ListImages implements canopyv1.ComputeServiceServer.
func (s *computeService) ListImages(ctx context.Context, req *canopyv1.ListImagesRequest) (*canopyv1.ListImagesResponse, error) {
	q := router.Query{PageSize: req.GetPageSize(), PageToken: req.GetPageToken(), Location: req.GetLocation(), Labels: req.GetLabels(), Filters: []any{"images", req.GetName(), req.GetStatus()}}
	page, next, errs, err := router.List(ctx, s.rt, q, s.visibleImages, func(im *canopyv1.Image) bool {
		return (req.GetName() == "" || im.Name == req.GetName()) && (req.GetStatus() == 0 || im.Status == req.GetStatus()) &&
			router.MatchLabels(req.GetLabels(), im.Labels) && router.MatchLocation(req.GetLocation(), im.Location.GetRegion(), "")
	})
	if err != nil {
		return nil, err
	}
	if err := s.places.withPlacements(ctx, page...); err != nil {
		return nil, router.StoreErr("list image placements", err)
	}
	return &canopyv1.ListImagesResponse{Images: page, NextPageToken: next, CloudErrors: errs, Unreachable: router.Unreachable(errs)}, nil
}

// GetImage implements canopyv1.ComputeServiceServer.
func (s *computeService) GetImage(ctx context.Context, req *canopyv1.GetImageRequest) (*canopyv1.Image, error) {
	v, isID, err := router.IDOrName("id", req.GetId())
	if err != nil {
		return nil, err
	}
	if !isID {
		all, errs := router.FanOut(ctx, s.rt.Clouds(), s.visibleImages)
		if all, err = s.places.oneByName(ctx, all, v); err != nil {
			return nil, err
		}
		im, err := router.PickByName(providers.KindImage, "id", v, all, errs)
		if err != nil {
			return nil, err
		}
		if err := s.places.withPlacements(ctx, im); err != nil {
			return nil, router.StoreErr("get image placements", err)
		}
		return im, nil
	}
	cl, m, err := s.rt.LookupID(ctx, providers.KindImage, v)
	if err != nil {
		return nil, err
	}
	c, err := cl.ComputeOrFail()
	if err != nil {
		return nil, err
	}
	im, err := c.GetImage(ctx, m.NativeID)
	if router.IsNotFound(err) {
		return nil, router.NotFound(providers.KindImage, v)
	}
	if err != nil {
		return nil, router.CloudErr(cl.Name, "get image "+m.NativeID, err)
	}
	sh, _, err := router.LoadSharing(ctx, s.store, m)
	if err != nil {
		return nil, err
	}
	out := withSharing(imagePB(cl.Name, m.ID, im), m, sh)
	if err := s.places.withPlacements(ctx, out); err != nil {
		return nil, router.StoreErr("get image placements", err)
	}
	return out, nil
}

// flavorNames and imageNames feed resolveIn.
func flavorNames(c providers.Compute) func(context.Context) ([]router.NativeNamed, error) {
	return func(ctx context.Context) ([]router.NativeNamed, error) {
		list, err := c.ListFlavors(ctx)
		out := make([]router.NativeNamed, len(list))
		for i, f := range list {
			out[i] = router.NativeNamed{Native: f.NativeID, Name: f.Name}
		}
		return out, err
	}
}

func imageNames(c providers.Compute) func(context.Context) ([]router.NativeNamed, error) {
	return func(ctx context.Context) ([]router.NativeNamed, error) {
		list, err := c.ListImages(ctx)
		out := make([]router.NativeNamed, len(list))
		for i, im := range list {
			out[i] = router.NativeNamed{Native: im.NativeID, Name: im.Name}
		}
		return out, err
	}
}
