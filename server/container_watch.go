package server

import (
	"context"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/canopy-cloud/canopy/cache"
	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/router"
)

// WatchContainers implements canopyv1.ContainerServiceServer: each target
// cloud's event-fed view (cache.ContainerHub) feeds the stream, so a
// change reaches watchers as soon as the runtime reports it, and watchers
// cost the runtime nothing.
func (s *containerService) WatchContainers(req *canopyv1.WatchContainersRequest, stream canopyv1.ContainerService_WatchContainersServer) error {
	ctx := stream.Context()
	keep, err := watchFilter(ctx, req, (*canopyv1.Container).GetLabels)
	if err != nil {
		return err
	}
	targets, err := s.rt.ListTargets(req.GetLocation())
	if err != nil {
		return err
	}
	return watchFeed[providers.Container, *canopyv1.Container]{
		what: "containers",
		subscribe: func(ctx context.Context, cl *router.Cloud) <-chan cache.Snapshot[providers.Container] {
			if cl.Containers == nil {
				return nil
			}
			return cl.Containers.Hub.Subscribe(ctx)
		},
		list: func(ctx context.Context, cl *router.Cloud) ([]*canopyv1.Container, error) {
			if cl.Containers == nil {
				return nil, nil
			}
			return s.cloudContainers(ctx, cl)
		},
		convert: s.containersPB,
		gone: func(c *canopyv1.Container) *canopyv1.Container {
			last := proto.Clone(c).(*canopyv1.Container)
			last.Status, last.State, last.ProviderStatus = canopyv1.Status_STATUS_DELETED, canopyv1.Container_STATE_DELETING, "deleted"
			return last
		},
		keep: keep,
		send: func(t watchEvent, c *canopyv1.Container, ce *canopyv1.CloudError) error {
			return stream.Send(&canopyv1.WatchContainersResponse{Type: canopyv1.WatchContainersResponse_EventType(t), Container: c, CloudError: ce})
		},
	}.run(ctx, targets)
}

// WaitContainer implements canopyv1.ContainerServiceServer, on the
// cloud's event-fed view: no polling of the runtime.
func (s *containerService) WaitContainer(ctx context.Context, req *canopyv1.WaitContainerRequest) (*canopyv1.Container, error) {
	cond := req.GetCondition()
	if _, ok := canopyv1.WaitContainerRequest_Condition_name[int32(cond)]; !ok {
		return nil, router.BadRequest("condition", "unknown condition %d", cond)
	}
	if cond == canopyv1.WaitContainerRequest_CONDITION_UNSPECIFIED {
		cond = canopyv1.WaitContainerRequest_CONDITION_EXITED
	}
	f, err := s.find(ctx, "id", req.GetId())
	if err != nil {
		return nil, err
	}
	if f.m.Pending() {
		return nil, status.Errorf(codes.FailedPrecondition, "container %s is still being created in cloud %q: wait for its operation first", f.m.ID, f.cl.Name)
	}
	rec := s.record(ctx, f.m.ID)
	wctx, cancel := s.ops.waitBound(ctx)
	defer cancel()
	// The probe's result lives in canopy's record, which sends no event:
	// re-read it at most once a second while waiting for READY.
	var lastCheck time.Time
	done := func(c providers.Container, present bool) bool {
		switch cond {
		case canopyv1.WaitContainerRequest_CONDITION_DELETED:
			return !present
		case canopyv1.WaitContainerRequest_CONDITION_RUNNING:
			return !present || c.State == providers.ContainerRunning || exitedState(c.State)
		case canopyv1.WaitContainerRequest_CONDITION_READY:
			if rec.Probe != nil && time.Since(lastCheck) > time.Second {
				rec, lastCheck = s.record(ctx, f.m.ID), time.Now()
			}
			return !present || rec.ready(c) || exitedState(c.State) || c.Health == providers.HealthUnhealthy
		}
		return !present || exitedState(c.State)
	}
	c, present, err := f.cl.Containers.Hub.Wait(wctx, f.m.NativeID, done)
	if err != nil {
		if ctx.Err() != nil || wctx.Err() != nil {
			return nil, status.Errorf(codes.DeadlineExceeded, "container %s did not become %s before the deadline", f.m.ID, cond)
		}
		return nil, router.CloudErr(f.cl.Name, "watch containers", err)
	}
	if !present {
		if cond == canopyv1.WaitContainerRequest_CONDITION_DELETED {
			s.forget(context.WithoutCancel(ctx), f.m.ID)
			return &canopyv1.Container{Id: f.m.ID, Name: f.c.Name, Location: &canopyv1.Location{Cloud: f.cl.Name, Project: f.m.Project},
				Status: canopyv1.Status_STATUS_DELETED, ProviderStatus: "deleted"}, nil
		}
		return nil, router.NotFound(providers.KindContainer, f.m.ID)
	}
	out, err := s.containerPB1(ctx, f.cl, f.m, c)
	if err != nil {
		return nil, err
	}
	if cond == canopyv1.WaitContainerRequest_CONDITION_READY && !out.Ready {
		return nil, status.Errorf(codes.FailedPrecondition, "container %s will not become ready: it is %s (health %s, exit code %d)", f.m.ID, c.State, c.Health, c.ExitCode)
	}
	return out, nil
}

func exitedState(s providers.ContainerState) bool {
	return s == providers.ContainerStopped || s == providers.ContainerDead || s == providers.ContainerError
}
