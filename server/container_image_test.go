package server

import (
	"context"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/router"
)

// fakeImages answers GetImage from a map (a missing id is NOT_FOUND).
type fakeImages map[string]*canopyv1.Image

func (f fakeImages) GetImage(_ context.Context, req *canopyv1.GetImageRequest) (*canopyv1.Image, error) {
	if req.GetId() == "00000000-0000-0000-0000-00000000dead" {
		return nil, status.Error(codes.Unavailable, "store down")
	}
	if im, ok := f[req.GetId()]; ok {
		return im, nil
	}
	return nil, status.Errorf(codes.NotFound, "image %q not found", req.GetId())
}

func TestContainerImageRef(t *testing.T) {
	const (
		here     = "11111111-1111-1111-1111-111111111111"
		there    = "22222222-2222-2222-2222-222222222222"
		replica  = "33333333-3333-3333-3333-333333333333"
		elsewh   = "44444444-4444-4444-4444-444444444444"
		disk     = "55555555-5555-5555-5555-555555555555"
		unknown  = "66666666-6666-6666-6666-666666666666"
		storeErr = "00000000-0000-0000-0000-00000000dead"
	)
	loc := func(c string) *canopyv1.Location { return &canopyv1.Location{Cloud: c} }
	images := fakeImages{
		here:    {Id: here, Name: "app:abc", NativeId: "app:abc", ContainerFormat: "docker", Location: loc("dock")},
		there:   {Id: there, Name: "app:def", NativeId: "sim-img-1", ContainerFormat: "docker", Location: loc("local"), Placements: map[string]string{"local": there, "dock": replica}},
		replica: {Id: replica, Name: "app:def", NativeId: "app:def-on-dock", ContainerFormat: "docker", Location: loc("dock")},
		elsewh:  {Id: elsewh, Name: "app:ghi", NativeId: "sim-img-2", ContainerFormat: "oci", Location: loc("local")},
		disk:    {Id: disk, Name: "vm-qcow2", NativeId: "sim-img-3", DiskFormat: "qcow2", ContainerFormat: "bare", Location: loc("local")},
	}
	cl := &router.Cloud{Name: "dock"}
	for _, tc := range []struct {
		name, ref, want string
		code            codes.Code
	}{
		{"a reference stays", "busybox:latest", "busybox:latest", codes.OK},
		{"an id in the cloud: its native reference", here, "app:abc", codes.OK},
		{"an id placed in the cloud: the placement's reference", there, "app:def-on-dock", codes.OK},
		{"an id only elsewhere: its name, pulled through canopy", elsewh, "app:ghi", codes.OK},
		{"an unknown id stays (the runtime answers for it)", unknown, unknown, codes.OK},
		{"a VM disk image is refused", disk, "", codes.InvalidArgument},
		{"a store failure is not swallowed", storeErr, "", codes.Unavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := containerImageRef(context.Background(), images, cl, tc.ref)
			if status.Code(err) != tc.code {
				t.Fatalf("err %v, want code %v", err, tc.code)
			}
			if tc.code == codes.InvalidArgument {
				if f := badField(err); f != "image" {
					t.Fatalf("the refusal names field %q, not image: %v", f, err)
				}
				if msg := status.Convert(err).Message(); !strings.Contains(msg, "container image") {
					t.Fatalf("the refusal does not say why: %q", msg)
				}
			}
			if got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// badField is the field a BadRequest detail of err names.
func badField(err error) string {
	for _, d := range status.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok && len(br.GetFieldViolations()) > 0 {
			return br.GetFieldViolations()[0].GetField()
		}
	}
	return ""
}
