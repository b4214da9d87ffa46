package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/jobs"
	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/replicate"
	"github.com/canopy-cloud/canopy/router"
	"github.com/canopy-cloud/canopy/store"
)

// Replication places an image in more clouds (image_placements.go keeps
// where it is). An operation of kind image.replicate has one step,
// "place", that places the image in the next target cloud and goes to
// itself until every target has it: one durable step per target, so a
// restart resumes at the first cloud not placed yet. Each target is a
// stage of the operation (operation_stages.go) with its bytes and state.
//
// The replicator is also the internal API of other server code that
// needs an image in some clouds: Replicate starts the operation, Place
// does one cloud inside the caller's own operation step (RenderImage's
// uploads, CreateServer with an image from another cloud).

const opImageReplicate = "image.replicate"

// replicator places images in clouds.
type replicator struct {
	rt     router.Resolver
	store  store.Store
	places *placements
	copier *replicate.Copier
	ops    *ops // set when the runner exists (startVolumes)
	// moved counts the bytes written to target clouds (tests, metrics).
	moved atomic.Int64
	hooks atomic.Pointer[replicateHooks] // tests' hooks (image_replicate_claim.go)
}

func newReplicator(rt router.Resolver, st store.Store) *replicator {
	return &replicator{rt: rt, store: st, places: &placements{st: st}, copier: &replicate.Copier{}}
}

// replicateJob is an image.replicate operation's spec.
type replicateJob struct {
	Origin string   `json:"origin"`
	Clouds []string `json:"clouds"`
}

func (r *replicator) register(o *ops) {
	r.ops = o
	o.runner.Register(opImageReplicate, jobs.Kind{First: "place", Steps: map[string]jobs.Step{"place": r.stepPlace}})
}

// formatsOf is the disk formats cl takes: its config's, or its kind's.
func formatsOf(cl *router.Cloud) replicate.Formats {
	f := cl.Conf.DiskFormats
	if f == nil {
		return replicate.Defaults(cl.Kind)
	}
	out := replicate.Formats{Preferred: f.Preferred, Accepted: f.Accepted}
	if len(out.Accepted) == 0 && out.Preferred != "" {
		out.Accepted = []string{out.Preferred}
	}
	return out
}

// checkTargets validates the clouds an image in format goes to (field
// names the request's list), before any byte moves.
func (r *replicator) checkTargets(field string, clouds []string, format string) error {
	if len(clouds) == 0 {
		return router.BadRequest(field, "required: the names of the clouds to place the image in")
	}
	seen := map[string]bool{}
	for i, c := range clouds {
		f := fmt.Sprintf("%s[%d]", field, i)
		cl, ok := r.rt.Cloud(c)
		switch {
		case !ok:
			return router.BadRequest(f, "no cloud %q is configured", c)
		case seen[c]:
			return router.BadRequest(f, "cloud %q is listed twice", c)
		case cl.Transfer == nil || cl.Compute == nil:
			return router.CapabilityErr(c, providers.CapImageTransfer)
		}
		seen[c] = true
		if format == "" {
			continue
		}
		if _, _, err := formatsOf(cl).Choose(format); err != nil {
			return status.Errorf(codes.FailedPrecondition, "%s: cloud %q cannot take the image: %v", f, c, err)
		}
	}
	return nil
}

// Replicate starts the operation placing image (canopy id or name, as
// the caller sees it) in clouds, and answers with it (done, with wait).
func (r *replicator) Replicate(ctx context.Context, req *canopyv1.ReplicateImageRequest, images imageGetter) (*canopyv1.Operation, error) {
	if req.GetImage() == "" {
		return nil, router.BadRequest("image", "required: the image's canopy id or name")
	}
	return r.ops.asOperation(ctx, opImageReplicate, req, func() (opRequest, error) {
		im, err := images.GetImage(ctx, &canopyv1.GetImageRequest{Id: req.GetImage()})
		if err != nil {
			return opRequest{}, err
		}
		if err := r.checkTargets("clouds", req.GetClouds(), im.GetDiskFormat()); err != nil {
			return opRequest{}, err
		}
		origin, err := r.places.originOf(ctx, im.GetId())
		if err != nil {
			return opRequest{}, err
		}
		om, err := r.store.Get(ctx, origin)
		if err != nil {
			return opRequest{}, router.StoreErr("get image "+origin, err)
		}
		cl, ok := r.rt.Cloud(om.Cloud)
		if !ok || cl.Transfer == nil {
			return opRequest{}, router.CapabilityErr(om.Cloud, providers.CapImageTransfer)
		}
		return opRequest{cl: cl, target: origin, spec: replicateJob{Origin: origin, Clouds: req.GetClouds()}}, nil
	})
}

// imageGetter resolves an image as the caller sees it.
type imageGetter interface {
	GetImage(ctx context.Context, req *canopyv1.GetImageRequest) (*canopyv1.Image, error)
}

// stepPlace places the image in the first target cloud not done yet.
func (r *replicator) stepPlace(ctx context.Context, op *store.Operation) (jobs.Result, error) {
	var job replicateJob
	if err := json.Unmarshal(op.Spec, &job); err != nil {
		return jobs.Result{}, status.Errorf(codes.Internal, "operation %s: corrupt spec: %v", op.ID, err)
	}
	names := make([]string, len(job.Clouds))
	for i, c := range job.Clouds {
		names[i] = "replicate:" + c
	}
	if op.State["stages"] == "" {
		declareStages(op, names...)
	}
	done := 0
	for i, c := range job.Clouds {
		if s := getStage(*op, names[i]).State; s == "done" || s == "reused" {
			done++
			continue
		}
		last := time.Time{}
		progress := func(p replicate.Progress) {
			setStage(op, names[i], stage{State: p.State, Done: p.Done, Total: p.Total, Detail: p.Detail})
			if time.Since(last) < time.Second {
				return
			}
			last = time.Now()
			if got, err := r.store.UpdateOperation(ctx, *op); err == nil {
				*op = got
			}
		}
		pl, err := r.Place(ctx, op.Project, op.ID, job.Origin, c, progress)
		if err != nil {
			setStage(op, names[i], stage{State: "failed", Detail: status.Convert(err).Message()})
			return jobs.Result{}, err
		}
		st := stage{State: "done", Done: pl.Moved, Total: pl.Size, Detail: pl.Format + " " + pl.NativeID}
		if pl.Moved == 0 {
			st.State, st.Detail = "reused", "already there: "+pl.NativeID
		}
		setStage(op, names[i], st)
		return jobs.Result{Next: "place", Progress: int32(100 * (done + 1) / (len(job.Clouds) + 1))}, nil
	}
	set, _, err := r.places.load(ctx, job.Origin)
	if err != nil {
		return jobs.Result{}, err
	}
	return jobs.Result{Done: true, Response: anyBytes(set.pb())}, nil
}

// Place makes sure image (canopy id: an origin or one of its replicas)
// is in cloud, and returns its placement there; Moved is 0 when the cloud
// had it already. project owns the operation it runs in, opID is that
// operation ("" outside one). It runs in the caller's goroutine (an
// operation step): the image is read, converted and written as
// replicate.Copier does, and progress is told as it goes. Of several
// callers placing one image in one cloud at once, one copies and the
// others take its placement (image_replicate_claim.go).
func (r *replicator) Place(ctx context.Context, project, opID, image, cloud string, progress func(replicate.Progress)) (placement, error) {
	origin, err := r.places.originOf(ctx, image)
	if err != nil {
		return placement{}, err
	}
	om, err := r.store.Get(ctx, origin)
	if err != nil {
		return placement{}, router.StoreErr("get image "+origin, err)
	}
	ocl, ok := r.rt.Cloud(om.Cloud)
	if !ok || ocl.Compute == nil || ocl.Transfer == nil {
		return placement{}, router.CapabilityErr(om.Cloud, providers.CapImageTransfer)
	}
	src, err := ocl.Compute.GetImage(ctx, om.NativeID)
	if err != nil {
		return placement{}, router.CloudErr(ocl.Name, "get image "+om.NativeID, err)
	}
	set, _, err := r.places.load(ctx, origin)
	if err != nil {
		return placement{}, err
	}
	sum, _ := replicate.Sums(src)
	if sum == "" {
		sum = set.SHA256
	}
	originPl := placement{ImageID: origin, NativeID: om.NativeID, Format: src.DiskFormat, SHA256: sum, Size: src.SizeBytes, Origin: true}
	if cloud == om.Cloud {
		if _, err := r.places.update(ctx, origin, func(s *placementSet) { s.Clouds[cloud] = originPl }); err != nil {
			return placement{}, err
		}
		return originPl, nil
	}
	tcl, ok := r.rt.Cloud(cloud)
	if !ok || tcl.Compute == nil || tcl.Transfer == nil {
		return placement{}, router.CapabilityErr(cloud, providers.CapImageTransfer)
	}
	// Placed before: still there, it is the answer; gone, it is made again.
	found := func() (placement, bool, error) {
		set, _, err := r.places.load(ctx, origin)
		if err != nil {
			return placement{}, false, err
		}
		pl, ok := set.Clouds[cloud]
		if !ok {
			return placement{}, false, nil
		}
		if _, err := tcl.Compute.GetImage(ctx, pl.NativeID); err == nil {
			pl.Moved = 0
			return pl, true, nil
		} else if !errors.Is(err, providers.ErrNotFound) {
			return placement{}, false, router.CloudErr(cloud, "get image "+pl.NativeID, err)
		}
		return placement{}, false, nil
	}
	if pl, ok, err := found(); err != nil || ok {
		return pl, err
	}
	release, pl, ok, err := r.claimPlacing(ctx, origin, cloud, opID, found)
	if err != nil || ok {
		return pl, err
	}
	defer release()
	if h := r.hooks.Load(); h != nil && h.copying != nil {
		h.copying(origin, cloud)
	}
	if err := ocl.Transfer.Gate(ctx); err != nil {
		return placement{}, router.CloudErr(ocl.Name, "read image", err)
	}
	if err := tcl.Transfer.Gate(ctx); err != nil {
		return placement{}, router.CloudErr(cloud, "create image", err)
	}
	labels := map[string]string{}
	for k, v := range src.Labels {
		if !strings.HasPrefix(k, "canopy_") {
			labels[k] = v
		}
	}
	res, err := r.copier.Copy(ctx,
		replicate.Source{Transfer: ocl.Transfer, ID: om.NativeID, Format: src.DiskFormat, SHA256: sum, Size: src.SizeBytes},
		replicate.Target{Transfer: tcl.Transfer, List: tcl.Compute.ListImages, Formats: formatsOf(tcl),
			Spec: providers.ImageSpec{Name: src.Name, ContainerFormat: src.ContainerFormat, MinDiskGiB: src.MinDiskGiB, MinRAMMiB: src.MinRAMMiB, Labels: labels}},
		progress)
	r.moved.Add(res.Moved)
	if err != nil {
		return placement{}, copyErr(ocl.Name, cloud, err)
	}
	tcl.Compute.InvalidateImages()
	rm, err := r.replicaMapping(ctx, project, om, cloud, res.Image.NativeID)
	if err != nil {
		return placement{}, err
	}
	pl = placement{ImageID: rm.ID, NativeID: res.Image.NativeID, Format: res.Format, SHA256: res.SHA256, Size: res.Size, Moved: res.Moved}
	originPl.SHA256, originPl.Size = res.SourceSHA256, res.SourceSize
	if _, err := r.places.update(ctx, origin, func(s *placementSet) {
		s.SHA256, s.Size = res.SourceSHA256, res.SourceSize
		s.Clouds[om.Cloud] = originPl
		s.Clouds[cloud] = pl
	}); err != nil {
		return placement{}, err
	}
	return pl, nil
}

// replicaMapping is the canopy id of the replica native in cloud: the one
// it has, or a new one of the origin's project with the origin's sharing
// (a catalogue origin's replica is the operation's project's, private).
// A replica made before a crash, never mapped, is taken over the same way.
func (r *replicator) replicaMapping(ctx context.Context, project string, om store.Mapping, cloud, native string) (store.Mapping, error) {
	m, err := r.store.Lookup(ctx, cloud, providers.KindImage, native)
	if err == nil && m.ID != store.AdoptedID(cloud, providers.KindImage, native) {
		return m, nil
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return m, router.StoreErr("lookup image "+native, err)
	}
	sh, uploaded, err := router.LoadSharing(ctx, r.store, om)
	if err != nil {
		return m, err
	}
	owner := om.Project
	if !uploaded {
		owner, sh = project, router.Sharing{Visibility: canopyv1.Visibility_VISIBILITY_PRIVATE}
	}
	m, _, err = r.store.Reserve(ctx, store.Mapping{Cloud: cloud, Kind: providers.KindImage, Project: owner})
	if err != nil {
		return m, router.StoreErr("reserve image id", err)
	}
	if err := router.SaveSharing(ctx, r.store, m.ID, sh); err != nil {
		return m, err
	}
	bm, err := r.store.Bind(ctx, m.ID, native)
	if err != nil {
		_ = router.DropSharing(context.WithoutCancel(ctx), r.store, m.ID)
		_ = r.store.Delete(context.WithoutCancel(ctx), m.ID)
		return m, router.StoreErr("bind image "+native, err)
	}
	return bm, nil
}

// copyErr maps a copy's failure, naming the cloud at fault where it can.
func copyErr(from, to string, err error) error {
	switch {
	case errors.Is(err, providers.ErrInvalid), errors.Is(err, providers.ErrUnsupported):
		return status.Errorf(codes.FailedPrecondition, "replicate from cloud %q to cloud %q: %v", from, to, err)
	case errors.Is(err, providers.ErrIntegrity):
		return status.Errorf(codes.DataLoss, "replicate from cloud %q to cloud %q: %v", from, to, err)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	}
	return router.CloudErr(to, "replicate image from cloud "+from, err)
}

// ReplicateImage implements canopyv1.ImageTransferServiceServer.
func (s *imageService) ReplicateImage(ctx context.Context, req *canopyv1.ReplicateImageRequest) (*canopyv1.Operation, error) {
	return s.repl.Replicate(ctx, req, s.images)
}

// ListImagePlacements implements canopyv1.ImageTransferServiceServer.
func (s *imageService) ListImagePlacements(ctx context.Context, req *canopyv1.ListImagePlacementsRequest) (*canopyv1.ListImagePlacementsResponse, error) {
	if req.GetImage() == "" {
		return nil, router.BadRequest("image", "required: the image's canopy id or name")
	}
	im, err := s.images.GetImage(ctx, &canopyv1.GetImageRequest{Id: req.GetImage()})
	if err != nil {
		return nil, err
	}
	origin, err := s.repl.places.originOf(ctx, im.GetId())
	if err != nil {
		return nil, err
	}
	set, found, err := s.repl.places.load(ctx, origin)
	if err != nil {
		return nil, err
	}
	if !found { // never replicated: where it is
		sum, _ := replicate.Sums(providers.Image{Common: providers.Common{Labels: im.GetLabels(), Properties: im.GetProperties()}})
		set.SHA256 = sum
		set.Clouds[im.GetLocation().GetCloud()] = placement{ImageID: im.GetId(), NativeID: im.GetNativeId(), Format: im.GetDiskFormat(),
			SHA256: sum, Size: im.GetSizeBytes(), Origin: true}
	}
	return set.pb(), nil
}

// placeForServer places the image ref names (as the caller sees it) in
// cl, the cloud a server is being created in, when it is in another
// cloud, and returns the canopy id of its placement there. placed is
// false when ref names no image the caller sees elsewhere (the caller's
// own error about ref stands).
func (s *computeService) placeForServer(ctx context.Context, cl *router.Cloud, ref string) (string, bool, error) {
	if s.repl == nil || s.repl.ops == nil {
		return "", false, nil
	}
	im, err := s.GetImage(ctx, &canopyv1.GetImageRequest{Id: ref})
	if err != nil || im.GetLocation().GetCloud() == cl.Name {
		return "", false, nil
	}
	if err := s.repl.checkTargets("image", []string{cl.Name}, im.GetDiskFormat()); err != nil {
		return "", false, status.Errorf(status.Code(err), "image %s is in cloud %q, and placing it in cloud %q for the server: %s",
			im.GetId(), im.GetLocation().GetCloud(), cl.Name, status.Convert(err).Message())
	}
	pl, err := s.repl.Place(ctx, project(ctx), "", im.GetId(), cl.Name, nil)
	if err != nil {
		return "", false, status.Errorf(status.Code(err), "image %s is in cloud %q; placing it in cloud %q for the server: %s",
			im.GetId(), im.GetLocation().GetCloud(), cl.Name, status.Convert(err).Message())
	}
	return pl.ImageID, true, nil
}
