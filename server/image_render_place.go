package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/render"
	"github.com/canopy-cloud/canopy/router"
	"github.com/canopy-cloud/canopy/store"
)

// Putting a rendered file into a cloud is one small seam, placer: the
// image upload path (imageService.putImage), one streamed upload into the
// cloud's image service (on AWS raw blocks into an EBS snapshot through
// the EBS direct API, then RegisterImage), aborted (no image left) on any
// failure. Which formats a cloud takes is the replication's per-cloud
// configuration (disk_formats; formatsOf in image_replicate.go): a render
// lists the formats it makes, so it is not converted again here.
//
// What a render puts in clouds is recorded in the image placements
// ReplicateImage keeps (image_placements.go): the first cloud's image of
// an output is the origin, the others its placements, so
// ListImagePlacements shows them all and a later ReplicateImage skips the
// clouds that have it. renderedNS finds the origin of a rendered file
// (format and sha256) again, so a render of the same bytes reuses what is
// there. Records of the older render.placement namespace (one image per
// cloud, format and sha256) are still read, and moved into the placements
// when found.

// placer puts a rendered output into one cloud as a canopy image. It
// reuses an image an earlier render put there with the same bytes
// (reused, nothing moved).
type placer interface {
	place(ctx context.Context, cloud string, out render.File, name string, labels map[string]string) (im *canopyv1.Image, moved int64, reused bool, err error)
}

const (
	// renderedNS: "<format>/<sha256>" → the origin image of a rendered file.
	renderedNS = "image-rendered"
	// legacyPlacementNS: "<cloud>/<format>/<sha256>" → image id, as renders
	// recorded their images before they used the image placements.
	legacyPlacementNS = "render.placement"
)

// acceptsFormat says whether a cloud takes an output format, and why not.
func acceptsFormat(cl *router.Cloud, format string) error {
	switch cl.Kind {
	case "docker", "containerd":
		if format != render.FormatOCI {
			return fmt.Errorf("cloud %q (%s) runs containers: it takes the oci output, not %s", cl.Name, cl.Kind, format)
		}
	default:
		if format == render.FormatOCI {
			// The sim's image store keeps any bytes; a VM cloud has no
			// use for a container image.
			if cl.Kind != "sim" {
				return fmt.Errorf("cloud %q (%s) boots VM images: the oci output goes to container clouds", cl.Name, cl.Kind)
			}
		} else if f := formatsOf(cl); !slices.Contains(f.Accepted, format) {
			return fmt.Errorf("cloud %q (%s) takes disk formats %s (its disk_formats), not %s", cl.Name, cl.Kind, strings.Join(f.Accepted, ", "), format)
		}
	}
	if cl.Transfer == nil {
		return fmt.Errorf("cloud %q (%s) takes no image uploads", cl.Name, cl.Kind)
	}
	return nil
}

// uploadFormats are the disk and container formats an output is uploaded as.
func uploadFormats(format string) (disk, container string) {
	if format == render.FormatOCI {
		return "raw", "docker"
	}
	return format, "bare"
}

// place implements placer over the image upload path, recording the
// image in the output's placements.
func (s *imageService) place(ctx context.Context, cloud string, out render.File, name string, labels map[string]string) (*canopyv1.Image, int64, bool, error) {
	places := s.repl.places
	rkey := out.Format + "/" + out.SHA256
	origin, err := s.renderedOrigin(ctx, rkey)
	if err != nil {
		return nil, 0, false, err
	}
	if origin != "" {
		set, _, err := places.load(ctx, origin)
		if err != nil {
			return nil, 0, false, err
		}
		if pl, ok := set.Clouds[cloud]; ok {
			im, err := s.liveImage(ctx, pl.ImageID)
			if err != nil || im != nil {
				return im, 0, im != nil, err
			}
			// Deleted since (or broken): upload again.
		}
	}
	if im, err := s.legacyPlacement(ctx, cloud, out); err != nil || im != nil {
		if err == nil {
			err = s.recordRendered(ctx, rkey, origin, cloud, out, im, 0)
		}
		return im, 0, im != nil, err
	}
	f, err := os.Open(out.Path)
	if err != nil {
		return nil, 0, false, status.Errorf(codes.Internal, "open rendered %s: %v", out.Format, err)
	}
	defer f.Close()
	disk, container := uploadFormats(out.Format)
	up := imageUpload{loc: &canopyv1.Location{Cloud: cloud}, size: out.Size, wait: true, spec: providers.ImageSpec{
		Name: name, DiskFormat: disk, ContainerFormat: container, Labels: labels, SHA256: out.SHA256,
	}}
	buf := make([]byte, chunkSize)
	var moved int64
	next := func() ([]byte, error) {
		n, err := io.ReadFull(f, buf)
		moved += int64(n)
		if errors.Is(err, io.ErrUnexpectedEOF) {
			err = nil
			if n == 0 {
				err = io.EOF
			}
		}
		return buf[:n], err
	}
	im, err := s.putImage(ctx, up, next, func() string { return "" })
	if err != nil {
		return nil, moved, false, err
	}
	if err := s.recordRendered(ctx, rkey, origin, cloud, out, im, moved); err != nil {
		return nil, moved, false, err
	}
	return im, moved, false, nil
}

// renderedOrigin is the origin image of the rendered file rkey names, ""
// when none is recorded or its placements are gone (the origin deleted
// with no heir).
func (s *imageService) renderedOrigin(ctx context.Context, rkey string) (string, error) {
	raw, err := s.store.GetRecord(ctx, renderedNS, rkey)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", router.StoreErr("get rendered image "+rkey, err)
	}
	origin, err := s.repl.places.originOf(ctx, string(raw))
	if err != nil {
		return "", err
	}
	if _, found, err := s.repl.places.load(ctx, origin); err != nil || !found {
		return "", err
	}
	return origin, nil
}

// liveImage is image id when it is still there and not broken (nil: gone).
func (s *imageService) liveImage(ctx context.Context, id string) (*canopyv1.Image, error) {
	im, err := s.images.GetImage(ctx, &canopyv1.GetImageRequest{Id: id})
	switch {
	case err == nil && im.GetStatus() != canopyv1.Status_STATUS_ERROR:
		return im, nil
	case err != nil && status.Code(err) != codes.NotFound:
		return nil, err
	}
	return nil, nil
}

// legacyPlacement is the live image an older render recorded for out in
// cloud (nil: none).
func (s *imageService) legacyPlacement(ctx context.Context, cloud string, out render.File) (*canopyv1.Image, error) {
	key := cloud + "/" + out.Format + "/" + out.SHA256
	raw, err := s.store.GetRecord(ctx, legacyPlacementNS, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, router.StoreErr("get render placement", err)
	}
	im, err := s.liveImage(ctx, string(raw))
	if err == nil && im == nil {
		_ = s.store.DeleteRecord(ctx, legacyPlacementNS, key) // gone: nothing to move
	}
	return im, err
}

// recordRendered records im, out's image in cloud, in out's placements:
// the origin when out has none yet, else one of its placements. A legacy
// record it came from is dropped once moved.
func (s *imageService) recordRendered(ctx context.Context, rkey, origin, cloud string, out render.File, im *canopyv1.Image, moved int64) error {
	pl := placement{ImageID: im.GetId(), NativeID: im.GetNativeId(), Format: im.GetDiskFormat(), SHA256: out.SHA256, Size: out.Size, Moved: moved}
	if origin == "" {
		origin, pl.Origin = im.GetId(), true
	}
	if _, err := s.repl.places.update(ctx, origin, func(set *placementSet) {
		set.SHA256, set.Size = out.SHA256, out.Size
		set.Clouds[cloud] = pl
	}); err != nil {
		return err
	}
	if err := s.store.PutRecord(ctx, renderedNS, rkey, []byte(origin)); err != nil {
		return router.StoreErr("record rendered image "+rkey, err)
	}
	_ = s.store.DeleteRecord(ctx, legacyPlacementNS, cloud+"/"+out.Format+"/"+out.SHA256)
	return nil
}
