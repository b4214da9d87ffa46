package server

import (
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/providers/sim"
)

// Placement wishes are checked before an operation begins: a runtime that
// is no name is INVALID_ARGUMENT, and host labels on a cloud that places
// nothing (the simulator's one host) are FAILED_PRECONDITION, not ignored.
// The scheduler itself runs over two dockerds in cmd/canopyd
// (TestContainerScheduler).
func TestContainerPlacementWishes(t *testing.T) {
	e := newCtrEnv(t)
	ctx := ctxT(t)
	for _, tc := range []struct {
		req   *canopyv1.CreateContainerRequest
		code  codes.Code
		field string
	}{
		{&canopyv1.CreateContainerRequest{Name: "r1", Image: sim.DefaultContainerImage, Runtime: "run c"}, codes.InvalidArgument, "runtime"},
		{&canopyv1.CreateContainerRequest{Name: "r2", Image: sim.DefaultContainerImage, HostLabels: map[string]string{"": "x"}}, codes.InvalidArgument, "host_labels"},
		{&canopyv1.CreateContainerRequest{Name: "r3", Image: sim.DefaultContainerImage, HostLabels: map[string]string{"disk": "ssd"}}, codes.FailedPrecondition, "host_labels"},
	} {
		_, err := e.c.CreateContainer(ctx, tc.req)
		if status.Code(err) != tc.code || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%s: %v, want %v naming %s", tc.req.Name, err, tc.code, tc.field)
		}
	}
}
