package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/canopy-cloud/canopy/cache"
	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/router"
	"github.com/canopy-cloud/canopy/store"
)

// containerViews reads containers as the API shows them: each cloud's
// event-fed view (cache.ContainerHub), mapped to canopy ids with crash
// duplicates left out, and canopy's own record of each (dependencies, ready
// probe).
type containerViews struct {
	rt    router.Resolver
	store store.Store
	log   *slog.Logger
}

// containerService implements canopyv1.ContainerServiceServer: the
// lifecycle here, creates as operations in container_jobs.go, what runs
// inside in container_io.go, waits and Watch in container_watch.go.
type containerService struct {
	canopyv1.UnimplementedContainerServiceServer
	containerViews
	ops *ops
	// images resolves an image named by its canopy id (container_image.go).
	images imageGetter
}

func containerCommon(c providers.Container) providers.Common {
	cm := c.Common
	if c.Token != "" {
		cm.Properties = map[string]string{providers.PropToken: c.Token}
	}
	return cm
}

// containersPB converts one cloud's containers (crash duplicates dropped).
func (v *containerViews) containersPB(ctx context.Context, cl *router.Cloud, list []providers.Container) ([]*canopyv1.Container, error) {
	del := func(ctx context.Context, id string) error { return cl.Containers.DeleteContainer(ctx, id, true) }
	list, ids, err := router.Claimed(ctx, v.rt, cl, providers.KindContainer, list, containerCommon, del)
	if err != nil {
		return nil, err
	}
	// One container (a Get, an action's answer) reads its own record; a
	// list reads them all at once.
	recOf := func(id string) containerRecord { return v.record(ctx, id) }
	if len(list) > 1 {
		recs, err := v.store.ListRecords(ctx, containerNamespace, "")
		if err != nil {
			return nil, router.StoreErr("list container records", err)
		}
		byID := make(map[string]containerRecord, len(recs))
		for _, r := range recs {
			byID[r.Key] = decodeRecord(r.Value)
		}
		recOf = func(id string) containerRecord { return byID[id] }
	}
	out := make([]*canopyv1.Container, len(list))
	for i, c := range list {
		m := ids[c.NativeID]
		out[i] = containerPB(cl.Name, m.ID, m.Project, c, recOf(m.ID))
	}
	return out, nil
}

func (v *containerViews) containerPB1(ctx context.Context, cl *router.Cloud, m store.Mapping, c providers.Container) (*canopyv1.Container, error) {
	out, err := v.containersPB(ctx, cl, []providers.Container{c})
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, status.Errorf(codes.NotFound, "container %s: cloud %q shows only a duplicate of it", m.ID, cl.Name)
	}
	out[0].Id = m.ID
	return out[0], nil
}

func (v *containerViews) cloudContainers(ctx context.Context, cl *router.Cloud) ([]*canopyv1.Container, error) {
	c, err := cl.ContainersOrFail()
	if err != nil {
		return nil, err
	}
	list, err := c.ListContainers(ctx)
	if err != nil {
		return nil, router.CloudErr(cl.Name, "list containers", err)
	}
	return v.containersPB(ctx, cl, list)
}

// containerClouds are the clouds with containers; a fan-out skips others.
func containerClouds(targets []*router.Cloud) []*router.Cloud {
	var out []*router.Cloud
	for _, cl := range targets {
		if cl.Containers != nil {
			out = append(out, cl)
		}
	}
	return out
}

// ListContainers implements canopyv1.ContainerServiceServer.
func (s *containerService) ListContainers(ctx context.Context, req *canopyv1.ListContainersRequest) (*canopyv1.ListContainersResponse, error) {
	q := router.Query{PageSize: req.GetPageSize(), PageToken: req.GetPageToken(), Location: req.GetLocation(), Labels: req.GetLabels(), Filters: []any{"containers", req.GetName(), req.GetState()}}
	fetch := func(ctx context.Context, cl *router.Cloud) ([]*canopyv1.Container, error) {
		if cl.Containers == nil {
			if req.GetLocation().GetCloud() == cl.Name {
				return nil, router.CapabilityErr(cl.Name, "containers")
			}
			return nil, nil
		}
		return s.cloudContainers(ctx, cl)
	}
	page, next, errs, err := router.List(ctx, s.rt, q, fetch, func(c *canopyv1.Container) bool {
		return c.Location.GetProject() == project(ctx) && (req.GetName() == "" || c.Name == req.GetName()) && (req.GetState() == 0 || c.State == req.GetState()) &&
			router.MatchLabels(req.GetLabels(), c.Labels) && router.MatchLocation(req.GetLocation(), c.Location.GetRegion(), c.Location.GetZone())
	})
	if err != nil {
		return nil, err
	}
	if page == nil {
		page = []*canopyv1.Container{}
	}
	return &canopyv1.ListContainersResponse{Containers: page, NextPageToken: next, CloudErrors: errs, Unreachable: router.Unreachable(errs)}, nil
}

// found is a container resolved from a request: its cloud and driver, id
// mapping, and current state (zero while its create has not reached the
// runtime).
type found struct {
	cl  *router.Cloud
	drv *cache.Containers
	m   store.Mapping
	c   providers.Container
}

// find resolves a request's container (canopy id or name) and reads it at
// the runtime.
func (v *containerViews) find(ctx context.Context, field, ref string) (found, error) {
	cl, m, err := router.Find(ctx, v.rt, providers.KindContainer, field, ref, func(ctx context.Context, cl *router.Cloud) ([]*canopyv1.Container, error) {
		if cl.Containers == nil {
			return nil, nil
		}
		return v.cloudContainers(ctx, cl)
	})
	if status.Code(err) == codes.NotFound {
		if _, isID, _ := router.IDOrName(field, ref); !isID {
			// A name whose create has not reached the runtime yet.
			for _, c := range containerClouds(v.rt.Clouds()) {
				if f, perr := v.pendingByName(ctx, c, ref); perr == nil && f.cl != nil {
					return f, nil
				}
			}
		}
	}
	if err != nil {
		return found{}, err
	}
	drv, err := cl.ContainersOrFail()
	if err != nil {
		return found{}, err
	}
	f := found{cl: cl, drv: drv, m: m}
	if m.Pending() {
		return f, nil
	}
	c, err := drv.GetContainer(ctx, m.NativeID)
	if errors.Is(err, providers.ErrNotFound) {
		// Removed behind canopy's back (or auto_remove): forget it.
		v.forget(context.WithoutCancel(ctx), m.ID)
		return found{}, router.NotFound(providers.KindContainer, m.ID)
	}
	if err != nil {
		return found{}, router.CloudErr(cl.Name, "get container "+m.NativeID, err)
	}
	f.c = c
	return f, nil
}

// pb converts a found container.
func (v *containerViews) pb(ctx context.Context, f found) (*canopyv1.Container, error) {
	if f.m.Pending() {
		rec := v.record(ctx, f.m.ID)
		return &canopyv1.Container{Id: f.m.ID, Location: &canopyv1.Location{Cloud: f.cl.Name, Project: f.m.Project},
			Status: canopyv1.Status_STATUS_PENDING, State: canopyv1.Container_STATE_CREATING, CreateTime: ts(f.m.Created), Operation: rec.Operation}, nil
	}
	return v.containerPB1(ctx, f.cl, f.m, f.c)
}

// GetContainer implements canopyv1.ContainerServiceServer.
func (s *containerService) GetContainer(ctx context.Context, req *canopyv1.GetContainerRequest) (*canopyv1.Container, error) {
	f, err := s.find(ctx, "id", req.GetId())
	if err != nil {
		return nil, err
	}
	return s.pb(ctx, f)
}

// allowed enforces the state table (providers.ContainerActions) before a
// runtime is called, so every runtime refuses the same things the same
// way: FAILED_PRECONDITION naming the state and the action.
func allowed(f found, action string) error {
	if f.m.Pending() {
		return status.Errorf(codes.FailedPrecondition, "container %s is still being created in cloud %q: cannot %s it yet", f.m.ID, f.cl.Name, action)
	}
	if err := providers.ContainerAllowed(action, f.c.State); err != nil {
		return status.Errorf(codes.FailedPrecondition, "container %s (%s): cannot %s a container that is %s", f.m.ID, f.c.Name, action, f.c.State)
	}
	return nil
}

// act runs one lifecycle action on a container found by id or name, then
// reads it again.
func (s *containerService) act(ctx context.Context, ref, action string, call func(ctx context.Context, f found) error) (*canopyv1.Container, error) {
	f, err := s.find(ctx, "id", ref)
	if err != nil {
		return nil, err
	}
	if err := allowed(f, action); err != nil {
		return nil, err
	}
	if err := call(ctx, f); err != nil {
		if _, ok := status.FromError(err); ok && !router.IsProviderErr(err) {
			return nil, err
		}
		if errors.Is(err, providers.ErrConflict) {
			// The runtime moved on between the read and the call.
			return nil, status.Errorf(codes.FailedPrecondition, "container %s: %s: %v", f.m.ID, action, err)
		}
		return nil, router.CloudErr(f.cl.Name, fmt.Sprintf("%s container %s", action, f.m.NativeID), err)
	}
	c, err := f.drv.GetContainer(ctx, f.m.NativeID)
	if errors.Is(err, providers.ErrNotFound) { // auto_remove after a stop or kill
		f.drv.Hub.Forget(f.m.NativeID)
		out, _ := s.containerPB1(ctx, f.cl, f.m, f.c)
		if out != nil {
			out.State, out.Status = canopyv1.Container_STATE_DELETING, canopyv1.Status_STATUS_DELETED
		}
		s.forget(context.WithoutCancel(ctx), f.m.ID)
		return out, nil
	}
	if err != nil {
		return nil, router.CloudErr(f.cl.Name, "get container "+f.m.NativeID, err)
	}
	f.drv.Hub.Observe(c)
	f.c = c
	return s.containerPB1(ctx, f.cl, f.m, c)
}

// timeoutOf is a grace timeout, 10s by default, at most 10 minutes.
func timeoutOf(field string, d interface{ AsDuration() time.Duration }, set bool) (time.Duration, error) {
	if !set {
		return 10 * time.Second, nil
	}
	t := d.AsDuration()
	if t < 0 || t > 10*time.Minute {
		return 0, router.BadRequest(field, "must be between 0s and 10m, got %s", t)
	}
	return t, nil
}

// StartContainer implements canopyv1.ContainerServiceServer.
func (s *containerService) StartContainer(ctx context.Context, req *canopyv1.StartContainerRequest) (*canopyv1.Container, error) {
	return s.act(ctx, req.GetId(), providers.ActStart, func(ctx context.Context, f found) error { return f.drv.StartContainer(ctx, f.m.NativeID) })
}

// StopContainer implements canopyv1.ContainerServiceServer.
func (s *containerService) StopContainer(ctx context.Context, req *canopyv1.StopContainerRequest) (*canopyv1.Container, error) {
	t, err := timeoutOf("timeout", req.GetTimeout(), req.Timeout != nil)
	if err != nil {
		return nil, err
	}
	return s.act(ctx, req.GetId(), providers.ActStop, func(ctx context.Context, f found) error { return f.drv.StopContainer(ctx, f.m.NativeID, t) })
}

// RestartContainer implements canopyv1.ContainerServiceServer.
func (s *containerService) RestartContainer(ctx context.Context, req *canopyv1.RestartContainerRequest) (*canopyv1.Container, error) {
	t, err := timeoutOf("timeout", req.GetTimeout(), req.Timeout != nil)
	if err != nil {
		return nil, err
	}
	return s.act(ctx, req.GetId(), providers.ActRestart, func(ctx context.Context, f found) error { return f.drv.RestartContainer(ctx, f.m.NativeID, t) })
}

// PauseContainer implements canopyv1.ContainerServiceServer.
func (s *containerService) PauseContainer(ctx context.Context, req *canopyv1.PauseContainerRequest) (*canopyv1.Container, error) {
	return s.act(ctx, req.GetId(), providers.ActPause, func(ctx context.Context, f found) error { return f.drv.PauseContainer(ctx, f.m.NativeID) })
}

// UnpauseContainer implements canopyv1.ContainerServiceServer.
func (s *containerService) UnpauseContainer(ctx context.Context, req *canopyv1.UnpauseContainerRequest) (*canopyv1.Container, error) {
	return s.act(ctx, req.GetId(), providers.ActUnpause, func(ctx context.Context, f found) error { return f.drv.UnpauseContainer(ctx, f.m.NativeID) })
}

// KillContainer implements canopyv1.ContainerServiceServer.
func (s *containerService) KillContainer(ctx context.Context, req *canopyv1.KillContainerRequest) (*canopyv1.Container, error) {
	sig := req.GetSignal()
	if sig == "" {
		sig = "KILL"
	}
	if err := checkSignal(sig); err != nil {
		return nil, err
	}
	return s.act(ctx, req.GetId(), providers.ActKill, func(ctx context.Context, f found) error { return f.drv.KillContainer(ctx, f.m.NativeID, sig) })
}

// RenameContainer implements canopyv1.ContainerServiceServer.
func (s *containerService) RenameContainer(ctx context.Context, req *canopyv1.RenameContainerRequest) (*canopyv1.Container, error) {
	if err := checkContainerName("name", req.GetName()); err != nil {
		return nil, err
	}
	return s.act(ctx, req.GetId(), providers.ActRename, func(ctx context.Context, f found) error {
		err := f.drv.RenameContainer(ctx, f.m.NativeID, req.GetName())
		if errors.Is(err, providers.ErrAlreadyExists) {
			return router.BadRequest("name", "a container named %q already exists on that host in cloud %q", req.GetName(), f.cl.Name)
		}
		return err
	})
}

// UpdateContainer implements canopyv1.ContainerServiceServer.
func (s *containerService) UpdateContainer(ctx context.Context, req *canopyv1.UpdateContainerRequest) (*canopyv1.Container, error) {
	var u providers.ContainerUpdate
	if req.Cpu != nil {
		cpu := req.GetCpu()
		if err := checkCPU("cpu", cpu); err != nil {
			return nil, err
		}
		u.CPU = &cpu
	}
	if req.MemoryMib != nil {
		mem, err := memoryOf("memory_mib", req.GetMemoryMib())
		if err != nil {
			return nil, err
		}
		u.MemoryBytes = &mem
	}
	if req.RestartPolicy != nil {
		if err := checkRestart("restart_policy", req.GetRestartPolicy()); err != nil {
			return nil, err
		}
		r := restartFromPB(req.GetRestartPolicy())
		u.RestartPolicy = &r
	}
	return s.act(ctx, req.GetId(), providers.ActUpdate, func(ctx context.Context, f found) error {
		if u.CPU == nil && u.MemoryBytes == nil && u.RestartPolicy == nil {
			return router.BadRequest("cpu", "nothing to update: set cpu, memory_mib or restart_policy")
		}
		return f.drv.UpdateContainer(ctx, f.m.NativeID, u)
	})
}

// DeleteContainer implements canopyv1.ContainerServiceServer.
func (s *containerService) DeleteContainer(ctx context.Context, req *canopyv1.DeleteContainerRequest) (*canopyv1.Container, error) {
	f, err := s.find(ctx, "id", req.GetId())
	if status.Code(err) == codes.NotFound && req.GetAllowMissing() {
		return &canopyv1.Container{Id: req.GetId(), Status: canopyv1.Status_STATUS_DELETED, ProviderStatus: "deleted"}, nil
	}
	if err != nil {
		return nil, err
	}
	action := providers.ActDelete
	if req.GetForce() {
		action = providers.ActForceDel
	}
	if err := allowed(f, action); err != nil {
		if !req.GetForce() && f.c.State == providers.ContainerRunning {
			return nil, status.Errorf(codes.FailedPrecondition, "container %s (%s) is running: stop it first, or delete with force", f.m.ID, f.c.Name)
		}
		return nil, err
	}
	if rec := s.record(ctx, f.m.ID); rec.Operation != "" {
		// Its create is still waiting (for a dependency): stop that first,
		// so the operation does not start a container that is gone.
		s.ops.runner.Interrupt(rec.Operation)
	}
	last, err := s.containerPB1(ctx, f.cl, f.m, f.c)
	if err != nil {
		return nil, err
	}
	defer mountsChanged(f.cl) // volume_mounts.go
	if err := f.drv.DeleteContainer(ctx, f.m.NativeID, req.GetForce()); err != nil && !errors.Is(err, providers.ErrNotFound) {
		if errors.Is(err, providers.ErrConflict) {
			return nil, status.Errorf(codes.FailedPrecondition, "container %s: delete: %v", f.m.ID, err)
		}
		return nil, router.CloudErr(f.cl.Name, "delete container "+f.m.NativeID, err)
	}
	f.drv.Hub.Forget(f.m.NativeID)
	s.forget(context.WithoutCancel(ctx), f.m.ID)
	last.Status, last.State, last.ProviderStatus = canopyv1.Status_STATUS_DELETED, canopyv1.Container_STATE_DELETING, "deleted"
	return last, nil
}
