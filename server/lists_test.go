package server

import (
	"fmt"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/router"
)

func TestListPagingAcrossClouds(t *testing.T) {
	e := newEnv(t, twoClouds)
	ctx := ctxT(t)
	for i := 0; i < 7; i++ {
		cl := []string{"east", "west"}[i%2]
		if _, err := e.compute.CreateServer(ctx, &canopyv1.CreateServerRequest{Name: fmt.Sprintf("s%d", i), Flavor: "m1.tiny", Image: "cirros-0.6.2",
			Location: &canopyv1.Location{Cloud: cl}, Labels: map[string]string{"even": fmt.Sprint(i%2 == 0)}}); err != nil {
			t.Fatal(err)
		}
	}
	var got []*canopyv1.Server
	token := ""
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		resp, err := e.compute.ListServers(ctx, &canopyv1.ListServersRequest{PageSize: 3, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Servers) > 3 {
			t.Fatalf("page of %d > page_size 3", len(resp.Servers))
		}
		got = append(got, resp.Servers...)
		if token = resp.NextPageToken; token == "" {
			break
		}
	}
	if len(got) != 7 {
		t.Fatalf("paged through %d servers, want 7", len(got))
	}
	seen := map[string]bool{}
	for i, sv := range got {
		if seen[sv.Id] {
			t.Errorf("%s listed twice", sv.Id)
		}
		seen[sv.Id] = true
		if i > 0 && serverKey(got[i-1]) > serverKey(sv) {
			t.Errorf("not ordered by cloud, name: %s after %s", sv.Name, got[i-1].Name)
		}
	}
	for _, tc := range []struct {
		req   *canopyv1.ListServersRequest
		names int
	}{
		{&canopyv1.ListServersRequest{Location: &canopyv1.Location{Cloud: "west"}}, 3},
		{&canopyv1.ListServersRequest{Location: &canopyv1.Location{Zone: "e1"}}, 4},
		{&canopyv1.ListServersRequest{Location: &canopyv1.Location{Region: "west-1"}}, 3},
		{&canopyv1.ListServersRequest{Name: "s3"}, 1},
		{&canopyv1.ListServersRequest{Labels: map[string]string{"even": "true"}}, 4},
		{&canopyv1.ListServersRequest{Status: canopyv1.Status_STATUS_ERROR}, 0},
	} {
		resp, err := e.compute.ListServers(ctx, tc.req)
		if err != nil || len(resp.Servers) != tc.names {
			t.Errorf("ListServers(%v) = %d servers, %v; want %d", tc.req, len(resp.GetServers()), err, tc.names)
		}
	}
}

func TestListErrors(t *testing.T) {
	e := newEnv(t, twoClouds)
	ctx := ctxT(t)
	first, err := e.compute.ListFlavors(ctx, &canopyv1.ListFlavorsRequest{PageSize: 2})
	if err != nil || first.NextPageToken == "" {
		t.Fatalf("first page: %v %v", first, err)
	}
	for _, tc := range []struct {
		req   *canopyv1.ListFlavorsRequest
		field string
	}{
		{&canopyv1.ListFlavorsRequest{PageSize: -1}, "page_size"},
		{&canopyv1.ListFlavorsRequest{PageSize: 1001}, "page_size"},
		{&canopyv1.ListFlavorsRequest{PageToken: "!!not-a-token"}, "page_token"},
		{&canopyv1.ListFlavorsRequest{PageToken: first.NextPageToken, Name: "m1.tiny"}, "page_token"},
		{&canopyv1.ListFlavorsRequest{Location: &canopyv1.Location{Cloud: "mars"}}, "location.cloud"},
		{&canopyv1.ListFlavorsRequest{Location: &canopyv1.Location{Zone: "nowhere"}}, "location.zone"},
		{&canopyv1.ListFlavorsRequest{Labels: map[string]string{"": "x"}}, "labels[]"},
	} {
		_, err := e.compute.ListFlavors(ctx, tc.req)
		wantErr(t, err, codes.InvalidArgument, tc.field)
	}
	for name, call := range map[string]func() error{
		"servers": func() error {
			_, err := e.compute.ListServers(ctx, &canopyv1.ListServersRequest{PageSize: -5})
			return err
		},
		"images": func() error {
			_, err := e.compute.ListImages(ctx, &canopyv1.ListImagesRequest{PageSize: 5000})
			return err
		},
		"keypairs": func() error {
			_, err := e.compute.ListKeypairs(ctx, &canopyv1.ListKeypairsRequest{PageSize: -1})
			return err
		},
		"clouds": func() error {
			_, err := e.clouds.ListClouds(ctx, &canopyv1.ListCloudsRequest{PageSize: -1})
			return err
		},
	} {
		t.Run(name, func(t *testing.T) { wantErr(t, call(), codes.InvalidArgument, "page_size") })
	}
}

func TestFindFlavor(t *testing.T) {
	// east caches nothing, so taking it down shows at once.
	e := newEnv(t, strings.Replace(twoClouds, "    regions: [east-1]\n", "    regions: [east-1]\n    cache: {flavors: 0s}\n", 1))
	ctx := ctxT(t)
	for _, tc := range []struct {
		req      *canopyv1.FindFlavorRequest
		name, cl string
	}{
		{&canopyv1.FindFlavorRequest{}, "m1.tiny", "east"},
		{&canopyv1.FindFlavorRequest{MinRamMib: 4096}, "m1.medium", "east"},
		{&canopyv1.FindFlavorRequest{MinVcpus: 3}, "m1.large", "east"},
		{&canopyv1.FindFlavorRequest{MinGpus: 1}, "g1.large", "east"},
		{&canopyv1.FindFlavorRequest{MinRamMib: 4096, Location: &canopyv1.Location{Cloud: "west"}}, "m1.medium", "west"},
		{&canopyv1.FindFlavorRequest{MinDiskGib: 100}, "m1.xlarge", "east"},
	} {
		f, err := e.compute.FindFlavor(ctx, tc.req)
		if err != nil || f.Name != tc.name || f.Location.GetCloud() != tc.cl {
			t.Errorf("FindFlavor(%v) = %s@%s, %v; want %s@%s", tc.req, f.GetName(), f.GetLocation().GetCloud(), err, tc.name, tc.cl)
		}
	}
	_, err := e.compute.FindFlavor(ctx, &canopyv1.FindFlavorRequest{MinRamMib: 1 << 30})
	wantErr(t, err, codes.NotFound, "", "no flavor has", "ram_mib>=1073741824")
	_, err = e.compute.FindFlavor(ctx, &canopyv1.FindFlavorRequest{MinVcpus: -1})
	wantErr(t, err, codes.InvalidArgument, "min_vcpus")
	e.sim("east").SetDown(true)
	f, err := e.compute.FindFlavor(ctx, &canopyv1.FindFlavorRequest{MinRamMib: 4096})
	if err != nil || f.Location.GetCloud() != "west" {
		t.Errorf("with east down: %v, %v; want west's flavor", f, err)
	}
}

func TestFlavorsAndImages(t *testing.T) {
	e := newEnv(t, twoClouds)
	ctx := ctxT(t)
	flavors, err := e.compute.ListFlavors(ctx, &canopyv1.ListFlavorsRequest{})
	if err != nil || len(flavors.Flavors) != 12 {
		t.Fatalf("flavors: %d, %v", len(flavors.GetFlavors()), err)
	}
	f := flavors.Flavors[0]
	got, err := e.compute.GetFlavor(ctx, &canopyv1.GetFlavorRequest{Id: f.Id})
	if err != nil || got.NativeId != f.NativeId || got.Location.GetCloud() != f.Location.GetCloud() {
		t.Errorf("GetFlavor(%s) = %v, %v", f.Id, got, err)
	}
	_, err = e.compute.GetFlavor(ctx, &canopyv1.GetFlavorRequest{Id: "m1.tiny"}) // in both clouds
	wantErr(t, err, codes.InvalidArgument, "id", "2 flavors")
	images, err := e.compute.ListImages(ctx, &canopyv1.ListImagesRequest{Location: &canopyv1.Location{Cloud: "west"}})
	if err != nil || len(images.Images) != 3 {
		t.Fatalf("images: %v, %v", images, err)
	}
	im, err := e.compute.GetImage(ctx, &canopyv1.GetImageRequest{Id: images.Images[0].Id})
	if err != nil || im.Name != images.Images[0].Name || im.DiskFormat == "" {
		t.Errorf("GetImage = %v, %v", im, err)
	}
	_, err = e.compute.GetImage(ctx, &canopyv1.GetImageRequest{Id: "00000000-0000-4000-8000-000000000001"})
	wantErr(t, err, codes.NotFound, "")
}

func TestCapabilityAndClouds(t *testing.T) {
	e := newEnv(t, `
clouds:
  - name: plain
    kind: test-nocompute
  - name: local
    kind: sim
`)
	ctx := ctxT(t)
	_, err := e.compute.CreateServer(ctx, &canopyv1.CreateServerRequest{Name: "x", Flavor: "f", Image: "i", Location: &canopyv1.Location{Cloud: "plain"}})
	wantErr(t, err, codes.FailedPrecondition, "", `cloud "plain"`, "compute")
	list, err := e.compute.ListServers(ctx, &canopyv1.ListServersRequest{})
	if err != nil || len(list.CloudErrors) != 1 || list.CloudErrors[0].Cloud != "plain" || codes.Code(list.CloudErrors[0].Code) != codes.FailedPrecondition {
		t.Errorf("list over a cloud without compute: %v, %v", list, err)
	}
	clouds, err := e.clouds.ListClouds(ctx, &canopyv1.ListCloudsRequest{})
	if err != nil || len(clouds.Clouds) != 2 || clouds.Clouds[0].Name != "local" || clouds.Clouds[1].Name != "plain" {
		t.Fatalf("clouds = %v, %v", clouds, err)
	}
	if c := clouds.Clouds[1]; len(c.Capabilities) != 0 || c.Kind != "test-nocompute" || c.Health != canopyv1.Cloud_HEALTH_OK || len(c.Zones) != 1 {
		t.Errorf("plain = %v", c)
	}
	if c := clouds.Clouds[0]; len(c.Capabilities) == 0 || len(c.Zones) != 2 {
		t.Errorf("local = %v", c)
	}
	_, err = e.clouds.GetCloud(ctx, &canopyv1.GetCloudRequest{Name: "nope"})
	wantErr(t, err, codes.NotFound, "", "nope")
	_, err = e.clouds.GetCloud(ctx, &canopyv1.GetCloudRequest{})
	wantErr(t, err, codes.InvalidArgument, "name")
}

func TestBrokenAdapterFailsStartup(t *testing.T) {
	cfg := testConfig(t, "clouds: [{name: x, kind: test-broken}]")
	if _, err := New(ctxT(t), cfg, mustBolt(t, t.TempDir()), nil); err == nil {
		t.Fatal("a cloud whose adapter cannot open must fail startup with its name")
	}
	cfg = testConfig(t, "clouds: [{name: x, kind: no-such-kind}]")
	if _, err := New(ctxT(t), cfg, mustBolt(t, t.TempDir()), nil); err == nil {
		t.Fatal("an unknown kind must fail startup")
	}
}

func TestCloudsSplitByRegion(t *testing.T) {
	// test-regional splits like the openstack adapter does: one canopy
	// cloud per region.
	e := newEnv(t, `
clouds:
  - name: multi
    kind: test-regional
    regions: [one, two]
zones:
  z-two: multi-two
`)
	ctx := ctxT(t)
	clouds, err := e.clouds.ListClouds(ctx, &canopyv1.ListCloudsRequest{})
	if err != nil || len(clouds.Clouds) != 2 || clouds.Clouds[0].Name != "multi-one" || clouds.Clouds[1].Name != "multi-two" {
		t.Fatalf("clouds = %v, %v", clouds, err)
	}
	if got := clouds.Clouds[1]; len(got.Regions) != 1 || got.Regions[0] != "two" || !router.Contains(got.Zones, "z-two") {
		t.Errorf("multi-two = %v", got)
	}
	cfg := testConfig(t, "clouds: [{name: multi, kind: test-regional, regions: [one, two]}]\nzones: {z: multi-three}")
	if _, err := New(ctxT(t), cfg, mustBolt(t, t.TempDir()), nil); err == nil || !strings.Contains(err.Error(), "multi-three") {
		t.Errorf("a zone mapped to a cloud that does not exist after splitting: %v", err)
	}
}

func TestAmbiguousZoneRoutesNowhere(t *testing.T) {
	// Both sims report zones sim-1a and sim-1b.
	e := newEnv(t, "clouds: [{name: a, kind: sim}, {name: b, kind: sim}]\nzones: {sim-1b: b}")
	ctx := ctxT(t)
	_, err := e.compute.CreateServer(ctx, &canopyv1.CreateServerRequest{Name: "x", Flavor: "m1.tiny", Image: "cirros-0.6.2", Location: &canopyv1.Location{Zone: "sim-1a"}})
	wantErr(t, err, codes.InvalidArgument, "location.zone", "sim-1a", "offered by clouds")
	sv, err := e.compute.CreateServer(ctx, &canopyv1.CreateServerRequest{Name: "y", Flavor: "m1.tiny", Image: "cirros-0.6.2", Location: &canopyv1.Location{Zone: "sim-1b"}})
	if err != nil || sv.Location.GetCloud() != "b" {
		t.Errorf("mapped zone: %v, %v", sv, err)
	}
}
