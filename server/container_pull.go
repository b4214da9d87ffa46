package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"google.golang.org/grpc/status"

	"github.com/canopy-cloud/canopy/internal/failpoint"
	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/router"
	"github.com/canopy-cloud/canopy/store"
)

// Pull through canopy: a container whose image its host lacks gets it
// from wherever canopy has it — another container cloud's runtime, or a
// cloud's image store (Glance with container_format docker, the sim) —
// streamed from that cloud's image reader into this cloud's image writer
// (`docker save` into `docker load`, an export into containerd's
// importer), never whole in canopyd's memory. The host keeps it: the next
// container of that image finds it there (the runtime caches by digest).

// sameRef says whether two image references name the same image, Docker's
// short names and their docker.io/library/ forms alike.
func sameRef(a, b string) bool {
	norm := func(r string) string {
		r = strings.TrimPrefix(r, "docker.io/")
		r = strings.TrimPrefix(r, "library/")
		if !strings.Contains(r[strings.LastIndexByte(r, '/')+1:], ":") && !strings.Contains(r, "@") {
			r += ":latest"
		}
		return r
	}
	return norm(a) == norm(b)
}

// ensureImage makes sure a container cloud has ref, pulling it through
// canopy when another cloud has it. It returns the cloud it came from ("":
// the host had it, or nobody has it and the create will say so).
func (s containerSteps) ensureImage(ctx context.Context, op *store.Operation, cl *router.Cloud, ref string) (string, error) {
	lister, ok := cl.Provider.(providers.ContainerImages)
	if !ok || cl.Transfer == nil {
		return "", nil
	}
	have, err := lister.ListContainerImages(ctx)
	if err != nil {
		return "", stepErr(cl.Name, "list images", err)
	}
	for _, im := range have {
		if sameRef(im.NativeID, ref) || sameRef(im.Name, ref) {
			return "", nil
		}
	}
	src, native, err := s.findImage(ctx, cl, ref)
	if err != nil || src == nil {
		return "", err
	}
	op.State["pull_from"] = src.Name
	rc, im, err := src.Transfer.NewImageReader(ctx, native)
	if err != nil {
		return "", stepErr(src.Name, "read image "+native, err)
	}
	defer rc.Close()
	if err := cl.Transfer.Gate(ctx); err != nil {
		return "", err
	}
	w, err := cl.Transfer.NewImageWriter(ctx, providers.ImageSpec{Name: ref, DiskFormat: "raw", ContainerFormat: "docker", Size: im.SizeBytes})
	if err != nil {
		return "", stepErr(cl.Name, "load image "+ref, err)
	}
	if _, err := io.Copy(w, rc); err != nil {
		_ = w.Abort()
		return "", stepErr(cl.Name, fmt.Sprintf("pull image %s from cloud %s", ref, src.Name), err)
	}
	failpoint.Hit("container.create:pulled")
	if _, err := w.Commit(); err != nil {
		return "", stepErr(cl.Name, "load image "+ref, err)
	}
	return src.Name, nil
}

// findImage looks for a container image named ref in the other clouds'
// image lists, the caller's cloud's neighbours first by name order.
func (s containerSteps) findImage(ctx context.Context, target *router.Cloud, ref string) (*router.Cloud, string, error) {
	var lastErr error
	for _, cl := range s.rt.Clouds() {
		if cl == target || cl.Transfer == nil || cl.Compute == nil {
			continue
		}
		// Fresh, not the cached catalogue: an image added a moment ago
		// (loaded, committed) counts.
		list, err := cl.Compute.ListImagesFresh(ctx)
		if err != nil {
			lastErr = err
			continue
		}
		for _, im := range list {
			if (im.ContainerFormat == "docker" || im.ContainerFormat == "oci") && (sameRef(im.Name, ref) || sameRef(im.NativeID, ref)) {
				return cl, im.NativeID, nil
			}
		}
	}
	if lastErr != nil && !errors.Is(lastErr, context.Canceled) {
		s.log.Warn("looking for a container image: a cloud did not answer", "image", ref, "err", lastErr)
	}
	if ctx.Err() != nil {
		return nil, "", status.FromContextError(ctx.Err()).Err()
	}
	return nil, "", nil
}
