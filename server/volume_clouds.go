package server

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/canopy-cloud/canopy/cache"
	"github.com/canopy-cloud/canopy/config"
	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/jobs"
	"github.com/canopy-cloud/canopy/providers"

	"github.com/canopy-cloud/canopy/router"
)

// volumes implements VolumeService and OperationService. It is built when
// the server starts serving (Serve), resumes the unfinished operations of
// the store, and stops its runner when serving ends.
type volumes struct {
	canopyv1.UnimplementedVolumeServiceServer
	canopyv1.UnimplementedOperationServiceServer

	s      *Server
	runner *jobs.Runner
	clouds map[string]*storageCloud
}

// storageCloud is one cloud's block storage: the emulation layer over the
// cached drivers, and one batched poller per kind for waits.
type storageCloud struct {
	*cloud
	emu       *emulator
	volumes   *cache.Poller[providers.Volume]
	snapshots *cache.Poller[providers.Snapshot]
	backups   *cache.Poller[providers.Backup]
}

// startVolumes builds the block-storage side of the server and resumes the
// operations a previous run left unfinished.
func (s *Server) startVolumes(ctx context.Context) (*volumes, error) {
	v := &volumes{s: s, clouds: map[string]*storageCloud{}}
	for _, cl := range s.clouds.list {
		sc := &storageCloud{cloud: cl}
		var drv *cache.Storage
		if providers.Has(cl.p, providers.CapVolumes) {
			cc := s.cloudConfig(cl.name)
			ttl := map[string]time.Duration{}
			for _, kind := range []string{cache.Volumes, cache.Snapshots, cache.Backups} {
				ttl[kind] = cc.TTL(kind)
			}
			drv = cache.NewStorage(cl.name, cl.p, cl.lim, cache.Options{TTL: ttl, Poll: s.cfg.Wait.MinInterval.Std()})
		}
		sc.emu = newEmulator(cl.name, cl.p, drv, s.store)
		bucket, err := s.backupBucketOf(cl.name)
		if err != nil {
			return nil, err
		}
		sc.emu.bucket = bucket
		sc.emu.objectsOf = s.objectsByName
		emulators.Store(cl, sc.emu)
		if drv != nil {
			min, max := s.cfg.Wait.MinInterval.Std(), s.cfg.Wait.MaxInterval.Std()
			sc.volumes = cache.NewPoller(func(ctx context.Context) ([]providers.Volume, error) { return sc.emu.listVolumes(ctx, true) },
				func(x providers.Volume) string { return x.NativeID }, func(x providers.Volume) bool { return x.Status.Transitional() }, min, max)
			sc.snapshots = cache.NewPoller(func(ctx context.Context) ([]providers.Snapshot, error) { return sc.emu.listSnapshots(ctx, true) },
				func(x providers.Snapshot) string { return x.NativeID }, func(x providers.Snapshot) bool { return x.Status.Transitional() }, min, max)
			sc.backups = cache.NewPoller(func(ctx context.Context) ([]providers.Backup, error) { return sc.emu.listBackups(ctx, true) },
				func(x providers.Backup) string { return x.NativeID }, func(x providers.Backup) bool { return x.Status.Transitional() }, min, max)
		}
		v.clouds[cl.name] = sc
	}
	v.runner = jobs.New(s.store, jobs.Options{
		Transient: transient,
		Failure:   failureOf,
		Log:       s.log,
		// Clouds down for a while are retried for about two minutes.
		MinBackoff: 100 * time.Millisecond, MaxBackoff: 5 * time.Second, MaxAttempts: 30,
	})
	v.registerJobs()
	liveVolumes.Store(s, v)
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
	liveVolumes.Delete(v.s)
	for _, sc := range v.clouds {
		emulators.Delete(sc.cloud)
	}
	v.runner.Stop()
}

// cloudConfig is the configuration entry of a cloud: for a cloud an
// adapter split by region (<configured>-<region>), the entry it came from.
func (s *Server) cloudConfig(name string) config.Cloud {
	if cl, ok := s.clouds.byName[name]; ok {
		return cl.conf
	}
	for _, cc := range s.cfg.Clouds {
		if cc.Name == name {
			return cc
		}
	}
	return config.Cloud{Name: name}
}

// storage returns a cloud's block storage, or FAILED_PRECONDITION when the
// cloud has none (canopy cannot emulate volumes).
func (v *volumes) storage(cl *cloud) (*storageCloud, error) {
	sc := v.clouds[cl.name]
	if sc == nil {
		return nil, status.Errorf(codes.Unavailable, "cloud %q is not ready", cl.name)
	}
	if err := sc.emu.volumesOrFail(); err != nil {
		return nil, err
	}
	return sc, nil
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
