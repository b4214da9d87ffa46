package server

import (
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/providers"
)

// A virtual machine is SERVER_KIND_VM, in a create, a get and a list, and
// the kind filter keeps or drops it; an undefined kind is refused. The
// container side runs over Docker and containerd in cmd/canopyd
// (TestContainerServersView).
func TestServerKind(t *testing.T) {
	e := newEnv(t, oneCloud)
	ctx := ctxT(t)
	sv, err := e.compute.CreateServer(ctx, &canopyv1.CreateServerRequest{Name: "vm1", Flavor: "m1.small", Image: "debian-12", Wait: true})
	if err != nil {
		t.Fatal(err)
	}
	if sv.Kind != canopyv1.ServerKind_SERVER_KIND_VM {
		t.Errorf("created server kind %v, want SERVER_KIND_VM", sv.Kind)
	}
	if got, err := e.compute.GetServer(ctx, &canopyv1.GetServerRequest{Id: sv.Id}); err != nil || got.Kind != canopyv1.ServerKind_SERVER_KIND_VM {
		t.Errorf("GetServer kind %v, %v; want SERVER_KIND_VM", got.GetKind(), err)
	}
	for _, tc := range []struct {
		kind canopyv1.ServerKind
		want int
	}{
		{canopyv1.ServerKind_SERVER_KIND_UNSPECIFIED, 1},
		{canopyv1.ServerKind_SERVER_KIND_VM, 1},
		{canopyv1.ServerKind_SERVER_KIND_CONTAINER, 0},
	} {
		list, err := e.compute.ListServers(ctx, &canopyv1.ListServersRequest{Name: "vm1", Kind: tc.kind})
		if err != nil || len(list.Servers) != tc.want {
			t.Errorf("ListServers kind %v: %d servers, %v; want %d", tc.kind, len(list.GetServers()), err, tc.want)
		}
	}
	_, err = e.compute.ListServers(ctx, &canopyv1.ListServersRequest{Kind: 7})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "kind") {
		t.Errorf("ListServers kind 7: %v, want INVALID_ARGUMENT naming kind", err)
	}
}

func TestServerKindOfProperties(t *testing.T) {
	for props, want := range map[string]canopyv1.ServerKind{"": canopyv1.ServerKind_SERVER_KIND_VM, "container": canopyv1.ServerKind_SERVER_KIND_CONTAINER, "other": canopyv1.ServerKind_SERVER_KIND_VM} {
		s := providers.Server{Common: providers.Common{Properties: map[string]string{"kind": props}}}
		if got := serverKind(s); got != want {
			t.Errorf("properties.kind %q: %v, want %v", props, got, want)
		}
	}
}
