//go:build containers && openstack

package main

// The servers view across kinds of cloud (issue 14): one canopyd over the
// OpenStack lab, a Docker host and a sim cloud; a server created on each
// with the same CreateServer, and one cross-cloud ListServers that shows
// the three side by side, the lab's and the sim's as VMs, Docker's as a
// container. scripts/test-servers-view.sh starts dockerd and sets the
// environment.

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/internal/canopydtest"
)

func TestServersViewOpenStack(t *testing.T) {
	path, docker := os.Getenv("CANOPY_OS_CLOUDS_YAML"), os.Getenv("CANOPY_DOCKER_HOST")
	if path == "" || docker == "" {
		t.Fatal("CANOPY_OS_CLOUDS_YAML and CANOPY_DOCKER_HOST must be set: run scripts/test-servers-view.sh")
	}
	cfg := canopydtest.WriteConfig(t, fmt.Sprintf(`
clouds:
  - name: vm
    kind: sim
  - name: lab
    kind: openstack
    options: {clouds_yaml: %q, cloud: %q}
  - name: dock
    kind: docker
    options: {hosts: [%q], region: dock, zone: dock-1}
    flavors: [{name: ct.small, vcpus: 1, ram_mib: 256}]
wait:
  min_interval: 200ms
  max_interval: 1s
`, path, envOr("CANOPY_OS_CLOUD", "canopy-test"), docker))
	d := canopydtest.Start(t, t.TempDir(), "--config", cfg)
	t.Cleanup(func() { d.Stop() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	prefix := fmt.Sprintf("sview%d", time.Now().UnixNano()%1e6)
	reqs := map[string]*canopyv1.CreateServerRequest{
		"vm": {Flavor: "m1.tiny", Image: "cirros-0.6.2"},
		"lab": {Flavor: envOr("CANOPY_OS_FLAVOR", "canopy.tiny"), Image: envOr("CANOPY_OS_IMAGE", "canopy-test-image"),
			Networks: []string{envOr("CANOPY_OS_NETWORK", "canopy-net")}},
		// The busybox image has no command: user data is the program.
		"dock": {Flavor: "ct.small", Image: e2eImage, UserData: []byte("trap 'exit 0' TERM; sleep 3600 & wait")},
	}
	want := map[string]canopyv1.ServerKind{"vm": canopyv1.ServerKind_SERVER_KIND_VM, "lab": canopyv1.ServerKind_SERVER_KIND_VM, "dock": canopyv1.ServerKind_SERVER_KIND_CONTAINER}
	mine := map[string]string{} // canopy id → cloud
	for cloud, req := range reqs {
		req.Name, req.Location, req.Wait, req.RequestId = prefix+"-"+cloud, &canopyv1.Location{Cloud: cloud}, true, prefix+"-"+cloud
		sv, err := d.Compute.CreateServer(ctx, req)
		if err != nil {
			t.Fatalf("CreateServer on %s: %v", cloud, err)
		}
		mine[sv.Id] = cloud
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			if _, err := d.Compute.DeleteServer(ctx, &canopyv1.DeleteServerRequest{Id: sv.Id, AllowMissing: true, Wait: true}); err != nil {
				t.Errorf("delete %s on %s: %v", sv.Id, cloud, err)
			}
		})
		if sv.Status != canopyv1.Status_STATUS_ACTIVE {
			t.Fatalf("server on %s: %s, want ACTIVE", cloud, sv.Status)
		}
	}
	list, err := d.Compute.ListServers(ctx, &canopyv1.ListServersRequest{PageSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Unreachable) > 0 {
		t.Fatalf("clouds unreachable: %v", list.Unreachable)
	}
	seen := map[string]bool{}
	for _, sv := range list.Servers {
		cloud, ok := mine[sv.Id]
		if !ok {
			continue
		}
		seen[cloud] = true
		if sv.Location.GetCloud() != cloud || sv.Kind != want[cloud] || sv.Status != canopyv1.Status_STATUS_ACTIVE {
			t.Errorf("listed %s: cloud %q kind %v status %v, want %s %v ACTIVE", sv.Name, sv.Location.GetCloud(), sv.Kind, sv.Status, cloud, want[cloud])
		}
		if sv.FlavorId == "" || sv.ImageId == "" {
			t.Errorf("listed %s on %s: flavor %q image %q, want both mapped", sv.Name, cloud, sv.FlavorId, sv.ImageId)
		}
	}
	if len(seen) != 3 {
		t.Fatalf("one cross-cloud list shows the servers of %v, want vm, lab and dock", seen)
	}
	// The kind filter splits the same list.
	containers, err := d.Compute.ListServers(ctx, &canopyv1.ListServersRequest{PageSize: 1000, Kind: canopyv1.ServerKind_SERVER_KIND_CONTAINER})
	if err != nil {
		t.Fatal(err)
	}
	for _, sv := range containers.Servers {
		if c, ok := mine[sv.Id]; ok && c != "dock" {
			t.Errorf("kind=container lists %s on %s", sv.Name, c)
		}
	}
	t.Logf("one ListServers: %d servers; canopy's three on vm (VM), lab (VM) and dock (CONTAINER)", len(list.Servers))
}
