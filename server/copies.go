package server

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/canopy-cloud/canopy/emulate"
	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/router"
	"github.com/canopy-cloud/canopy/store"
)

// Snapshots and backups are both copies of a volume: listed, found by id
// or name, created from a volume and deleted as operations, converted the
// same way. That is written once here, over copyKind; snapshots.go and
// backups.go hold the handlers and what only one kind does (a restore).

// copyMsg is the API message of a copy (canopyv1.Snapshot, Backup).
type copyMsg interface {
	router.Named
	proto.Message
	GetVolumeId() string
	GetLabels() map[string]string
	GetEmulated() bool
}

// copyPB holds the fields every copy message has, for msg to build one.
type copyPB struct {
	ID, NativeID                  string
	Location                      *canopyv1.Location
	Name                          string
	Status                        canopyv1.Status
	ProviderStatus, StatusMessage string
	Created, Updated              *timestamppb.Timestamp
	Labels, Properties            map[string]string
	VolumeID                      string
	SizeGiB                       int64
	Description                   string
	Emulated                      bool
}

// copyKind is what one kind of copy says of itself.
type copyKind[N any, M copyMsg] struct {
	kind           string // providers.KindSnapshot, KindBackup
	create, delete string // operation kinds
	// list, get and del read and delete through the cloud's storage
	// (router.Cloud.Storage): the cloud's copies and emulated ones alike.
	list func(st *emulate.Storage, ctx context.Context) ([]N, error)
	get  func(st *emulate.Storage, ctx context.Context, native string) (N, error)
	del  func(st *emulate.Storage, ctx context.Context, native string) error
	// mode says whether the cloud can have this kind of copy at all
	// (FAILED_PRECONDITION naming the capability when not).
	mode             func(e *emulate.Layer) (string, error)
	native           func(N) (c providers.Common, volumeID string, sizeGiB int64, description string, emulated bool)
	msg              func(copyPB) M
	setID            func(M, string) // the canopy id a caller knows (an operation's target)
	pendingStatusMsg func(op store.Operation) string
}

var snapshotKind = copyKind[providers.Snapshot, *canopyv1.Snapshot]{
	kind: providers.KindSnapshot, create: opSnapshotCreate, delete: opSnapshotDelete,
	list: (*emulate.Storage).ListSnapshots, get: (*emulate.Storage).GetSnapshot, mode: (*emulate.Layer).SnapshotMode,
	del: (*emulate.Storage).DeleteSnapshot,
	native: func(x providers.Snapshot) (providers.Common, string, int64, string, bool) {
		return x.Common, x.VolumeID, x.SizeGiB, x.Description, x.Emulated
	},
	msg: func(c copyPB) *canopyv1.Snapshot {
		return &canopyv1.Snapshot{Id: c.ID, NativeId: c.NativeID, Location: c.Location, Name: c.Name,
			Status: c.Status, ProviderStatus: c.ProviderStatus, StatusMessage: c.StatusMessage,
			CreateTime: c.Created, UpdateTime: c.Updated, Labels: c.Labels, Properties: c.Properties,
			VolumeId: c.VolumeID, SizeGib: c.SizeGiB, Description: c.Description, Emulated: c.Emulated}
	},
	setID: func(x *canopyv1.Snapshot, id string) { x.Id = id },
	pendingStatusMsg: func(op store.Operation) string {
		if op.State["job"] != "" {
			return "the cloud's snapshot job " + op.State["job"] + " has not told the snapshot's id yet"
		}
		return "being created: the cloud has not answered yet"
	},
}

var backupKind = copyKind[providers.Backup, *canopyv1.Backup]{
	kind: providers.KindBackup, create: opBackupCreate, delete: opBackupDelete,
	list: (*emulate.Storage).ListBackups, get: (*emulate.Storage).GetBackup, mode: (*emulate.Layer).BackupMode,
	del: (*emulate.Storage).DeleteBackup,
	native: func(x providers.Backup) (providers.Common, string, int64, string, bool) {
		return x.Common, x.VolumeID, x.SizeGiB, x.Description, x.Emulated
	},
	msg: func(c copyPB) *canopyv1.Backup {
		return &canopyv1.Backup{Id: c.ID, NativeId: c.NativeID, Location: c.Location, Name: c.Name,
			Status: c.Status, ProviderStatus: c.ProviderStatus, StatusMessage: c.StatusMessage,
			CreateTime: c.Created, UpdateTime: c.Updated, Labels: c.Labels, Properties: c.Properties,
			VolumeId: c.VolumeID, SizeGib: c.SizeGiB, Description: c.Description, Emulated: c.Emulated}
	},
	setID:            func(x *canopyv1.Backup, id string) { x.Id = id },
	pendingStatusMsg: func(store.Operation) string { return "being created: the cloud has not answered yet" },
}

// copiesPB converts one cloud's copies, mapping every native id (the copy,
// its volume) to its canopy id in one batched store call per kind.
func copiesPB[N any, M copyMsg](ctx context.Context, v *storageViews, k copyKind[N, M], sc *router.Cloud, list []N) ([]M, error) {
	list, ids, err := router.Claimed(ctx, v.rt, sc, k.kind, list, func(x N) providers.Common { c, _, _, _, _ := k.native(x); return c },
		func(ctx context.Context, native string) error { return k.del(sc.Storage, ctx, native) })
	if err != nil {
		return nil, err
	}
	var vols []string
	for _, x := range list {
		_, vol, _, _, _ := k.native(x)
		vols = append(vols, vol)
	}
	vids, err := v.rt.Adopt(ctx, sc, providers.KindVolume, vols)
	if err != nil {
		return nil, err
	}
	out := make([]M, len(list))
	for i, x := range list {
		c, vol, size, desc, emulated := k.native(x)
		m := ids[c.NativeID]
		loc := location(sc.Name, c)
		loc.Project = m.Project
		out[i] = k.msg(copyPB{ID: m.ID, NativeID: c.NativeID, Location: loc, Name: c.Name,
			Status: statusPB(c.Status), ProviderStatus: c.ProviderStatus, StatusMessage: c.StatusMessage,
			Created: ts(c.Created), Updated: ts(c.Updated), Labels: c.Labels, Properties: c.Properties,
			VolumeID: vids[vol].ID, SizeGiB: size, Description: desc, Emulated: emulated})
	}
	return out, nil
}

// cloudCopies lists one cloud's copies of a kind (none for a cloud
// without block storage: fan-outs skip it).
func cloudCopies[N any, M copyMsg](ctx context.Context, v *storageViews, k copyKind[N, M], cl *router.Cloud) ([]M, error) {
	if cl.Emulation.VolumesOrFail() != nil {
		return nil, nil
	}
	list, err := k.list(cl.Storage, ctx)
	if err != nil {
		return nil, router.CloudErr(cl.Name, "list "+k.kind+"s", err)
	}
	return copiesPB(ctx, v, k, cl, list)
}

// copyOne converts one copy whose canopy id is known.
func copyOne[N any, M copyMsg](ctx context.Context, v *storageViews, k copyKind[N, M], sc *router.Cloud, id string, x N) (M, error) {
	pbs, err := copiesPB(ctx, v, k, sc, []N{x})
	if err != nil {
		var zero M
		return zero, err
	}
	if len(pbs) == 0 { // dropped as a crash duplicate of another id
		var zero M
		return zero, status.Errorf(codes.Internal, "%s: cloud %q shows it as a duplicate of another id", id, sc.Name)
	}
	k.setID(pbs[0], id)
	return pbs[0], nil
}

// copyListRequest is what ListSnapshots and ListBackups filter on.
type copyListRequest interface {
	GetPageSize() int32
	GetPageToken() string
	GetLocation() *canopyv1.Location
	GetLabels() map[string]string
	GetName() string
	GetVolumeId() string
}

// listCopies is ListSnapshots and ListBackups.
func listCopies[N any, M copyMsg](ctx context.Context, v *volumeService, k copyKind[N, M], req copyListRequest) ([]M, string, []*canopyv1.CloudError, error) {
	if err := router.CheckIDFilter("volume_id", req.GetVolumeId()); err != nil {
		return nil, "", nil, err
	}
	if err := v.checkListCloud(req.GetLocation()); err != nil {
		return nil, "", nil, err
	}
	q := router.Query{PageSize: req.GetPageSize(), PageToken: req.GetPageToken(), Location: req.GetLocation(), Labels: req.GetLabels(),
		Filters: []any{k.kind + "s", req.GetName(), req.GetVolumeId()}}
	list := func(ctx context.Context, cl *router.Cloud) ([]M, error) {
		return cloudCopies(ctx, &v.storageViews, k, cl)
	}
	return router.List(ctx, v.rt, q, list, func(x M) bool {
		loc := x.GetLocation()
		return loc.GetProject() == project(ctx) && (req.GetName() == "" || x.GetName() == req.GetName()) && (req.GetVolumeId() == "" || x.GetVolumeId() == req.GetVolumeId()) &&
			router.MatchLabels(req.GetLabels(), x.GetLabels()) && router.MatchLocation(req.GetLocation(), loc.GetRegion(), loc.GetZone())
	})
}

// findCopy resolves a copy reference (canopy id or name) in field. A copy
// still being created is shown from its operation's spec; one the cloud no
// longer has is forgotten (unless an operation still works on it).
func findCopy[N any, M copyMsg](ctx context.Context, v *volumeService, k copyKind[N, M], field, ref string) (*router.Cloud, store.Mapping, M, error) {
	var zero M
	list := func(ctx context.Context, cl *router.Cloud) ([]M, error) {
		return cloudCopies(ctx, &v.storageViews, k, cl)
	}
	cl, m, err := router.Find(ctx, v.rt, k.kind, field, ref, list)
	if err != nil {
		return nil, m, zero, err
	}
	sc, err := v.storage(cl)
	if err != nil {
		return nil, m, zero, err
	}
	if m.Pending() {
		op, spec, _ := v.ops.pendingOp(ctx, m.ID)
		return sc, m, k.msg(copyPB{ID: m.ID, Name: spec.Name, Location: &canopyv1.Location{Cloud: cl.Name, Project: m.Project},
			Status: canopyv1.Status_STATUS_PENDING, StatusMessage: k.pendingStatusMsg(op), VolumeID: spec.VolumeID,
			Description: spec.Description, Labels: spec.Labels, Created: ts(m.Created)}), nil
	}
	x, err := k.get(sc.Storage, ctx, m.NativeID)
	if errors.Is(err, providers.ErrNotFound) {
		if !v.ops.busy(ctx, m.ID) {
			_ = v.store.Delete(context.WithoutCancel(ctx), m.ID)
		}
		return nil, m, zero, router.NotFound(k.kind, ref)
	}
	if err != nil {
		return nil, m, zero, router.CloudErr(cl.Name, "get "+k.kind+" "+m.NativeID, err)
	}
	out, err := copyOne(ctx, &v.storageViews, k, sc, m.ID, x)
	if err != nil {
		return nil, m, zero, err
	}
	return sc, m, out, nil
}

// copyCreateRequest is what CreateSnapshot and CreateBackup carry.
type copyCreateRequest interface {
	operationRequest
	GetName() string
	GetLabels() map[string]string
	GetVolume() string
	GetDescription() string
}

// createCopy is CreateSnapshot and CreateBackup: a copy of a volume, made
// natively or emulated, as an operation.
func createCopy[N any, M copyMsg](ctx context.Context, v *volumeService, k copyKind[N, M], req copyCreateRequest) (*canopyv1.Operation, error) {
	if err := router.CheckName("name", req.GetName()); err != nil {
		return nil, err
	}
	if err := router.CheckLabels("labels", req.GetLabels()); err != nil {
		return nil, err
	}
	if req.GetVolume() == "" {
		return nil, router.BadRequest("volume", "required: a volume's canopy id or name")
	}
	return v.ops.asOperation(ctx, k.create, req, func() (opRequest, error) {
		sc, m, cur, err := v.sourceVolume(ctx, req.GetVolume())
		if err != nil {
			return opRequest{}, err
		}
		if _, err := k.mode(sc.Emulation); err != nil {
			return opRequest{}, router.EmulationErr(err)
		}
		// No mode is recorded: the steps call the cloud's storage, which
		// makes the copy the cloud's way or canopy's.
		spec := jobSpec{Name: req.GetName(), Description: req.GetDescription(), Labels: req.GetLabels(), VolumeID: m.ID, VolumeNative: m.NativeID, SizeGiB: cur.SizeGib}
		return opRequest{cl: sc, target: store.NewID(), reserve: k.kind, spec: spec}, nil
	})
}

// copyDeleteRequest is what DeleteSnapshot and DeleteBackup carry.
type copyDeleteRequest interface {
	operationRequest
	GetId() string
}

// deleteCopy is DeleteSnapshot and DeleteBackup, as an operation.
func deleteCopy[N any, M copyMsg](ctx context.Context, v *volumeService, k copyKind[N, M], req copyDeleteRequest) (*canopyv1.Operation, error) {
	return v.ops.asOperation(ctx, k.delete, req, func() (opRequest, error) {
		sc, m, cur, err := findCopy(ctx, v, k, "id", req.GetId())
		if err != nil {
			return opRequest{}, err
		}
		if m.Pending() {
			return opRequest{}, status.Errorf(codes.FailedPrecondition, "%s %s is still being created in cloud %q; delete it once it is (or cancel its operation)", k.kind, m.ID, sc.Name)
		}
		return opRequest{cl: sc, target: m.ID, spec: jobSpec{Last: anyBytes(cur)}}, nil
	})
}
