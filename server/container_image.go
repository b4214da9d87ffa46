package server

import (
	"context"

	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/router"
)

// A container's image may be named by its canopy id (an image uploaded,
// rendered or replicated through canopy) as well as by a reference the
// runtime knows. The id is resolved when the create is asked, as the
// caller sees images, into the reference the container cloud runs:
//
//   - an image in that cloud: its native reference there;
//   - an image placed there (ReplicateImage, a render to several clouds):
//     that placement's reference;
//   - a container image only in other clouds: its name, which the create
//     pulls through canopy (container_pull.go) from the cloud that has it.
//
// A VM disk image is refused naming the field.

// containerImageRef is the reference ref names in cl (ref itself when it
// is not a canopy id).
func containerImageRef(ctx context.Context, images imageGetter, cl *router.Cloud, ref string) (string, error) {
	if images == nil || len(ref) != 36 {
		return ref, nil
	}
	if _, err := uuid.Parse(ref); err != nil {
		return ref, nil
	}
	im, err := images.GetImage(ctx, &canopyv1.GetImageRequest{Id: ref})
	if status.Code(err) == codes.NotFound {
		return ref, nil // not a canopy image: a reference the runtime may know
	}
	if err != nil {
		return "", err
	}
	if cf := im.GetContainerFormat(); cf != "docker" && cf != "oci" {
		return "", router.BadRequest("image", "image %s is a VM disk image (container_format %q, disk_format %q): a container needs a container image (container_format docker or oci)",
			ref, cf, im.GetDiskFormat())
	}
	if im.GetLocation().GetCloud() == cl.Name {
		return im.GetNativeId(), nil
	}
	if id, ok := im.GetPlacements()[cl.Name]; ok {
		pl, err := images.GetImage(ctx, &canopyv1.GetImageRequest{Id: id})
		if err == nil && pl.GetLocation().GetCloud() == cl.Name {
			return pl.GetNativeId(), nil
		}
	}
	return im.GetName(), nil
}
