package router

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"

	"github.com/canopy-cloud/canopy/emulate"
	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/store"
)

// ErrorDomain names canopy in google.rpc.ErrorInfo details.
const ErrorDomain = "canopy.v1"

// Detailed builds a status error carrying google.rpc detail messages.
//
// The message is made UTF-8 (hostile input quoted into it would otherwise
// make the status unmarshalable: the gateway answered 500).
func Detailed(code codes.Code, msg string, details ...protoadapt.MessageV1) error {
	st := status.New(code, strings.ToValidUTF8(msg, "\uFFFD"))
	if withDetails, err := st.WithDetails(details...); err == nil {
		st = withDetails
	}
	return st.Err()
}

// BadRequest is INVALID_ARGUMENT naming the offending field, with a
// google.rpc.BadRequest field violation a client can act on.
//
// A field or description that is not UTF-8 (a hostile map key) has its
// bad bytes replaced, so that the violation can be marshalled and is not
// dropped.
func BadRequest(field, format string, args ...any) error {
	desc := strings.ToValidUTF8(fmt.Sprintf(format, args...), "\uFFFD")
	field = strings.ToValidUTF8(field, "\uFFFD")
	return Detailed(codes.InvalidArgument, field+": "+desc,
		&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: field, Description: desc}}})
}

// NotFound is NOT_FOUND naming the resource.
func NotFound(kind, id string) error {
	return Detailed(codes.NotFound, fmt.Sprintf("%s %q not found", kind, id),
		&errdetails.ResourceInfo{ResourceType: kind, ResourceName: id, Description: "not found"})
}

// CapabilityErr is FAILED_PRECONDITION naming the cloud and the capability
// it lacks (and canopy cannot emulate).
func CapabilityErr(cloud, capability string) error {
	return Detailed(codes.FailedPrecondition, fmt.Sprintf("cloud %q does not support %s", cloud, capability),
		&errdetails.ErrorInfo{Reason: "CAPABILITY_MISSING", Domain: ErrorDomain, Metadata: map[string]string{"cloud": cloud, "capability": capability}},
		&errdetails.PreconditionFailure{Violations: []*errdetails.PreconditionFailure_Violation{{Type: "CAPABILITY", Subject: cloud, Description: capability + " is not available on this cloud"}}})
}

// CloudErr maps an adapter error to the gRPC code that matches it, naming
// the cloud. It is the one place provider errors become client errors.
func CloudErr(cloud, op string, err error) error {
	if err == nil {
		return nil
	}
	if e, ok := emulationErr(err); ok {
		return e
	}
	if e, ok := placementErr(cloud, err); ok { // placement.go
		return e
	}
	if _, ok := status.FromError(err); ok && !IsProviderErr(err) {
		return err // already a status (e.g. from a nested call)
	}
	code, reason := codes.Unknown, "CLOUD_ERROR"
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		code, reason = codes.DeadlineExceeded, "DEADLINE"
	case errors.Is(err, context.Canceled):
		code, reason = codes.Canceled, "CANCELED"
	case errors.Is(err, providers.ErrNotFound):
		code, reason = codes.NotFound, "NOT_FOUND"
	case errors.Is(err, providers.ErrAlreadyExists):
		code, reason = codes.AlreadyExists, "ALREADY_EXISTS"
	case errors.Is(err, providers.ErrInvalid):
		code, reason = codes.InvalidArgument, "INVALID"
	case errors.Is(err, providers.ErrConflict):
		code, reason = codes.FailedPrecondition, "WRONG_STATE"
	case errors.Is(err, providers.ErrUnsupported):
		code, reason = codes.FailedPrecondition, "CAPABILITY_MISSING"
	case errors.Is(err, providers.ErrQuota):
		code, reason = codes.ResourceExhausted, "QUOTA"
	case errors.Is(err, providers.ErrRateLimited):
		code, reason = codes.ResourceExhausted, "RATE_LIMITED"
	case errors.Is(err, providers.ErrPermission):
		code, reason = codes.PermissionDenied, "CLOUD_FORBIDDEN"
	case errors.Is(err, providers.ErrUnauthenticated):
		// The cloud rejected canopy's own credentials: not the caller's fault.
		code, reason = codes.Unavailable, "CLOUD_AUTH"
	case errors.Is(err, providers.ErrUnavailable):
		code, reason = codes.Unavailable, "CLOUD_UNAVAILABLE"
	case errors.Is(err, providers.ErrIntegrity):
		code, reason = codes.DataLoss, "INTEGRITY"
	}
	msg := fmt.Sprintf("cloud %q: %s: %v", cloud, op, err)
	return Detailed(code, msg, &errdetails.ErrorInfo{Reason: reason, Domain: ErrorDomain, Metadata: map[string]string{"cloud": cloud, "operation": op}})
}

// IsProviderErr reports whether err wraps one of the providers sentinels
// (a status error that does not is already mapped).
func IsProviderErr(err error) bool {
	if _, ok := emulationErr(err); ok {
		return true
	}
	for _, e := range []error{providers.ErrNotFound, providers.ErrAlreadyExists, providers.ErrInvalid, providers.ErrConflict,
		providers.ErrUnavailable, providers.ErrUnauthenticated, providers.ErrPermission, providers.ErrQuota, providers.ErrRateLimited, providers.ErrUnsupported, providers.ErrIntegrity} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// StoreErr maps a store failure: canopy's own state is unreadable, which is
// an internal error (never the caller's or a cloud's).
func StoreErr(op string, err error) error {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return status.FromContextError(err).Err()
	}
	return status.Errorf(codes.Internal, "store: %s: %v", op, err)
}

// IsNotFound reports whether err is a provider or store not-found.
func IsNotFound(err error) bool {
	return errors.Is(err, providers.ErrNotFound) || errors.Is(err, store.ErrNotFound)
}

// EmulationErr maps what the emulation layer says (emulate.CapabilityError,
// emulate.Error) as the handlers answered before emulation was a layer of
// its own; any other error is returned as it is.
func EmulationErr(err error) error {
	if e, ok := emulationErr(err); ok {
		return e
	}
	return err
}

func emulationErr(err error) (error, bool) {
	var ce *emulate.CapabilityError
	if errors.As(err, &ce) {
		return CapabilityErr(ce.Cloud, ce.Capability), true
	}
	var ee *emulate.Error
	if !errors.As(err, &ee) {
		return nil, false
	}
	if ee.Msg == "" {
		return CloudErr(ee.Cloud, ee.Op, ee.Err), true
	}
	switch {
	case errors.Is(ee.Err, providers.ErrIntegrity):
		return status.Error(codes.DataLoss, ee.Msg), true
	case errors.Is(ee.Err, providers.ErrConflict):
		return status.Error(codes.FailedPrecondition, ee.Msg), true
	}
	return status.Error(codes.Internal, ee.Msg), true
}
