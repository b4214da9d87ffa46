//go:build openstack

package main

// The crash-safety lineages on the real OpenStack lab (test/openstack):
// the story of crash_test.go against Nova and Cinder, with canopyd killed
// at every failpoint it passes — the job steps, the RPC handlers, and the
// adapter's own points just after Nova or Cinder accepted a create and
// before canopy recorded the answer — and what the lab holds counted with
// gophercloud, not through canopy.

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	gcopenstack "github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/snapshots"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/config"
	"github.com/gophercloud/gophercloud/v2/openstack/config/clouds"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/internal/canopydtest"
)

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// lab is gophercloud talking to the lab directly.
type lab struct {
	compute, volume, network *gophercloud.ServiceClient
}

func dialLab(t *testing.T, path, cloud string) *lab {
	t.Helper()
	ctx := context.Background()
	ao, eo, tlsConfig, err := clouds.Parse(clouds.WithLocations(path), clouds.WithCloudName(cloud))
	if err != nil {
		t.Fatalf("clouds.Parse: %v", err)
	}
	pc, err := config.NewProviderClient(ctx, ao, config.WithTLSConfig(tlsConfig))
	if err != nil {
		t.Fatalf("authenticate: %v", err)
	}
	l := &lab{}
	if l.compute, err = gcopenstack.NewComputeV2(pc, eo); err != nil {
		t.Fatal(err)
	}
	if l.volume, err = gcopenstack.NewBlockStorageV3(pc, eo); err != nil {
		t.Fatal(err)
	}
	if l.network, err = gcopenstack.NewNetworkV2(pc, eo); err != nil {
		t.Fatal(err)
	}
	return l
}

// holds lists what the lab holds under a name prefix: servers not deleted
// nor being deleted, volumes and snapshots not being deleted.
func (l *lab) holds(t *testing.T, prefix string) cloudHolds {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var h cloudHolds
	sp, err := servers.List(l.compute, servers.ListOpts{Name: "^" + prefix}).AllPages(ctx)
	if err != nil {
		t.Fatalf("nova: list servers: %v", err)
	}
	ss, _ := servers.ExtractServers(sp)
	for _, s := range ss {
		if strings.HasPrefix(s.Name, prefix) && !strings.EqualFold(s.Status, "DELETED") && s.TaskState != "deleting" {
			h.servers = append(h.servers, s.ID)
		}
	}
	vp, err := volumes.List(l.volume, volumes.ListOpts{}).AllPages(ctx)
	if err != nil {
		t.Fatalf("cinder: list volumes: %v", err)
	}
	vs, _ := volumes.ExtractVolumes(vp)
	for _, v := range vs {
		if strings.HasPrefix(v.Name, prefix) && v.Status != "deleting" && v.Status != "deleted" {
			h.volumes = append(h.volumes, v.ID)
		}
	}
	np, err := snapshots.List(l.volume, snapshots.ListOpts{}).AllPages(ctx)
	if err != nil {
		t.Fatalf("cinder: list snapshots: %v", err)
	}
	ns, _ := snapshots.ExtractSnapshots(np)
	for _, s := range ns {
		if strings.HasPrefix(s.Name, prefix) && s.Status != "deleting" && s.Status != "deleted" {
			h.snapshots = append(h.snapshots, s.ID)
		}
	}
	sort.Strings(h.servers)
	sort.Strings(h.volumes)
	sort.Strings(h.snapshots)
	return h
}

// remove deletes what a lineage left (its survivors), waiting until the
// volumes are gone so the lab's quota is free for the next lineage.
func (l *lab) remove(t *testing.T, prefix string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	h := l.holds(t, prefix)
	for _, id := range h.servers {
		_ = servers.Delete(ctx, l.compute, id).ExtractErr()
	}
	for _, id := range h.snapshots {
		_ = snapshots.Delete(ctx, l.volume, id).ExtractErr()
	}
	for ctx.Err() == nil {
		h = l.holds(t, prefix)
		if len(h.volumes)+len(h.snapshots)+len(h.servers) == 0 {
			return
		}
		for _, id := range h.volumes {
			_ = volumes.Delete(ctx, l.volume, id, nil).ExtractErr() // refused while attached or busy: tried again
		}
		time.Sleep(2 * time.Second)
	}
	t.Logf("lab: %s* not all removed: %v", prefix, l.holds(t, prefix))
}

func TestCrashSafetyOpenStack(t *testing.T) {
	path := os.Getenv("CANOPY_OS_CLOUDS_YAML")
	if path == "" {
		t.Fatal("CANOPY_OS_CLOUDS_YAML is not set: point it at the lab's clouds.yaml (test/openstack/up.sh prints it)")
	}
	cloud := envOr("CANOPY_OS_CLOUD", "canopy-test")
	l := dialLab(t, path, cloud)
	// A create window shorter than the lab's worst (docs/idempotency.md)
	// keeps the run short; what slips past it is a crash duplicate, which
	// canopy must find and delete before the invariants are checked.
	cfg := canopydtest.WriteConfig(t, fmt.Sprintf(`
clouds:
  - name: lab
    kind: openstack
    options: {clouds_yaml: %q, cloud: %q, create_window: %s}
wait:
  min_interval: 200ms
  max_interval: 2s
auth:
  issuer_url: http://canopy.crash.test
`, path, cloud, envOr("CANOPY_CRASH_CREATE_WINDOW", "10s")))
	run := fmt.Sprintf("crash%d", time.Now().Unix()%1000000)
	eng := &engine{
		cfg: cfg, cloud: "lab",
		story: func(lineage int) *story {
			return &story{cloud: "lab", ids: map[string]string{}, real: true,
				prefix: fmt.Sprintf("%s-%d-", run, lineage+1), flavor: envOr("CANOPY_OS_FLAVOR", "canopy.tiny"),
				image: envOr("CANOPY_OS_IMAGE", "canopy-test-image"), networks: []string{envOr("CANOPY_OS_NETWORK", "canopy-net")},
				timeout: 5 * time.Minute, fromImage: true, imageGiB: 1}
		},
		holds:   func(t *testing.T, _ string, s *story) cloudHolds { return l.holds(t, s.prefix) },
		cleanup: func(t *testing.T, s *story) { l.remove(t, s.prefix) },
	}
	t.Cleanup(func() { l.remove(t, run+"-") })
	runRealCrash(t, eng.lineages())
}

// TestDuplicateServerOpenStack: a second Nova server carrying the tag of a
// server canopy made — what a create repeated past the create window
// leaves — made behind canopy's back with gophercloud. canopy never lists
// it and deletes it from Nova.
func TestDuplicateServerOpenStack(t *testing.T) {
	path := os.Getenv("CANOPY_OS_CLOUDS_YAML")
	if path == "" {
		t.Fatal("CANOPY_OS_CLOUDS_YAML is not set: point it at the lab's clouds.yaml (test/openstack/up.sh prints it)")
	}
	cloud := envOr("CANOPY_OS_CLOUD", "canopy-test")
	l := dialLab(t, path, cloud)
	run := fmt.Sprintf("dup%d", time.Now().Unix()%1000000)
	t.Cleanup(func() { l.remove(t, run+"-") })
	cfg := canopydtest.WriteConfig(t, fmt.Sprintf(`
clouds:
  - name: lab
    kind: openstack
    options: {clouds_yaml: %q, cloud: %q}
    cache: {servers: 100ms}
wait:
  min_interval: 200ms
  max_interval: 1s
`, path, cloud))
	d := canopydtest.Start(t, t.TempDir(), "--config", cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	sv, err := d.Compute.CreateServer(ctx, &canopyv1.CreateServerRequest{Name: run + "-web", Flavor: envOr("CANOPY_OS_FLAVOR", "canopy.tiny"),
		Image: envOr("CANOPY_OS_IMAGE", "canopy-test-image"), Networks: []string{envOr("CANOPY_OS_NETWORK", "canopy-net")},
		Location: &canopyv1.Location{Cloud: "lab"}, RequestId: run, Wait: true})
	if err != nil {
		t.Fatal(err)
	}
	orig, err := servers.Get(ctx, l.compute, sv.NativeId).Extract()
	if err != nil {
		t.Fatal(err)
	}
	np, err := networks.List(l.network, networks.ListOpts{Name: envOr("CANOPY_OS_NETWORK", "canopy-net")}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	nets, _ := networks.ExtractNetworks(np)
	if len(nets) == 0 {
		t.Fatal("no lab network")
	}
	l.compute.Microversion = "2.52"
	dup, err := servers.Create(ctx, l.compute, servers.CreateOpts{Name: run + "-web", FlavorRef: fmt.Sprint(orig.Flavor["id"]), ImageRef: fmt.Sprint(orig.Image["id"]),
		Networks: []servers.Network{{UUID: nets[0].ID}}, Tags: []string{"canopy-token:" + sv.Id}}, nil).Extract()
	if err != nil {
		t.Fatalf("nova: create the duplicate: %v", err)
	}
	t.Logf("canopy's server %s (%s); the duplicate %s", sv.Id, sv.NativeId, dup.ID)
	gone := false
	for deadline := time.Now().Add(3 * time.Minute); time.Now().Before(deadline); time.Sleep(time.Second) {
		ls, err := d.Compute.ListServers(ctx, &canopyv1.ListServersRequest{Location: &canopyv1.Location{Cloud: "lab"}, PageSize: 1000})
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range ls.Servers {
			if x.NativeId == dup.ID {
				t.Fatalf("the duplicate %s is listed as %s", dup.ID, x.Id)
			}
		}
		s, err := servers.Get(ctx, l.compute, dup.ID).Extract()
		if err != nil || strings.EqualFold(s.Status, "DELETED") || s.TaskState == "deleting" {
			gone = true
			break
		}
	}
	if !gone {
		t.Fatalf("the duplicate %s is still in Nova after 3 minutes\n%s", dup.ID, d.Logs())
	}
	if !d.WaitLog("duplicate: deleted", 2*time.Minute) {
		t.Errorf("no duplicate log line:\n%s", d.Logs())
	}
	if got, err := d.Compute.GetServer(ctx, &canopyv1.GetServerRequest{Id: sv.Id}); err != nil || got.NativeId != sv.NativeId {
		t.Errorf("canopy's own server after the sweep = %v, %v", got, err)
	}
}
