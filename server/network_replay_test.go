package server

import (
	"testing"

	"google.golang.org/grpc/codes"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
)

// TestGlobalCreateReplay: a global create sent again with its request id
// after its definition was recorded (a client retrying after a crash or a
// lost answer) answers with the same operation, not with ALREADY_EXISTS
// for the name its first attempt took; another request with that name is
// still refused.
func TestGlobalCreateReplay(t *testing.T) {
	e := newNetEnv(t, twoNetClouds)
	ctx := ctxT(t)
	for _, kind := range []string{"network", "group"} {
		create := func(name, req string) (*canopyv1.Operation, error) {
			if kind == "network" {
				return e.n.CreateNetwork(ctx, &canopyv1.CreateNetworkRequest{Name: name, Scope: canopyv1.Scope_SCOPE_GLOBAL, Cidr: "10.70.0.0/16", RequestId: req, Wait: true})
			}
			return e.n.CreateSecurityGroup(ctx, &canopyv1.CreateSecurityGroupRequest{Name: name, Scope: canopyv1.Scope_SCOPE_GLOBAL, RequestId: req, Wait: true})
		}
		first, err := create("g-"+kind, "req-"+kind)
		if err != nil || !first.Done || first.GetError() != nil {
			t.Fatalf("%s: first create = %v, %v", kind, first, err)
		}
		again, err := create("g-"+kind, "req-"+kind)
		if err != nil || again.Id != first.Id || again.Metadata.TargetId != first.Metadata.TargetId {
			t.Errorf("%s: the same request again = %v, %v; want operation %s", kind, again, err, first.Id)
		}
		_, err = create("g-"+kind, "other-"+kind)
		wantErr(t, err, codes.AlreadyExists, "", "g-"+kind)
		_, err = create("h-"+kind, "req-"+kind)
		wantErr(t, err, codes.InvalidArgument, "request_id")
	}
}
