package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/canopy-cloud/canopy/emulate"
	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/internal/failpoint"
	"github.com/canopy-cloud/canopy/jobs"
	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/router"
	"github.com/canopy-cloud/canopy/store"
)

// The steps of every block-storage operation. Each step is idempotent (the
// runner may run it again after a crash): creates pass the operation's
// target id as the cloud's idempotency token, deletes accept what is gone,
// state changes check the state first, binds of the same native id are
// no-ops, and waits wait again. Emulated modes branch to emulate_steps.go.

// step adapts a step that needs the operation's cloud and spec.
func (v *storageViews) step(fn func(ctx context.Context, op *store.Operation, sc *router.Cloud, spec jobSpec) (jobs.Result, error)) jobs.Step {
	return func(ctx context.Context, op *store.Operation) (jobs.Result, error) {
		sc, spec, err := v.jobOf(op)
		if err != nil {
			return jobs.Result{}, err
		}
		return fn(ctx, op, sc, spec)
	}
}

func (v *storageViews) jobOf(op *store.Operation) (*router.Cloud, jobSpec, error) {
	var spec jobSpec
	if err := json.Unmarshal(op.Spec, &spec); err != nil {
		return nil, spec, status.Errorf(codes.Internal, "operation %s: corrupt spec: %v", op.ID, err)
	}
	sc := v.cloud(op.Cloud)
	if sc == nil {
		return nil, spec, status.Errorf(codes.FailedPrecondition, "cloud %q is no longer configured", op.Cloud)
	}
	if op.State == nil {
		op.State = map[string]string{}
	}
	return sc, spec, nil
}

func always(store.Operation, string) bool { return true }

func (v *jobSet) registerJobs() {
	v.registerImageJobs()
	createVolume := jobs.Kind{First: "reserve", Undoable: always, Undo: v.undoCreate, Fail: v.failCreate, Steps: map[string]jobs.Step{
		"reserve":   v.step(v.stepReserve(providers.KindVolume)),
		"record":    v.step(v.stepRecordDeferred),
		"provision": v.step(v.stepProvisionVolume),
		"bind":      v.step(v.stepBind),
		"wait":      v.step(v.stepWaitCreated),
		"fill":      v.step(v.stepFill),
	}}
	v.runner.Register(opVolumeCreate, createVolume)
	v.runner.Register(opBackupRestore, createVolume)
	v.runner.Register(opVolumeDelete, jobs.Kind{First: "delete", Steps: map[string]jobs.Step{
		"delete": v.step(v.stepDelete(providers.KindVolume)),
		"wait":   v.step(v.stepWaitGone(providers.KindVolume)),
		"forget": v.step(v.stepForget(providers.KindVolume)),
	}})
	v.runner.Register(opVolumeExtend, jobs.Kind{First: "extend", Steps: map[string]jobs.Step{
		"extend": v.step(v.stepExtend),
		"wait":   v.step(v.stepWaitVolume(func(x providers.Volume, spec jobSpec) bool { return x.SizeGiB >= spec.SizeGiB }, "extended")),
	}})
	v.runner.Register(opVolumeAttach, jobs.Kind{First: "attach", Steps: map[string]jobs.Step{
		"attach": v.step(v.stepAttach),
		"wait":   v.step(v.stepWaitVolume(func(x providers.Volume, spec jobSpec) bool { return attachedTo(x, spec.ServerNative) }, "attached")),
	}})
	v.runner.Register(opVolumeDetach, jobs.Kind{First: "detach", Steps: map[string]jobs.Step{
		"detach": v.step(v.stepDetach),
		"wait":   v.step(v.stepWaitVolume(func(x providers.Volume, spec jobSpec) bool { return !attachedTo(x, spec.ServerNative) }, "detached")),
	}})
	for kind, op := range map[string]string{providers.KindSnapshot: opSnapshotCreate, providers.KindBackup: opBackupCreate} {
		v.runner.Register(op, jobs.Kind{First: "reserve", Undoable: always, Undo: v.undoCreate, Fail: v.failCreate, Steps: map[string]jobs.Step{
			"reserve":   v.step(v.stepReserve(kind)),
			"provision": v.step(v.stepProvisionCopy(kind)),
			"resolve":   v.step(v.stepResolve),
			"copy": v.step(func(ctx context.Context, op *store.Operation, sc *router.Cloud, spec jobSpec) (jobs.Result, error) {
				return v.stepCopy(ctx, op, sc, spec, kind)
			}),
			"bind": v.step(v.stepBind),
			"wait": v.step(v.stepWaitCreated),
		}})
	}
	for kind, op := range map[string]string{providers.KindSnapshot: opSnapshotDelete, providers.KindBackup: opBackupDelete} {
		v.runner.Register(op, jobs.Kind{First: "delete", Steps: map[string]jobs.Step{
			"delete": v.step(v.stepDelete(kind)),
			"wait":   v.step(v.stepWaitGone(kind)),
			"forget": v.step(v.stepForget(kind)),
		}})
	}
}

// kindOf is the resource kind an operation creates.
func kindOf(op string) string {
	switch op {
	case opSnapshotCreate, opSnapshotDelete:
		return providers.KindSnapshot
	case opBackupCreate, opBackupDelete:
		return providers.KindBackup
	case opImageUpload:
		return providers.KindImage
	}
	return providers.KindVolume
}

// ---------------------------------------------------------------- creates

func (v *createSteps) stepReserve(kind string) func(context.Context, *store.Operation, *router.Cloud, jobSpec) (jobs.Result, error) {
	return func(ctx context.Context, op *store.Operation, sc *router.Cloud, spec jobSpec) (jobs.Result, error) {
		if err := v.reserve(ctx, *op, kind); err != nil {
			return jobs.Result{}, err
		}
		next := "provision"
		switch {
		case op.Kind == opVolumeCreate && spec.Mode == emulate.ModeDeferred:
			next = "record"
		case kind != providers.KindVolume && spec.Mode == emulate.ModeEmulated:
			next = "copy"
		}
		return jobs.Result{Next: next, Progress: 10}, nil
	}
}

// stepProvisionVolume asks the cloud for the volume (a create, a native
// restore, or the empty volume an emulated copy is written into).
func (v *createSteps) stepProvisionVolume(ctx context.Context, op *store.Operation, sc *router.Cloud, spec jobSpec) (jobs.Result, error) {
	vs := providers.VolumeSpec{Name: spec.Name, Zone: spec.Zone, SizeGiB: spec.SizeGiB, Type: spec.Type, Description: spec.Description,
		Labels: spec.Labels, IdempotencyToken: op.TargetID}
	var x providers.Volume
	var err error
	switch {
	case op.Kind == opBackupRestore && spec.Mode == emulate.ModeNative:
		x, err = sc.Storage.RestoreBackup(ctx, spec.BackupNative, vs)
	case spec.Mode == emulate.ModeEmulated: // an empty volume; the data follows (fill)
		x, err = sc.Storage.CreateVolume(ctx, vs)
	default:
		vs.ImageID, vs.SnapshotID = spec.ImageNative, spec.SnapshotNative
		x, err = sc.Storage.CreateVolume(ctx, vs)
	}
	if err != nil {
		return jobs.Result{}, stepErr(sc.Name, "create volume", err)
	}
	return v.learned(ctx, op, x.NativeID, 40)
}

// learned records the native id a step learned and binds the pending
// mapping to it at once, so a list racing the operation shows the resource
// under its canopy id rather than adopting it under another. (The "bind"
// step after it repeats the bind, idempotently, for operations recorded
// before this step learned the id.)
func (v *createSteps) learned(ctx context.Context, op *store.Operation, native string, progress int32) (jobs.Result, error) {
	op.State["native"] = native
	failpoint.Hit(op.Kind + "/" + op.Step + ":cloud-answered")
	if _, err := v.store.Bind(ctx, op.TargetID, native); err != nil {
		return jobs.Result{}, status.Errorf(codes.Internal, "bind %s to %s: %v", op.TargetID, native, err)
	}
	return jobs.Result{Next: "bind", Progress: progress}, nil
}

// stepProvisionCopy asks the cloud for a snapshot or backup.
func (v *createSteps) stepProvisionCopy(kind string) func(context.Context, *store.Operation, *router.Cloud, jobSpec) (jobs.Result, error) {
	return func(ctx context.Context, op *store.Operation, sc *router.Cloud, spec jobSpec) (jobs.Result, error) {
		if kind == providers.KindBackup {
			b, err := sc.Storage.CreateBackup(ctx, providers.BackupSpec{Name: spec.Name, VolumeID: spec.VolumeNative, Description: spec.Description,
				Labels: spec.Labels, IdempotencyToken: op.TargetID})
			if err != nil {
				return jobs.Result{}, stepErr(sc.Name, "create backup", err)
			}
			return v.learned(ctx, op, b.NativeID, 40)
		}
		s, err := sc.Storage.CreateSnapshot(ctx, providers.SnapshotSpec{Name: spec.Name, VolumeID: spec.VolumeNative, Description: spec.Description,
			Labels: spec.Labels, IdempotencyToken: op.TargetID})
		if err != nil {
			return jobs.Result{}, stepErr(sc.Name, "create snapshot", err)
		}
		if s.NativeID == "" && s.JobID != "" {
			// The cloud answered with a job: canopy's id is the client's
			// already; the native one comes when the job knows it.
			op.State["job"] = s.JobID
			return jobs.Result{Next: "resolve", Progress: 30}, nil
		}
		return v.learned(ctx, op, s.NativeID, 40)
	}
}

// stepResolve waits for a snapshot job to tell the snapshot's id.
func (v *createSteps) stepResolve(ctx context.Context, op *store.Operation, sc *router.Cloud, spec jobSpec) (jobs.Result, error) {
	id, err := v.pollSnapshotJob(ctx, sc, op.State["job"])
	if err != nil {
		if router.IsProviderErr(err) || ctx.Err() != nil {
			return jobs.Result{}, stepErr(sc.Name, "snapshot job "+op.State["job"], err)
		}
		return jobs.Result{}, status.Errorf(codes.DeadlineExceeded, "cloud %q: %v", sc.Name, err)
	}
	return v.learned(ctx, op, id, 50)
}

// stepBind fills the pending id mapping with the native id.
func (v *createSteps) stepBind(ctx context.Context, op *store.Operation, sc *router.Cloud, spec jobSpec) (jobs.Result, error) {
	if _, err := v.store.Bind(ctx, op.TargetID, op.State["native"]); err != nil {
		return jobs.Result{}, status.Errorf(codes.Internal, "bind %s to %s: %v", op.TargetID, op.State["native"], err)
	}
	if spec.Mode == emulate.ModeEmulated && op.Kind != opVolumeCreate && op.Kind != opBackupRestore {
		return v.copyDone(ctx, op, sc) // an emulated copy is ready at once
	}
	return jobs.Result{Next: "wait", Progress: 60}, nil
}

// stepWaitCreated waits for the new resource to be ready.
func (v *createSteps) stepWaitCreated(ctx context.Context, op *store.Operation, sc *router.Cloud, spec jobSpec) (jobs.Result, error) {
	native := op.State["native"]
	switch kindOf(op.Kind) {
	case providers.KindVolume:
		if _, err := v.waitVolume(ctx, sc, native, "ready", func(x providers.Volume) bool { return x.Status == providers.StatusActive }); err != nil {
			return jobs.Result{}, err
		}
		if spec.Mode == emulate.ModeEmulated {
			return jobs.Result{Next: "fill", Progress: 80}, nil
		}
		return v.volumeDone(ctx, sc, op.TargetID, native)
	default:
		if _, err := v.waitCopy(ctx, sc, kindOf(op.Kind), native, false); err != nil {
			return jobs.Result{}, err
		}
		return v.copyDone(ctx, op, sc)
	}
}

// volumeDone ends an operation with the volume as it is now.
func (v *storageViews) volumeDone(ctx context.Context, sc *router.Cloud, id, native string) (jobs.Result, error) {
	x, err := sc.Emulation.GetVolume(ctx, native)
	if err != nil {
		return jobs.Result{}, stepErr(sc.Name, "get volume "+native, err)
	}
	pbs, err := v.volumesPB(ctx, sc, []providers.Volume{x})
	if err != nil {
		return jobs.Result{}, err
	}
	pbs[0].Id = id
	return jobs.Result{Done: true, Response: anyBytes(pbs[0])}, nil
}

// copyDone ends a snapshot or backup create with the copy as it is now.
func (v *storageViews) copyDone(ctx context.Context, op *store.Operation, sc *router.Cloud) (jobs.Result, error) {
	if kindOf(op.Kind) == providers.KindSnapshot {
		return copyResult(ctx, v, snapshotKind, op, sc)
	}
	return copyResult(ctx, v, backupKind, op, sc)
}

// copyResult is a created copy as the operation's result.
func copyResult[N any, M copyMsg](ctx context.Context, v *storageViews, k copyKind[N, M], op *store.Operation, sc *router.Cloud) (jobs.Result, error) {
	native := op.State["native"]
	x, err := k.get(sc.Emulation, ctx, native)
	if err != nil {
		return jobs.Result{}, stepErr(sc.Name, "get "+k.kind+" "+native, err)
	}
	out, err := copyOne(ctx, v, k, sc, op.TargetID, x)
	if err != nil {
		return jobs.Result{}, err
	}
	return jobs.Result{Done: true, Response: anyBytes(out)}, nil
}

// undoCreate rolls a create back (cancel): what the cloud made is deleted,
// what canopy recorded forgotten, the id released.
func (v *createSteps) undoCreate(ctx context.Context, op *store.Operation) error {
	sc, spec, err := v.jobOf(op)
	if err != nil {
		return err
	}
	kind := kindOf(op.Kind)
	native := op.State["native"]
	emulatedCopy := spec.Mode == emulate.ModeEmulated && kind != providers.KindVolume
	if native == "" && !emulatedCopy && spec.Mode != emulate.ModeDeferred {
		// The cloud may have made it without canopy learning the id (a
		// crash inside the step): asking again with the same token tells.
		switch began := op.State["began"]; {
		case op.State["job"] != "" || began == "provision" || began == "resolve":
			if op.State["job"] == "" {
				if _, err := v.stepProvision(ctx, op, sc, spec, kind); err != nil {
					return err
				}
			}
			if native = op.State["native"]; native == "" && op.State["job"] != "" {
				if native, err = v.pollSnapshotJob(ctx, sc, op.State["job"]); errors.Is(err, providers.ErrNotFound) {
					native = "" // the job went with its snapshot: nothing is left
				} else if err != nil {
					return err
				}
			}
			if native != "" {
				// Record what is being rolled back before deleting it, so
				// an undo resumed after a crash knows it without asking.
				op.State["native"] = native
				if _, err := v.store.UpdateOperation(ctx, *op); err != nil {
					return stepErr(sc.Name, "record rollback", err)
				}
			}
		}
	}
	if emulatedCopy || spec.Mode == emulate.ModeDeferred {
		if err := v.forgetEmulated(ctx, op, sc, spec); err != nil {
			return stepErr(sc.Name, "forget emulated "+kind, err)
		}
	} else if native != "" {
		if err := v.deleteNative(ctx, sc, kind, native); err != nil {
			return err
		}
	}
	if err := v.store.Delete(ctx, op.TargetID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return stepErr(sc.Name, "forget "+op.TargetID, err)
	}
	return nil
}

func (v *createSteps) stepProvision(ctx context.Context, op *store.Operation, sc *router.Cloud, spec jobSpec, kind string) (jobs.Result, error) {
	if kind == providers.KindVolume {
		return v.stepProvisionVolume(ctx, op, sc, spec)
	}
	return v.stepProvisionCopy(kind)(ctx, op, sc, spec)
}

// deleteNative deletes a resource a cancelled create made, once the cloud
// lets it (a volume being created cannot be deleted yet), and waits until
// it is gone.
func (v *createSteps) deleteNative(ctx context.Context, sc *router.Cloud, kind, native string) error {
	var err error
	switch kind {
	case providers.KindVolume:
		if _, err = v.waitVolume(ctx, sc, native, "settled", func(x providers.Volume) bool { return !x.Status.Transitional() }); err == nil || status.Code(err) == codes.NotFound {
			if err = sc.Storage.DeleteVolume(ctx, native); errors.Is(err, providers.ErrNotFound) {
				err = nil
			}
		}
	default:
		if _, err = v.waitCopy(ctx, sc, kind, native, true); err == nil || status.Code(err) == codes.NotFound {
			if kind == providers.KindSnapshot {
				err = sc.Emulation.DeleteSnapshot(ctx, native)
			} else {
				err = sc.Emulation.DeleteBackup(ctx, native)
			}
		}
	}
	if err != nil {
		return stepErr(sc.Name, "delete "+kind+" "+native, err)
	}
	return v.waitAbsent(ctx, sc, kind, native)
}

// failCreate releases what a failed create holds: an id the cloud never
// answered for, and emulated records never bound.
func (v *createSteps) failCreate(ctx context.Context, op *store.Operation) {
	sc, spec, err := v.jobOf(op)
	if err != nil {
		return
	}
	m, err := v.store.Get(ctx, op.TargetID)
	if err != nil || !m.Pending() || spec.Mode == emulate.ModeDeferred {
		return
	}
	_ = v.forgetEmulated(ctx, op, sc, spec)
	_ = v.store.Delete(ctx, op.TargetID)
}

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
		switch {
		case kind == providers.KindVolume:
			if err = sc.Storage.DeleteVolume(ctx, native); errors.Is(err, providers.ErrNotFound) {
				err = nil
			}
		case emulate.IsEmulated(native):
			err = v.deleteEmulatedCopy(ctx, sc, kind, native)
		case kind == providers.KindSnapshot:
			err = sc.Emulation.DeleteSnapshot(ctx, native)
		default:
			err = sc.Emulation.DeleteBackup(ctx, native)
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
	x, err := sc.Emulation.GetVolume(ctx, native)
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
	x, err := sc.Emulation.GetVolume(ctx, native)
	if err != nil {
		return jobs.Result{}, stepErr(sc.Name, "get volume "+native, err)
	}
	if !attachedTo(x, spec.ServerNative) {
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
	x, err := sc.Emulation.GetVolume(ctx, native)
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

// nativeOf is the native id of the operation's target.
func (v *storageViews) nativeOf(ctx context.Context, op *store.Operation, sc *router.Cloud) (string, error) {
	if n := op.State["native"]; n != "" {
		return n, nil
	}
	m, err := v.store.Get(ctx, op.TargetID)
	if errors.Is(err, store.ErrNotFound) {
		return "", router.NotFound(kindOf(op.Kind), op.TargetID)
	}
	if err != nil {
		return "", stepErr(sc.Name, "get "+op.TargetID, err)
	}
	if m.Pending() {
		return "", status.Errorf(codes.FailedPrecondition, "%s %s does not exist in cloud %q yet", m.Kind, m.ID, sc.Name)
	}
	op.State["native"] = m.NativeID
	return m.NativeID, nil
}

// ---------------------------------------------------------------- waits

// waitCtx bounds a wait inside an operation by the configured timeout.
func (v *storageViews) waitCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, v.cfg.Wait.Timeout.Std())
}

// resourceErr is a resource that went to ERROR while an operation waited.
func resourceErr(cloud, kind, native, msg string) error {
	if msg == "" {
		msg = "the cloud gave no reason"
	}
	return router.Detailed(codes.Aborted, fmt.Sprintf("cloud %q: %s %s went to ERROR: %s", cloud, kind, native, msg),
		&errdetails.ErrorInfo{Reason: "RESOURCE_ERROR", Domain: router.ErrorDomain, Metadata: map[string]string{"cloud": cloud, "kind": kind, "native_id": native}})
}

// waitErr maps the end of a wait that did not succeed.
func waitErr(ctx context.Context, cloud, kind, native, what string, start time.Time, err error) error {
	if ctx.Err() != nil {
		return ctx.Err() // the runner is stopping: the step runs again later
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return status.Errorf(codes.DeadlineExceeded, "cloud %q: %s %s not %s after %s", cloud, kind, native, what, time.Since(start).Round(time.Millisecond))
	}
	return stepErr(cloud, "wait for "+kind, err)
}

// waitVolume waits through the cloud's batched poller until done holds.
// A volume in ERROR, or gone, ends the wait with an error.
func (v *storageViews) waitVolume(ctx context.Context, sc *router.Cloud, native, what string, done func(providers.Volume) bool) (providers.Volume, error) {
	wctx, cancel := v.waitCtx(ctx)
	defer cancel()
	start := time.Now()
	x, present, err := sc.Volumes.Wait(wctx, native, func(x providers.Volume, present bool) bool {
		return !present || done(x) || x.Status == providers.StatusError
	})
	switch {
	case err != nil:
		return x, waitErr(ctx, sc.Name, providers.KindVolume, native, what, start, err)
	case !present:
		return x, router.Detailed(codes.NotFound, fmt.Sprintf("cloud %q: volume %s is gone", sc.Name, native),
			&errdetails.ResourceInfo{ResourceType: providers.KindVolume, ResourceName: native, Description: "gone while canopy waited"})
	case x.Status == providers.StatusError && !done(x):
		return x, resourceErr(sc.Name, providers.KindVolume, native, x.StatusMessage)
	}
	return x, nil
}

// waitCopy waits until a snapshot or backup is ACTIVE (or, with settled,
// merely not transitional).
func (v *storageViews) waitCopy(ctx context.Context, sc *router.Cloud, kind, native string, settled bool) (providers.Status, error) {
	wctx, cancel := v.waitCtx(ctx)
	defer cancel()
	start := time.Now()
	ok := func(s providers.Status) bool {
		return s == providers.StatusActive || (settled && !s.Transitional())
	}
	var st providers.Status
	var present bool
	var msg string
	var err error
	if kind == providers.KindSnapshot {
		var x providers.Snapshot
		x, present, err = sc.Snapshots.Wait(wctx, native, func(x providers.Snapshot, present bool) bool {
			return !present || ok(x.Status) || x.Status == providers.StatusError
		})
		st, msg = x.Status, x.StatusMessage
	} else {
		var x providers.Backup
		x, present, err = sc.Backups.Wait(wctx, native, func(x providers.Backup, present bool) bool {
			return !present || ok(x.Status) || x.Status == providers.StatusError
		})
		st, msg = x.Status, x.StatusMessage
	}
	switch {
	case err != nil:
		return st, waitErr(ctx, sc.Name, kind, native, "ready", start, err)
	case !present:
		return st, router.Detailed(codes.NotFound, fmt.Sprintf("cloud %q: %s %s is gone", sc.Name, kind, native),
			&errdetails.ResourceInfo{ResourceType: kind, ResourceName: native, Description: "gone while canopy waited"})
	case st == providers.StatusError && !settled:
		return st, resourceErr(sc.Name, kind, native, msg)
	}
	return st, nil
}

// waitAbsent waits until a resource no longer shows.
func (v *storageViews) waitAbsent(ctx context.Context, sc *router.Cloud, kind, native string) error {
	if native == "" {
		return nil
	}
	wctx, cancel := v.waitCtx(ctx)
	defer cancel()
	start := time.Now()
	var err error
	switch kind {
	case providers.KindVolume:
		_, _, err = sc.Volumes.Wait(wctx, native, func(_ providers.Volume, present bool) bool { return !present })
	case providers.KindSnapshot:
		_, _, err = sc.Snapshots.Wait(wctx, native, func(_ providers.Snapshot, present bool) bool { return !present })
	default:
		_, _, err = sc.Backups.Wait(wctx, native, func(_ providers.Backup, present bool) bool { return !present })
	}
	if err != nil {
		return waitErr(ctx, sc.Name, kind, native, "gone", start, err)
	}
	return nil
}
