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

// ---------------------------------------------------------------- snapshots

func (v *storageViews) cloudSnapshots(ctx context.Context, cl *router.Cloud) ([]*canopyv1.Snapshot, error) {
	sc := cl
	if sc.Emulation.VolumesOrFail() != nil {
		return nil, nil
	}
	list, err := sc.Emulation.ListSnapshots(ctx, false)
	if err != nil {
		return nil, router.CloudErr(cl.Name, "list snapshots", err)
	}
	return v.snapshotsPB(ctx, sc, list)
}

// ListSnapshots implements canopyv1.VolumeServiceServer.
func (v *volumeService) ListSnapshots(ctx context.Context, req *canopyv1.ListSnapshotsRequest) (*canopyv1.ListSnapshotsResponse, error) {
	if err := router.CheckIDFilter("volume_id", req.GetVolumeId()); err != nil {
		return nil, err
	}
	if err := v.checkListCloud(req.GetLocation()); err != nil {
		return nil, err
	}
	q := router.Query{PageSize: req.GetPageSize(), PageToken: req.GetPageToken(), Location: req.GetLocation(), Labels: req.GetLabels(), Filters: []any{"snapshots", req.GetName(), req.GetVolumeId()}}
	page, next, errs, err := router.List(ctx, v.rt, q, v.cloudSnapshots, func(x *canopyv1.Snapshot) bool {
		return x.Location.GetProject() == project(ctx) && (req.GetName() == "" || x.Name == req.GetName()) && (req.GetVolumeId() == "" || x.VolumeId == req.GetVolumeId()) &&
			router.MatchLabels(req.GetLabels(), x.Labels) && router.MatchLocation(req.GetLocation(), x.Location.GetRegion(), x.Location.GetZone())
	})
	if err != nil {
		return nil, err
	}
	return &canopyv1.ListSnapshotsResponse{Snapshots: page, NextPageToken: next, CloudErrors: errs}, nil
}

func (v *volumeService) findSnapshot(ctx context.Context, field, ref string) (*router.Cloud, store.Mapping, *canopyv1.Snapshot, error) {
	cl, m, err := router.Find(ctx, v.rt, providers.KindSnapshot, field, ref, v.cloudSnapshots)
	if err != nil {
		return nil, m, nil, err
	}
	sc, err := v.storage(cl)
	if err != nil {
		return nil, m, nil, err
	}
	if m.Pending() {
		op, spec, _ := v.ops.pendingOp(ctx, m.ID)
		msg := "being created: the cloud has not answered yet"
		if op.State["job"] != "" {
			msg = "the cloud's snapshot job " + op.State["job"] + " has not told the snapshot's id yet"
		}
		return sc, m, &canopyv1.Snapshot{Id: m.ID, Name: spec.Name, Location: &canopyv1.Location{Cloud: cl.Name, Project: m.Project},
			Status: canopyv1.Status_STATUS_PENDING, StatusMessage: msg, VolumeId: spec.VolumeID, Description: spec.Description,
			Labels: spec.Labels, CreateTime: ts(m.Created)}, nil
	}
	x, err := sc.Emulation.GetSnapshot(ctx, m.NativeID)
	if errors.Is(err, providers.ErrNotFound) {
		if !v.ops.busy(ctx, m.ID) {
			_ = v.store.Delete(context.WithoutCancel(ctx), m.ID)
		}
		return nil, m, nil, router.NotFound(providers.KindSnapshot, ref)
	}
	if err != nil {
		return nil, m, nil, router.CloudErr(cl.Name, "get snapshot "+m.NativeID, err)
	}
	pbs, err := v.snapshotsPB(ctx, sc, []providers.Snapshot{x})
	if err != nil {
		return nil, m, nil, err
	}
	pbs[0].Id = m.ID
	return sc, m, pbs[0], nil
}

// GetSnapshot implements canopyv1.VolumeServiceServer.
func (v *volumeService) GetSnapshot(ctx context.Context, req *canopyv1.GetSnapshotRequest) (*canopyv1.Snapshot, error) {
	_, _, x, err := v.findSnapshot(ctx, "id", req.GetId())
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
	if err := router.CheckName("name", req.GetName()); err != nil {
		return nil, err
	}
	if err := router.CheckLabels("labels", req.GetLabels()); err != nil {
		return nil, err
	}
	if req.GetVolume() == "" {
		return nil, router.BadRequest("volume", "required: a volume's canopy id or name")
	}
	hash := requestHash(opSnapshotCreate, req)
	if op, ok, err := v.ops.replay(ctx, opSnapshotCreate, req.GetRequestId(), hash); err != nil || ok {
		return v.ops.replied(ctx, op, ok, err, req.GetWait())
	}
	sc, m, cur, err := v.sourceVolume(ctx, req.GetVolume())
	if err != nil {
		return nil, err
	}
	mode, err := sc.Emulation.SnapshotMode()
	if err != nil {
		return nil, router.EmulationErr(err)
	}
	spec := jobSpec{Name: req.GetName(), Description: req.GetDescription(), Labels: req.GetLabels(), Mode: mode, VolumeID: m.ID, VolumeNative: m.NativeID, SizeGiB: cur.SizeGib}
	return v.ops.submit(ctx, opRequest{kind: opSnapshotCreate, cl: sc, target: store.NewID(), reserve: providers.KindSnapshot, spec: spec,
		wait: req.GetWait(), reqID: req.GetRequestId(), hash: hash})
}

// DeleteSnapshot implements canopyv1.VolumeServiceServer.
func (v *volumeService) DeleteSnapshot(ctx context.Context, req *canopyv1.DeleteSnapshotRequest) (*canopyv1.Operation, error) {
	hash := requestHash(opSnapshotDelete, req)
	if op, ok, err := v.ops.replay(ctx, opSnapshotDelete, req.GetRequestId(), hash); err != nil || ok {
		return v.ops.replied(ctx, op, ok, err, req.GetWait())
	}
	sc, m, cur, err := v.findSnapshot(ctx, "id", req.GetId())
	if err != nil {
		return nil, err
	}
	if m.Pending() {
		return nil, status.Errorf(codes.FailedPrecondition, "snapshot %s is still being created in cloud %q; delete it once it is (or cancel its operation)", m.ID, sc.Name)
	}
	spec := jobSpec{Last: anyBytes(cur)}
	if cur.Emulated {
		spec.Mode = emulate.ModeEmulated
	}
	return v.ops.submit(ctx, opRequest{kind: opSnapshotDelete, cl: sc, target: m.ID, spec: spec, wait: req.GetWait(), reqID: req.GetRequestId(), hash: hash})
}
