package server

import (
	"context"
	"errors"
	"time"

	"github.com/canopy-cloud/canopy/emulate"
	"github.com/canopy-cloud/canopy/jobs"
	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/router"
	"github.com/canopy-cloud/canopy/store"
)

// The operation steps of what the provider interfaces cannot express, so
// emulate.Storage does not do it: deferred volumes (volume-from-image on a
// cloud that cannot, made when a server boots from it; emulate_boot.go),
// and the cleanup of what an emulated create recorded under its token.
// Each is idempotent like every step: records are written under ids
// derived from the operation's target, so a step run twice writes the
// same thing.

// stepRecordDeferred records a deferred volume (volume-from-image on a
// cloud that cannot): the operation is done at once, the volume PENDING
// until a server boots from it.
func (v *createSteps) stepRecordDeferred(ctx context.Context, op *store.Operation, sc *router.Cloud, spec jobSpec) (jobs.Result, error) {
	rec := emulate.Record{Kind: providers.KindVolume, ID: op.TargetID, Name: spec.Name, Description: spec.Description, Labels: spec.Labels,
		Zone: spec.Zone, SizeGiB: spec.SizeGiB, Type: spec.Type, ImageID: spec.ImageNative, Created: op.Created}
	if rec.Zone == "" && len(sc.Zones) > 0 {
		rec.Zone = sc.Zones[0]
	}
	if len(sc.Regions) > 0 {
		rec.Region = sc.Regions[0]
	}
	if err := sc.Emulation.PutRecord(ctx, providers.KindVolume, op.TargetID, rec); err != nil {
		return jobs.Result{}, stepErr(sc.Name, "record deferred volume", err)
	}
	m, err := v.store.Get(ctx, op.TargetID)
	if err != nil {
		return jobs.Result{}, stepErr(sc.Name, "get "+op.TargetID, err)
	}
	pb, err := v.deferredPB(ctx, sc, rec, m)
	if err != nil {
		return jobs.Result{}, err
	}
	return jobs.Result{Done: true, Response: anyBytes(pb)}, nil
}

// deferredChange applies an extend to a deferred volume's record.
func (v *changeSteps) deferredChange(ctx context.Context, op *store.Operation, sc *router.Cloud, spec jobSpec) (jobs.Result, error) {
	rec, err := sc.Emulation.Record(ctx, providers.KindVolume, op.TargetID)
	if err != nil {
		return jobs.Result{}, stepErr(sc.Name, "deferred volume "+op.TargetID, err)
	}
	if spec.SizeGiB > rec.SizeGiB {
		rec.SizeGiB = spec.SizeGiB
		if err := sc.Emulation.PutRecord(ctx, providers.KindVolume, op.TargetID, rec); err != nil {
			return jobs.Result{}, stepErr(sc.Name, "record deferred volume", err)
		}
	}
	m, err := v.store.Get(ctx, op.TargetID)
	if err != nil {
		return jobs.Result{}, stepErr(sc.Name, "get "+op.TargetID, err)
	}
	pb, err := v.deferredPB(ctx, sc, rec, m)
	if err != nil {
		return jobs.Result{}, err
	}
	return jobs.Result{Done: true, Response: anyBytes(pb)}, nil
}

// forgetEmulated removes what an emulated create recorded (undo, failure).
func (v *createSteps) forgetEmulated(ctx context.Context, op *store.Operation, sc *router.Cloud, spec jobSpec) error {
	switch op.Kind {
	case opVolumeCreate:
		if spec.Mode == emulate.ModeDeferred {
			return sc.Emulation.Forget(ctx, providers.KindVolume, op.TargetID)
		}
	case opSnapshotCreate:
		return sc.Emulation.Forget(ctx, providers.KindSnapshot, emulate.EmulatedID(providers.KindSnapshot, op.TargetID))
	case opBackupCreate:
		return sc.Emulation.Forget(ctx, providers.KindBackup, emulate.EmulatedID(providers.KindBackup, op.TargetID))
	}
	return nil
}

// pollSnapshotJob waits for a snapshot job to tell the snapshot's id.
func (v *storageViews) pollSnapshotJob(ctx context.Context, sc *router.Cloud, job string) (string, error) {
	deadline := time.Now().Add(v.cfg.Wait.Timeout.Std())
	every := v.cfg.Wait.MinInterval.Std()
	for {
		id, err := sc.Storage.SnapshotJob(ctx, job)
		if err != nil {
			return "", err
		}
		if id != "" {
			return id, nil
		}
		if time.Now().After(deadline) {
			return "", errors.New("snapshot job " + job + " did not tell the snapshot's id in time")
		}
		t := time.NewTimer(every)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return "", ctx.Err()
		}
	}
}
