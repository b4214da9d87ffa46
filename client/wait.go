package client

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
)

// waitSlice bounds one WaitOperation call, so a wait survives proxies that
// drop idle calls; the wait as a whole lasts until ctx ends.
const waitSlice = 30 * time.Second

// Wait waits until the operation is done (canopyd's WaitOperation, which
// costs the cloud nothing) or ctx ends. It returns the done operation; when
// the operation failed, the error is OperationErr's *Error (with the
// operation still returned). Wait(ctx, op) with an op already done returns
// at once.
func (c *Client) Wait(ctx context.Context, op *canopyv1.Operation) (*canopyv1.Operation, error) {
	for !op.GetDone() {
		next, err := c.Operations.WaitOperation(ctx, &canopyv1.WaitOperationRequest{Id: op.GetId(), Timeout: durationpb.New(waitSlice)})
		if err != nil {
			return op, err
		}
		op = next
	}
	if e := OperationErr(op); e != nil {
		return op, e
	}
	return op, nil
}

// WaitID is Wait for an operation known by its id.
func (c *Client) WaitID(ctx context.Context, id string) (*canopyv1.Operation, error) {
	return c.Wait(ctx, &canopyv1.Operation{Id: id})
}

// Result is a done operation's resource (a *canopyv1.Volume, Snapshot,
// Backup or Container, as the operation's kind says), or its error.
func Result[T proto.Message](op *canopyv1.Operation) (T, error) {
	var zero T
	if !op.GetDone() {
		return zero, fmt.Errorf("operation %s is not done", op.GetId())
	}
	if e := OperationErr(op); e != nil {
		return zero, e
	}
	m, err := op.GetResponse().UnmarshalNew()
	if err != nil {
		return zero, fmt.Errorf("operation %s: %w", op.GetId(), err)
	}
	t, ok := m.(T)
	if !ok {
		return zero, fmt.Errorf("operation %s: the result is a %s, not a %T", op.GetId(), m.ProtoReflect().Descriptor().FullName(), zero)
	}
	return t, nil
}

// Await waits for op (Wait) and returns its resource (Result):
//
//	op, err := c.Volumes.CreateVolume(ctx, req)
//	if err != nil { … }
//	vol, err := client.Await[*canopyv1.Volume](ctx, c, op)
func Await[T proto.Message](ctx context.Context, c *Client, op *canopyv1.Operation) (T, error) {
	op, err := c.Wait(ctx, op)
	if err != nil {
		var zero T
		return zero, err
	}
	return Result[T](op)
}
