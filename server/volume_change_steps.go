package server

import (
	"context"
	"errors"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/canopy-cloud/canopy/emulate"
	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/jobs"
	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/router"
	"github.com/canopy-cloud/canopy/store"
)

// The steps of deletes and changes (extend, attach, detach); creates are
// in volume_jobs.go.

// ---------------------------------------------------------------- deletes

func (v *changeSteps) stepDelete(kind string) func(context.Context, *store.Operation, *router.Cloud, jobSpec) (jobs.Result, error) {
	return func(ctx context.Context, op *store.Operation, sc *router.Cloud, spec jobSpec) (jobs.Result, error) {
		if spec.Mode == emulate.ModeDeferred {
			if err := sc.Emulation.Forget(ctx, providers.KindVolume, op.TargetID); err != nil {
				return jobs.Result{}, stepErr(sc.Name, "forget deferred volume", err)
			}
			return jobs.Result{Next: "forget", Progress: 50}, nil
		}
		native := op.State["native"]
		if native == "" {
			m, err := v.store.Get(ctx, op.TargetID)
			if errors.Is(err, store.ErrNotFound) {
				return jobs.Result{Next: "forget", Progress: 50}, nil // forgotten already
			}
			if err != nil {
				return jobs.Result{}, stepErr(sc.Name, "get "+op.TargetID, err)
			}
			native = m.NativeID
			op.State["native"] = native
		}
		var err error
		switch kind { // the cloud's or an emulated copy alike
		case providers.KindVolume:
			if err = sc.Storage.DeleteVolume(ctx, native); errors.Is(err, providers.ErrNotFound) {
				err = nil
			}
		case providers.KindSnapshot:
			err = sc.Storage.DeleteSnapshot(ctx, native)
		default:
			err = sc.Storage.DeleteBackup(ctx, native)
		}
		if err != nil {
			return jobs.Result{}, stepErr(sc.Name, "delete "+kind+" "+native, err)
		}
		return jobs.Result{Next: "wait", Progress: 30}, nil
	}
}

func (v *changeSteps) stepWaitGone(kind string) func(context.Context, *store.Operation, *router.Cloud, jobSpec) (jobs.Result, error) {
	return func(ctx context.Context, op *store.Operation, sc *router.Cloud, spec jobSpec) (jobs.Result, error) {
		if err := v.waitAbsent(ctx, sc, kind, op.State["native"]); err != nil {
			return jobs.Result{}, err
		}
		return jobs.Result{Next: "forget", Progress: 80}, nil
	}
}

func (v *changeSteps) stepForget(kind string) func(context.Context, *store.Operation, *router.Cloud, jobSpec) (jobs.Result, error) {
	return func(ctx context.Context, op *store.Operation, sc *router.Cloud, spec jobSpec) (jobs.Result, error) {
		if err := v.store.Delete(ctx, op.TargetID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return jobs.Result{}, stepErr(sc.Name, "forget "+op.TargetID, err)
		}
		return jobs.Result{Done: true, Response: deletedResult(spec.Last)}, nil
	}
}

// deletedResult is the last state of a deleted resource, marked DELETED.
func deletedResult(last []byte) []byte {
	a := &anypb.Any{}
	if proto.Unmarshal(last, a) != nil {
		return last
	}
	m, err := a.UnmarshalNew()
	if err != nil {
		return last
	}
	switch x := m.(type) {
	case *canopyv1.Volume:
		x.Status, x.ProviderStatus, x.Attachments = canopyv1.Status_STATUS_DELETED, "deleted", nil
	case *canopyv1.Snapshot:
		x.Status, x.ProviderStatus = canopyv1.Status_STATUS_DELETED, "deleted"
	case *canopyv1.Backup:
		x.Status, x.ProviderStatus = canopyv1.Status_STATUS_DELETED, "deleted"
	}
	return anyBytes(m)
}

// ---------------------------------------------------------------- changes

func (v *changeSteps) stepExtend(ctx context.Context, op *store.Operation, sc *router.Cloud, spec jobSpec) (jobs.Result, error) {
	if spec.Mode == emulate.ModeDeferred {
		return v.deferredChange(ctx, op, sc, spec)
	}
	native, err := v.nativeOf(ctx, op, sc)
	if err != nil {
		return jobs.Result{}, err
	}
	x, err := sc.Storage.GetVolume(ctx, native)
	if err != nil {
		return jobs.Result{}, stepErr(sc.Name, "get volume "+native, err)
	}
	if x.SizeGiB < spec.SizeGiB {
		if err := sc.Storage.ExtendVolume(ctx, native, spec.SizeGiB); err != nil {
			return jobs.Result{}, stepErr(sc.Name, "extend volume "+native, err)
		}
	}
	return jobs.Result{Next: "wait", Progress: 50}, nil
}

func attachedTo(x providers.Volume, server string) bool {
	for _, a := range x.Attachments {
		if a.ServerID == server {
			return true
		}
	}
	return false
}

func (v *changeSteps) stepAttach(ctx context.Context, op *store.Operation, sc *router.Cloud, spec jobSpec) (jobs.Result, error) {
	native, err := v.nativeOf(ctx, op, sc)
	if err != nil {
		return jobs.Result{}, err
	}
	x, err := sc.Storage.GetVolume(ctx, native)
	if err != nil {
		return jobs.Result{}, stepErr(sc.Name, "get volume "+native, err)
	}
	if !attachedTo(x, spec.ServerNative) && spec.MountPath != "" {
		if err := v.attachAt(ctx, sc, native, spec); err != nil { // volume_mounts.go
			return jobs.Result{}, err
		}
	} else if !attachedTo(x, spec.ServerNative) {
		if err := sc.Storage.AttachVolume(ctx, native, spec.ServerNative); err != nil {
			return jobs.Result{}, stepErr(sc.Name, "attach volume "+native, err)
		}
	}
	return jobs.Result{Next: "wait", Progress: 50}, nil
}

func (v *changeSteps) stepDetach(ctx context.Context, op *store.Operation, sc *router.Cloud, spec jobSpec) (jobs.Result, error) {
	native, err := v.nativeOf(ctx, op, sc)
	if err != nil {
		return jobs.Result{}, err
	}
	x, err := sc.Storage.GetVolume(ctx, native)
	if err != nil {
		return jobs.Result{}, stepErr(sc.Name, "get volume "+native, err)
	}
	if attachedTo(x, spec.ServerNative) && x.ProviderStatus != "detaching" {
		if err := sc.Storage.DetachVolume(ctx, native, spec.ServerNative); err != nil {
			return jobs.Result{}, stepErr(sc.Name, "detach volume "+native, err)
		}
	}
	return jobs.Result{Next: "wait", Progress: 50}, nil
}

// stepWaitVolume waits until the volume is ACTIVE and done holds, then
// ends the operation with it.
func (v *changeSteps) stepWaitVolume(done func(providers.Volume, jobSpec) bool, what string) func(context.Context, *store.Operation, *router.Cloud, jobSpec) (jobs.Result, error) {
	return func(ctx context.Context, op *store.Operation, sc *router.Cloud, spec jobSpec) (jobs.Result, error) {
		native, err := v.nativeOf(ctx, op, sc)
		if err != nil {
			return jobs.Result{}, err
		}
		if _, err := v.waitVolume(ctx, sc, native, what, func(x providers.Volume) bool { return x.Status == providers.StatusActive && done(x, spec) }); err != nil {
			return jobs.Result{}, err
		}
		return v.volumeDone(ctx, sc, op.TargetID, native)
	}
}
