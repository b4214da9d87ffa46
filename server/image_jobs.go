package server

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/jobs"
	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/router"
	"github.com/canopy-cloud/canopy/store"
)

// An image whose data the cloud processes after the upload (Glance's image
// import, EC2's ImportImage) is PENDING when the upload returns. An
// operation of kind image.upload then waits, through the cloud's batched
// image poller, until it is ACTIVE and answers with it; it is durable like
// every operation, so a canopyd restart resumes the wait.

const opImageUpload = "image.upload"

func (v *jobSet) registerImageJobs() {
	v.runner.Register(opImageUpload, jobs.Kind{First: "wait", Steps: map[string]jobs.Step{"wait": v.stepWaitImage}})
}

// stepWaitImage waits until the image is ACTIVE, and fails when it goes to
// ERROR or disappears. Waiting again after a crash is harmless.
func (v *changeSteps) stepWaitImage(ctx context.Context, op *store.Operation) (jobs.Result, error) {
	var spec jobSpec
	if err := json.Unmarshal(op.Spec, &spec); err != nil {
		return jobs.Result{}, status.Errorf(codes.Internal, "operation %s: corrupt spec: %v", op.ID, err)
	}
	cl := v.cloud(op.Cloud)
	if cl == nil || cl.Images == nil {
		return jobs.Result{}, status.Errorf(codes.FailedPrecondition, "cloud %q is no longer configured with images", op.Cloud)
	}
	native := spec.ImageNative
	wctx, cancel := v.waitCtx(ctx)
	defer cancel()
	start := time.Now()
	im, present, err := cl.Images.Wait(wctx, native, func(x providers.Image, present bool) bool {
		return !present || x.Status == providers.StatusActive || x.Status == providers.StatusError
	})
	switch {
	case err != nil:
		return jobs.Result{}, waitErr(ctx, cl.Name, providers.KindImage, native, "active", start, err)
	case !present:
		return jobs.Result{}, router.Detailed(codes.NotFound, fmt.Sprintf("cloud %q: image %s is gone", cl.Name, native),
			&errdetails.ResourceInfo{ResourceType: providers.KindImage, ResourceName: native, Description: "gone while canopy waited for its import"})
	case im.Status == providers.StatusError:
		return jobs.Result{}, resourceErr(cl.Name, providers.KindImage, native, im.StatusMessage)
	}
	cl.Compute.InvalidateImages()
	out := imagePB(cl.Name, op.TargetID, im)
	out.Operation = op.ID
	return jobs.Result{Done: true, Progress: 100, Response: anyBytes(out)}, nil
}

// trackImport starts the operation that waits for an uploaded image the
// cloud still processes, and answers with the image: PENDING with the
// operation's id, or (wait) as the operation ended.
func (v *ops) trackImport(ctx context.Context, cl *router.Cloud, im *canopyv1.Image, wait bool) (*canopyv1.Image, error) {
	op, err := v.submit(ctx, opRequest{kind: opImageUpload, cl: cl, target: im.Id, wait: wait,
		spec: jobSpec{Name: im.Name, ImageNative: im.NativeId}})
	if err != nil {
		return nil, err
	}
	im.Operation = op.Id
	if !op.Done {
		return im, nil
	}
	if e := op.GetError(); e != nil {
		return nil, status.Errorf(codes.Code(e.Code), "image %s uploaded, then: %s (operation %s)", im.Id, e.Message, op.Id)
	}
	done := &canopyv1.Image{}
	if err := op.GetResponse().UnmarshalTo(done); err != nil {
		return nil, status.Errorf(codes.Internal, "operation %s: result: %v", op.Id, err)
	}
	return proto.Clone(done).(*canopyv1.Image), nil
}
