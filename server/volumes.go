package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/anypb"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/internal/failpoint"
	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/store"
)

// maxVolumeGiB bounds size_gib (Cinder's and EBS's limits are 16 TiB-ish).
const maxVolumeGiB = 65536

// Operation kinds.
const (
	opVolumeCreate   = "volume.create"
	opVolumeDelete   = "volume.delete"
	opVolumeExtend   = "volume.extend"
	opVolumeAttach   = "volume.attach"
	opVolumeDetach   = "volume.detach"
	opSnapshotCreate = "snapshot.create"
	opSnapshotDelete = "snapshot.delete"
	opBackupCreate   = "backup.create"
	opBackupDelete   = "backup.delete"
	opBackupRestore  = "backup.restore"
)

// jobSpec is what an operation needs to run, recorded with it: every id
// resolved at request time, so a resumed operation acts on the same things.
type jobSpec struct {
	Name        string            `json:"name,omitempty"`
	Zone        string            `json:"zone,omitempty"`
	SizeGiB     int64             `json:"size_gib,omitempty"`
	Type        string            `json:"type,omitempty"`
	Description string            `json:"description,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	// Mode is the strategy the emulation layer chose (modeNative, ...).
	Mode string `json:"mode,omitempty"`
	// Sources and objects, canopy and native ids.
	ImageNative    string `json:"image_native,omitempty"`
	SnapshotID     string `json:"snapshot,omitempty"`
	SnapshotNative string `json:"snapshot_native,omitempty"`
	BackupID       string `json:"backup,omitempty"`
	BackupNative   string `json:"backup_native,omitempty"`
	VolumeID       string `json:"volume,omitempty"`
	VolumeNative   string `json:"volume_native,omitempty"`
	ServerID       string `json:"server,omitempty"`
	ServerNative   string `json:"server_native,omitempty"`
	// Last is the resource as the request found it (deletes answer with it).
	Last []byte `json:"last,omitempty"`
}

// opRequest is one mutating call about to become an operation.
type opRequest struct {
	kind    string
	cl      *cloud
	target  string // canopy id of the resource
	reserve string // kind of id mapping to reserve for target (creates)
	spec    jobSpec
	wait    bool
	reqID   string
	hash    string
}

// requestHash fingerprints a request without its wait flag and request id,
// so a request_id reused for another request can be told apart.
func requestHash(kind string, m proto.Message) string {
	c := proto.Clone(m)
	r := c.ProtoReflect()
	for _, name := range []string{"wait", "request_id"} {
		if fd := r.Descriptor().Fields().ByName(protoreflect.Name(name)); fd != nil {
			r.Clear(fd)
		}
	}
	raw, _ := proto.MarshalOptions{Deterministic: true}.Marshal(c)
	sum := sha256.Sum256(append([]byte(kind+"\x00"), raw...))
	return hex.EncodeToString(sum[:12])
}

// replay returns the operation a request id already made (AIP-155), if
// any: the same request again gets the same operation; another request
// with the same id is INVALID_ARGUMENT.
func (v *volumes) replay(ctx context.Context, kind, reqID, hash string) (store.Operation, bool, error) {
	if err := checkRequestID(reqID); err != nil || reqID == "" {
		return store.Operation{}, false, err
	}
	ops, err := v.s.store.ListOperations(ctx, store.OperationFilter{Project: project(ctx), RequestID: reqID})
	if err != nil {
		return store.Operation{}, false, storeErr("find request "+reqID, err)
	}
	if len(ops) == 0 {
		return store.Operation{}, false, nil
	}
	op := ops[0]
	if op.Kind != kind || op.RequestHash != hash {
		return op, false, badRequest("request_id", "%q was already used for another request (operation %s, %s)", reqID, op.ID, op.Kind)
	}
	if !op.Done {
		v.runner.Submit(op.ID) // runs it unless it runs already
	}
	return op, true, nil
}

// submit records the operation (and, for a create, the resource's id
// mapping), starts it, and answers: at once, or when it is done with wait.
func (v *volumes) submit(ctx context.Context, r opRequest) (*canopyv1.Operation, error) {
	raw, err := json.Marshal(r.spec)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "spec: %v", err)
	}
	op, created, err := v.s.store.CreateOperation(ctx, store.Operation{Project: project(ctx), Kind: r.kind, Cloud: r.cl.name, TargetID: r.target,
		RequestID: r.reqID, RequestHash: r.hash, Spec: raw})
	if err != nil {
		return nil, storeErr("create operation", err)
	}
	if !created { // a concurrent retry with the same request id won
		if op.Kind != r.kind || op.RequestHash != r.hash {
			return nil, badRequest("request_id", "%q was already used for another request (operation %s, %s)", r.reqID, op.ID, op.Kind)
		}
		v.runner.Submit(op.ID)
		return v.answer(ctx, op, r.wait)
	}
	failpoint.Hit("rpc/" + r.kind + ":created")
	if r.reserve != "" {
		if err := v.reserve(ctx, op, r.reserve); err != nil {
			return nil, err
		}
		failpoint.Hit("rpc/" + r.kind + ":reserved")
	}
	v.runner.Submit(op.ID)
	return v.answer(ctx, op, r.wait)
}

// reserve durably maps the canopy id a create allocated, pending until the
// cloud answers. Doing it again is a no-op.
func (v *volumes) reserve(ctx context.Context, op store.Operation, kind string) error {
	if _, err := v.s.store.Get(ctx, op.TargetID); err == nil {
		return nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return storeErr("get "+op.TargetID, err)
	}
	_, _, err := v.s.store.Reserve(ctx, store.Mapping{ID: op.TargetID, Cloud: op.Cloud, Kind: kind, Project: op.Project})
	if err != nil && !errors.Is(err, store.ErrConflict) {
		return storeErr("reserve "+op.TargetID, err)
	}
	return nil
}

// answer returns the operation, after waiting for it when asked.
func (v *volumes) answer(ctx context.Context, op store.Operation, wait bool) (*canopyv1.Operation, error) {
	if wait && !op.Done {
		wctx, cancel := v.waitBound(ctx)
		defer cancel()
		got, err := v.runner.Wait(wctx, op.ID)
		if ctx.Err() != nil {
			return nil, status.FromContextError(ctx.Err()).Err()
		}
		if err != nil {
			return nil, storeErr("get operation "+op.ID, err)
		}
		op = got
	}
	return opPB(op), nil
}

// waitBound bounds a wait for an operation: by the configured wait
// timeout when the call has no deadline, else a little before the deadline,
// so the caller gets the operation (not yet done) rather than an error.
func (v *volumes) waitBound(ctx context.Context) (context.Context, context.CancelFunc) {
	dl, ok := ctx.Deadline()
	if !ok {
		return context.WithTimeout(ctx, v.s.cfg.Wait.Timeout.Std())
	}
	margin := time.Until(dl) / 5
	if margin > time.Second {
		margin = time.Second
	}
	return context.WithDeadline(ctx, dl.Add(-margin))
}

// anyBytes packs a resource for an operation's result.
func anyBytes(m proto.Message) []byte {
	a, err := anypb.New(m)
	if err != nil {
		return nil
	}
	raw, _ := proto.Marshal(a)
	return raw
}

// explicitCloud is the cloud a list's location names, if it names one.
func (v *volumes) explicitCloud(loc *canopyv1.Location) (*cloud, error) {
	if loc.GetCloud() == "" && loc.GetZone() == "" {
		return nil, nil
	}
	targets, err := v.s.listTargets(loc)
	if err != nil || len(targets) != 1 {
		return nil, err
	}
	return targets[0], nil
}

// checkListCloud is FAILED_PRECONDITION when a list names a cloud without
// volumes; a fan-out simply skips such clouds.
func (v *volumes) checkListCloud(loc *canopyv1.Location) error {
	cl, err := v.explicitCloud(loc)
	if err != nil || cl == nil {
		return err
	}
	_, err = v.storage(cl)
	return err
}

// ---------------------------------------------------------------- volumes

// cloudVolumes lists one cloud's volumes as the API shows them: the
// cloud's own (adopting those made outside canopy) and the deferred ones.
func (v *volumes) cloudVolumes(ctx context.Context, cl *cloud) ([]*canopyv1.Volume, error) {
	sc := v.clouds[cl.name]
	if sc == nil || sc.emu.volumesOrFail() != nil {
		return nil, nil
	}
	defs, err := sc.emu.deferredVolumes(ctx)
	if err != nil {
		return nil, storeErr("list deferred volumes", err)
	}
	kept := defs[:0]
	for _, r := range defs {
		if !v.settleBoot(ctx, sc, r) { // a boot canopyd did not see through
			kept = append(kept, r)
		}
	}
	list, err := sc.emu.listVolumes(ctx, false)
	if err != nil {
		return nil, cloudErr(cl.name, "list volumes", err)
	}
	return v.volumesView(ctx, sc, list, kept)
}

// volumesView converts a cloud's volume list and adds its deferred volumes.
func (v *volumes) volumesView(ctx context.Context, sc *storageCloud, list []providers.Volume, kept []emuRecord) ([]*canopyv1.Volume, error) {
	out, err := v.volumesPB(ctx, sc, list)
	if err != nil {
		return nil, err
	}
	for _, r := range kept {
		m, err := v.s.store.Get(ctx, r.ID)
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
func (v *volumes) ListVolumes(ctx context.Context, req *canopyv1.ListVolumesRequest) (*canopyv1.ListVolumesResponse, error) {
	if err := v.checkListCloud(req.GetLocation()); err != nil {
		return nil, err
	}
	q := listQuery{req.GetPageSize(), req.GetPageToken(), req.GetLocation(), req.GetLabels(), []any{"volumes", req.GetName(), req.GetStatus()}}
	page, next, errs, err := listAcross(ctx, v.s, q, v.cloudVolumes, func(x *canopyv1.Volume) bool {
		return x.Location.GetProject() == project(ctx) && (req.GetName() == "" || x.Name == req.GetName()) && (req.GetStatus() == 0 || x.Status == req.GetStatus()) &&
			matchLabels(req.GetLabels(), x.Labels) && matchLocation(req.GetLocation(), x.Location.GetRegion(), x.Location.GetZone())
	})
	if err != nil {
		return nil, err
	}
	return &canopyv1.ListVolumesResponse{Volumes: page, NextPageToken: next, CloudErrors: errs}, nil
}

// busy reports whether an unfinished operation acts on the resource.
func (v *volumes) busy(ctx context.Context, id string) bool {
	ops, err := v.s.store.ListOperations(ctx, store.OperationFilter{TargetID: id, Unfinished: true})
	return err != nil || len(ops) > 0
}

// pendingOp is the unfinished create of a pending id, if there is one.
func (v *volumes) pendingOp(ctx context.Context, id string) (store.Operation, jobSpec, bool) {
	ops, err := v.s.store.ListOperations(ctx, store.OperationFilter{TargetID: id, Unfinished: true})
	if err != nil || len(ops) == 0 {
		return store.Operation{}, jobSpec{}, false
	}
	var spec jobSpec
	_ = json.Unmarshal(ops[0].Spec, &spec)
	return ops[0], spec, true
}

// findVolume resolves a volume reference (canopy id or name) in field.
func (v *volumes) findVolume(ctx context.Context, field, ref string) (*storageCloud, store.Mapping, *canopyv1.Volume, error) {
	id, isID, err := idOrName(field, ref)
	if err != nil {
		return nil, store.Mapping{}, nil, err
	}
	if !isID {
		all, errs := fanOut(ctx, v.s.clouds.list, v.cloudVolumes)
		x, err := pickByName(providers.KindVolume, field, id, ownedBy(project(ctx), all), errs)
		if err != nil {
			return nil, store.Mapping{}, nil, err
		}
		id = x.Id
	}
	cl, m, err := v.s.lookupID(ctx, providers.KindVolume, id)
	if err != nil {
		return nil, m, nil, err
	}
	sc, err := v.storage(cl)
	if err != nil {
		return nil, m, nil, err
	}
	if r, err := sc.emu.record(ctx, providers.KindVolume, m.ID); m.Pending() && err == nil && v.settleBoot(ctx, sc, r) {
		if m, err = v.s.store.Get(ctx, m.ID); err != nil {
			return nil, m, nil, storeErr("get "+m.ID, err)
		}
	}
	if m.Pending() {
		if r, err := sc.emu.record(ctx, providers.KindVolume, m.ID); err == nil {
			pb, err := v.deferredPB(ctx, sc, r, m)
			return sc, m, pb, err
		}
		_, spec, _ := v.pendingOp(ctx, m.ID)
		return sc, m, &canopyv1.Volume{Id: m.ID, Name: spec.Name, Location: &canopyv1.Location{Cloud: cl.name, Zone: spec.Zone, Project: m.Project},
			Status: canopyv1.Status_STATUS_PENDING, StatusMessage: "being created: the cloud has not answered yet", SizeGib: spec.SizeGiB,
			Labels: spec.Labels, CreateTime: ts(m.Created)}, nil
	}
	x, err := sc.emu.getVolume(ctx, m.NativeID)
	if errors.Is(err, providers.ErrNotFound) {
		if !v.busy(ctx, m.ID) { // deleted behind canopy's back
			_ = v.s.store.Delete(context.WithoutCancel(ctx), m.ID)
		}
		return nil, m, nil, notFound(providers.KindVolume, ref)
	}
	if err != nil {
		return nil, m, nil, cloudErr(cl.name, "get volume "+m.NativeID, err)
	}
	pbs, err := v.volumesPB(ctx, sc, []providers.Volume{x})
	if err != nil {
		return nil, m, nil, err
	}
	pbs[0].Id = m.ID
	return sc, m, pbs[0], nil
}

// GetVolume implements canopyv1.VolumeServiceServer.
func (v *volumes) GetVolume(ctx context.Context, req *canopyv1.GetVolumeRequest) (*canopyv1.Volume, error) {
	_, _, x, err := v.findVolume(ctx, "id", req.GetId())
	return x, err
}

// CreateVolume implements canopyv1.VolumeServiceServer.
func (v *volumes) CreateVolume(ctx context.Context, req *canopyv1.CreateVolumeRequest) (*canopyv1.Operation, error) {
	if err := checkName("name", req.GetName()); err != nil {
		return nil, err
	}
	if err := checkLabels("labels", req.GetLabels()); err != nil {
		return nil, err
	}
	size := req.GetSizeGib()
	switch {
	case size < 0 || size > maxVolumeGiB:
		return nil, badRequest("size_gib", "must be between 1 and %d GiB, got %d", maxVolumeGiB, size)
	case req.GetImage() != "" && req.GetSnapshot() != "":
		return nil, badRequest("snapshot", "set image or snapshot, not both")
	case req.GetImage() == "" && req.GetSnapshot() == "" && size == 0:
		return nil, badRequest("size_gib", "required for an empty volume: a positive number of GiB")
	}
	hash := requestHash(opVolumeCreate, req)
	if op, ok, err := v.replay(ctx, opVolumeCreate, req.GetRequestId(), hash); err != nil || ok {
		return v.replied(ctx, op, ok, err, req.GetWait())
	}
	spec := jobSpec{Name: req.GetName(), Zone: req.GetLocation().GetZone(), Type: req.GetVolumeType(), Description: req.GetDescription(), Labels: req.GetLabels()}
	var cl *cloud
	if req.GetSnapshot() != "" {
		sc, sm, snap, err := v.findSnapshot(ctx, "snapshot", req.GetSnapshot())
		if err != nil {
			return nil, err
		}
		if c := req.GetLocation().GetCloud(); c != "" && c != sc.name {
			return nil, badRequest("location.cloud", "snapshot %s is in cloud %q: a volume from it is made there", sm.ID, sc.name)
		}
		if sm.Pending() || snap.Status != canopyv1.Status_STATUS_ACTIVE {
			return nil, status.Errorf(codes.FailedPrecondition, "snapshot %s is not ready (status %s) in cloud %q", sm.ID, snap.Status, sc.name)
		}
		if size == 0 {
			size = snap.SizeGib
		}
		if size < snap.SizeGib {
			return nil, badRequest("size_gib", "at least the snapshot's %d GiB, got %d", snap.SizeGib, size)
		}
		if isEmulated(sm.NativeID) {
			if err := sc.emu.restoreMode(providers.CapSnapshots); err != nil {
				return nil, err
			}
			spec.Mode = modeEmulated
		}
		if spec.Zone == "" {
			spec.Zone = snap.Location.GetZone()
		}
		cl, spec.SnapshotID, spec.SnapshotNative = sc.cloud, sm.ID, sm.NativeID
	} else {
		var err error
		if cl, err = v.s.routeCreate(req.GetLocation()); err != nil {
			return nil, err
		}
	}
	sc, err := v.storage(cl)
	if err != nil {
		return nil, err
	}
	if req.GetImage() != "" {
		mode, err := sc.emu.fromImageMode()
		if err != nil {
			return nil, err
		}
		c, err := cl.computeOrFail()
		if err != nil {
			return nil, capabilityErr(cl.name, providers.CapVolumeFromImage)
		}
		native, err := v.s.resolveIn(ctx, cl, providers.KindImage, "image", req.GetImage(), imageNames(c))
		if err != nil {
			return nil, err
		}
		im, err := c.GetImage(ctx, native)
		if err != nil {
			return nil, cloudErr(cl.name, "get image "+native, err)
		}
		min := imageMinGiB(im)
		if size == 0 {
			size = min
		}
		if size < min {
			return nil, badRequest("size_gib", "image %s needs at least %d GiB, got %d", im.Name, min, size)
		}
		spec.ImageNative, spec.Mode = native, mode
	}
	spec.SizeGiB = size
	return v.submit(ctx, opRequest{kind: opVolumeCreate, cl: cl, target: store.NewID(), reserve: providers.KindVolume, spec: spec,
		wait: req.GetWait(), reqID: req.GetRequestId(), hash: hash})
}

// replied answers a request whose request id was seen before.
func (v *volumes) replied(ctx context.Context, op store.Operation, ok bool, err error, wait bool) (*canopyv1.Operation, error) {
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
func (v *volumes) DeleteVolume(ctx context.Context, req *canopyv1.DeleteVolumeRequest) (*canopyv1.Operation, error) {
	hash := requestHash(opVolumeDelete, req)
	if op, ok, err := v.replay(ctx, opVolumeDelete, req.GetRequestId(), hash); err != nil || ok {
		return v.replied(ctx, op, ok, err, req.GetWait())
	}
	sc, m, cur, err := v.findVolume(ctx, "id", req.GetId())
	if err != nil {
		return nil, err
	}
	spec := jobSpec{Last: anyBytes(cur)}
	switch {
	case m.Pending() && cur.Emulated:
		if r, err := sc.emu.record(ctx, providers.KindVolume, m.ID); err == nil && r.BootServer != "" {
			return nil, status.Errorf(codes.FailedPrecondition, "volume %s is being made as the root volume of server %s in cloud %q", m.ID, r.BootServer, sc.name)
		}
		spec.Mode = modeDeferred
	case m.Pending():
		return nil, status.Errorf(codes.FailedPrecondition, "volume %s is still being created in cloud %q; delete it once it is (or cancel its operation)", m.ID, sc.name)
	case len(cur.Attachments) > 0:
		return nil, status.Errorf(codes.FailedPrecondition, "volume %s is attached to server %s in cloud %q: detach it first", m.ID, cur.Attachments[0].ServerId, sc.name)
	}
	return v.submit(ctx, opRequest{kind: opVolumeDelete, cl: sc.cloud, target: m.ID, spec: spec, wait: req.GetWait(), reqID: req.GetRequestId(), hash: hash})
}

// ExtendVolume implements canopyv1.VolumeServiceServer.
func (v *volumes) ExtendVolume(ctx context.Context, req *canopyv1.ExtendVolumeRequest) (*canopyv1.Operation, error) {
	if req.GetSizeGib() <= 0 || req.GetSizeGib() > maxVolumeGiB {
		return nil, badRequest("size_gib", "must be between 1 and %d GiB, got %d", maxVolumeGiB, req.GetSizeGib())
	}
	hash := requestHash(opVolumeExtend, req)
	if op, ok, err := v.replay(ctx, opVolumeExtend, req.GetRequestId(), hash); err != nil || ok {
		return v.replied(ctx, op, ok, err, req.GetWait())
	}
	sc, m, cur, err := v.findVolume(ctx, "id", req.GetId())
	if err != nil {
		return nil, err
	}
	spec := jobSpec{SizeGiB: req.GetSizeGib()}
	switch {
	case m.Pending() && cur.Emulated:
		spec.Mode = modeDeferred
	case m.Pending():
		return nil, status.Errorf(codes.FailedPrecondition, "volume %s is still being created in cloud %q", m.ID, sc.name)
	}
	if req.GetSizeGib() <= cur.SizeGib {
		return nil, badRequest("size_gib", "must be more than the volume's %d GiB, got %d", cur.SizeGib, req.GetSizeGib())
	}
	return v.submit(ctx, opRequest{kind: opVolumeExtend, cl: sc.cloud, target: m.ID, spec: spec, wait: req.GetWait(), reqID: req.GetRequestId(), hash: hash})
}

// findServerIn resolves a server reference in field to a server of cloud.
func (v *volumes) findServerIn(ctx context.Context, field, ref string, cl *cloud) (store.Mapping, error) {
	id, isID, err := idOrName(field, ref)
	if err != nil {
		return store.Mapping{}, err
	}
	if !isID {
		all, errs := fanOut(ctx, v.s.clouds.list, v.s.cloudServers)
		sv, err := pickByName(providers.KindServer, field, id, ownedBy(project(ctx), all), errs)
		if err != nil {
			return store.Mapping{}, err
		}
		id = sv.Id
	}
	scl, m, err := v.s.lookupID(ctx, providers.KindServer, id)
	if err != nil {
		return m, err
	}
	if scl != cl {
		return m, badRequest(field, "server %s is in cloud %q, the volume in cloud %q", m.ID, scl.name, cl.name)
	}
	if m.Pending() {
		return m, status.Errorf(codes.FailedPrecondition, "server %s is still being created in cloud %q", m.ID, cl.name)
	}
	return m, nil
}

// AttachVolume implements canopyv1.VolumeServiceServer.
func (v *volumes) AttachVolume(ctx context.Context, req *canopyv1.AttachVolumeRequest) (*canopyv1.Operation, error) {
	if req.GetServer() == "" {
		return nil, badRequest("server", "required: a server's canopy id or name")
	}
	hash := requestHash(opVolumeAttach, req)
	if op, ok, err := v.replay(ctx, opVolumeAttach, req.GetRequestId(), hash); err != nil || ok {
		return v.replied(ctx, op, ok, err, req.GetWait())
	}
	sc, m, cur, err := v.findVolume(ctx, "id", req.GetId())
	if err != nil {
		return nil, err
	}
	if m.Pending() && cur.Emulated {
		return nil, status.Errorf(codes.FailedPrecondition, "volume %s is made when a server boots from it (cloud %q cannot make a volume from an image): boot a server from it", m.ID, sc.name)
	}
	if m.Pending() {
		return nil, status.Errorf(codes.FailedPrecondition, "volume %s is still being created in cloud %q", m.ID, sc.name)
	}
	sm, err := v.findServerIn(ctx, "server", req.GetServer(), sc.cloud)
	if err != nil {
		return nil, err
	}
	for _, a := range cur.Attachments {
		if a.ServerId != sm.ID {
			return nil, status.Errorf(codes.FailedPrecondition, "volume %s is attached to server %s in cloud %q: detach it first", m.ID, a.ServerId, sc.name)
		}
	}
	spec := jobSpec{ServerID: sm.ID, ServerNative: sm.NativeID}
	return v.submit(ctx, opRequest{kind: opVolumeAttach, cl: sc.cloud, target: m.ID, spec: spec, wait: req.GetWait(), reqID: req.GetRequestId(), hash: hash})
}

// DetachVolume implements canopyv1.VolumeServiceServer.
func (v *volumes) DetachVolume(ctx context.Context, req *canopyv1.DetachVolumeRequest) (*canopyv1.Operation, error) {
	hash := requestHash(opVolumeDetach, req)
	if op, ok, err := v.replay(ctx, opVolumeDetach, req.GetRequestId(), hash); err != nil || ok {
		return v.replied(ctx, op, ok, err, req.GetWait())
	}
	sc, m, cur, err := v.findVolume(ctx, "id", req.GetId())
	if err != nil {
		return nil, err
	}
	if m.Pending() {
		return nil, status.Errorf(codes.FailedPrecondition, "volume %s is not attached: it does not exist in cloud %q yet", m.ID, sc.name)
	}
	var sm store.Mapping
	if req.GetServer() != "" {
		if sm, err = v.findServerIn(ctx, "server", req.GetServer(), sc.cloud); err != nil {
			return nil, err
		}
	} else {
		if len(cur.Attachments) != 1 {
			return nil, status.Errorf(codes.FailedPrecondition, "volume %s is not attached to any server in cloud %q", m.ID, sc.name)
		}
		if sm, err = v.s.store.Get(ctx, cur.Attachments[0].ServerId); err != nil {
			return nil, storeErr("get server "+cur.Attachments[0].ServerId, err)
		}
	}
	attached := false
	for _, a := range cur.Attachments {
		attached = attached || a.ServerId == sm.ID
	}
	if !attached {
		return nil, status.Errorf(codes.FailedPrecondition, "volume %s is not attached to server %s in cloud %q", m.ID, sm.ID, sc.name)
	}
	spec := jobSpec{ServerID: sm.ID, ServerNative: sm.NativeID}
	return v.submit(ctx, opRequest{kind: opVolumeDetach, cl: sc.cloud, target: m.ID, spec: spec, wait: req.GetWait(), reqID: req.GetRequestId(), hash: hash})
}

// ---------------------------------------------------------------- snapshots

func (v *volumes) cloudSnapshots(ctx context.Context, cl *cloud) ([]*canopyv1.Snapshot, error) {
	sc := v.clouds[cl.name]
	if sc == nil || sc.emu.volumesOrFail() != nil {
		return nil, nil
	}
	list, err := sc.emu.listSnapshots(ctx, false)
	if err != nil {
		return nil, cloudErr(cl.name, "list snapshots", err)
	}
	return v.snapshotsPB(ctx, sc, list)
}

// ListSnapshots implements canopyv1.VolumeServiceServer.
func (v *volumes) ListSnapshots(ctx context.Context, req *canopyv1.ListSnapshotsRequest) (*canopyv1.ListSnapshotsResponse, error) {
	if err := checkIDFilter("volume_id", req.GetVolumeId()); err != nil {
		return nil, err
	}
	if err := v.checkListCloud(req.GetLocation()); err != nil {
		return nil, err
	}
	q := listQuery{req.GetPageSize(), req.GetPageToken(), req.GetLocation(), req.GetLabels(), []any{"snapshots", req.GetName(), req.GetVolumeId()}}
	page, next, errs, err := listAcross(ctx, v.s, q, v.cloudSnapshots, func(x *canopyv1.Snapshot) bool {
		return x.Location.GetProject() == project(ctx) && (req.GetName() == "" || x.Name == req.GetName()) && (req.GetVolumeId() == "" || x.VolumeId == req.GetVolumeId()) &&
			matchLabels(req.GetLabels(), x.Labels) && matchLocation(req.GetLocation(), x.Location.GetRegion(), x.Location.GetZone())
	})
	if err != nil {
		return nil, err
	}
	return &canopyv1.ListSnapshotsResponse{Snapshots: page, NextPageToken: next, CloudErrors: errs}, nil
}

// checkIDFilter validates an optional canopy-id filter.
func checkIDFilter(field, v string) error {
	if v == "" {
		return nil
	}
	if _, isID, err := idOrName(field, v); err != nil || !isID {
		return badRequest(field, "%q is not a canopy id", v)
	}
	return nil
}

func (v *volumes) findSnapshot(ctx context.Context, field, ref string) (*storageCloud, store.Mapping, *canopyv1.Snapshot, error) {
	id, isID, err := idOrName(field, ref)
	if err != nil {
		return nil, store.Mapping{}, nil, err
	}
	if !isID {
		all, errs := fanOut(ctx, v.s.clouds.list, v.cloudSnapshots)
		x, err := pickByName(providers.KindSnapshot, field, id, ownedBy(project(ctx), all), errs)
		if err != nil {
			return nil, store.Mapping{}, nil, err
		}
		id = x.Id
	}
	cl, m, err := v.s.lookupID(ctx, providers.KindSnapshot, id)
	if err != nil {
		return nil, m, nil, err
	}
	sc, err := v.storage(cl)
	if err != nil {
		return nil, m, nil, err
	}
	if m.Pending() {
		op, spec, _ := v.pendingOp(ctx, m.ID)
		msg := "being created: the cloud has not answered yet"
		if op.State["job"] != "" {
			msg = "the cloud's snapshot job " + op.State["job"] + " has not told the snapshot's id yet"
		}
		return sc, m, &canopyv1.Snapshot{Id: m.ID, Name: spec.Name, Location: &canopyv1.Location{Cloud: cl.name, Project: m.Project},
			Status: canopyv1.Status_STATUS_PENDING, StatusMessage: msg, VolumeId: spec.VolumeID, Description: spec.Description,
			Labels: spec.Labels, CreateTime: ts(m.Created)}, nil
	}
	x, err := sc.emu.getSnapshot(ctx, m.NativeID)
	if errors.Is(err, providers.ErrNotFound) {
		if !v.busy(ctx, m.ID) {
			_ = v.s.store.Delete(context.WithoutCancel(ctx), m.ID)
		}
		return nil, m, nil, notFound(providers.KindSnapshot, ref)
	}
	if err != nil {
		return nil, m, nil, cloudErr(cl.name, "get snapshot "+m.NativeID, err)
	}
	pbs, err := v.snapshotsPB(ctx, sc, []providers.Snapshot{x})
	if err != nil {
		return nil, m, nil, err
	}
	pbs[0].Id = m.ID
	return sc, m, pbs[0], nil
}

// GetSnapshot implements canopyv1.VolumeServiceServer.
func (v *volumes) GetSnapshot(ctx context.Context, req *canopyv1.GetSnapshotRequest) (*canopyv1.Snapshot, error) {
	_, _, x, err := v.findSnapshot(ctx, "id", req.GetId())
	return x, err
}

// sourceVolume resolves the volume a snapshot or backup copies.
func (v *volumes) sourceVolume(ctx context.Context, ref string) (*storageCloud, store.Mapping, *canopyv1.Volume, error) {
	if ref == "" {
		return nil, store.Mapping{}, nil, badRequest("volume", "required: a volume's canopy id or name")
	}
	sc, m, cur, err := v.findVolume(ctx, "volume", ref)
	if err != nil {
		return nil, m, nil, err
	}
	if m.Pending() {
		return nil, m, nil, status.Errorf(codes.FailedPrecondition, "volume %s does not exist in cloud %q yet (status %s)", m.ID, sc.name, cur.Status)
	}
	return sc, m, cur, nil
}

// CreateSnapshot implements canopyv1.VolumeServiceServer.
func (v *volumes) CreateSnapshot(ctx context.Context, req *canopyv1.CreateSnapshotRequest) (*canopyv1.Operation, error) {
	if err := checkName("name", req.GetName()); err != nil {
		return nil, err
	}
	if err := checkLabels("labels", req.GetLabels()); err != nil {
		return nil, err
	}
	if req.GetVolume() == "" {
		return nil, badRequest("volume", "required: a volume's canopy id or name")
	}
	hash := requestHash(opSnapshotCreate, req)
	if op, ok, err := v.replay(ctx, opSnapshotCreate, req.GetRequestId(), hash); err != nil || ok {
		return v.replied(ctx, op, ok, err, req.GetWait())
	}
	sc, m, cur, err := v.sourceVolume(ctx, req.GetVolume())
	if err != nil {
		return nil, err
	}
	mode, err := sc.emu.snapshotMode()
	if err != nil {
		return nil, err
	}
	spec := jobSpec{Name: req.GetName(), Description: req.GetDescription(), Labels: req.GetLabels(), Mode: mode, VolumeID: m.ID, VolumeNative: m.NativeID, SizeGiB: cur.SizeGib}
	return v.submit(ctx, opRequest{kind: opSnapshotCreate, cl: sc.cloud, target: store.NewID(), reserve: providers.KindSnapshot, spec: spec,
		wait: req.GetWait(), reqID: req.GetRequestId(), hash: hash})
}

// DeleteSnapshot implements canopyv1.VolumeServiceServer.
func (v *volumes) DeleteSnapshot(ctx context.Context, req *canopyv1.DeleteSnapshotRequest) (*canopyv1.Operation, error) {
	hash := requestHash(opSnapshotDelete, req)
	if op, ok, err := v.replay(ctx, opSnapshotDelete, req.GetRequestId(), hash); err != nil || ok {
		return v.replied(ctx, op, ok, err, req.GetWait())
	}
	sc, m, cur, err := v.findSnapshot(ctx, "id", req.GetId())
	if err != nil {
		return nil, err
	}
	if m.Pending() {
		return nil, status.Errorf(codes.FailedPrecondition, "snapshot %s is still being created in cloud %q; delete it once it is (or cancel its operation)", m.ID, sc.name)
	}
	spec := jobSpec{Last: anyBytes(cur)}
	if cur.Emulated {
		spec.Mode = modeEmulated
	}
	return v.submit(ctx, opRequest{kind: opSnapshotDelete, cl: sc.cloud, target: m.ID, spec: spec, wait: req.GetWait(), reqID: req.GetRequestId(), hash: hash})
}

// ---------------------------------------------------------------- backups

func (v *volumes) cloudBackups(ctx context.Context, cl *cloud) ([]*canopyv1.Backup, error) {
	sc := v.clouds[cl.name]
	if sc == nil || sc.emu.volumesOrFail() != nil {
		return nil, nil
	}
	list, err := sc.emu.listBackups(ctx, false)
	if err != nil {
		return nil, cloudErr(cl.name, "list backups", err)
	}
	return v.backupsPB(ctx, sc, list)
}

// ListBackups implements canopyv1.VolumeServiceServer.
func (v *volumes) ListBackups(ctx context.Context, req *canopyv1.ListBackupsRequest) (*canopyv1.ListBackupsResponse, error) {
	if err := checkIDFilter("volume_id", req.GetVolumeId()); err != nil {
		return nil, err
	}
	if err := v.checkListCloud(req.GetLocation()); err != nil {
		return nil, err
	}
	q := listQuery{req.GetPageSize(), req.GetPageToken(), req.GetLocation(), req.GetLabels(), []any{"backups", req.GetName(), req.GetVolumeId()}}
	page, next, errs, err := listAcross(ctx, v.s, q, v.cloudBackups, func(x *canopyv1.Backup) bool {
		return x.Location.GetProject() == project(ctx) && (req.GetName() == "" || x.Name == req.GetName()) && (req.GetVolumeId() == "" || x.VolumeId == req.GetVolumeId()) &&
			matchLabels(req.GetLabels(), x.Labels) && matchLocation(req.GetLocation(), x.Location.GetRegion(), x.Location.GetZone())
	})
	if err != nil {
		return nil, err
	}
	return &canopyv1.ListBackupsResponse{Backups: page, NextPageToken: next, CloudErrors: errs}, nil
}

func (v *volumes) findBackup(ctx context.Context, field, ref string) (*storageCloud, store.Mapping, *canopyv1.Backup, error) {
	id, isID, err := idOrName(field, ref)
	if err != nil {
		return nil, store.Mapping{}, nil, err
	}
	if !isID {
		all, errs := fanOut(ctx, v.s.clouds.list, v.cloudBackups)
		x, err := pickByName(providers.KindBackup, field, id, ownedBy(project(ctx), all), errs)
		if err != nil {
			return nil, store.Mapping{}, nil, err
		}
		id = x.Id
	}
	cl, m, err := v.s.lookupID(ctx, providers.KindBackup, id)
	if err != nil {
		return nil, m, nil, err
	}
	sc, err := v.storage(cl)
	if err != nil {
		return nil, m, nil, err
	}
	if m.Pending() {
		_, spec, _ := v.pendingOp(ctx, m.ID)
		return sc, m, &canopyv1.Backup{Id: m.ID, Name: spec.Name, Location: &canopyv1.Location{Cloud: cl.name, Project: m.Project},
			Status: canopyv1.Status_STATUS_PENDING, StatusMessage: "being created: the cloud has not answered yet", VolumeId: spec.VolumeID,
			Description: spec.Description, Labels: spec.Labels, CreateTime: ts(m.Created)}, nil
	}
	x, err := sc.emu.getBackup(ctx, m.NativeID)
	if errors.Is(err, providers.ErrNotFound) {
		if !v.busy(ctx, m.ID) {
			_ = v.s.store.Delete(context.WithoutCancel(ctx), m.ID)
		}
		return nil, m, nil, notFound(providers.KindBackup, ref)
	}
	if err != nil {
		return nil, m, nil, cloudErr(cl.name, "get backup "+m.NativeID, err)
	}
	pbs, err := v.backupsPB(ctx, sc, []providers.Backup{x})
	if err != nil {
		return nil, m, nil, err
	}
	pbs[0].Id = m.ID
	return sc, m, pbs[0], nil
}

// GetBackup implements canopyv1.VolumeServiceServer.
func (v *volumes) GetBackup(ctx context.Context, req *canopyv1.GetBackupRequest) (*canopyv1.Backup, error) {
	_, _, x, err := v.findBackup(ctx, "id", req.GetId())
	return x, err
}

// CreateBackup implements canopyv1.VolumeServiceServer.
func (v *volumes) CreateBackup(ctx context.Context, req *canopyv1.CreateBackupRequest) (*canopyv1.Operation, error) {
	if err := checkName("name", req.GetName()); err != nil {
		return nil, err
	}
	if err := checkLabels("labels", req.GetLabels()); err != nil {
		return nil, err
	}
	if req.GetVolume() == "" {
		return nil, badRequest("volume", "required: a volume's canopy id or name")
	}
	hash := requestHash(opBackupCreate, req)
	if op, ok, err := v.replay(ctx, opBackupCreate, req.GetRequestId(), hash); err != nil || ok {
		return v.replied(ctx, op, ok, err, req.GetWait())
	}
	sc, m, cur, err := v.sourceVolume(ctx, req.GetVolume())
	if err != nil {
		return nil, err
	}
	mode, err := sc.emu.backupMode()
	if err != nil {
		return nil, err
	}
	spec := jobSpec{Name: req.GetName(), Description: req.GetDescription(), Labels: req.GetLabels(), Mode: mode, VolumeID: m.ID, VolumeNative: m.NativeID, SizeGiB: cur.SizeGib}
	return v.submit(ctx, opRequest{kind: opBackupCreate, cl: sc.cloud, target: store.NewID(), reserve: providers.KindBackup, spec: spec,
		wait: req.GetWait(), reqID: req.GetRequestId(), hash: hash})
}

// DeleteBackup implements canopyv1.VolumeServiceServer.
func (v *volumes) DeleteBackup(ctx context.Context, req *canopyv1.DeleteBackupRequest) (*canopyv1.Operation, error) {
	hash := requestHash(opBackupDelete, req)
	if op, ok, err := v.replay(ctx, opBackupDelete, req.GetRequestId(), hash); err != nil || ok {
		return v.replied(ctx, op, ok, err, req.GetWait())
	}
	sc, m, cur, err := v.findBackup(ctx, "id", req.GetId())
	if err != nil {
		return nil, err
	}
	if m.Pending() {
		return nil, status.Errorf(codes.FailedPrecondition, "backup %s is still being created in cloud %q; delete it once it is (or cancel its operation)", m.ID, sc.name)
	}
	spec := jobSpec{Last: anyBytes(cur)}
	if cur.Emulated {
		spec.Mode = modeEmulated
	}
	return v.submit(ctx, opRequest{kind: opBackupDelete, cl: sc.cloud, target: m.ID, spec: spec, wait: req.GetWait(), reqID: req.GetRequestId(), hash: hash})
}

// RestoreBackup implements canopyv1.VolumeServiceServer.
func (v *volumes) RestoreBackup(ctx context.Context, req *canopyv1.RestoreBackupRequest) (*canopyv1.Operation, error) {
	if err := checkName("name", req.GetName()); err != nil {
		return nil, err
	}
	if err := checkLabels("labels", req.GetLabels()); err != nil {
		return nil, err
	}
	if req.GetSizeGib() < 0 || req.GetSizeGib() > maxVolumeGiB {
		return nil, badRequest("size_gib", "must be between 0 (the backup's size) and %d GiB, got %d", maxVolumeGiB, req.GetSizeGib())
	}
	hash := requestHash(opBackupRestore, req)
	if op, ok, err := v.replay(ctx, opBackupRestore, req.GetRequestId(), hash); err != nil || ok {
		return v.replied(ctx, op, ok, err, req.GetWait())
	}
	sc, m, b, err := v.findBackup(ctx, "id", req.GetId())
	if err != nil {
		return nil, err
	}
	if m.Pending() || b.Status != canopyv1.Status_STATUS_ACTIVE {
		return nil, status.Errorf(codes.FailedPrecondition, "backup %s is not ready (status %s) in cloud %q", m.ID, b.Status, sc.name)
	}
	if z := req.GetZone(); z != "" && !contains(sc.zones, z) {
		return nil, badRequest("zone", "cloud %q (the backup's) has no zone %q (it has %v)", sc.name, z, sc.zones)
	}
	size := req.GetSizeGib()
	if size == 0 {
		size = b.SizeGib
	}
	if size < b.SizeGib {
		return nil, badRequest("size_gib", "at least the backup's %d GiB, got %d", b.SizeGib, size)
	}
	spec := jobSpec{Name: req.GetName(), Zone: req.GetZone(), SizeGiB: size, Labels: req.GetLabels(), BackupID: m.ID, BackupNative: m.NativeID}
	if b.Emulated {
		if err := sc.emu.restoreMode(providers.CapBackups); err != nil {
			return nil, err
		}
		spec.Mode = modeEmulated
	}
	return v.submit(ctx, opRequest{kind: opBackupRestore, cl: sc.cloud, target: store.NewID(), reserve: providers.KindVolume, spec: spec,
		wait: req.GetWait(), reqID: req.GetRequestId(), hash: hash})
}
