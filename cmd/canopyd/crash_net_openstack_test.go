//go:build openstack

package main

// The networking crash lineages on the real OpenStack lab (test/openstack):
// the story of crash_net_test.go against Neutron (and Nova for the server
// that makes the globals real), canopyd killed at every failpoint it
// passes — the adapter's own included, just after Neutron accepted a create
// and before canopy recorded the answer — and what the lab holds counted
// with gophercloud, not through canopy.

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/layer3/floatingips"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/layer3/routers"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/groups"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/subnets"

	"github.com/canopy-cloud/canopy/internal/canopydtest"
	"github.com/canopy-cloud/canopy/providers"
)

// neutronTags reads labels ("key=value" tags) and canopy's token (the
// "canopy-token:" tag, or the description a create posts before it tags)
// from a Neutron resource.
func neutronTags(tags []string, description string) (map[string]string, string) {
	labels := map[string]string{}
	token := strings.TrimPrefix(description, "canopy-token:")
	if token == description {
		token = ""
	}
	for _, tg := range tags {
		if tok, ok := strings.CutPrefix(tg, "canopy-token:"); ok {
			token = tok
			continue
		}
		if k, v, ok := strings.Cut(tg, "="); ok {
			labels[k] = v
		}
	}
	return labels, token
}

// netHolds lists what the lab holds of a networking story.
func (l *lab) netHolds(t *testing.T, s *netStory) netHolds {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	h := newNetHolds()
	add := func(kind, id, name string, tags []string, description string) {
		labels, token := neutronTags(tags, description)
		if s.mine(name, labels, token) {
			h.add(kind, id, token)
		}
	}
	np, err := networks.List(l.network, networks.ListOpts{}).AllPages(ctx)
	if err != nil {
		t.Fatalf("neutron: list networks: %v", err)
	}
	ns, _ := networks.ExtractNetworks(np)
	for _, x := range ns {
		add(providers.KindNetwork, x.ID, x.Name, x.Tags, x.Description)
	}
	sp, err := subnets.List(l.network, subnets.ListOpts{}).AllPages(ctx)
	if err != nil {
		t.Fatalf("neutron: list subnets: %v", err)
	}
	ss, _ := subnets.ExtractSubnets(sp)
	for _, x := range ss {
		add(providers.KindSubnet, x.ID, x.Name, x.Tags, x.Description)
	}
	rp, err := routers.List(l.network, routers.ListOpts{}).AllPages(ctx)
	if err != nil {
		t.Fatalf("neutron: list routers: %v", err)
	}
	rs, _ := routers.ExtractRouters(rp)
	for _, x := range rs {
		add(providers.KindRouter, x.ID, x.Name, x.Tags, x.Description)
	}
	gp, err := groups.List(l.network, groups.ListOpts{}).AllPages(ctx)
	if err != nil {
		t.Fatalf("neutron: list security groups: %v", err)
	}
	gs, _ := groups.ExtractGroups(gp)
	for _, x := range gs {
		add(providers.KindSecurityGroup, x.ID, x.Name, x.Tags, x.Description)
	}
	fp, err := floatingips.List(l.network, floatingips.ListOpts{}).AllPages(ctx)
	if err != nil {
		t.Fatalf("neutron: list floating IPs: %v", err)
	}
	fs, _ := floatingips.ExtractFloatingIPs(fp)
	for _, x := range fs {
		add(providers.KindFloatingIP, x.ID, "", x.Tags, x.Description)
	}
	pp, err := ports.List(l.network, ports.ListOpts{}).AllPages(ctx)
	if err != nil {
		t.Fatalf("neutron: list ports: %v", err)
	}
	ps, _ := ports.ExtractPorts(pp)
	for _, x := range ps {
		if _, ours := h.res[providers.KindRouter][x.DeviceID]; ours && x.DeviceOwner == "network:router_interface" && len(x.FixedIPs) > 0 {
			h.ifaces[x.DeviceID] = append(h.ifaces[x.DeviceID], x.FixedIPs[0].SubnetID)
		}
		add(providers.KindPort, x.ID, x.Name, x.Tags, x.Description)
	}
	vp, err := servers.List(l.compute, servers.ListOpts{Name: "^" + s.prefix}).AllPages(ctx)
	if err != nil {
		t.Fatalf("nova: list servers: %v", err)
	}
	vs, _ := servers.ExtractServers(vp)
	for _, x := range vs {
		if strings.HasPrefix(x.Name, s.prefix) && !strings.EqualFold(x.Status, "DELETED") && x.TaskState != "deleting" {
			h.add(providers.KindServer, x.ID, "")
		}
	}
	return h
}

// netSweep removes, with gophercloud, what a networking story left in the
// lab (what canopy's own deletes did not), dependents first, trying again
// while Neutron refuses what something still uses.
func (l *lab) netSweep(t *testing.T, s *netStory) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	for ctx.Err() == nil {
		h := l.netHolds(t, s)
		if h.empty() {
			return
		}
		t.Logf("lab: sweeping %v", h)
		for _, id := range h.natives(providers.KindServer) {
			_ = servers.Delete(ctx, l.compute, id).ExtractErr()
		}
		for _, id := range h.natives(providers.KindFloatingIP) {
			_ = floatingips.Delete(ctx, l.network, id).ExtractErr()
		}
		for _, id := range h.natives(providers.KindRouter) {
			for _, sn := range h.ifaces[id] {
				_, _ = routers.RemoveInterface(ctx, l.network, id, routers.RemoveInterfaceOpts{SubnetID: sn}).Extract()
			}
			_ = routers.Delete(ctx, l.network, id).ExtractErr()
		}
		for _, id := range h.natives(providers.KindPort) {
			_ = ports.Delete(ctx, l.network, id).ExtractErr()
		}
		for _, id := range h.natives(providers.KindSecurityGroup) {
			_ = groups.Delete(ctx, l.network, id).ExtractErr()
		}
		for _, id := range h.natives(providers.KindSubnet) {
			_ = subnets.Delete(ctx, l.network, id).ExtractErr()
		}
		for _, id := range h.natives(providers.KindNetwork) {
			_ = networks.Delete(ctx, l.network, id).ExtractErr()
		}
		time.Sleep(2 * time.Second)
	}
	t.Errorf("lab: %s* not all removed: %v", s.prefix, l.netHolds(t, s))
}

// TestCrashSafetyOpenStackNetworks runs the networking crash lineages on
// the lab; scripts/test.sh runs it with TestCrashSafetyOpenStack.
func TestCrashSafetyOpenStackNetworks(t *testing.T) {
	path := os.Getenv("CANOPY_OS_CLOUDS_YAML")
	if path == "" {
		t.Fatal("CANOPY_OS_CLOUDS_YAML is not set: point it at the lab's clouds.yaml (test/openstack/up.sh prints it)")
	}
	cloud := envOr("CANOPY_OS_CLOUD", "canopy-test")
	l := dialLab(t, path, cloud)
	// Neutron answers a create once it is committed: a request a killed
	// canopyd sent is visible within a second, so a shorter create window
	// than for servers keeps the replays short. What slips past it is a
	// crash duplicate, which canopy must find and delete before the
	// invariants are checked.
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
`, path, cloud, envOr("CANOPY_CRASH_NET_CREATE_WINDOW", "2s")))
	run := fmt.Sprintf("ncrash%d", time.Now().Unix()%1000000)
	// Ranges of their own per run, so two runs on the shared lab never
	// carve the same block (canopy skips blocks the lab's subnets hold).
	n := int(time.Now().Unix()%50) * 2
	var swept []*netStory
	eng := crashRun{cfg: cfg, cloud: "lab", together: true, story: func(lineage int) crashStory {
		s := &netStory{cloud: "lab", cfg: cfg, prefix: fmt.Sprintf("%s-%d-", run, lineage+1), real: true,
			ext: envOr("CANOPY_OS_EXTERNAL_NETWORK", "canopy-public"), flavor: envOr("CANOPY_OS_FLAVOR", "canopy.tiny"), image: envOr("CANOPY_OS_IMAGE", "canopy-test-image"),
			netCIDR: fmt.Sprintf("10.%d.0.0/16", 150+n), subCIDR: fmt.Sprintf("10.%d.1.0/24", 150+n), globalCIDR: fmt.Sprintf("10.%d.0.0/16", 151+n),
			timeout: 5 * time.Minute, ids: map[string]string{},
			holds: func(t *testing.T, _ string, s *netStory) netHolds { return l.netHolds(t, s) }, sweep: l.netSweep}
		swept = append(swept, s)
		return s
	}}
	t.Cleanup(func() {
		for _, s := range swept {
			l.netSweep(t, s)
		}
	})
	runRealCrash(t, eng)
}
