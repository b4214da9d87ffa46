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

	"github.com/canopy-cloud/canopy/clock"
	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/internal/failpoint"
	"github.com/canopy-cloud/canopy/router"
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
	// Mode is emulate.ModeDeferred for a deferred volume (volume-from-image
	// made at boot), which the cloud's storage cannot express; otherwise
	// empty: the steps call the cloud's storage (emulate.Storage) and it
	// chooses. Operations recorded by a canopyd before Storage also
	// recorded emulate.ModeEmulated for emulated copies and restores;
	// legacy_steps.go resumes them.
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
	// MountPath is where an attach mounts the volume in a container.
	MountPath string `json:"mount_path,omitempty"`
	// Last is the resource as the request found it (deletes answer with it).
	Last []byte `json:"last,omitempty"`
}

// opRequest is one mutating call about to become an operation.
type opRequest struct {
	kind    string
	cl      *router.Cloud // nil: on no one cloud (a global definition)
	target  string        // canopy id of the resource
	reserve string        // kind of id mapping to reserve for target (creates)
	spec    any           // recorded as JSON: jobSpec, or containerJob

	wait  bool
	reqID string
	hash  string
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

// operationRequest is what every mutating block-storage request carries:
// its AIP-155 request id and whether to wait for the operation.
type operationRequest interface {
	proto.Message
	GetRequestId() string
	GetWait() bool
}

// asOperation is the one shape of a mutating request. The same request id
// again answers with the operation it made (replay); otherwise plan
// resolves the request to an operation, which is recorded, started and
// answered: at once, or when it is done with wait.
func (v *ops) asOperation(ctx context.Context, kind string, req operationRequest, plan func() (opRequest, error)) (*canopyv1.Operation, error) {
	hash := requestHash(kind, req)
	if op, ok, err := v.replay(ctx, kind, req.GetRequestId(), hash); err != nil || ok {
		return v.replied(ctx, op, ok, err, req.GetWait())
	}
	r, err := plan()
	if err != nil {
		return nil, err
	}
	r.kind, r.wait, r.reqID, r.hash = kind, req.GetWait(), req.GetRequestId(), hash
	return v.submit(ctx, r)
}

// replay returns the operation a request id already made (AIP-155), if
// any: the same request again gets the same operation; another request
// with the same id is INVALID_ARGUMENT.
func (v *ops) replay(ctx context.Context, kind, reqID, hash string) (store.Operation, bool, error) {
	if err := router.CheckRequestID(reqID); err != nil || reqID == "" {
		return store.Operation{}, false, err
	}
	ops, err := v.store.ListOperations(ctx, store.OperationFilter{Project: project(ctx), RequestID: reqID})
	if err != nil {
		return store.Operation{}, false, router.StoreErr("find request "+reqID, err)
	}
	if len(ops) == 0 {
		return store.Operation{}, false, nil
	}
	op := ops[0]
	if op.Kind != kind || op.RequestHash != hash {
		return op, false, router.BadRequest("request_id", "%q was already used for another request (operation %s, %s)", reqID, op.ID, op.Kind)
	}
	if !op.Done {
		v.runner.Submit(op.ID) // runs it unless it runs already
	}
	return op, true, nil
}

// submit records the operation (and, for a create, the resource's id
// mapping), starts it, and answers: at once, or when it is done with wait.
func (v *ops) submit(ctx context.Context, r opRequest) (*canopyv1.Operation, error) {
	raw, err := json.Marshal(r.spec)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "spec: %v", err)
	}
	cloud := "" // an operation on no one cloud (a global definition)
	if r.cl != nil {
		cloud = r.cl.Name
	}
	op, created, err := v.store.CreateOperation(ctx, store.Operation{Project: project(ctx), Kind: r.kind, Cloud: cloud, TargetID: r.target,
		RequestID: r.reqID, RequestHash: r.hash, Spec: raw})
	if err != nil {
		return nil, router.StoreErr("create operation", err)
	}
	if !created { // a concurrent retry with the same request id won
		if op.Kind != r.kind || op.RequestHash != r.hash {
			return nil, router.BadRequest("request_id", "%q was already used for another request (operation %s, %s)", r.reqID, op.ID, op.Kind)
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
func (v *storageCore) reserve(ctx context.Context, op store.Operation, kind string) error {
	if _, err := v.store.Get(ctx, op.TargetID); err == nil {
		return nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return router.StoreErr("get "+op.TargetID, err)
	}
	_, _, err := v.store.Reserve(ctx, store.Mapping{ID: op.TargetID, Cloud: op.Cloud, Kind: kind, Project: op.Project})
	if err != nil && !errors.Is(err, store.ErrConflict) {
		return router.StoreErr("reserve "+op.TargetID, err)
	}
	return nil
}

// answer returns the operation, after waiting for it when asked.
func (v *ops) answer(ctx context.Context, op store.Operation, wait bool) (*canopyv1.Operation, error) {
	if wait && !op.Done {
		wctx, cancel := v.waitBound(ctx)
		defer cancel()
		got, err := v.runner.Wait(wctx, op.ID)
		if ctx.Err() != nil {
			return nil, status.FromContextError(ctx.Err()).Err()
		}
		if err != nil {
			return nil, router.StoreErr("get operation "+op.ID, err)
		}
		op = got
	}
	return opPB(ctx, v.store, op), nil
}

// waitBound bounds a wait for an operation: by the configured wait
// timeout when the call has no deadline, else a little before the deadline,
// so the caller gets the operation (not yet done) rather than an error.
// The bound is on the server's clock (WithClock), the caller's deadline
// on the wall clock: with a test's fake clock the wait ends when the test
// moves the clock past the bound, not when a loaded machine gets there.
func (v *ops) waitBound(ctx context.Context) (context.Context, context.CancelFunc) {
	c := clock.Or(v.clock)
	now := c.Now()
	dl, ok := ctx.Deadline()
	if !ok {
		return clock.WithDeadline(ctx, c, now.Add(v.cfg.Wait.Timeout.Std()))
	}
	return clock.WithDeadline(ctx, c, waitEnd(now, dl))
}

// waitEnd is when a wait at now for a call due at dl gives up: a fifth of
// the time left before dl, at most a second, for the answer to arrive.
func waitEnd(now, dl time.Time) time.Time {
	margin := dl.Sub(now) / 5
	if margin > time.Second {
		margin = time.Second
	}
	return dl.Add(-margin)
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
func (v *storageViews) explicitCloud(loc *canopyv1.Location) (*router.Cloud, error) {
	if loc.GetCloud() == "" && loc.GetZone() == "" {
		return nil, nil
	}
	targets, err := v.rt.ListTargets(loc)
	if err != nil || len(targets) != 1 {
		return nil, err
	}
	return targets[0], nil
}

// checkListCloud is FAILED_PRECONDITION when a list names a cloud without
// volumes; a fan-out simply skips such clouds.
func (v *storageViews) checkListCloud(loc *canopyv1.Location) error {
	cl, err := v.explicitCloud(loc)
	if err != nil || cl == nil {
		return err
	}
	_, err = v.storage(cl)
	return err
}
