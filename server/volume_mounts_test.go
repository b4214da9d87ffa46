package server

import (
	"context"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/canopy-cloud/canopy/auth"
	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/providers/sim"
)

func TestCheckMountPath(t *testing.T) {
	for p, ok := range map[string]bool{"": true, "/data": true, "/a/b/": true, "data": false, "./data": false, "/": false, "//": false, "/a\x00b": false} {
		if err := checkMountPath(p); (err == nil) != ok {
			t.Errorf("checkMountPath(%q) = %v, want ok %v", p, err, ok)
		}
	}
}

// TestVolumeMountErrors: the request errors of volumes in containers,
// each naming the field (the sims here mount nothing: the real container
// clouds' paths are checked end to end, cmd/canopyd).
func TestVolumeMountErrors(t *testing.T) {
	e := newEnv(t, twoVolClouds)
	c := e.volumes()
	fx := makeVolFixture(t, e, c)
	cc, err := grpc.NewClient(e.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()), boundUnary(), boundStream(), grpc.WithPerRPCCredentials(bearer(e.token)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	ctrs := canopyv1.NewContainerServiceClient(cc)
	attach := func(path string) func(ctx context.Context) error {
		return func(ctx context.Context) error {
			_, err := c.vol.AttachVolume(ctx, &canopyv1.AttachVolumeRequest{Id: fx.free, Server: fx.srv, MountPath: path})
			return err
		}
	}
	occ, err := grpc.NewClient(e.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()), boundUnary(), boundStream(),
		grpc.WithPerRPCCredentials(bearer(mintToken(t, e.srv, "other", auth.ScopeRead, auth.ScopeWrite))))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { occ.Close() })
	otherCtrs := canopyv1.NewContainerServiceClient(occ)
	mountAs := func(ctrs canopyv1.ContainerServiceClient, cloud, source string) func(ctx context.Context) error {
		return func(ctx context.Context) error {
			_, err := ctrs.CreateContainer(ctx, &canopyv1.CreateContainerRequest{Name: "mounter", Location: &canopyv1.Location{Cloud: cloud}, Image: sim.DefaultContainerImage,
				Command: []string{"true"}, Mounts: []*canopyv1.ContainerMount{{Source: source, Target: "/data"}}})
			return err
		}
	}
	mount := func(cloud, source string) func(ctx context.Context) error { return mountAs(ctrs, cloud, source) }
	for _, tc := range []struct {
		name     string
		call     func(ctx context.Context) error
		code     codes.Code
		field    string
		mentions []string
	}{
		{"attach: relative mount path", attach("data"), codes.InvalidArgument, "mount_path", nil},
		{"attach: mount path /", attach("/"), codes.InvalidArgument, "mount_path", nil},
		{"attach: mount path on a cloud of devices", attach("/data"), codes.FailedPrecondition, "", []string{"mount_path", "east"}},
		{"mount: a volume of another cloud", mount("west", fx.free), codes.InvalidArgument, "mounts[0].source", []string{"east", "west"}},
		{"mount: no such volume", mount("east", missing), codes.InvalidArgument, "mounts[0].source", []string{missing}},
		{"mount: a snapshot's id", mount("east", fx.snap), codes.InvalidArgument, "mounts[0].source", nil},
		{"mount: another project's volume", mountAs(otherCtrs, "east", fx.free), codes.InvalidArgument, "mounts[0].source", []string{fx.free}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantErr(t, tc.call(ctxT(t)), tc.code, tc.field, tc.mentions...)
		})
	}
}
