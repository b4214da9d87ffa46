package server

import (
	"context"
	"encoding/json"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/canopy-cloud/canopy/emulate"
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
// no-ops, and waits wait again.
//
// Every step calls the cloud's block storage through one interface,
// router.Cloud.Storage (emulate.Storage: the provider interfaces with what
// the cloud lacks filled in), whatever the cloud: a snapshot is
// st.CreateSnapshot, a restore st.RestoreBackup, whether the cloud makes
// them or canopy copies the data. Two step names say which it is, for the
// operation's metadata and nothing else: "copy" runs the same code as
// "provision" when canopy makes the copy, and "fill" ends a volume made
// from an emulated copy (Storage writes the copy's bytes in when a read
// finds the volume ready; that read is the fill step's, so a crash while
// writing resumes there). Deferred volumes (volume-from-image at boot)
// are not something the provider interfaces can express: their steps
// stay in emulate_steps.go and emulate_boot.go.
//
// Operations a canopyd before Storage recorded (jobSpec.Mode emulated for
// copies and restores) resume: their step names are registered, and the
// recorded mode decides where they need it (legacy_steps.go).

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
			"copy":      v.step(v.stepCopy(kind)),
			"bind":      v.step(v.stepBind),
			"wait":      v.step(v.stepWaitCreated),
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
		case kind != providers.KindVolume && (spec.Mode == emulate.ModeEmulated || copiedByCanopy(sc, kind)):
			next = "copy"
		}
		return jobs.Result{Next: next, Progress: 10}, nil
	}
}

// copiedByCanopy says whether the cloud lacks kind (snapshots, backups), so
// that Storage makes them as data copies: the create's step is then named
// "copy" rather than "provision". It names the step; the step's code is
// the same.
func copiedByCanopy(sc *router.Cloud, kind string) bool {
	if kind == providers.KindBackup {
		return !providers.Has(sc.Provider, providers.CapBackups)
	}
	return !providers.Has(sc.Provider, providers.CapSnapshots)
}

// copiedFrom is the emulated copy a volume create or restore makes the
// volume from, if its source is one: Storage writes the copy's bytes in,
// and the operation ends with a fill step.
func copiedFrom(op *store.Operation, spec jobSpec) (kind, native string, ok bool) {
	if op.Kind == opBackupRestore {
		return providers.KindBackup, spec.BackupNative, emulate.IsEmulated(spec.BackupNative)
	}
	return providers.KindSnapshot, spec.SnapshotNative, emulate.IsEmulated(spec.SnapshotNative)
}

// stepProvisionVolume asks the cloud's storage for the volume: a create
// (empty, from an image, from a snapshot) or a restore, native or from an
// emulated copy alike.
func (v *createSteps) stepProvisionVolume(ctx context.Context, op *store.Operation, sc *router.Cloud, spec jobSpec) (jobs.Result, error) {
	vs := providers.VolumeSpec{Name: spec.Name, Zone: spec.Zone, SizeGiB: spec.SizeGiB, Type: spec.Type, Description: spec.Description,
		Labels: spec.Labels, ImageID: spec.ImageNative, SnapshotID: spec.SnapshotNative, IdempotencyToken: op.TargetID, Replay: jobs.Repeated(ctx)}
	var x providers.Volume
	var err error
	if op.Kind == opBackupRestore {
		x, err = sc.Storage.RestoreBackup(ctx, spec.BackupNative, vs)
	} else {
		x, err = sc.Storage.CreateVolume(ctx, vs)
	}
	if err != nil {
		return jobs.Result{}, stepErr(sc.Name, "create volume", err)
	}
	if plainVolume(op, spec) && !x.Emulated && x.NativeID != "" {
		// What the cloud announces of the volume until it is ready is laid
		// over this answer (router/events.go), so the wait's volume reads
		// as a read would and stepWaitCreated need not read it again.
		sc.Volumes.Seed(x.NativeID, x)
	}
	return v.learned(ctx, op, x.NativeID, 40)
}

// plainVolume says whether a create makes an empty volume: nothing the
// create answered changes on the way to ready but what an announcement
// tells (status, size, attachments). A volume from an image, a snapshot
// or a backup becomes bootable, or takes the image's metadata, as it is
// made: those are read when ready.
func plainVolume(op *store.Operation, spec jobSpec) bool {
	return op.Kind == opVolumeCreate && spec.ImageNative == "" && spec.SnapshotNative == "" && spec.BackupNative == "" && spec.Mode == ""
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

// stepProvisionCopy asks the cloud's storage for a snapshot or backup: the
// cloud's, or a copy of the volume's data canopy keeps, named by the
// operation's target id (the idempotency token), so a step run again finds
// the same copy. It is both the "provision" and the "copy" step.
func (v *createSteps) stepProvisionCopy(kind string) func(context.Context, *store.Operation, *router.Cloud, jobSpec) (jobs.Result, error) {
	return func(ctx context.Context, op *store.Operation, sc *router.Cloud, spec jobSpec) (jobs.Result, error) {
		if kind == providers.KindBackup {
			b, err := sc.Storage.CreateBackup(ctx, providers.BackupSpec{Name: spec.Name, VolumeID: spec.VolumeNative, Description: spec.Description,
				Labels: spec.Labels, IdempotencyToken: op.TargetID, Replay: jobs.Repeated(ctx)})
			if err != nil {
				return jobs.Result{}, stepErr(sc.Name, "create backup", err)
			}
			return v.learned(ctx, op, b.NativeID, 40)
		}
		s, err := sc.Storage.CreateSnapshot(ctx, providers.SnapshotSpec{Name: spec.Name, VolumeID: spec.VolumeNative, Description: spec.Description,
			Labels: spec.Labels, IdempotencyToken: op.TargetID, Replay: jobs.Repeated(ctx)})
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
	return jobs.Result{Next: "wait", Progress: 60}, nil
}

// stepWaitCreated waits for the new resource to be ready: the cloud's
// volume (a volume made from an emulated copy is filled next), or the
// copy (an emulated one is ready at once).
func (v *createSteps) stepWaitCreated(ctx context.Context, op *store.Operation, sc *router.Cloud, spec jobSpec) (jobs.Result, error) {
	native := op.State["native"]
	switch kindOf(op.Kind) {
	case providers.KindVolume:
		x, err := v.waitVolume(ctx, sc, native, "ready", func(x providers.Volume) bool { return x.Status == providers.StatusActive })
		if err != nil {
			return jobs.Result{}, err
		}
		if _, _, ok := copiedFrom(op, spec); ok {
			return jobs.Result{Next: "fill", Progress: 80}, nil
		}
		if seed, ok := sc.Volumes.Seeded(native); ok && x.Partial && plainVolume(op, spec) {
			// Cinder said it was ready before its answer to the create
			// came back (a loaded API): lay what it said over the answer.
			x = router.VolumeAnnounced(seed, x)
		}
		if plainVolume(op, spec) && !x.Partial {
			// The wait's volume is a list's, or an announcement laid over
			// the create's answer (Seed): as a read would show it. Reading
			// it again cost a Cinder GET per volume after the event had
			// said it was ready (BENCHMARKS.md P8).
			return v.volumeResult(ctx, sc, op.TargetID, x)
		}
		return v.volumeDone(ctx, sc, op.TargetID, native)
	default:
		if _, err := v.waitCopy(ctx, sc, kindOf(op.Kind), native, false); err != nil {
			return jobs.Result{}, err
		}
		return v.copyDone(ctx, op, sc)
	}
}

// stepFill ends a volume made from an emulated copy: it reads the volume
// through the cloud's storage, which writes the copy's bytes in when it
// finds the volume ready (once: it records that it did), until it shows
// the volume ready. An operation recorded before Storage made the empty
// volume itself; it hands the volume to Storage first (legacy_steps.go).
func (v *createSteps) stepFill(ctx context.Context, op *store.Operation, sc *router.Cloud, spec jobSpec) (jobs.Result, error) {
	native := op.State["native"]
	if err := v.legacyRestored(ctx, op, sc, spec, native); err != nil {
		return jobs.Result{}, err
	}
	x, err := v.readyVolume(ctx, sc, native)
	if err != nil {
		return jobs.Result{}, err
	}
	return v.volumeResult(ctx, sc, op.TargetID, x)
}

// volumeDone ends an operation with the volume as the cloud's storage
// reads it now.
func (v *storageViews) volumeDone(ctx context.Context, sc *router.Cloud, id, native string) (jobs.Result, error) {
	x, err := sc.Storage.GetVolume(ctx, native)
	if err != nil {
		return jobs.Result{}, stepErr(sc.Name, "get volume "+native, err)
	}
	return v.volumeResult(ctx, sc, id, x)
}

// volumeResult is a volume as an operation's result.
func (v *storageViews) volumeResult(ctx context.Context, sc *router.Cloud, id string, x providers.Volume) (jobs.Result, error) {
	pbs, err := v.volumesPB(ctx, sc, []providers.Volume{x})
	if err != nil {
		return jobs.Result{}, err
	}
	if len(pbs) == 0 { // dropped as a crash duplicate of another id
		return jobs.Result{}, status.Errorf(codes.Internal, "volume %s: cloud %q shows %s as a duplicate of another id", id, sc.Name, x.NativeID)
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
	x, err := k.get(sc.Storage, ctx, native)
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
	// A copy an older canopyd recorded as emulated is forgotten by the
	// id derived from its token, as it was then (legacy_steps.go).
	legacyCopy := spec.Mode == emulate.ModeEmulated && kind != providers.KindVolume
	if native == "" && !legacyCopy && spec.Mode != emulate.ModeDeferred {
		// The cloud's storage may have made it without canopy learning the
		// id (a crash inside the step): asking again with the same token
		// tells (an emulated copy is named by the token).
		switch began := op.State["began"]; {
		case op.State["job"] != "" || began == "provision" || began == "resolve" || began == "copy":
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
	if legacyCopy || spec.Mode == emulate.ModeDeferred {
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
				err = sc.Storage.DeleteSnapshot(ctx, native)
			} else {
				err = sc.Storage.DeleteBackup(ctx, native)
			}
		}
	}
	if err != nil {
		return stepErr(sc.Name, "delete "+kind+" "+native, err)
	}
	return v.waitAbsent(ctx, sc, kind, native)
}

// failCreate releases what a failed create holds: an id the cloud never
// answered for, and an emulated copy's records never bound (named by the
// create's token, so there is nothing to ask the cloud).
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
