package server

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/router"
	"github.com/canopy-cloud/canopy/store"
)

// ---------------------------------------------------------------- backups

// ListBackups implements canopyv1.VolumeServiceServer.
func (v *volumeService) ListBackups(ctx context.Context, req *canopyv1.ListBackupsRequest) (*canopyv1.ListBackupsResponse, error) {
	page, next, errs, err := listCopies(ctx, v, backupKind, req)
	if err != nil {
		return nil, err
	}
	return &canopyv1.ListBackupsResponse{Backups: page, NextPageToken: next, CloudErrors: errs, Unreachable: router.Unreachable(errs)}, nil
}

// GetBackup implements canopyv1.VolumeServiceServer.
func (v *volumeService) GetBackup(ctx context.Context, req *canopyv1.GetBackupRequest) (*canopyv1.Backup, error) {
	_, _, x, err := findCopy(ctx, v, backupKind, "id", req.GetId())
	return x, err
}

// CreateBackup implements canopyv1.VolumeServiceServer.
func (v *volumeService) CreateBackup(ctx context.Context, req *canopyv1.CreateBackupRequest) (*canopyv1.Operation, error) {
	return createCopy(ctx, v, backupKind, req)
}

// DeleteBackup implements canopyv1.VolumeServiceServer.
func (v *volumeService) DeleteBackup(ctx context.Context, req *canopyv1.DeleteBackupRequest) (*canopyv1.Operation, error) {
	return deleteCopy(ctx, v, backupKind, req)
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
	return v.ops.asOperation(ctx, opBackupRestore, req, func() (opRequest, error) {
		sc, m, b, err := findCopy(ctx, v, backupKind, "id", req.GetId())
		if err != nil {
			return opRequest{}, err
		}
		if m.Pending() || b.Status != canopyv1.Status_STATUS_ACTIVE {
			return opRequest{}, status.Errorf(codes.FailedPrecondition, "backup %s is not ready (status %s) in cloud %q", m.ID, b.Status, sc.Name)
		}
		if z := req.GetZone(); z != "" && !router.Contains(sc.Zones, z) {
			return opRequest{}, router.BadRequest("zone", "cloud %q (the backup's) has no zone %q (it has %v)", sc.Name, z, sc.Zones)
		}
		size := req.GetSizeGib()
		if size == 0 {
			size = b.SizeGib
		}
		if size < b.SizeGib {
			return opRequest{}, router.BadRequest("size_gib", "at least the backup's %d GiB, got %d", b.SizeGib, size)
		}
		spec := jobSpec{Name: req.GetName(), Zone: req.GetZone(), SizeGiB: size, Labels: req.GetLabels(), BackupID: m.ID, BackupNative: m.NativeID}
		if b.Emulated { // the steps ask Storage, which writes its bytes in
			if err := sc.Emulation.RestoreMode(providers.CapBackups); err != nil {
				return opRequest{}, router.EmulationErr(err)
			}
		}
		return opRequest{cl: sc, target: store.NewID(), reserve: providers.KindVolume, spec: spec}, nil
	})
}
