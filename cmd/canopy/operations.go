package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
)

func sprintf(format string, a ...any) string { return fmt.Sprintf(format, a...) }

func (a *app) operations(ctx context.Context) (canopyv1.OperationServiceClient, error) {
	conn, err := a.dial(ctx)
	if err != nil {
		return nil, err
	}
	return canopyv1.NewOperationServiceClient(conn), nil
}

func (a operationCmds) operationCmd() *cobra.Command {
	return group("operation", "Operations (slow changes): list, get, wait, cancel, delete",
		a.operationListCmd(), a.operationGetCmd(), a.operationWaitCmd(), a.operationCancelCmd(), a.operationDeleteCmd())
}

// finishOp prints an operation: once done (and in table form), the
// resource it left; otherwise the operation. An operation that failed makes
// the command fail with its error.
func (a *app) finishOp(ctx context.Context, op *canopyv1.Operation) error {
	table := func(w io.Writer) { operationDetails(w, op) }
	if r := op.GetResponse(); r != nil && a.output == "table" {
		m, err := r.UnmarshalNew()
		if err == nil {
			switch x := m.(type) {
			case *canopyv1.Volume:
				table = func(w io.Writer) { volumeDetails(w, x) }
			case *canopyv1.Snapshot:
				table = func(w io.Writer) { snapshotDetails(w, x) }
			case *canopyv1.Backup:
				table = func(w io.Writer) { backupDetails(w, x) }
			case *canopyv1.Network:
				table = func(w io.Writer) { networkDetails(w, x) }
			case *canopyv1.Subnet:
				table = func(w io.Writer) { subnetDetails(w, x) }
			case *canopyv1.Port:
				table = func(w io.Writer) { portDetails(w, x) }
			case *canopyv1.Router:
				table = func(w io.Writer) { routerDetails(w, x) }
			case *canopyv1.SecurityGroup:
				table = func(w io.Writer) { sgDetails(w, x) }
			case *canopyv1.FloatingIP:
				table = func(w io.Writer) { fipDetails(w, x) }
			case *canopyv1.ListImagePlacementsResponse:
				table = func(w io.Writer) { placementRows(w, x) }
			}
		}
	}
	if err := a.emit(op, table); err != nil {
		return err
	}
	return opError(op)
}

// opError is the error of a failed operation, as a gRPC status, so it
// prints like any call's error.
func opError(op *canopyv1.Operation) error {
	e := op.GetError()
	if e == nil {
		return nil
	}
	return status.Errorf(codes.Code(e.GetCode()), "operation %s (%s) failed: %s", op.GetId(), op.GetMetadata().GetKind(), e.GetMessage())
}

// opState is an operation's state as one word.
func opState(op *canopyv1.Operation) string {
	switch {
	case !op.GetDone() && op.GetMetadata().GetCancelRequested():
		return "cancelling"
	case !op.GetDone():
		return "running"
	case op.GetError() == nil:
		return "done"
	case codes.Code(op.GetError().GetCode()) == codes.Canceled:
		return "cancelled"
	}
	return "failed"
}

func operationRows(w io.Writer, ops []*canopyv1.Operation) {
	rs := make([][]string, len(ops))
	for i, op := range ops {
		md := op.GetMetadata()
		rs[i] = []string{op.GetId(), md.GetKind(), md.GetTargetId(), opState(op), md.GetStep(), strconv.Itoa(int(md.GetProgressPercent())) + "%",
			md.GetLocation().GetCloud(), when(md.GetCreateTime())}
	}
	rows(w, []string{"ID", "KIND", "TARGET", "STATE", "STEP", "PROGRESS", "CLOUD", "CREATED"}, rs)
}

func operationDetails(w io.Writer, op *canopyv1.Operation) {
	md := op.GetMetadata()
	fs := []field{
		{"ID", op.GetId()}, {"Kind", md.GetKind()}, {"Target", md.GetTargetId()}, {"State", opState(op)},
		{"Step", md.GetStep()}, {"Progress", strconv.Itoa(int(md.GetProgressPercent())) + "%"}, {"Cloud", md.GetLocation().GetCloud()},
		{"Request ID", md.GetRequestId()}, {"Attempts", nonZero(md.GetAttempts())}, {"Last error", md.GetLastError()},
		{"Created", when(md.GetCreateTime())}, {"Updated", when(md.GetUpdateTime())},
	}
	if st := md.GetStages(); len(st) > 0 {
		fs = append(fs, field{"Stages", stagesLine(st)})
	}
	if e := op.GetError(); e != nil {
		fs = append(fs, field{"Error", fmt.Sprintf("%s: %s", codeName(codes.Code(e.GetCode())), e.GetMessage())})
	}
	details(w, fs)
}

func nonZero(n int32) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(int(n))
}

func (a operationCmds) operationListCmd() *cobra.Command {
	var (
		lf           listFlags
		target, kind string
		unfinished   bool
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List your operations, newest first",
		Args:  args(0, 0, "no arguments"),
		RunE: a.cmdRun(func(cmd *cobra.Command, _ []string) error {
			if err := lf.check(); err != nil {
				return err
			}
			c, err := a.operations(cmd.Context())
			if err != nil {
				return err
			}
			req := &canopyv1.ListOperationsRequest{TargetId: target, Kind: kind, UnfinishedOnly: unfinished}
			all, _, err := listAll(cmd.Context(), a.app, lf.limit, func(ctx context.Context, size int32, token string) (page[*canopyv1.Operation], error) {
				req.PageSize, req.PageToken = size, token
				r, err := c.ListOperations(ctx, req)
				return page[*canopyv1.Operation]{items: r.GetOperations(), next: r.GetNextPageToken()}, err
			})
			if err != nil {
				return err
			}
			return a.emit(&canopyv1.ListOperationsResponse{Operations: all}, func(w io.Writer) { operationRows(w, all) })
		}),
	}
	lf.add(cmd)
	cmd.Flags().StringVar(&target, "target", "", "only operations on this resource (canopy id)")
	cmd.Flags().StringVar(&kind, "kind", "", "only operations of this kind, e.g. volume.create")
	cmd.Flags().BoolVar(&unfinished, "unfinished", false, "only operations not done yet")
	return cmd
}

// opByID runs one call on an operation id and prints the operation.
func (a *app) opByID(use, short string, wait bool, call func(ctx context.Context, c canopyv1.OperationServiceClient, id string) (*canopyv1.Operation, error)) *cobra.Command {
	return &cobra.Command{
		Use:   use + " ID",
		Short: short,
		Args:  args(1, 1, "one operation ID"),
		RunE: a.cmdRun(func(cmd *cobra.Command, args []string) error {
			c, err := a.operations(cmd.Context())
			if err != nil {
				return err
			}
			ctx, cancel := a.rpcCtx(cmd.Context(), wait)
			defer cancel()
			op, err := call(ctx, c, args[0])
			if err != nil {
				return err
			}
			if err := a.emit(op, func(w io.Writer) { operationDetails(w, op) }); err != nil {
				return err
			}
			if wait {
				return opError(op)
			}
			return nil
		}),
	}
}

func (a operationCmds) operationGetCmd() *cobra.Command {
	return a.opByID("get", "Show one operation", false, func(ctx context.Context, c canopyv1.OperationServiceClient, id string) (*canopyv1.Operation, error) {
		return c.GetOperation(ctx, &canopyv1.GetOperationRequest{Id: id})
	})
}

func (a operationCmds) operationWaitCmd() *cobra.Command {
	cmd := a.opByID("wait", "Wait until an operation is done (exit 1 if it failed)", true, func(ctx context.Context, c canopyv1.OperationServiceClient, id string) (*canopyv1.Operation, error) {
		op, err := c.WaitOperation(ctx, &canopyv1.WaitOperationRequest{Id: id, Timeout: durationpb.New(a.waitTimeout - time.Second)})
		if err == nil && !op.GetDone() {
			return op, status.Errorf(codes.DeadlineExceeded, "operation %s is not done after %s (step %s)", id, a.waitTimeout, op.GetMetadata().GetStep())
		}
		return op, err
	})
	cmd.Flags().DurationVar(&a.waitTimeout, "wait-timeout", defaultWaitTimeout, "how long to wait")
	return cmd
}

func (a operationCmds) operationCancelCmd() *cobra.Command {
	return a.opByID("cancel", "Ask an operation to stop (a create is rolled back)", false, func(ctx context.Context, c canopyv1.OperationServiceClient, id string) (*canopyv1.Operation, error) {
		return c.CancelOperation(ctx, &canopyv1.CancelOperationRequest{Id: id})
	})
}

func (a operationCmds) operationDeleteCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "delete ID",
		Short: "Forget a done operation",
		Args:  args(1, 1, "one operation ID"),
		RunE: a.cmdRun(func(cmd *cobra.Command, args []string) error {
			c, err := a.operations(cmd.Context())
			if err != nil {
				return err
			}
			ctx, cancel := a.rpcCtx(cmd.Context(), false)
			defer cancel()
			r, err := c.DeleteOperation(ctx, &canopyv1.DeleteOperationRequest{Id: args[0]})
			if err != nil {
				return err
			}
			return a.emit(r, func(w io.Writer) { fmt.Fprintf(w, "deleted operation %s\n", r.GetId()) })
		}),
	}
}
