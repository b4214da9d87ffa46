package server

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/canopy-cloud/canopy/auth"
	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/router"
	"github.com/canopy-cloud/canopy/store"
)

// Image ownership and sharing (router/sharing.go has the rules): an image
// uploaded through canopy is its project's, PRIVATE unless the upload or
// an UpdateImage shares it; the clouds' own images are the PUBLIC
// catalogue. Only the owner (or an admin) changes or deletes an image.

// withSharing fills an image's project and sharing from its mapping and
// sharing record (found: false for a catalogue image).
func withSharing(im *canopyv1.Image, m store.Mapping, sh router.Sharing) *canopyv1.Image {
	if im.Location == nil {
		im.Location = &canopyv1.Location{}
	}
	im.Location.Project = m.Project
	im.Visibility = sh.Visibility
	im.SharedProjects = slices.Clone(sh.Projects)
	return im
}

// visibleImage reports whether the caller's project sees im (its own,
// shared with it, or public). Lists and name lookups keep these.
func visibleImage(ctx context.Context, im *canopyv1.Image) bool {
	p := project(ctx)
	switch {
	case im.GetLocation().GetProject() == p, im.GetVisibility() == canopyv1.Visibility_VISIBILITY_PUBLIC:
		return true
	case im.GetVisibility() == canopyv1.Visibility_VISIBILITY_SHARED:
		return slices.Contains(im.GetSharedProjects(), p)
	}
	return false
}

// checkSharing validates a requested visibility and project list (the
// field names are prefix + visibility / shared_projects) for an image of
// project owner. UNSPECIFIED is PRIVATE.
func checkSharing(prefix string, v canopyv1.Visibility, projects []string, owner string) (router.Sharing, error) {
	if _, known := canopyv1.Visibility_name[int32(v)]; !known {
		return router.Sharing{}, router.BadRequest(prefix+"visibility", "unknown value %d: use PRIVATE, SHARED or PUBLIC", v)
	}
	if v == canopyv1.Visibility_VISIBILITY_UNSPECIFIED {
		v = canopyv1.Visibility_VISIBILITY_PRIVATE
	}
	if len(projects) > 0 && v != canopyv1.Visibility_VISIBILITY_SHARED {
		return router.Sharing{}, router.BadRequest(prefix+"shared_projects", "only an image with visibility SHARED has shared projects (it is %s)", v)
	}
	const maxShared = 100
	if len(projects) > maxShared {
		return router.Sharing{}, router.BadRequest(prefix+"shared_projects", "at most %d projects, got %d", maxShared, len(projects))
	}
	seen := map[string]bool{}
	for i, p := range projects {
		field := fmt.Sprintf("%sshared_projects[%d]", prefix, i)
		switch {
		case !auth.ValidProject(p):
			return router.Sharing{}, router.BadRequest(field, "%q is not a project name (lower-case letters, digits, '_', '.', '-'; at most 63)", p)
		case p == owner:
			return router.Sharing{}, router.BadRequest(field, "%q owns the image: share it with other projects", p)
		case seen[p]:
			return router.Sharing{}, router.BadRequest(field, "%q is listed twice", p)
		}
		seen[p] = true
	}
	return router.Sharing{Visibility: v, Projects: slices.Clone(projects)}, nil
}

// ownedImage resolves an image the caller is to change or delete: one it
// cannot see is NOT_FOUND; one it sees but does not own (another
// project's shared or public image, a cloud's catalogue image) is
// PERMISSION_DENIED, unless the caller is an admin.
func (s *computeService) ownedImage(ctx context.Context, ref, verb string) (*router.Cloud, store.Mapping, router.Sharing, error) {
	id, isID, err := router.IDOrName("id", ref)
	if err != nil {
		return nil, store.Mapping{}, router.Sharing{}, err
	}
	if !isID {
		im, err := s.GetImage(ctx, &canopyv1.GetImageRequest{Id: ref})
		if err != nil {
			return nil, store.Mapping{}, router.Sharing{}, err
		}
		id = im.GetId()
	}
	cl, m, err := s.rt.LookupID(ctx, providers.KindImage, id)
	if err != nil {
		return nil, m, router.Sharing{}, err
	}
	sh, uploaded, err := router.LoadSharing(ctx, s.store, m)
	if err != nil {
		return nil, m, sh, err
	}
	switch {
	case router.Admin(ctx):
	case !uploaded:
		return nil, m, sh, status.Errorf(codes.PermissionDenied, "image %s is in cloud %q's own catalogue, not uploaded by a project: only an admin may %s it", m.ID, cl.Name, verb)
	case m.Project != project(ctx):
		return nil, m, sh, status.Errorf(codes.PermissionDenied, "image %s belongs to project %q and is only shared with yours: only its project may %s it", m.ID, m.Project, verb)
	}
	return cl, m, sh, nil
}

// UpdateImage implements canopyv1.ComputeServiceServer: the image's
// visibility and shared projects (AIP-134; update_mask names the fields).
func (s *computeService) UpdateImage(ctx context.Context, req *canopyv1.UpdateImageRequest) (*canopyv1.Image, error) {
	in := req.GetImage()
	if in == nil {
		return nil, router.BadRequest("image", "required: the image's id and the fields to change")
	}
	paths := req.GetUpdateMask().GetPaths()
	if len(paths) == 0 { // AIP-134: every updatable field set in image
		if in.GetVisibility() != canopyv1.Visibility_VISIBILITY_UNSPECIFIED {
			paths = append(paths, "visibility")
		}
		if len(in.GetSharedProjects()) > 0 {
			paths = append(paths, "shared_projects")
		}
		if len(paths) == 0 {
			return nil, router.BadRequest("update_mask", "nothing to update: set visibility or shared_projects")
		}
	}
	for i, p := range paths {
		if p != "visibility" && p != "shared_projects" {
			return nil, router.BadRequest(fmt.Sprintf("update_mask.paths[%d]", i), "%q cannot be updated: only visibility and shared_projects", p)
		}
	}
	cl, m, cur, err := s.ownedImage(ctx, in.GetId(), "update")
	if err != nil {
		return nil, err
	}
	v, projects := cur.Visibility, cur.Projects
	if slices.Contains(paths, "visibility") {
		if in.GetVisibility() == canopyv1.Visibility_VISIBILITY_UNSPECIFIED {
			return nil, router.BadRequest("image.visibility", "required: PRIVATE, SHARED or PUBLIC")
		}
		v = in.GetVisibility()
		if v != canopyv1.Visibility_VISIBILITY_SHARED {
			projects = nil // no longer shared with anyone in particular
		}
	}
	if slices.Contains(paths, "shared_projects") {
		projects = in.GetSharedProjects()
	}
	sh, err := checkSharing("image.", v, projects, m.Project)
	if err != nil {
		return nil, err
	}
	if err := router.SaveSharing(ctx, s.store, m.ID, sh); err != nil {
		return nil, err
	}
	c, err := cl.ComputeOrFail()
	if err != nil {
		return nil, err
	}
	im, err := c.GetImage(ctx, m.NativeID)
	if err != nil {
		return nil, router.CloudErr(cl.Name, "get image "+m.NativeID, err)
	}
	return withSharing(imagePB(cl.Name, m.ID, im), m, sh), nil
}

// DeleteImage implements canopyv1.ComputeServiceServer: the image at its
// cloud (providers.ImageDeleter), then canopy's records of it. An image
// the cloud no longer has is done (a retried delete), its records
// forgotten.
func (s *computeService) DeleteImage(ctx context.Context, req *canopyv1.DeleteImageRequest) (*canopyv1.Image, error) {
	cl, m, sh, err := s.ownedImage(ctx, req.GetId(), "delete")
	if status.Code(err) == codes.NotFound && req.GetAllowMissing() {
		return &canopyv1.Image{Id: req.GetId(), Status: canopyv1.Status_STATUS_DELETED, ProviderStatus: "deleted"}, nil
	}
	if err != nil {
		return nil, err
	}
	if m.Pending() {
		return nil, status.Errorf(codes.FailedPrecondition, "image %s is still being uploaded to cloud %q", m.ID, cl.Name)
	}
	c, err := cl.ComputeOrFail()
	if err != nil {
		return nil, err
	}
	out := &canopyv1.Image{Id: m.ID, NativeId: m.NativeID, Location: &canopyv1.Location{Cloud: cl.Name}}
	if im, err := c.GetImage(ctx, m.NativeID); err == nil {
		out = imagePB(cl.Name, m.ID, im)
	}
	withSharing(out, m, sh)
	if err := c.DeleteImage(ctx, m.NativeID); err != nil && !errors.Is(err, providers.ErrNotFound) {
		return nil, router.CloudErr(cl.Name, "delete image "+m.NativeID, err)
	}
	if err := router.DropSharing(context.WithoutCancel(ctx), s.store, m.ID); err != nil {
		return nil, err
	}
	if err := s.places.forget(context.WithoutCancel(ctx), m.ID); err != nil {
		return nil, err
	}
	if err := s.store.Delete(context.WithoutCancel(ctx), m.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, router.StoreErr("forget image "+m.ID, err)
	}
	out.Status, out.ProviderStatus = canopyv1.Status_STATUS_DELETED, "deleted"
	return out, nil
}
