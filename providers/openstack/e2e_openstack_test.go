//go:build openstack

package openstack_test

// End to end: a canopyd process fronting the real OpenStack lab and a sim
// cloud in one config, driven over gRPC, cross-checked with gophercloud
// talking to Nova directly.

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	gcopenstack "github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/flavors"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/config"
	"github.com/gophercloud/gophercloud/v2/openstack/config/clouds"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/internal/canopydtest"
)

// ---- gophercloud straight to the lab, for cross-checks ----
type direct struct {
	compute *gophercloud.ServiceClient
	image   *gophercloud.ServiceClient
	network *gophercloud.ServiceClient
	volume  *gophercloud.ServiceClient
}

func dial(t *testing.T, ctx context.Context, path, cloud string) *direct {
	t.Helper()
	ao, eo, tlsConfig, err := clouds.Parse(clouds.WithLocations(path), clouds.WithCloudName(cloud))
	if err != nil {
		t.Fatalf("clouds.Parse: %v", err)
	}
	pc, err := config.NewProviderClient(ctx, ao, config.WithTLSConfig(tlsConfig))
	if err != nil {
		t.Fatalf("authenticate: %v", err)
	}
	d := &direct{}
	if d.compute, err = gcopenstack.NewComputeV2(pc, eo); err != nil {
		t.Fatal(err)
	}
	if d.image, err = gcopenstack.NewImageV2(pc, eo); err != nil {
		t.Fatal(err)
	}
	if d.network, err = gcopenstack.NewNetworkV2(pc, eo); err != nil {
		t.Fatal(err)
	}
	if d.volume, err = gcopenstack.NewBlockStorageV3(pc, eo); err != nil {
		t.Fatal(err)
	}
	return d
}

func (d *direct) serverGone(ctx context.Context, id string) (bool, error) {
	_, err := servers.Get(ctx, d.compute, id).Extract()
	if gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		return true, nil
	}
	return false, err
}

// lookup returns the id of the flavor, image and network named.
func (d *direct) lookup(t *testing.T, ctx context.Context, flavor, image, network string) (fid, iid, nid string) {
	t.Helper()
	fp, err := flavors.ListDetail(d.compute, nil).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fl, _ := flavors.ExtractFlavors(fp)
	for _, f := range fl {
		if f.Name == flavor {
			fid = f.ID
		}
	}
	ip, err := images.List(d.image, images.ListOpts{Name: image}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ims, _ := images.ExtractImages(ip); len(ims) > 0 {
		iid = ims[0].ID
	}
	np, err := networks.List(d.network, networks.ListOpts{Name: network}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ns, _ := networks.ExtractNetworks(np); len(ns) > 0 {
		nid = ns[0].ID
	}
	if fid == "" || iid == "" || nid == "" {
		t.Fatalf("lab objects: flavor %q=%q image %q=%q network %q=%q", flavor, fid, image, iid, network, nid)
	}
	return fid, iid, nid
}

func findServer(list []*canopyv1.Server, pred func(*canopyv1.Server) bool) *canopyv1.Server {
	for _, s := range list {
		if pred(s) {
			return s
		}
	}
	return nil
}

func TestEndToEndCanopydOverOpenStackAndSim(t *testing.T) {
	path, cloud := labCloud(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	nova := dial(t, ctx, path, cloud)
	flavorName := envOr("CANOPY_OS_FLAVOR", "canopy.tiny")
	flavorID, imageID, netID := nova.lookup(t, ctx, flavorName, labImage(), labNetwork())

	dataDir := t.TempDir()
	cfgPath := filepath.Join(t.TempDir(), "canopy.yaml")
	cfg := fmt.Sprintf(`
clouds:
  - name: os
    kind: openstack
    options: {clouds_yaml: %q, cloud: %q}
  - name: local
    kind: sim
    zones: [local-1a]
    options: {boot_delay: 200ms, action_delay: 100ms, delete_delay: 100ms, persist: true}
wait:
  min_interval: 250ms
  max_interval: 2s
`, path, cloud)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	d := canopydtest.Start(t, dataDir, "--config", cfgPath)

	// The OpenStack cloud is healthy, with its region and Nova's zones.
	oc, err := d.Clouds.GetCloud(ctx, &canopyv1.GetCloudRequest{Name: "os"})
	if err != nil {
		t.Fatalf("GetCloud(os): %v\n%s", err, d.Logs())
	}
	if oc.Kind != "openstack" || oc.Health != canopyv1.Cloud_HEALTH_OK || len(oc.Regions) == 0 || len(oc.Zones) == 0 {
		t.Errorf("cloud os = %v", oc)
	}

	run := fmt.Sprintf("e2e-%d", time.Now().UnixNano()%1e9)
	var outsideID string
	t.Cleanup(func() {
		// Whatever a failure left behind in Nova.
		cctx, ccancel := context.WithTimeout(context.Background(), time.Minute)
		defer ccancel()
		pages, err := servers.List(nova.compute, servers.ListOpts{Name: "^" + run}).AllPages(cctx)
		if err != nil {
			return
		}
		left, _ := servers.ExtractServers(pages)
		for _, s := range left {
			_ = servers.Delete(cctx, nova.compute, s.ID).ExtractErr()
		}
	})

	// 1. Create on OpenStack through canopy, waiting for ACTIVE.
	labels := map[string]string{"suite": "canopy-e2e", "run": run}
	created, err := d.Compute.CreateServer(ctx, &canopyv1.CreateServerRequest{
		Name: run + "-canopy", Location: &canopyv1.Location{Cloud: "os"}, Flavor: flavorName, Image: labImage(),
		Networks: []string{labNetwork()}, Labels: labels, Wait: true,
	})
	if err != nil {
		t.Fatalf("CreateServer on os: %v\n%s", err, d.Logs())
	}
	if created.Status != canopyv1.Status_STATUS_ACTIVE || created.Labels["run"] != run || created.Labels["suite"] != "canopy-e2e" ||
		created.Location.GetCloud() != "os" || created.NativeId == "" || created.ProviderStatus == "" {
		t.Fatalf("created = %v", created)
	}
	if len(created.Addresses) == 0 {
		t.Errorf("created server has no addresses: %v", created)
	}
	// A sim server too, so the list spans both clouds.
	simSrv, err := d.Compute.CreateServer(ctx, &canopyv1.CreateServerRequest{
		Name: run + "-sim", Location: &canopyv1.Location{Cloud: "local"}, Flavor: "m1.tiny", Image: "cirros-0.6.2", Wait: true,
	})
	if err != nil {
		t.Fatalf("CreateServer on local: %v", err)
	}

	// 2. Nova has it, with the name and metadata canopy gave it.
	ns, err := servers.Get(ctx, nova.compute, created.NativeId).Extract()
	if err != nil {
		t.Fatalf("Nova does not have %s: %v", created.NativeId, err)
	}
	if ns.Name != run+"-canopy" || ns.Metadata["run"] != run || ns.Metadata["suite"] != "canopy-e2e" || ns.Status != "ACTIVE" {
		t.Errorf("in Nova: name %q metadata %v status %s", ns.Name, ns.Metadata, ns.Status)
	}
	if ns.Image["id"] != imageID {
		t.Errorf("in Nova: image %v, want %s", ns.Image, imageID)
	}
	if _, onNet := ns.Addresses[labNetwork()]; !onNet {
		t.Errorf("in Nova: addresses %v, want one on %s", ns.Addresses, labNetwork())
	}

	// 3. A server made outside canopy, straight in Nova.
	outside, err := servers.Create(ctx, nova.compute, servers.CreateOpts{
		Name: run + "-outside", FlavorRef: flavorID, ImageRef: imageID, Networks: []servers.Network{{UUID: netID}},
		Metadata: map[string]string{"made-by": "gophercloud"},
	}, nil).Extract()
	if err != nil {
		t.Fatalf("create outside canopy: %v", err)
	}
	outsideID = outside.ID

	// 4. One list, both clouds, all three servers; the outside one adopted
	// with a stable id.
	list := func() *canopyv1.ListServersResponse {
		t.Helper()
		resp, err := d.Compute.ListServers(ctx, &canopyv1.ListServersRequest{PageSize: 500})
		if err != nil {
			t.Fatalf("ListServers: %v", err)
		}
		if len(resp.CloudErrors) > 0 {
			t.Errorf("ListServers: cloud errors %v", resp.CloudErrors)
		}
		return resp
	}
	resp := list()
	byID := func(id string) func(*canopyv1.Server) bool {
		return func(s *canopyv1.Server) bool { return s.Id == id }
	}
	byNative := func(n string) func(*canopyv1.Server) bool {
		return func(s *canopyv1.Server) bool { return s.NativeId == n && s.Location.GetCloud() == "os" }
	}
	if findServer(resp.Servers, byID(created.Id)) == nil || findServer(resp.Servers, byID(simSrv.Id)) == nil {
		t.Fatalf("list does not show both clouds' servers (%s on os, %s on local): %v", created.Id, simSrv.Id, resp.Servers)
	}
	// canopy caches server lists briefly (2s by default): a server made
	// behind its back shows up once that expires.
	adopted := findServer(resp.Servers, byNative(outsideID))
	for deadline := time.Now().Add(30 * time.Second); adopted == nil && time.Now().Before(deadline); {
		time.Sleep(500 * time.Millisecond)
		adopted = findServer(list().Servers, byNative(outsideID))
	}
	if adopted == nil || adopted.Id == "" || adopted.Name != run+"-outside" || adopted.Labels["made-by"] != "gophercloud" {
		t.Fatalf("outside server %s not adopted: %v", outsideID, adopted)
	}
	again := findServer(list().Servers, byNative(outsideID))
	if again == nil || again.Id != adopted.Id {
		t.Fatalf("second list: adopted id %v, want %s", again, adopted.Id)
	}
	if got, err := d.Compute.GetServer(ctx, &canopyv1.GetServerRequest{Id: adopted.Id}); err != nil || got.NativeId != outsideID {
		t.Fatalf("GetServer(adopted %s) = %v, %v", adopted.Id, got, err)
	}

	// 5. Restart canopyd: the same ids.
	d.Stop()
	d = canopydtest.Start(t, dataDir, "--config", cfgPath)
	resp = list()
	if after := findServer(resp.Servers, byNative(outsideID)); after == nil || after.Id != adopted.Id {
		t.Fatalf("after restart: adopted server %v, want id %s", after, adopted.Id)
	}
	if after := findServer(resp.Servers, byID(created.Id)); after == nil || after.NativeId != created.NativeId {
		t.Fatalf("after restart: created server %v, want native %s", after, created.NativeId)
	}

	// 6. Stop and start through canopy on OpenStack.
	if sv, err := d.Compute.StopServer(ctx, &canopyv1.StopServerRequest{Id: created.Id, Wait: true}); err != nil || sv.Status != canopyv1.Status_STATUS_STOPPED {
		t.Fatalf("StopServer = %v, %v", sv, err)
	}
	if _, err := d.Compute.StopServer(ctx, &canopyv1.StopServerRequest{Id: created.Id}); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("stop a stopped server: %v, want FAILED_PRECONDITION", err)
	}
	if sv, err := d.Compute.StartServer(ctx, &canopyv1.StartServerRequest{Id: created.Id, Wait: true}); err != nil || sv.Status != canopyv1.Status_STATUS_ACTIVE {
		t.Fatalf("StartServer = %v, %v", sv, err)
	}

	// 7. Delete both OpenStack servers through canopy, waiting; Nova agrees
	// they are gone.
	for _, id := range []string{created.Id, adopted.Id, simSrv.Id} {
		sv, err := d.Compute.DeleteServer(ctx, &canopyv1.DeleteServerRequest{Id: id, Wait: true})
		if err != nil || sv.Status != canopyv1.Status_STATUS_DELETED {
			t.Fatalf("DeleteServer(%s) = %v, %v", id, sv, err)
		}
	}
	for _, n := range []string{created.NativeId, outsideID} {
		gone, err := nova.serverGone(ctx, n)
		if err != nil || !gone {
			ns, _ := servers.Get(ctx, nova.compute, n).Extract()
			t.Errorf("Nova still has %s after canopy's delete with wait (err %v): %+v", n, err, ns)
		}
	}
	if _, err := d.Compute.GetServer(ctx, &canopyv1.GetServerRequest{Id: created.Id}); status.Code(err) != codes.NotFound {
		t.Errorf("GetServer after delete: %v, want NOT_FOUND", err)
	}
	resp = list()
	if findServer(resp.Servers, byNative(outsideID)) != nil || findServer(resp.Servers, byID(created.Id)) != nil {
		t.Errorf("deleted servers still listed")
	}
	d.Stop()
}
