package server

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/router"
	"github.com/canopy-cloud/canopy/store"
)

// opPB converts an operation, with the crash duplicates found of what it
// created (duplicates.go).
func opPB(ctx context.Context, st store.RecordStore, op store.Operation) *canopyv1.Operation {
	out := opMessage(op)
	if op.Done && isCreateKind(op.Kind) {
		out.Metadata.Duplicates = router.DuplicatesOf(ctx, st, op.TargetID)
	}
	return out
}

// isCreateKind reports whether an operation kind makes its target.
func isCreateKind(kind string) bool {
	return kind == opVolumeCreate || kind == opSnapshotCreate || kind == opBackupCreate || kind == opBackupRestore || kind == opContainerCreate ||
		isNetCreate(kind)
}

// opMessage converts an operation as the store has it.
func opMessage(op store.Operation) *canopyv1.Operation {
	out := &canopyv1.Operation{
		Id:   op.ID,
		Done: op.Done,
		Metadata: &canopyv1.OperationMetadata{
			Kind: op.Kind, TargetId: op.TargetID, Location: &canopyv1.Location{Cloud: op.Cloud, Project: op.Project},
			Step: op.Step, ProgressPercent: op.Progress, CreateTime: ts(op.Created), UpdateTime: ts(op.Updated),
			CancelRequested: op.CancelRequested, Attempts: op.Attempts, LastError: op.LastError, RequestId: op.RequestID,
			Stages: stagesPB(op),
		},
	}
	if !op.Done {
		return out
	}
	if op.ErrorCode != 0 {
		out.Result = &canopyv1.Operation_Error{Error: &canopyv1.OperationError{Code: op.ErrorCode, Message: op.ErrorMessage, Reason: op.ErrorReason, Metadata: op.ErrorDetails}}
		return out
	}
	a := &anypb.Any{}
	if err := proto.Unmarshal(op.Result, a); err != nil {
		out.Result = &canopyv1.Operation_Error{Error: &canopyv1.OperationError{Code: int32(codes.DataLoss), Message: "the operation's result is unreadable: " + err.Error()}}
		return out
	}
	out.Result = &canopyv1.Operation_Response{Response: a}
	return out
}

// findOp returns one of the caller's operations; another project's is
// NOT_FOUND, as for every resource.
func (v *operationService) findOp(ctx context.Context, ref string) (store.Operation, error) {
	id, isID, err := router.IDOrName("id", ref)
	if err != nil {
		return store.Operation{}, err
	}
	if !isID {
		return store.Operation{}, router.BadRequest("id", "%q is not an operation id (a UUID)", ref)
	}
	op, err := v.store.GetOperation(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && op.Project != project(ctx)) {
		return store.Operation{}, router.NotFound("operation", ref)
	}
	if err != nil {
		return store.Operation{}, router.StoreErr("get operation "+id, err)
	}
	return op, nil
}

// GetOperation implements canopyv1.OperationServiceServer.
func (v *operationService) GetOperation(ctx context.Context, req *canopyv1.GetOperationRequest) (*canopyv1.Operation, error) {
	op, err := v.findOp(ctx, req.GetId())
	if err != nil {
		return nil, err
	}
	return opPB(ctx, v.store, op), nil
}

// ListOperations implements canopyv1.OperationServiceServer.
func (v *operationService) ListOperations(ctx context.Context, req *canopyv1.ListOperationsRequest) (*canopyv1.ListOperationsResponse, error) {
	size, err := router.PageSize(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	if err := router.CheckIDFilter("target_id", req.GetTargetId()); err != nil {
		return nil, err
	}
	if k := req.GetKind(); k != "" && !strings.Contains(k, ".") {
		return nil, router.BadRequest("kind", "%q is not an operation kind such as volume.create", k)
	}
	ops, err := v.store.ListOperations(ctx, store.OperationFilter{Project: project(ctx), TargetID: req.GetTargetId(), Unfinished: req.GetUnfinishedOnly()})
	if err != nil {
		return nil, router.StoreErr("list operations", err)
	}
	var kept []store.Operation
	for _, op := range ops {
		if req.GetKind() == "" || op.Kind == req.GetKind() {
			kept = append(kept, op)
		}
	}
	// Newest first: the key counts down with the creation time.
	key := func(op store.Operation) string {
		return fmt.Sprintf("%020d\x00%s", math.MaxInt64-op.Created.UnixNano(), op.ID)
	}
	page, next, err := router.Paginate(kept, key, size, req.GetPageToken(), router.FilterHash("operations", req.GetTargetId(), req.GetKind(), req.GetUnfinishedOnly()))
	if err != nil {
		return nil, err
	}
	out := &canopyv1.ListOperationsResponse{NextPageToken: next}
	for _, op := range page {
		out.Operations = append(out.Operations, opPB(ctx, v.store, op))
	}
	return out, nil
}

// WaitOperation implements canopyv1.OperationServiceServer.
func (v *operationService) WaitOperation(ctx context.Context, req *canopyv1.WaitOperationRequest) (*canopyv1.Operation, error) {
	if t := req.GetTimeout(); t != nil && (t.CheckValid() != nil || t.AsDuration() < 0) {
		return nil, router.BadRequest("timeout", "must be a non-negative duration")
	}
	op, err := v.findOp(ctx, req.GetId())
	if err != nil {
		return nil, err
	}
	if op.Done {
		return opPB(ctx, v.store, op), nil
	}
	wctx, cancel := v.waitBound(ctx)
	if t := req.GetTimeout(); t != nil {
		cancel()
		wctx, cancel = context.WithTimeout(ctx, t.AsDuration())
	}
	defer cancel()
	if !op.Done {
		v.runner.Submit(op.ID)
	}
	got, err := v.runner.Wait(wctx, op.ID)
	if ctx.Err() != nil {
		return nil, status.FromContextError(ctx.Err()).Err()
	}
	if err != nil {
		return nil, router.StoreErr("get operation "+op.ID, err)
	}
	return opPB(ctx, v.store, got), nil
}

// CancelOperation implements canopyv1.OperationServiceServer.
func (v *operationService) CancelOperation(ctx context.Context, req *canopyv1.CancelOperationRequest) (*canopyv1.Operation, error) {
	op, err := v.findOp(ctx, req.GetId())
	if err != nil {
		return nil, err
	}
	if op.Done {
		return opPB(ctx, v.store, op), nil
	}
	op, err = v.store.CancelOperation(ctx, op.ID)
	if err != nil {
		return nil, router.StoreErr("cancel operation "+req.GetId(), err)
	}
	v.runner.Submit(op.ID) // make sure someone honors it
	v.runner.Interrupt(op.ID)
	return opPB(ctx, v.store, op), nil
}

// DeleteOperation implements canopyv1.OperationServiceServer.
func (v *operationService) DeleteOperation(ctx context.Context, req *canopyv1.DeleteOperationRequest) (*canopyv1.DeleteOperationResponse, error) {
	op, err := v.findOp(ctx, req.GetId())
	if err != nil {
		return nil, err
	}
	if !op.Done {
		return nil, status.Errorf(codes.FailedPrecondition, "operation %s (%s) is not done: cancel it or wait for it first", op.ID, op.Kind)
	}
	if err := v.store.DeleteOperation(ctx, op.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, router.StoreErr("delete operation "+op.ID, err)
	}
	return &canopyv1.DeleteOperationResponse{Id: op.ID}, nil
}
