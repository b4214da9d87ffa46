package server

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/internal/failpoint"
	"github.com/canopy-cloud/canopy/jobs"
	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/router"
	"github.com/canopy-cloud/canopy/store"
)

const opContainerCreate = "container.create"

// containerJob is what a container.create operation records: the runtime
// spec (token and replay are set by the step), whether to start it, and
// its dependencies and probe, every reference resolved at request time.
type containerJob struct {
	Spec      providers.ContainerSpec `json:"spec"`
	Run       bool                    `json:"run,omitempty"`
	DependsOn []containerDep          `json:"depends_on,omitempty"`
	Probe     *readyProbe             `json:"probe,omitempty"`
}

// containerSteps are the steps of container.create.
type containerSteps struct {
	*containerService
}

func (s *containerService) registerJobs(r *jobs.Runner) {
	st := containerSteps{s}
	r.Register(opContainerCreate, jobs.Kind{First: "create", Undoable: always, Undo: st.undo, Fail: st.fail, Steps: map[string]jobs.Step{
		"create":  st.step(st.create),
		"depends": st.step(st.depends),
		"start":   st.step(st.start),
		"ready":   st.step(st.ready),
	}})
}

func (s containerSteps) step(fn func(ctx context.Context, op *store.Operation, cl *router.Cloud, job containerJob) (jobs.Result, error)) jobs.Step {
	return func(ctx context.Context, op *store.Operation) (jobs.Result, error) {
		var job containerJob
		if err := json.Unmarshal(op.Spec, &job); err != nil {
			return jobs.Result{}, status.Errorf(codes.Internal, "operation %s: corrupt spec: %v", op.ID, err)
		}
		cl, ok := s.rt.Cloud(op.Cloud)
		if !ok || cl.Containers == nil {
			return jobs.Result{}, status.Errorf(codes.FailedPrecondition, "cloud %q is no longer configured with containers", op.Cloud)
		}
		if op.State == nil {
			op.State = map[string]string{}
		}
		return fn(ctx, op, cl, job)
	}
}

// create makes the container at the runtime with the operation's target
// id as its token: a repeated step (a crash after the runtime made it)
// finds that container instead of making another.
func (s containerSteps) create(ctx context.Context, op *store.Operation, cl *router.Cloud, job containerJob) (jobs.Result, error) {
	if err := s.putRecord(ctx, op.TargetID, containerRecord{DependsOn: job.DependsOn, Probe: job.Probe, Operation: op.ID}); err != nil {
		return jobs.Result{}, router.StoreErr("record container "+op.TargetID, err)
	}
	spec := job.Spec
	spec.IdempotencyToken, spec.Replay = op.TargetID, jobs.Repeated(ctx)
	if _, err := s.ensureImage(ctx, op, cl, spec.Image); err != nil { // container_pull.go
		return jobs.Result{}, err
	}
	if err := cl.Containers.Limit(ctx); err != nil {
		return jobs.Result{}, err
	}
	c, err := cl.Containers.CreateContainer(ctx, spec)
	switch {
	case errors.Is(err, providers.ErrAlreadyExists):
		return jobs.Result{}, status.Errorf(codes.AlreadyExists, "name: a container named %q already exists in cloud %q", spec.Name, cl.Name)
	case errors.Is(err, providers.ErrInvalid):
		return jobs.Result{}, status.Errorf(codes.InvalidArgument, "cloud %q refused the container: %v", cl.Name, err)
	case err != nil:
		return jobs.Result{}, stepErr(cl.Name, "create container", err)
	}
	cl.Containers.Hub.Observe(c)
	mountsChanged(cl) // volume_mounts.go
	failpoint.Hit("container.create:created")
	if _, err := s.store.Bind(ctx, op.TargetID, c.NativeID); err != nil {
		return jobs.Result{}, router.StoreErr("bind container "+c.NativeID, err)
	}
	op.State["native"] = c.NativeID
	switch {
	case !job.Run:
		return s.finish(ctx, op, cl, job)
	case len(job.DependsOn) > 0:
		return jobs.Result{Next: "depends", Progress: 25}, nil
	}
	return jobs.Result{Next: "start", Progress: 50}, nil
}

// depends waits until every dependency meets its condition, fed by the
// cloud's event view (a step that waits as long as it takes: the
// operation can be cancelled, and a restart resumes the wait).
func (s containerSteps) depends(ctx context.Context, op *store.Operation, cl *router.Cloud, job containerJob) (jobs.Result, error) {
	for _, d := range job.DependsOn {
		op.State["waiting_for"] = d.ID
		if err := s.waitDep(ctx, cl, op, d); err != nil {
			return jobs.Result{}, err
		}
	}
	delete(op.State, "waiting_for")
	return jobs.Result{Next: "start", Progress: 50}, nil
}

func (s containerSteps) waitDep(ctx context.Context, cl *router.Cloud, op *store.Operation, d containerDep) error {
	m, err := s.store.Get(ctx, d.ID)
	if errors.Is(err, store.ErrNotFound) {
		return status.Errorf(codes.FailedPrecondition, "dependency %s was deleted before it became %s", depName(d), conditionName(d.Condition))
	}
	if err != nil {
		return router.StoreErr("get "+d.ID, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	tick := time.NewTicker(time.Second) // probe results live in records, which send no events
	defer tick.Stop()
	sub := cl.Containers.Hub.Subscribe(ctx)
	self := op.State["native"]
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case snap, ok := <-sub:
			if !ok {
				return ctx.Err()
			}
			if snap.Err != nil {
				continue // the hub resubscribes; the wait goes on
			}
			if m.Pending() { // the dependency's own create has not reached the runtime yet
				if m, err = s.store.Get(ctx, d.ID); err != nil {
					return router.StoreErr("get "+d.ID, err)
				}
			}
			done, err := s.depMet(ctx, cl, snap.Items, m, d, self)
			if done || err != nil {
				return err
			}
		case <-tick.C:
			items, ok := cl.Containers.Hub.Current(ctx)
			if !ok {
				continue
			}
			if m.Pending() {
				if m, err = s.store.Get(ctx, d.ID); err != nil {
					return router.StoreErr("get "+d.ID, err)
				}
			}
			done, err := s.depMet(ctx, cl, items, m, d, self)
			if done || err != nil {
				return err
			}
		}
	}
}

// depMet says whether a dependency meets its condition, or can no longer
// (an error naming it); it also fails when the waiting container is gone.
func (s containerSteps) depMet(ctx context.Context, cl *router.Cloud, items []providers.Container, m store.Mapping, d containerDep, self string) (bool, error) {
	var dep *providers.Container
	selfThere := self == ""
	for i := range items {
		if !m.Pending() && items[i].NativeID == m.NativeID {
			dep = &items[i]
		}
		if items[i].NativeID == self {
			selfThere = true
		}
	}
	if !selfThere {
		if gone, err := s.confirmGone(ctx, cl, self); err != nil || !gone {
			return false, err
		}
		return false, status.Errorf(codes.Aborted, "the container was deleted while it waited for %s", depName(d))
	}
	if m.Pending() {
		return false, nil
	}
	if dep == nil {
		if gone, err := s.confirmGone(ctx, cl, m.NativeID); err != nil || !gone {
			return false, err
		}
		return false, status.Errorf(codes.FailedPrecondition, "dependency %s was deleted before it became %s", depName(d), conditionName(d.Condition))
	}
	exited := dep.State == providers.ContainerStopped || dep.State == providers.ContainerDead
	switch canopyv1.Dependency_Condition(d.Condition) {
	case canopyv1.Dependency_CONDITION_COMPLETED_SUCCESSFULLY:
		if exited && !dep.FinishedAt.IsZero() {
			if dep.ExitCode != 0 {
				return false, status.Errorf(codes.FailedPrecondition, "dependency %s exited with code %d; it had to complete successfully", depName(d), dep.ExitCode)
			}
			return true, nil
		}
	case canopyv1.Dependency_CONDITION_HEALTHY:
		if dep.Health == providers.HealthUnhealthy {
			return false, status.Errorf(codes.FailedPrecondition, "dependency %s is unhealthy; it had to become healthy", depName(d))
		}
		if exited && !dep.StartedAt.IsZero() {
			return false, status.Errorf(codes.FailedPrecondition, "dependency %s exited (code %d) before it became healthy", depName(d), dep.ExitCode)
		}
		if s.record(ctx, d.ID).ready(*dep) {
			return true, nil
		}
	default: // STARTED
		if dep.State == providers.ContainerError {
			return false, status.Errorf(codes.FailedPrecondition, "dependency %s is in ERROR: %s", depName(d), dep.StatusMessage)
		}
		if !dep.StartedAt.IsZero() || dep.State == providers.ContainerRunning || dep.State == providers.ContainerRestarting {
			return true, nil
		}
	}
	return false, nil
}

// confirmGone asks the runtime whether a container the event-fed view
// lacks is really gone: the view may not have caught up yet with a
// container made a moment ago, which it then learns here.
func (s containerSteps) confirmGone(ctx context.Context, cl *router.Cloud, native string) (bool, error) {
	c, err := cl.Containers.GetContainer(ctx, native)
	if errors.Is(err, providers.ErrNotFound) {
		return true, nil
	}
	if err != nil {
		return false, stepErr(cl.Name, "get container "+native, err)
	}
	cl.Containers.Hub.Observe(c)
	return false, nil
}

// start starts the container unless it already runs (a repeated step).
func (s containerSteps) start(ctx context.Context, op *store.Operation, cl *router.Cloud, job containerJob) (jobs.Result, error) {
	native := op.State["native"]
	// A first run follows the create (or the wait for dependencies) and
	// the container has never started; a repeated one asks the runtime
	// whether the start already happened.
	c := providers.Container{State: providers.ContainerCreated}
	if jobs.Repeated(ctx) || len(job.DependsOn) > 0 {
		var err error
		c, err = cl.Containers.GetContainer(ctx, native)
		if errors.Is(err, providers.ErrNotFound) {
			return jobs.Result{}, status.Errorf(codes.Aborted, "container %s was deleted before canopy started it", op.TargetID)
		}
		if err != nil {
			return jobs.Result{}, stepErr(cl.Name, "get container "+native, err)
		}
	}
	if providers.ContainerAllowed(providers.ActStart, c.State) == nil && c.StartedAt.IsZero() {
		if err := cl.Containers.Limit(ctx); err != nil {
			return jobs.Result{}, err
		}
		if err := cl.Containers.StartContainer(ctx, native); err != nil {
			return jobs.Result{}, stepErr(cl.Name, "start container "+native, err)
		}
	}
	failpoint.Hit("container.create:started")
	if job.Probe != nil || job.Spec.Healthcheck != nil {
		return jobs.Result{Next: "ready", Progress: 75}, nil
	}
	return s.finish(ctx, op, cl, job)
}

// ready waits until the healthcheck passes and the ready probe succeeds.
func (s containerSteps) ready(ctx context.Context, op *store.Operation, cl *router.Cloud, job containerJob) (jobs.Result, error) {
	native := op.State["native"]
	if job.Probe != nil {
		if err := s.probeUntilReady(ctx, cl, op.TargetID, native, *job.Probe); err != nil {
			return jobs.Result{}, err
		}
	}
	if job.Spec.Healthcheck != nil {
		for {
			_, present, err := cl.Containers.Hub.Wait(ctx, native, func(c providers.Container, present bool) bool {
				return !present || c.Health == providers.HealthHealthy || c.Health == providers.HealthUnhealthy ||
					c.State == providers.ContainerStopped || c.State == providers.ContainerDead || c.State == providers.ContainerError
			})
			if err != nil {
				return jobs.Result{}, err
			}
			if present {
				break
			}
			if gone, err := s.confirmGone(ctx, cl, native); err != nil {
				return jobs.Result{}, err
			} else if gone {
				return jobs.Result{}, status.Errorf(codes.Aborted, "container %s was deleted before it became ready", op.TargetID)
			}
		}
		c, err := cl.Containers.GetContainer(ctx, native)
		if err != nil {
			return jobs.Result{}, stepErr(cl.Name, "get container "+native, err)
		}
		if c.Health != providers.HealthHealthy {
			return jobs.Result{}, status.Errorf(codes.FailedPrecondition, "container %s did not become healthy: it is %s (health %s, exit code %d)", op.TargetID, c.State, c.Health, c.ExitCode)
		}
	}
	return s.finish(ctx, op, cl, job)
}

// finish ends the operation with the container as its response.
func (s containerSteps) finish(ctx context.Context, op *store.Operation, cl *router.Cloud, job containerJob) (jobs.Result, error) {
	rec := s.record(ctx, op.TargetID)
	rec.Operation = ""
	if err := s.putRecord(ctx, op.TargetID, rec); err != nil {
		return jobs.Result{}, router.StoreErr("record container "+op.TargetID, err)
	}
	native := op.State["native"]
	c, err := cl.Containers.GetContainer(ctx, native)
	if errors.Is(err, providers.ErrNotFound) && job.Spec.AutoRemove && job.Run {
		// It ran, exited and was removed, as auto_remove asked, before
		// this read: the operation did what it was asked.
		m, gerr := s.store.Get(ctx, op.TargetID)
		if gerr != nil {
			m = store.Mapping{ID: op.TargetID, NativeID: native, Project: op.Project}
		}
		s.forget(ctx, op.TargetID)
		out := &canopyv1.Container{Id: op.TargetID, NativeId: native, Name: job.Spec.Name, Image: job.Spec.Image,
			Location: &canopyv1.Location{Cloud: cl.Name, Project: m.Project}, Status: canopyv1.Status_STATUS_DELETED,
			State: canopyv1.Container_STATE_DELETING, ProviderStatus: "removed", AutoRemove: true}
		return jobs.Result{Done: true, Response: anyBytes(out), Progress: 100}, nil
	}
	if err != nil {
		return jobs.Result{}, stepErr(cl.Name, "get container "+native, err)
	}
	cl.Containers.Hub.Observe(c)
	m, err := s.store.Get(ctx, op.TargetID)
	if err != nil {
		return jobs.Result{}, router.StoreErr("get "+op.TargetID, err)
	}
	out, err := s.containerPB1(ctx, cl, m, c)
	if err != nil {
		return jobs.Result{}, err
	}
	return jobs.Result{Done: true, Response: anyBytes(out), Progress: 100}, nil
}

// fail runs before a create ends with an error: a container never made
// releases its id; one made stays (as docker compose leaves a dependent
// it did not start), its record no longer naming the operation.
func (s containerSteps) fail(ctx context.Context, op *store.Operation) {
	if op.State["native"] == "" {
		s.forget(ctx, op.TargetID)
		return
	}
	rec := s.record(ctx, op.TargetID)
	rec.Operation = ""
	_ = s.putRecord(ctx, op.TargetID, rec)
}

// undo, for a cancelled create, removes what it made.
func (s containerSteps) undo(ctx context.Context, op *store.Operation) error {
	cl, ok := s.rt.Cloud(op.Cloud)
	if native := op.State["native"]; ok && cl.Containers != nil && native != "" {
		if err := cl.Containers.DeleteContainer(ctx, native, true); err != nil && !errors.Is(err, providers.ErrNotFound) {
			return errorWrap("delete container "+native, err)
		}
	}
	s.forget(ctx, op.TargetID)
	return nil
}
