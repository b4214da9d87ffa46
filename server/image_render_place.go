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
// lists the formats it makes, so it is not converted again here. Its
// records (placementNS) are not yet the image placements ReplicateImage
// keeps.

// placer puts a rendered output into one cloud as a canopy image. It
// reuses an image an earlier render put there with the same bytes
// (reused, nothing moved).
type placer interface {
	place(ctx context.Context, cloud string, out render.File, name string, labels map[string]string) (im *canopyv1.Image, moved int64, reused bool, err error)
}

// placementNS is where the images renders made are recorded, by cloud,
// format and sha256 of the bytes.
const placementNS = "render.placement"

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

// place implements placer over the image upload path.
func (s *imageService) place(ctx context.Context, cloud string, out render.File, name string, labels map[string]string) (*canopyv1.Image, int64, bool, error) {
	key := cloud + "/" + out.Format + "/" + out.SHA256
	if raw, err := s.store.GetRecord(ctx, placementNS, key); err == nil {
		im, gerr := s.images.GetImage(ctx, &canopyv1.GetImageRequest{Id: string(raw)})
		switch {
		case gerr == nil && im.GetStatus() != canopyv1.Status_STATUS_ERROR:
			return im, 0, true, nil
		case gerr != nil && status.Code(gerr) != codes.NotFound:
			return nil, 0, false, gerr
		}
		// Deleted since (or broken): upload again.
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, 0, false, router.StoreErr("get render placement", err)
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
	if err := s.store.PutRecord(ctx, placementNS, key, []byte(im.GetId())); err != nil {
		return nil, moved, false, router.StoreErr("record render placement", err)
	}
	return im, moved, false, nil
}
