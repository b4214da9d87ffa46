package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
)

// Error is a failed call or operation with the google.rpc details canopyd
// attached, decoded. Every error a Client's stubs return is one (or a
// context error when the caller's context ended); status.FromError and
// status.Code work on it as on any gRPC error.
type Error struct {
	// Code is the gRPC code (INVALID_ARGUMENT, NOT_FOUND, …).
	Code codes.Code
	// Message is canopyd's message: it names the cloud where one is at fault.
	Message string
	// FieldViolations are the request fields that were wrong
	// (google.rpc.BadRequest), e.g. {Field: "size_gib", Description: …}.
	FieldViolations []*errdetails.BadRequest_FieldViolation
	// Resource is the resource that was not found or is in the way
	// (google.rpc.ResourceInfo).
	Resource *errdetails.ResourceInfo
	// Info is the machine-readable reason and its metadata
	// (google.rpc.ErrorInfo), e.g. Reason "CAPABILITY_MISSING" with the
	// cloud and capability.
	Info *errdetails.ErrorInfo
	// Preconditions are failed preconditions (google.rpc.PreconditionFailure).
	Preconditions []*errdetails.PreconditionFailure_Violation
	// Details are all the details, decoded, including kinds not above.
	Details []any

	st *status.Status
}

// Error is "CODE: message", then each field violation.
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", CodeName(e.Code), e.Message)
	for _, v := range e.FieldViolations {
		fmt.Fprintf(&b, "; field %s: %s", v.GetField(), v.GetDescription())
	}
	return b.String()
}

// GRPCStatus makes status.FromError and status.Code see the status.
func (e *Error) GRPCStatus() *status.Status { return e.st }

// Reason is Info's reason, or "".
func (e *Error) Reason() string { return e.Info.GetReason() }

// Field is the description of the violation of field, and whether there is one.
func (e *Error) Field(field string) (string, bool) {
	for _, v := range e.FieldViolations {
		if v.GetField() == field {
			return v.GetDescription(), true
		}
	}
	return "", false
}

// CodeName is the google.rpc.Code name, e.g. INVALID_ARGUMENT.
func CodeName(c codes.Code) string {
	if n, ok := code.Code_name[int32(c)]; ok {
		return n
	}
	return c.String()
}

// FromError returns err as an *Error when it is a gRPC status error (or
// wraps an *Error), else nil. A nil or io.EOF err is nil.
func FromError(err error) *Error {
	if err == nil || errors.Is(err, io.EOF) {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	st, ok := status.FromError(err)
	if !ok {
		return nil
	}
	return fromStatus(st)
}

// Code is err's gRPC code: OK for nil, Unknown for an error that is not a
// gRPC status, DeadlineExceeded/Canceled for context errors.
func Code(err error) codes.Code {
	if err == nil {
		return codes.OK
	}
	if e := FromError(err); e != nil {
		return e.Code
	}
	return status.FromContextError(err).Code()
}

func fromStatus(st *status.Status) *Error {
	e := &Error{Code: st.Code(), Message: st.Message(), st: st}
	for _, d := range st.Details() {
		e.Details = append(e.Details, d)
		switch d := d.(type) {
		case *errdetails.BadRequest:
			e.FieldViolations = append(e.FieldViolations, d.GetFieldViolations()...)
		case *errdetails.ResourceInfo:
			e.Resource = d
		case *errdetails.ErrorInfo:
			e.Info = d
		case *errdetails.PreconditionFailure:
			e.Preconditions = append(e.Preconditions, d.GetViolations()...)
		}
	}
	return e
}

// OperationErr is a failed operation's error as an *Error (nil when the
// operation has not failed): its code, message, and reason with metadata
// as Info.
func OperationErr(op *canopyv1.Operation) *Error {
	oe := op.GetError()
	if oe == nil {
		return nil
	}
	info := &errdetails.ErrorInfo{Reason: oe.GetReason(), Domain: "canopy", Metadata: oe.GetMetadata()}
	st := status.New(codes.Code(oe.GetCode()), oe.GetMessage())
	if oe.GetReason() != "" {
		if d, err := st.WithDetails(info); err == nil {
			st = d
		}
	}
	e := fromStatus(st)
	if e.Info == nil && oe.GetReason() != "" {
		e.Info = info
	}
	return e
}

// wrap turns a call's status error into *Error; context errors and
// io.EOF (the end of a stream) stay as they are.
func wrap(err error) error {
	if err == nil || errors.Is(err, io.EOF) {
		return err
	}
	if _, ok := status.FromError(err); !ok {
		return err
	}
	if e := FromError(err); e != nil {
		return e
	}
	return err
}

func errorsUnary(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	return wrap(invoker(ctx, method, req, reply, cc, opts...))
}

func errorsStream(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	s, err := streamer(ctx, desc, cc, method, opts...)
	if err != nil {
		return nil, wrap(err)
	}
	return errStream{s}, nil
}

type errStream struct{ grpc.ClientStream }

func (s errStream) SendMsg(m any) error { return wrap(s.ClientStream.SendMsg(m)) }
func (s errStream) RecvMsg(m any) error { return wrap(s.ClientStream.RecvMsg(m)) }
func (s errStream) CloseSend() error    { return wrap(s.ClientStream.CloseSend()) }
