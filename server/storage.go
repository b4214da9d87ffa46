package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/canopy-cloud/canopy/clock"
	"github.com/canopy-cloud/canopy/config"
	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/jobs"
	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/router"
	"github.com/canopy-cloud/canopy/store"
)

// The block-storage side: the VolumeService handlers (volumeService), the
// OperationService handlers (operationService), and the operations engine
// under both: requests becoming durable operations (ops), the steps that
// run them (createSteps, changeSteps, registered by jobSet) and the reads
// and waits all of them share (storageViews). Each cloud's block storage
// itself (cached driver, emulation layer, pollers) is the router's.

// storageCore is what every part of the block-storage side holds.
type storageCore struct {
	rt      router.Resolver
	store   store.Store
	cfg     *config.Config // wait bounds
	log     *slog.Logger
	servers serverViews // the servers volumes attach to
}

// storageViews reads block storage as the API shows it (volumes_convert.go,
// the cloud* lists) and waits on the router's pollers (volume_jobs.go).
type storageViews struct{ *storageCore }

// ops turns mutating requests into durable operations and answers with
// them (volume_requests.go).
type ops struct {
	*storageCore
	runner *jobs.Runner
	clock  clock.Clock // bounds the waits (waitBound)
}

// createSteps are the steps of creates (volume_jobs.go; emulate_steps.go
// for deferred volumes; legacy_steps.go for operations recorded with the
// emulated mode).
type createSteps struct{ storageViews }

// changeSteps are the steps of deletes and changes (volume_change_steps.go).
type changeSteps struct{ storageViews }

// jobSet registers every operation kind's steps with the runner.
type jobSet struct {
	storageViews
	*createSteps
	*changeSteps
	runner *jobs.Runner
}

// volumeService implements canopyv1.VolumeServiceServer (volumes.go,
// snapshots.go, backups.go, volume_watch.go).
type volumeService struct {
	canopyv1.UnimplementedVolumeServiceServer
	storageViews
	ops *ops
}

// operationService implements canopyv1.OperationServiceServer
// (operations.go).
type operationService struct {
	canopyv1.UnimplementedOperationServiceServer
	*ops
}

// startVolumes builds the block-storage side of the server and resumes the
// operations a previous run left unfinished.
// more registers other services' operation kinds with the same runner,
// before it resumes anything.
func (s *Server) startVolumes(ctx context.Context, more ...func(*ops)) (*volumeService, *operationService, error) {
	core := &storageCore{rt: s.rt, store: s.store, cfg: s.cfg, log: s.log, servers: serverViews{rt: s.rt}}
	runner := jobs.New(s.store, jobs.Options{
		Transient: transient,
		Failure:   failureOf,
		Log:       s.log,
		// Clouds down for a while are retried for about two minutes.
		MinBackoff: 100 * time.Millisecond, MaxBackoff: 5 * time.Second, MaxAttempts: 30,
		// Replicas: one runs each operation; a dead one's are taken over.
		Claims: s.claims(),
	})
	views := storageViews{core}
	js := &jobSet{storageViews: views, createSteps: &createSteps{views}, changeSteps: &changeSteps{views}, runner: runner}
	js.registerJobs()
	o := &ops{storageCore: core, runner: runner, clock: s.clock}
	for _, register := range more {
		register(o)
	}
	views.settleBoots(ctx)
	n, err := runner.Start(ctx)
	if err != nil {
		return nil, nil, err
	}
	if n > 0 {
		s.log.Info("resumed unfinished operations", "count", n)
	}
	return &volumeService{storageViews: views, ops: o}, &operationService{ops: o}, nil
}

// stop stops the runner; unfinished operations resume at the next start.
func (v *ops) stop() {
	v.runner.Stop()
}

// cloud is a configured cloud by name, or nil.
func (v *storageViews) cloud(name string) *router.Cloud {
	cl, _ := v.rt.Cloud(name)
	return cl
}

// storage returns a cloud's block storage, or FAILED_PRECONDITION when the
// cloud has none (canopy cannot emulate volumes).
func (v *storageViews) storage(cl *router.Cloud) (*router.Cloud, error) {
	if err := cl.StorageOrFail(); err != nil {
		return nil, err
	}
	return cl, nil
}

// transient says whether an operation step's error is worth retrying: the
// cloud was unreachable or asked canopy to slow down.
func transient(err error) bool {
	if errors.Is(err, providers.ErrUnavailable) || errors.Is(err, providers.ErrRateLimited) || errors.Is(err, providers.ErrUnauthenticated) {
		return true
	}
	if st, ok := status.FromError(err); ok && !router.IsProviderErr(err) {
		switch st.Code() {
		case codes.Unavailable:
			return true
		case codes.ResourceExhausted:
			return failureOf(err).Reason == "RATE_LIMITED"
		}
	}
	return false
}

// failureOf records a step's permanent error as the API will show it: the
// same code, message and details a synchronous call would have returned.
func failureOf(err error) jobs.Failure {
	st := status.Convert(err)
	f := jobs.Failure{Code: st.Code(), Message: st.Message()}
	for _, d := range st.Details() {
		if ei, ok := d.(interface {
			GetReason() string
			GetMetadata() map[string]string
		}); ok && ei.GetReason() != "" {
			f.Reason, f.Details = ei.GetReason(), ei.GetMetadata()
			break
		}
	}
	return f
}

// stepErr maps a step's error the way the synchronous path would: provider
// errors name the cloud (cloudErr), status errors pass through.
func stepErr(cloud, what string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if _, ok := status.FromError(err); ok && !router.IsProviderErr(err) {
		return err
	}
	if router.IsProviderErr(err) {
		return router.CloudErr(cloud, what, err)
	}
	return status.Errorf(codes.Internal, "%s: %v", what, err)
}

// errorWrap keeps a provider error's sentinel (for transient) while adding
// what the step was doing.
func errorWrap(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}
