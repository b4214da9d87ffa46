package server

import (
	"context"
	"encoding/json"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/canopy-cloud/canopy/emulate"
	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/router"
	"github.com/canopy-cloud/canopy/store"
)

// ---------------------------------------------------------------- volumes

// cloudVolumes lists one cloud's volumes as the API shows them: the
// cloud's own (adopting those made outside canopy) and the deferred ones.
func (v *storageViews) cloudVolumes(ctx context.Context, cl *router.Cloud) ([]*canopyv1.Volume, error) {
	sc := cl
	if sc.Emulation.VolumesOrFail() != nil {
		return nil, nil
	}
	defs, err := sc.Emulation.DeferredVolumes(ctx)
	if err != nil {
		return nil, router.StoreErr("list deferred volumes", err)
	}
	kept := defs[:0]
	for _, r := range defs {
		if !v.settleBoot(ctx, sc, r) { // a boot canopyd did not see through
			kept = append(kept, r)
		}
	}
	list, err := sc.Storage.ListVolumes(ctx)
	if err != nil {
		return nil, router.CloudErr(cl.Name, "list volumes", err)
	}
	return v.volumesView(ctx, sc, list, kept)
}

// volumesView converts a cloud's volume list and adds its deferred volumes.
func (v *storageViews) volumesView(ctx context.Context, sc *router.Cloud, list []providers.Volume, kept []emulate.Record) ([]*canopyv1.Volume, error) {
	out, err := v.volumesPB(ctx, sc, list)
	if err != nil {
		return nil, err
	}
	for _, r := range kept {
		m, err := v.store.Get(ctx, r.ID)
		if err != nil || !m.Pending() {
			continue // a record whose create was rolled back, or bound at boot
		}
		pb, err := v.deferredPB(ctx, sc, r, m)
		if err != nil {
			return nil, err
		}
		out = append(out, pb)
	}
	return out, nil
}

// ListVolumes implements canopyv1.VolumeServiceServer.
func (v *volumeService) ListVolumes(ctx context.Context, req *canopyv1.ListVolumesRequest) (*canopyv1.ListVolumesResponse, error) {
	if err := v.checkListCloud(req.GetLocation()); err != nil {
		return nil, err
	}
	q := router.Query{PageSize: req.GetPageSize(), PageToken: req.GetPageToken(), Location: req.GetLocation(), Labels: req.GetLabels(), Filters: []any{"volumes", req.GetName(), req.GetStatus()}}
	page, next, errs, err := router.List(ctx, v.rt, q, v.cloudVolumes, func(x *canopyv1.Volume) bool {
		return x.Location.GetProject() == project(ctx) && (req.GetName() == "" || x.Name == req.GetName()) && (req.GetStatus() == 0 || x.Status == req.GetStatus()) &&
			router.MatchLabels(req.GetLabels(), x.Labels) && router.MatchLocation(req.GetLocation(), x.Location.GetRegion(), x.Location.GetZone())
	})
	if err != nil {
		return nil, err
	}
	return &canopyv1.ListVolumesResponse{Volumes: page, NextPageToken: next, CloudErrors: errs, Unreachable: router.Unreachable(errs)}, nil
}

// busy reports whether an unfinished operation acts on the resource.
func (v *ops) busy(ctx context.Context, id string) bool {
	ops, err := v.store.ListOperations(ctx, store.OperationFilter{TargetID: id, Unfinished: true})
	return err != nil || len(ops) > 0
}

// pendingOp is the unfinished create of a pending id, if there is one.
func (v *ops) pendingOp(ctx context.Context, id string) (store.Operation, jobSpec, bool) {
	ops, err := v.store.ListOperations(ctx, store.OperationFilter{TargetID: id, Unfinished: true})
	if err != nil || len(ops) == 0 {
		return store.Operation{}, jobSpec{}, false
	}
	var spec jobSpec
	_ = json.Unmarshal(ops[0].Spec, &spec)
	return ops[0], spec, true
}

// findVolume resolves a volume reference (canopy id or name) in field.
func (v *volumeService) findVolume(ctx context.Context, field, ref string) (*router.Cloud, store.Mapping, *canopyv1.Volume, error) {
	cl, m, err := router.Find(ctx, v.rt, providers.KindVolume, field, ref, v.cloudVolumes)
	if err != nil {
		return nil, m, nil, err
	}
	sc, err := v.storage(cl)
	if err != nil {
		return nil, m, nil, err
	}
	if r, err := sc.Emulation.Record(ctx, providers.KindVolume, m.ID); m.Pending() && err == nil && v.settleBoot(ctx, sc, r) {
		if m, err = v.store.Get(ctx, m.ID); err != nil {
			return nil, m, nil, router.StoreErr("get "+m.ID, err)
		}
	}
	if m.Pending() {
		if r, err := sc.Emulation.Record(ctx, providers.KindVolume, m.ID); err == nil {
			pb, err := v.deferredPB(ctx, sc, r, m)
			return sc, m, pb, err
		}
		_, spec, _ := v.ops.pendingOp(ctx, m.ID)
		return sc, m, &canopyv1.Volume{Id: m.ID, Name: spec.Name, Location: &canopyv1.Location{Cloud: cl.Name, Zone: spec.Zone, Project: m.Project},
			Status: canopyv1.Status_STATUS_PENDING, StatusMessage: "being created: the cloud has not answered yet", SizeGib: spec.SizeGiB,
			Labels: spec.Labels, CreateTime: ts(m.Created)}, nil
	}
	x, err := sc.Storage.GetVolume(ctx, m.NativeID)
	if errors.Is(err, providers.ErrNotFound) {
		if !v.ops.busy(ctx, m.ID) { // deleted behind canopy's back
			_ = v.store.Delete(context.WithoutCancel(ctx), m.ID)
		}
		return nil, m, nil, router.NotFound(providers.KindVolume, ref)
	}
	if err != nil {
		return nil, m, nil, router.CloudErr(cl.Name, "get volume "+m.NativeID, err)
	}
	pbs, err := v.volumesPB(ctx, sc, []providers.Volume{x})
	if err != nil {
		return nil, m, nil, err
	}
	pbs[0].Id = m.ID
	return sc, m, pbs[0], nil
}

// GetVolume implements canopyv1.VolumeServiceServer.
func (v *volumeService) GetVolume(ctx context.Context, req *canopyv1.GetVolumeRequest) (*canopyv1.Volume, error) {
	_, _, x, err := v.findVolume(ctx, "id", req.GetId())
	return x, err
}

// CreateVolume implements canopyv1.VolumeServiceServer.
func (v *volumeService) CreateVolume(ctx context.Context, req *canopyv1.CreateVolumeRequest) (*canopyv1.Operation, error) {
	if err := router.CheckName("name", req.GetName()); err != nil {
		return nil, err
	}
	if err := router.CheckLabels("labels", req.GetLabels()); err != nil {
		return nil, err
	}
	size := req.GetSizeGib()
	switch {
	case size < 0 || size > maxVolumeGiB:
		return nil, router.BadRequest("size_gib", "must be between 1 and %d GiB, got %d", maxVolumeGiB, size)
	case req.GetImage() != "" && req.GetSnapshot() != "":
		return nil, router.BadRequest("snapshot", "set image or snapshot, not both")
	case req.GetImage() == "" && req.GetSnapshot() == "" && size == 0:
		return nil, router.BadRequest("size_gib", "required for an empty volume: a positive number of GiB")
	}
	return v.ops.asOperation(ctx, opVolumeCreate, req, func() (opRequest, error) {
		spec := jobSpec{Name: req.GetName(), Zone: req.GetLocation().GetZone(), Type: req.GetVolumeType(), Description: req.GetDescription(), Labels: req.GetLabels()}
		var cl *router.Cloud
		if req.GetSnapshot() != "" {
			sc, sm, snap, err := findCopy(ctx, v, snapshotKind, "snapshot", req.GetSnapshot())
			if err != nil {
				return opRequest{}, err
			}
			if c := req.GetLocation().GetCloud(); c != "" && c != sc.Name {
				return opRequest{}, router.BadRequest("location.cloud", "snapshot %s is in cloud %q: a volume from it is made there", sm.ID, sc.Name)
			}
			if sm.Pending() || snap.Status != canopyv1.Status_STATUS_ACTIVE {
				return opRequest{}, status.Errorf(codes.FailedPrecondition, "snapshot %s is not ready (status %s) in cloud %q", sm.ID, snap.Status, sc.Name)
			}
			if size == 0 {
				size = snap.SizeGib
			}
			if size < snap.SizeGib {
				return opRequest{}, router.BadRequest("size_gib", "at least the snapshot's %d GiB, got %d", snap.SizeGib, size)
			}
			if emulate.IsEmulated(sm.NativeID) { // the steps ask Storage, which writes its bytes in
				if err := sc.Emulation.RestoreMode(providers.CapSnapshots); err != nil {
					return opRequest{}, router.EmulationErr(err)
				}
			}
			if spec.Zone == "" {
				spec.Zone = snap.Location.GetZone()
			}
			cl, spec.SnapshotID, spec.SnapshotNative = sc, sm.ID, sm.NativeID
		} else {
			var err error
			if cl, err = v.rt.RouteCreate(req.GetLocation()); err != nil {
				return opRequest{}, err
			}
		}
		sc, err := v.storage(cl)
		if err != nil {
			return opRequest{}, err
		}
		if req.GetImage() != "" {
			mode, err := sc.Emulation.FromImageMode()
			if err != nil {
				return opRequest{}, router.EmulationErr(err)
			}
			c, err := cl.ComputeOrFail()
			if err != nil {
				return opRequest{}, router.CapabilityErr(cl.Name, providers.CapVolumeFromImage)
			}
			native, err := v.rt.ResolveIn(ctx, cl, providers.KindImage, "image", req.GetImage(), imageNames(c))
			if err != nil {
				return opRequest{}, err
			}
			im, err := c.GetImage(ctx, native)
			if err != nil {
				return opRequest{}, router.CloudErr(cl.Name, "get image "+native, err)
			}
			min := imageMinGiB(im)
			if size == 0 {
				size = min
			}
			if size < min {
				return opRequest{}, router.BadRequest("size_gib", "image %s needs at least %d GiB, got %d", im.Name, min, size)
			}
			spec.ImageNative, spec.Mode = native, mode
		}
		spec.SizeGiB = size
		return opRequest{cl: cl, target: store.NewID(), reserve: providers.KindVolume, spec: spec}, nil
	})
}

// replied answers a request whose request id was seen before.
func (v *ops) replied(ctx context.Context, op store.Operation, ok bool, err error, wait bool) (*canopyv1.Operation, error) {
	if err != nil {
		return nil, err
	}
	return v.answer(ctx, op, wait)
}

// imageMinGiB is the smallest volume an image fits on.
func imageMinGiB(im providers.Image) int64 {
	gib := (im.SizeBytes + 1<<30 - 1) >> 30
	if im.MinDiskGiB > gib {
		gib = im.MinDiskGiB
	}
	if gib < 1 {
		gib = 1
	}
	return gib
}

// DeleteVolume implements canopyv1.VolumeServiceServer.
func (v *volumeService) DeleteVolume(ctx context.Context, req *canopyv1.DeleteVolumeRequest) (*canopyv1.Operation, error) {
	return v.ops.asOperation(ctx, opVolumeDelete, req, func() (opRequest, error) {
		sc, m, cur, err := v.findVolume(ctx, "id", req.GetId())
		if err != nil {
			return opRequest{}, err
		}
		spec := jobSpec{Last: anyBytes(cur)}
		switch {
		case m.Pending() && cur.Emulated:
			if r, err := sc.Emulation.Record(ctx, providers.KindVolume, m.ID); err == nil && r.BootServer != "" {
				return opRequest{}, status.Errorf(codes.FailedPrecondition, "volume %s is being made as the root volume of server %s in cloud %q", m.ID, r.BootServer, sc.Name)
			}
			spec.Mode = emulate.ModeDeferred
		case m.Pending():
			return opRequest{}, status.Errorf(codes.FailedPrecondition, "volume %s is still being created in cloud %q; delete it once it is (or cancel its operation)", m.ID, sc.Name)
		case len(cur.Attachments) > 0 && mountsVolumes(sc):
			return opRequest{}, v.inUse(ctx, sc, m.ID, cur.Attachments[0]) // volume_mounts.go
		case len(cur.Attachments) > 0:
			return opRequest{}, status.Errorf(codes.FailedPrecondition, "volume %s is attached to server %s in cloud %q: detach it first", m.ID, cur.Attachments[0].ServerId, sc.Name)
		}
		return opRequest{cl: sc, target: m.ID, spec: spec}, nil
	})
}

// ExtendVolume implements canopyv1.VolumeServiceServer.
func (v *volumeService) ExtendVolume(ctx context.Context, req *canopyv1.ExtendVolumeRequest) (*canopyv1.Operation, error) {
	if req.GetSizeGib() <= 0 || req.GetSizeGib() > maxVolumeGiB {
		return nil, router.BadRequest("size_gib", "must be between 1 and %d GiB, got %d", maxVolumeGiB, req.GetSizeGib())
	}
	return v.ops.asOperation(ctx, opVolumeExtend, req, func() (opRequest, error) {
		sc, m, cur, err := v.findVolume(ctx, "id", req.GetId())
		if err != nil {
			return opRequest{}, err
		}
		spec := jobSpec{SizeGiB: req.GetSizeGib()}
		switch {
		case m.Pending() && cur.Emulated:
			spec.Mode = emulate.ModeDeferred
		case m.Pending():
			return opRequest{}, status.Errorf(codes.FailedPrecondition, "volume %s is still being created in cloud %q", m.ID, sc.Name)
		}
		if req.GetSizeGib() <= cur.SizeGib {
			return opRequest{}, router.BadRequest("size_gib", "must be more than the volume's %d GiB, got %d", cur.SizeGib, req.GetSizeGib())
		}
		return opRequest{cl: sc, target: m.ID, spec: spec}, nil
	})
}

// findServerIn resolves a server reference in field to a server of cloud.
func (v *volumeService) findServerIn(ctx context.Context, field, ref string, cl *router.Cloud) (store.Mapping, error) {
	scl, m, err := router.Find(ctx, v.rt, providers.KindServer, field, ref, v.servers.cloudServers)
	if err != nil {
		return m, err
	}
	if scl != cl {
		return m, router.BadRequest(field, "server %s is in cloud %q, the volume in cloud %q", m.ID, scl.Name, cl.Name)
	}
	if m.Pending() {
		return m, status.Errorf(codes.FailedPrecondition, "server %s is still being created in cloud %q", m.ID, cl.Name)
	}
	return m, nil
}

// AttachVolume implements canopyv1.VolumeServiceServer.
func (v *volumeService) AttachVolume(ctx context.Context, req *canopyv1.AttachVolumeRequest) (*canopyv1.Operation, error) {
	if req.GetServer() == "" {
		return nil, router.BadRequest("server", "required: a server's canopy id or name")
	}
	if err := checkMountPath(req.GetMountPath()); err != nil { // volume_mounts.go
		return nil, err
	}
	return v.ops.asOperation(ctx, opVolumeAttach, req, func() (opRequest, error) {
		sc, m, cur, err := v.findVolume(ctx, "id", req.GetId())
		if err != nil {
			return opRequest{}, err
		}
		if m.Pending() && cur.Emulated {
			return opRequest{}, status.Errorf(codes.FailedPrecondition, "volume %s is made when a server boots from it (cloud %q cannot make a volume from an image): boot a server from it", m.ID, sc.Name)
		}
		if m.Pending() {
			return opRequest{}, status.Errorf(codes.FailedPrecondition, "volume %s is still being created in cloud %q", m.ID, sc.Name)
		}
		if req.GetMountPath() != "" && !mountsVolumes(sc) {
			return opRequest{}, status.Errorf(codes.FailedPrecondition, "mount_path: cloud %q attaches volumes to servers as devices; a mount path is for container clouds", sc.Name)
		}
		sm, err := v.attachTarget(ctx, req.GetServer(), sc)
		if err != nil {
			return opRequest{}, err
		}
		for _, a := range cur.Attachments {
			if a.ServerId != sm.ID && !mountsVolumes(sc) {
				return opRequest{}, status.Errorf(codes.FailedPrecondition, "volume %s is attached to server %s in cloud %q: detach it first", m.ID, a.ServerId, sc.Name)
			}
		}
		spec := jobSpec{ServerID: sm.ID, ServerNative: sm.NativeID, MountPath: req.GetMountPath()}
		return opRequest{cl: sc, target: m.ID, spec: spec}, nil
	})
}

// DetachVolume implements canopyv1.VolumeServiceServer.
func (v *volumeService) DetachVolume(ctx context.Context, req *canopyv1.DetachVolumeRequest) (*canopyv1.Operation, error) {
	return v.ops.asOperation(ctx, opVolumeDetach, req, func() (opRequest, error) {
		sc, m, cur, err := v.findVolume(ctx, "id", req.GetId())
		if err != nil {
			return opRequest{}, err
		}
		if m.Pending() {
			return opRequest{}, status.Errorf(codes.FailedPrecondition, "volume %s is not attached: it does not exist in cloud %q yet", m.ID, sc.Name)
		}
		var sm store.Mapping
		if req.GetServer() != "" {
			if sm, err = v.attachTarget(ctx, req.GetServer(), sc); err != nil { // volume_mounts.go
				return opRequest{}, err
			}
		} else {
			if len(cur.Attachments) != 1 {
				return opRequest{}, status.Errorf(codes.FailedPrecondition, "volume %s is not attached to any server in cloud %q", m.ID, sc.Name)
			}
			if sm, err = v.store.Get(ctx, cur.Attachments[0].ServerId); err != nil {
				return opRequest{}, router.StoreErr("get server "+cur.Attachments[0].ServerId, err)
			}
		}
		attached := false
		for _, a := range cur.Attachments {
			attached = attached || a.ServerId == sm.ID || v.sameContainer(ctx, sc, a.ServerId, sm) // volume_mounts.go
		}
		if !attached {
			return opRequest{}, status.Errorf(codes.FailedPrecondition, "volume %s is not attached to server %s in cloud %q", m.ID, sm.ID, sc.Name)
		}
		spec := jobSpec{ServerID: sm.ID, ServerNative: sm.NativeID}
		return opRequest{cl: sc, target: m.ID, spec: spec}, nil
	})
}
