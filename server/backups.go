package server

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/store"

	"github.com/canopy-cloud/canopy/router"

	"github.com/canopy-cloud/canopy/emulate"
)

// ---------------------------------------------------------------- backups

func (v *storageViews) cloudBackups(ctx context.Context, cl *router.Cloud) ([]*canopyv1.Backup, error) {
	sc := cl
	if sc.Emulation.VolumesOrFail() != nil {
		return nil, nil
	}
	list, err := sc.Emulation.ListBackups(ctx, false)
	if err != nil {
		return nil, router.CloudErr(cl.Name, "list backups", err)
	}
	return v.backupsPB(ctx, sc, list)
}

// ListBackups implements canopyv1.VolumeServiceServer.
func (v *volumeService) ListBackups(ctx context.Context, req *canopyv1.ListBackupsRequest) (*canopyv1.ListBackupsResponse, error) {
	if err := router.CheckIDFilter("volume_id", req.GetVolumeId()); err != nil {
		return nil, err
	}
	if err := v.checkListCloud(req.GetLocation()); err != nil {
		return nil, err
	}
	q := router.Query{PageSize: req.GetPageSize(), PageToken: req.GetPageToken(), Location: req.GetLocation(), Labels: req.GetLabels(), Filters: []any{"backups", req.GetName(), req.GetVolumeId()}}
	page, next, errs, err := router.List(ctx, v.rt, q, v.cloudBackups, func(x *canopyv1.Backup) bool {
		return x.Location.GetProject() == project(ctx) && (req.GetName() == "" || x.Name == req.GetName()) && (req.GetVolumeId() == "" || x.VolumeId == req.GetVolumeId()) &&
			router.MatchLabels(req.GetLabels(), x.Labels) && router.MatchLocation(req.GetLocation(), x.Location.GetRegion(), x.Location.GetZone())
	})
	if err != nil {
		return nil, err
	}
	return &canopyv1.ListBackupsResponse{Backups: page, NextPageToken: next, CloudErrors: errs}, nil
}

func (v *volumeService) findBackup(ctx context.Context, field, ref string) (*router.Cloud, store.Mapping, *canopyv1.Backup, error) {
	cl, m, err := router.Find(ctx, v.rt, providers.KindBackup, field, ref, v.cloudBackups)
	if err != nil {
		return nil, m, nil, err
	}
	sc, err := v.storage(cl)
	if err != nil {
		return nil, m, nil, err
	}
	if m.Pending() {
		_, spec, _ := v.ops.pendingOp(ctx, m.ID)
		return sc, m, &canopyv1.Backup{Id: m.ID, Name: spec.Name, Location: &canopyv1.Location{Cloud: cl.Name, Project: m.Project},
			Status: canopyv1.Status_STATUS_PENDING, StatusMessage: "being created: the cloud has not answered yet", VolumeId: spec.VolumeID,
			Description: spec.Description, Labels: spec.Labels, CreateTime: ts(m.Created)}, nil
	}
	x, err := sc.Emulation.GetBackup(ctx, m.NativeID)
	if errors.Is(err, providers.ErrNotFound) {
		if !v.ops.busy(ctx, m.ID) {
			_ = v.store.Delete(context.WithoutCancel(ctx), m.ID)
		}
		return nil, m, nil, router.NotFound(providers.KindBackup, ref)
	}
	if err != nil {
		return nil, m, nil, router.CloudErr(cl.Name, "get backup "+m.NativeID, err)
	}
	pbs, err := v.backupsPB(ctx, sc, []providers.Backup{x})
	if err != nil {
		return nil, m, nil, err
	}
	pbs[0].Id = m.ID
	return sc, m, pbs[0], nil
}

// GetBackup implements canopyv1.VolumeServiceServer.
func (v *volumeService) GetBackup(ctx context.Context, req *canopyv1.GetBackupRequest) (*canopyv1.Backup, error) {
	_, _, x, err := v.findBackup(ctx, "id", req.GetId())
	return x, err
}

// CreateBackup implements canopyv1.VolumeServiceServer.
func (v *volumeService) CreateBackup(ctx context.Context, req *canopyv1.CreateBackupRequest) (*canopyv1.Operation, error) {
	if err := router.CheckName("name", req.GetName()); err != nil {
		return nil, err
	}
	if err := router.CheckLabels("labels", req.GetLabels()); err != nil {
		return nil, err
	}
	if req.GetVolume() == "" {
		return nil, router.BadRequest("volume", "required: a volume's canopy id or name")
	}
	hash := requestHash(opBackupCreate, req)
	if op, ok, err := v.ops.replay(ctx, opBackupCreate, req.GetRequestId(), hash); err != nil || ok {
		return v.ops.replied(ctx, op, ok, err, req.GetWait())
	}
	sc, m, cur, err := v.sourceVolume(ctx, req.GetVolume())
	if err != nil {
		return nil, err
	}
	mode, err := sc.Emulation.BackupMode()
	if err != nil {
		return nil, router.EmulationErr(err)
	}
	spec := jobSpec{Name: req.GetName(), Description: req.GetDescription(), Labels: req.GetLabels(), Mode: mode, VolumeID: m.ID, VolumeNative: m.NativeID, SizeGiB: cur.SizeGib}
	return v.ops.submit(ctx, opRequest{kind: opBackupCreate, cl: sc, target: store.NewID(), reserve: providers.KindBackup, spec: spec,
		wait: req.GetWait(), reqID: req.GetRequestId(), hash: hash})
}

// DeleteBackup implements canopyv1.VolumeServiceServer.
func (v *volumeService) DeleteBackup(ctx context.Context, req *canopyv1.DeleteBackupRequest) (*canopyv1.Operation, error) {
	hash := requestHash(opBackupDelete, req)
	if op, ok, err := v.ops.replay(ctx, opBackupDelete, req.GetRequestId(), hash); err != nil || ok {
		return v.ops.replied(ctx, op, ok, err, req.GetWait())
	}
	sc, m, cur, err := v.findBackup(ctx, "id", req.GetId())
	if err != nil {
		return nil, err
	}
	if m.Pending() {
		return nil, status.Errorf(codes.FailedPrecondition, "backup %s is still being created in cloud %q; delete it once it is (or cancel its operation)", m.ID, sc.Name)
	}
	spec := jobSpec{Last: anyBytes(cur)}
	if cur.Emulated {
		spec.Mode = emulate.ModeEmulated
	}
	return v.ops.submit(ctx, opRequest{kind: opBackupDelete, cl: sc, target: m.ID, spec: spec, wait: req.GetWait(), reqID: req.GetRequestId(), hash: hash})
}

// RestoreBackup implements canopyv1.VolumeServiceServer.
func (v *volumeService) RestoreBackup(ctx context.Context, req *canopyv1.RestoreBackupRequest) (*canopyv1.Operation, error) {
	if err := router.CheckName("name", req.GetName()); err != nil {
		return nil, err
	}
	if err := router.CheckLabels("labels", req.GetLabels()); err != nil {
		return nil, err
	}
	if req.GetSizeGib() < 0 || req.GetSizeGib() > maxVolumeGiB {
		return nil, router.BadRequest("size_gib", "must be between 0 (the backup's size) and %d GiB, got %d", maxVolumeGiB, req.GetSizeGib())
	}
	hash := requestHash(opBackupRestore, req)
	if op, ok, err := v.ops.replay(ctx, opBackupRestore, req.GetRequestId(), hash); err != nil || ok {
		return v.ops.replied(ctx, op, ok, err, req.GetWait())
	}
	sc, m, b, err := v.findBackup(ctx, "id", req.GetId())
	if err != nil {
		return nil, err
	}
	if m.Pending() || b.Status != canopyv1.Status_STATUS_ACTIVE {
		return nil, status.Errorf(codes.FailedPrecondition, "backup %s is not ready (status %s) in cloud %q", m.ID, b.Status, sc.Name)
	}
	if z := req.GetZone(); z != "" && !router.Contains(sc.Zones, z) {
		return nil, router.BadRequest("zone", "cloud %q (the backup's) has no zone %q (it has %v)", sc.Name, z, sc.Zones)
	}
	size := req.GetSizeGib()
	if size == 0 {
		size = b.SizeGib
	}
	if size < b.SizeGib {
		return nil, router.BadRequest("size_gib", "at least the backup's %d GiB, got %d", b.SizeGib, size)
	}
	spec := jobSpec{Name: req.GetName(), Zone: req.GetZone(), SizeGiB: size, Labels: req.GetLabels(), BackupID: m.ID, BackupNative: m.NativeID}
	if b.Emulated {
		if err := sc.Emulation.RestoreMode(providers.CapBackups); err != nil {
			return nil, router.EmulationErr(err)
		}
		spec.Mode = emulate.ModeEmulated
	}
	return v.ops.submit(ctx, opRequest{kind: opBackupRestore, cl: sc, target: store.NewID(), reserve: providers.KindVolume, spec: spec,
		wait: req.GetWait(), reqID: req.GetRequestId(), hash: hash})
}
