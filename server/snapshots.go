package server

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/router"
	"github.com/canopy-cloud/canopy/store"
)

// ---------------------------------------------------------------- snapshots

// ListSnapshots implements canopyv1.VolumeServiceServer.
func (v *volumeService) ListSnapshots(ctx context.Context, req *canopyv1.ListSnapshotsRequest) (*canopyv1.ListSnapshotsResponse, error) {
	page, next, errs, err := listCopies(ctx, v, snapshotKind, req)
	if err != nil {
		return nil, err
	}
	return &canopyv1.ListSnapshotsResponse{Snapshots: page, NextPageToken: next, CloudErrors: errs, Unreachable: router.Unreachable(errs)}, nil
}

// GetSnapshot implements canopyv1.VolumeServiceServer.
func (v *volumeService) GetSnapshot(ctx context.Context, req *canopyv1.GetSnapshotRequest) (*canopyv1.Snapshot, error) {
	_, _, x, err := findCopy(ctx, v, snapshotKind, "id", req.GetId())
	return x, err
}

// sourceVolume resolves the volume a snapshot or backup copies.
func (v *volumeService) sourceVolume(ctx context.Context, ref string) (*router.Cloud, store.Mapping, *canopyv1.Volume, error) {
	if ref == "" {
		return nil, store.Mapping{}, nil, router.BadRequest("volume", "required: a volume's canopy id or name")
	}
	sc, m, cur, err := v.findVolume(ctx, "volume", ref)
	if err != nil {
		return nil, m, nil, err
	}
	if m.Pending() {
		return nil, m, nil, status.Errorf(codes.FailedPrecondition, "volume %s does not exist in cloud %q yet (status %s)", m.ID, sc.Name, cur.Status)
	}
	return sc, m, cur, nil
}

// CreateSnapshot implements canopyv1.VolumeServiceServer.
func (v *volumeService) CreateSnapshot(ctx context.Context, req *canopyv1.CreateSnapshotRequest) (*canopyv1.Operation, error) {
	return createCopy(ctx, v, snapshotKind, req)
}

// DeleteSnapshot implements canopyv1.VolumeServiceServer.
func (v *volumeService) DeleteSnapshot(ctx context.Context, req *canopyv1.DeleteSnapshotRequest) (*canopyv1.Operation, error) {
	return deleteCopy(ctx, v, snapshotKind, req)
}
