package router_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/canopy-cloud/canopy/config"
	"github.com/canopy-cloud/canopy/router"
	"github.com/canopy-cloud/canopy/sched"
	"github.com/canopy-cloud/canopy/store/bolt"
)

// A scheduler: block on a cloud canopy cannot place on is refused at
// start, naming the cloud.
func TestSchedulerOnCloudWithoutHosts(t *testing.T) {
	cfg, err := config.Parse([]byte("clouds:\n  - {name: vms, kind: sim, scheduler: {tenant_isolation: true}}\n"), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	st, err := bolt.Open(filepath.Join(t.TempDir(), "canopy.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	r, err := router.Open(context.Background(), cfg, st, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err == nil {
		r.Close()
		t.Fatal("a scheduler on a sim cloud was accepted")
	}
	if !strings.Contains(err.Error(), `cloud "vms": scheduler`) {
		t.Errorf("error %q does not name the cloud and scheduler", err)
	}
}

// A refusal maps to RESOURCE_EXHAUSTED when only capacity stood in the
// way, else FAILED_PRECONDITION, each host named in the details.
func TestPlacementErr(t *testing.T) {
	for _, tc := range []struct {
		rej  []sched.Rejection
		code codes.Code
	}{
		{[]sched.Rejection{{Host: "h1", Filter: sched.FilterCPU, Reason: "0.5 CPUs free"}, {Host: "h2", Filter: sched.FilterMemory, Reason: "10 MiB free"}}, codes.ResourceExhausted},
		{[]sched.Rejection{{Host: "h1", Filter: sched.FilterCPU, Reason: "0.5 CPUs free"}, {Host: "h2", Filter: sched.FilterTenantIsolation, Reason: "runs containers of other projects [b]"}}, codes.FailedPrecondition},
	} {
		err := router.CloudErr("pool", "create container", &sched.Refusal{Rejections: tc.rej})
		st := status.Convert(err)
		if st.Code() != tc.code {
			t.Errorf("%v: code %v, want %v", tc.rej, st.Code(), tc.code)
		}
		var info *errdetails.ErrorInfo
		var pf *errdetails.PreconditionFailure
		for _, d := range st.Details() {
			switch d := d.(type) {
			case *errdetails.ErrorInfo:
				info = d
			case *errdetails.PreconditionFailure:
				pf = d
			}
		}
		if info == nil || info.Reason != "NO_VALID_HOST" || info.Metadata["cloud"] != "pool" || pf == nil || len(pf.Violations) != len(tc.rej) {
			t.Fatalf("details %v, %v: want NO_VALID_HOST naming the cloud and one violation per host", info, pf)
		}
		for i, x := range tc.rej {
			v := pf.Violations[i]
			if v.Subject != "host/"+x.Host || v.Type != x.Filter || v.Description != x.Reason || info.Metadata["host/"+x.Host] != x.Filter+": "+x.Reason {
				t.Errorf("host %s: violation %v, metadata %q", x.Host, v, info.Metadata["host/"+x.Host])
			}
		}
	}
	// Wrapped by an adapter's context, it is still found.
	err := router.CloudErr("pool", "create", errors.Join(errors.New("while creating"), &sched.Refusal{}))
	if status.Code(err) != codes.FailedPrecondition {
		t.Errorf("wrapped refusal: %v", err)
	}
}
