package router_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/canopy-cloud/canopy/emulate"
	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/router"
)

// TestCloudErr: every provider sentinel, wrapped as adapters wrap it, maps
// to its gRPC code, with the cloud and the operation in the message and in
// the ErrorInfo a client can read.
func TestCloudErr(t *testing.T) {
	for _, tc := range []struct {
		sentinel error
		code     codes.Code
		reason   string
	}{
		{providers.ErrNotFound, codes.NotFound, "NOT_FOUND"},
		{providers.ErrAlreadyExists, codes.AlreadyExists, "ALREADY_EXISTS"},
		{providers.ErrInvalid, codes.InvalidArgument, "INVALID"},
		{providers.ErrConflict, codes.FailedPrecondition, "WRONG_STATE"},
		{providers.ErrUnsupported, codes.FailedPrecondition, "CAPABILITY_MISSING"},
		{providers.ErrQuota, codes.ResourceExhausted, "QUOTA"},
		{providers.ErrRateLimited, codes.ResourceExhausted, "RATE_LIMITED"},
		{providers.ErrPermission, codes.PermissionDenied, "CLOUD_FORBIDDEN"},
		{providers.ErrUnauthenticated, codes.Unavailable, "CLOUD_AUTH"},
		{providers.ErrUnavailable, codes.Unavailable, "CLOUD_UNAVAILABLE"},
		{providers.ErrIntegrity, codes.DataLoss, "INTEGRITY"},
		{context.DeadlineExceeded, codes.DeadlineExceeded, "DEADLINE"},
		{context.Canceled, codes.Canceled, "CANCELED"},
		{errors.New("something else"), codes.Unknown, "CLOUD_ERROR"},
	} {
		t.Run(tc.reason, func(t *testing.T) {
			err := router.CloudErr("os1", "create volume", fmt.Errorf("cinder: 4xx: %w", tc.sentinel))
			st := status.Convert(err)
			if st.Code() != tc.code {
				t.Errorf("code = %v, want %v", st.Code(), tc.code)
			}
			if want := `cloud "os1": create volume: cinder: 4xx: `; !strings.HasPrefix(st.Message(), want) {
				t.Errorf("message = %q, want it to start %q", st.Message(), want)
			}
			info := errorInfo(st)
			if info == nil || info.Reason != tc.reason || info.Domain != router.ErrorDomain || info.Metadata["cloud"] != "os1" || info.Metadata["operation"] != "create volume" {
				t.Errorf("ErrorInfo = %v; want reason %s, cloud os1, operation create volume", info, tc.reason)
			}
			if tc.code != codes.Unknown && tc.code != codes.DeadlineExceeded && tc.code != codes.Canceled && !router.IsProviderErr(fmt.Errorf("x: %w", tc.sentinel)) {
				t.Errorf("IsProviderErr(%v) = false", tc.sentinel)
			}
		})
	}
	if router.CloudErr("os1", "x", nil) != nil {
		t.Error("CloudErr(nil) is not nil")
	}
	mapped := status.Error(codes.Aborted, "already a status")
	if got := router.CloudErr("os1", "x", mapped); got != mapped {
		t.Errorf("CloudErr(a status) = %v; want it unchanged", got)
	}
	if router.IsProviderErr(mapped) || router.IsProviderErr(errors.New("plain")) {
		t.Error("IsProviderErr is true for an error without a sentinel")
	}
}

// TestEmulationErrors: what the emulation layer fails with maps to the
// same codes handlers answered before it was a layer.
func TestEmulationErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		code codes.Code
		msg  string // the whole message
	}{
		{"a capability canopy cannot emulate", fmt.Errorf("step: %w", &emulate.CapabilityError{Cloud: "aws1", Capability: "backups"}),
			codes.FailedPrecondition, `cloud "aws1" does not support backups`},
		{"a bucket no longer configured", &emulate.Error{Cloud: "aws1", Err: providers.ErrConflict, Msg: "the bucket is gone"},
			codes.FailedPrecondition, "the bucket is gone"},
		{"bytes that do not match", &emulate.Error{Cloud: "s3", Err: providers.ErrIntegrity, Msg: "sha256 mismatch"},
			codes.DataLoss, "sha256 mismatch"},
		{"canopy's own record broken", &emulate.Error{Cloud: "aws1", Err: errors.New("corrupt"), Msg: "corrupt record"},
			codes.Internal, "corrupt record"},
		{"the bucket cloud's error, named", &emulate.Error{Cloud: "s3", Op: "store emulated copy k in bucket b", Err: fmt.Errorf("s3: %w", providers.ErrQuota)},
			codes.ResourceExhausted, `cloud "s3": store emulated copy k in bucket b: s3: quota exceeded`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, via := range []struct {
				name string
				err  error
			}{{"CloudErr", router.CloudErr("aws1", "create backup", tc.err)}, {"EmulationErr", router.EmulationErr(tc.err)}} {
				st := status.Convert(via.err)
				if st.Code() != tc.code || !strings.HasPrefix(st.Message(), tc.msg) {
					t.Errorf("%s = %v %q; want %v %q", via.name, st.Code(), st.Message(), tc.code, tc.msg)
				}
			}
			if !router.IsProviderErr(tc.err) {
				t.Errorf("IsProviderErr = false for an emulation error")
			}
		})
	}
	plain := errors.New("not emulation's")
	if router.EmulationErr(plain) != plain {
		t.Error("EmulationErr changed an error that is not the emulation's")
	}
	st := status.Convert(router.EmulationErr(&emulate.CapabilityError{Cloud: "aws1", Capability: "snapshots"}))
	for _, d := range st.Details() {
		if pf, ok := d.(*errdetails.PreconditionFailure); ok && pf.Violations[0].Subject == "aws1" {
			return
		}
	}
	t.Errorf("capability error %v: no PreconditionFailure naming the cloud", st.Details())
}

func TestStoreErr(t *testing.T) {
	for _, tc := range []struct {
		err  error
		code codes.Code
	}{
		{errors.New("disk on fire"), codes.Internal},
		{fmt.Errorf("get: %w", context.Canceled), codes.Canceled},
		{fmt.Errorf("get: %w", context.DeadlineExceeded), codes.DeadlineExceeded},
	} {
		if got := status.Code(router.StoreErr("get x", tc.err)); got != tc.code {
			t.Errorf("StoreErr(%v) = %v, want %v", tc.err, got, tc.code)
		}
	}
}

func errorInfo(st *status.Status) *errdetails.ErrorInfo {
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info
		}
	}
	return nil
}
