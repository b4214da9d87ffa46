package server

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/jobs"
	"github.com/canopy-cloud/canopy/providers"

	"github.com/canopy-cloud/canopy/router"
)

// volumes implements VolumeService and OperationService. It is built when
// the server starts serving (Serve), resumes the unfinished operations of
// the store, and stops its runner when serving ends. Each cloud's block
// storage (cached driver, emulation layer, pollers) is the router's.
type volumes struct {
	canopyv1.UnimplementedVolumeServiceServer
	canopyv1.UnimplementedOperationServiceServer

	s       *Server
	runner  *jobs.Runner
	servers serverViews // the servers volumes attach to
}

// startVolumes builds the block-storage side of the server and resumes the
// operations a previous run left unfinished.
func (s *Server) startVolumes(ctx context.Context) (*volumes, error) {
	v := &volumes{s: s, servers: serverViews{rt: s.rt}}
	v.runner = jobs.New(s.store, jobs.Options{
		Transient: transient,
		Failure:   failureOf,
		Log:       s.log,
		// Clouds down for a while are retried for about two minutes.
		MinBackoff: 100 * time.Millisecond, MaxBackoff: 5 * time.Second, MaxAttempts: 30,
	})
	v.registerJobs()
	s.vols = v
	v.settleBoots(ctx)
	n, err := v.runner.Start(ctx)
	if err != nil {
		return nil, err
	}
	if n > 0 {
		s.log.Info("resumed unfinished operations", "count", n)
	}
	return v, nil
}

// stop stops the runner; unfinished operations resume at the next start.
func (v *volumes) stop() {
	v.runner.Stop()
}

// cloud is a configured cloud by name, or nil.
func (v *volumes) cloud(name string) *router.Cloud {
	cl, _ := v.s.rt.Cloud(name)
	return cl
}

// storage returns a cloud's block storage, or FAILED_PRECONDITION when the
// cloud has none (canopy cannot emulate volumes).
func (v *volumes) storage(cl *router.Cloud) (*router.Cloud, error) {
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
