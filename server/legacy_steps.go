package server

import (
	"context"

	"github.com/canopy-cloud/canopy/emulate"
	"github.com/canopy-cloud/canopy/jobs"
	"github.com/canopy-cloud/canopy/router"
	"github.com/canopy-cloud/canopy/store"
)

// Operations recorded by a canopyd before its steps called emulate.Storage
// recorded the mode they chose (jobSpec.Mode emulated) for emulated
// snapshots, backups and restores, and their steps acted on that mode.
// They resume here, where the recorded mode still decides; operations
// recorded since record no mode for these and never branch on it.
//
//   - An emulated copy at "copy" is made as it was: the volume's data
//     copied under the id derived from the operation's target (which is
//     what Storage derives from the same token), through the Layer, so
//     a cloud that gained the capability since does not make a native
//     copy the operation's rollback would not know of.
//   - A restore whose provision step made an empty volume (its source was
//     not passed to the cloud's storage) is handed to Storage at "fill"
//     (Storage.Restored), which then fills it on the fill step's read.
//   - A cancelled emulated copy is forgotten by that derived id
//     (undoCreate, forgetEmulated).

// stepCopy is the "copy" step: for operations recorded since Storage, the
// same as "provision" (the name says canopy makes the copy); for an older
// operation that recorded the emulated mode, the data copy as it was made.
func (v *createSteps) stepCopy(kind string) func(context.Context, *store.Operation, *router.Cloud, jobSpec) (jobs.Result, error) {
	provision := v.stepProvisionCopy(kind)
	return func(ctx context.Context, op *store.Operation, sc *router.Cloud, spec jobSpec) (jobs.Result, error) {
		if spec.Mode != emulate.ModeEmulated {
			return provision(ctx, op, sc, spec)
		}
		native := emulate.EmulatedID(kind, op.TargetID)
		src, err := sc.Emulation.GetVolume(ctx, spec.VolumeNative)
		if err != nil {
			return jobs.Result{}, stepErr(sc.Name, "get volume "+spec.VolumeNative, err)
		}
		if err := sc.Emulation.MakeCopy(ctx, kind, native, src, spec.Name, spec.Description, spec.Labels); err != nil {
			return jobs.Result{}, stepErr(sc.Name, "copy volume "+spec.VolumeNative, err)
		}
		return v.learned(ctx, op, native, 70)
	}
}

// legacyRestored hands Storage a volume an older operation's provision
// step made empty from an emulated copy, so the fill step's read fills
// it. A volume Storage made itself (the step passed the source) keeps its
// record.
func (v *createSteps) legacyRestored(ctx context.Context, op *store.Operation, sc *router.Cloud, spec jobSpec, native string) error {
	if spec.Mode != emulate.ModeEmulated {
		return nil
	}
	kind, src, _ := copiedFrom(op, spec)
	if err := sc.Storage.Restored(ctx, native, kind, src); err != nil {
		return stepErr(sc.Name, "restore emulated "+kind, err)
	}
	return nil
}
