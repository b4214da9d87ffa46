//go:build openstack && aws

package main

// Issue 15's global networks and security groups end to end on real
// engines: one canopyd over the OpenStack lab (test/openstack) and EC2 on
// moto (test/moto); server/network_global_test.go is the same story over
// two sim clouds. A global group (ssh from anywhere, tcp 7000 from
// itself) and a global network (10.77.0.0/16, gateway) are used by a
// server in each cloud; then each cloud is read with its own API
// (gophercloud, aws-sdk-go-v2 — networks_e2e_clouds_test.go): its
// realization, the distinct blocks, the self rule as the cloud's own group
// plus the other cloud's member subnet, the floating IP auto_ip gave the
// OpenStack server; a rule deleted at each cloud comes back within a
// reconcile interval; deleting the globals leaves nothing in either cloud.
//
//   CANOPY_OS_CLOUDS_YAML=… CANOPY_MOTO_ENDPOINT=… go test -tags 'openstack aws' -run TestGlobalNetworksE2E ./cmd/canopyd/

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/layer3/floatingips"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/internal/canopydtest"
)

// reconcileEvery is canopyd's networks.reconcile_interval in this test.
const reconcileEvery = 2 * time.Second

// repairMargin is what a repair may take beyond one interval: the rule
// may be deleted just after a pass read its group, so the pass that sees
// it is the next tick's, and that pass first reads every cloud that has a
// realization (security groups, ports and subnets of the lab and of moto:
// six listings, under a second each here even on a loaded two-core host)
// before it adds the rule back; plus this test's 100ms polling.
const repairMargin = 3 * time.Second

func TestGlobalNetworksE2E(t *testing.T) {
	path := os.Getenv("CANOPY_OS_CLOUDS_YAML")
	if path == "" {
		t.Fatal("CANOPY_OS_CLOUDS_YAML is not set: point it at the lab's clouds.yaml (test/openstack/up.sh prints it)")
	}
	osCloud := envOr("CANOPY_OS_CLOUD", "canopy-test")
	l := dialLab(t, path, osCloud)
	api, endpoint := motoEC2(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()

	extName := envOr("CANOPY_OS_EXTERNAL_NETWORK", "canopy-public")
	np, err := networks.List(l.network, networks.ListOpts{Name: extName}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	exts, _ := networks.ExtractNetworks(np)
	if len(exts) != 1 {
		t.Fatalf("the lab has %d networks named %q, want its one external network", len(exts), extName)
	}
	labN := &labCloud{l: l, external: exts[0].ID}
	awsN := &motoCloud{api: api}
	clouds := map[string]nativeCloud{"lab": labN, "aws": awsN}

	run := fmt.Sprintf("gnet%d", time.Now().Unix()%1000000)
	image := run + "-image"
	if _, err := api.RegisterImage(ctx, &ec2.RegisterImageInput{Name: awssdk.String(image), Architecture: types.ArchitectureValuesX8664,
		RootDeviceName: awssdk.String("/dev/xvda"), VirtualizationType: awssdk.String("hvm")}); err != nil {
		t.Fatalf("ec2: register image: %v", err)
	}
	cfg := canopydtest.WriteConfig(t, fmt.Sprintf(`
networks:
  reconcile_interval: %s
clouds:
  - name: lab
    kind: openstack
    options: {clouds_yaml: %q, cloud: %q}
  - name: aws
    kind: aws
    regions: [%s]
    options:
      endpoint: %s
      access_key_id: testing
      secret_access_key: testing
      instance_types: [t3.micro]
wait:
  min_interval: 200ms
  max_interval: 2s
`, reconcileEvery, path, osCloud, motoRegion, endpoint))
	d := canopydtest.Start(t, t.TempDir(), "--config", cfg)
	e := &netE2E{t: t, ctx: ctx, d: d, nc: canopyv1.NewNetworkServiceClient(d.Conn), ops: canopyv1.NewOperationServiceClient(d.Conn)}

	// What the test made, for a cleanup through canopy when it stops
	// half-way (the story's own cleanup below checks each step).
	var made struct {
		sync.Mutex
		servers        []string
		group, network string
		fip            string
	}
	t.Cleanup(func() {
		cctx, ccancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer ccancel()
		ce := *e
		ce.ctx = cctx
		made.Lock()
		defer made.Unlock()
		for _, id := range made.servers {
			_, _ = d.Compute.DeleteServer(cctx, &canopyv1.DeleteServerRequest{Id: id, Wait: true, AllowMissing: true})
		}
		if made.fip != "" {
			if _, err := ce.done(ce.nc.ReleaseFloatingIP(cctx, &canopyv1.ReleaseFloatingIPRequest{Id: made.fip, Wait: true})); err == nil {
				made.fip = "" // released: the address may be someone else's by the sweep
			}
		}
		if made.group != "" {
			_, _ = ce.done(ce.nc.DeleteSecurityGroup(cctx, &canopyv1.DeleteSecurityGroupRequest{Id: made.group, Wait: true}))
		}
		if made.network != "" {
			_, _ = ce.done(ce.nc.DeleteNetwork(cctx, &canopyv1.DeleteNetworkRequest{Id: made.network, Wait: true}))
		}
		// What canopy could not remove goes from the shared lab too.
		if swept := labN.sweep(cctx, run+"-", made.fip); len(swept) > 0 {
			t.Logf("removed from the lab with gophercloud, after the test: %v", swept)
		}
	})

	// 1. The globals.
	groupName, netName := run+"-app", run+"-mesh"
	op, err := e.done(e.nc.CreateSecurityGroup(ctx, &canopyv1.CreateSecurityGroupRequest{Name: groupName, Scope: canopyv1.Scope_SCOPE_GLOBAL,
		Description: "issue 15 end to end", Rules: []*canopyv1.SecurityGroupRule{
			{Protocol: "tcp", PortMin: 22, PortMax: 22, RemoteCidr: "0.0.0.0/0"},
			{Protocol: "tcp", PortMin: 7000, PortMax: 7000, RemoteGroup: groupName},
		}}))
	if err != nil {
		t.Fatalf("create the global group: %v", err)
	}
	var group canopyv1.SecurityGroup
	if err := op.GetResponse().UnmarshalTo(&group); err != nil {
		t.Fatal(err)
	}
	made.Lock()
	made.group = group.Id
	made.Unlock()
	op, err = e.done(e.nc.CreateNetwork(ctx, &canopyv1.CreateNetworkRequest{Name: netName, Scope: canopyv1.Scope_SCOPE_GLOBAL,
		Cidr: "10.77.0.0/16", Gateway: true}))
	if err != nil {
		t.Fatalf("create the global network: %v", err)
	}
	var mesh canopyv1.Network
	if err := op.GetResponse().UnmarshalTo(&mesh); err != nil {
		t.Fatal(err)
	}
	made.Lock()
	made.network = mesh.Id
	made.Unlock()
	if len(mesh.Realizations) != 0 || len(group.Realizations) != 0 {
		t.Fatalf("realized before any use: %v %v", mesh.Realizations, group.Realizations)
	}

	// 2. A server in each cloud, created together.
	reqs := map[string]*canopyv1.CreateServerRequest{
		"lab": {Name: run + "-os", Flavor: envOr("CANOPY_OS_FLAVOR", "canopy.tiny"), Image: envOr("CANOPY_OS_IMAGE", "canopy-test-image"),
			Location: &canopyv1.Location{Cloud: "lab"}, Networks: []string{netName}, SecurityGroups: []string{groupName}, AutoIp: true, Wait: true},
		"aws": {Name: run + "-aws", Flavor: "t3.micro", Image: image,
			Location: &canopyv1.Location{Cloud: "aws"}, Networks: []string{netName}, SecurityGroups: []string{groupName}, Wait: true},
	}
	svs := map[string]*canopyv1.Server{}
	took := map[string]time.Duration{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for cloud, req := range reqs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			sv, err := d.Compute.CreateServer(ctx, req)
			if err != nil {
				errs <- fmt.Errorf("server in %s: %v", cloud, err)
				return
			}
			mu.Lock()
			svs[cloud], took[cloud] = sv, time.Since(start)
			mu.Unlock()
			made.Lock()
			made.servers = append(made.servers, sv.Id)
			for _, a := range sv.Addresses {
				if a.Type == "floating" {
					made.fip = a.Ip // auto_ip's, kept by a server delete: the cleanup releases it
				}
			}
			made.Unlock()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("%v\n%s", err, grepLines(d.Logs(), "level=WARN", "level=ERROR"))
	}
	for cloud, d := range took {
		t.Logf("FIGURE create server with both globals on %s: %.1fs", cloud, d.Seconds())
	}
	e.realizeTimes(ctx)

	got, err := e.nc.GetNetwork(ctx, &canopyv1.GetNetworkRequest{Id: mesh.Id})
	if err != nil || len(got.Realizations) != 2 {
		t.Fatalf("the global network after two servers: %v %v", got, err)
	}
	netNative := map[string]string{}
	for _, r := range got.Realizations {
		netNative[r.Cloud] = r.NativeId
	}
	gg, err := e.nc.GetSecurityGroup(ctx, &canopyv1.GetSecurityGroupRequest{Id: group.Id})
	if err != nil || len(gg.Realizations) != 2 {
		t.Fatalf("the global group after two servers: %v %v", gg, err)
	}
	groupNative := map[string]string{}
	for _, r := range gg.Realizations {
		groupNative[r.Cloud] = r.NativeId
	}

	// 3. Each cloud's own view.
	facts := map[string]netFacts{}
	for cloud, c := range clouds {
		nf, err := c.network(ctx, netNative[cloud])
		if err != nil {
			t.Fatalf("%s: %v", cloud, err)
		}
		facts[cloud] = nf
		block, err := netip.ParsePrefix(nf.subnetCIDR)
		if err != nil || block.Bits() != 24 || !netip.MustParsePrefix("10.77.0.0/16").Overlaps(block) || block.Addr().As4()[1] != 77 {
			t.Errorf("%s: the realization's subnet is %q, want a /24 of 10.77.0.0/16", cloud, nf.subnetCIDR)
		}
		sv, err := c.server(ctx, svs[cloud].NativeId)
		if err != nil {
			t.Fatalf("%s: %v", cloud, err)
		}
		if sv.network != nf.network || sv.subnet != nf.subnet || !slices.Contains(sv.groups, groupNative[cloud]) {
			t.Errorf("%s: the server is on network %s subnet %s with groups %v; want %s, %s and the group %s", cloud, sv.network, sv.subnet, sv.groups,
				nf.network, nf.subnet, groupNative[cloud])
		}
		for _, ip := range sv.fixed {
			if !block.Contains(netip.MustParseAddr(ip)) {
				t.Errorf("%s: the server's fixed address %s is outside its block %s", cloud, ip, block)
			}
		}
		// A group applies only to ports of its own network on clouds
		// whose groups belong to one (EC2: the VPC).
		if gn, err := c.groupNetwork(ctx, groupNative[cloud]); err != nil {
			t.Errorf("%s: the group %s: %v", cloud, groupNative[cloud], err)
		} else if gn != "" && gn != nf.network {
			t.Errorf("%s: the group %s belongs to network %s, the server is on %s: the cloud would refuse it", cloud, groupNative[cloud], gn, nf.network)
		}
		t.Logf("%s holds network %s (%s) subnet %s %s router %s → %s, group %s", cloud, nf.network, nf.networkCIDR, nf.subnet, nf.subnetCIDR,
			nf.router, nf.gateway, groupNative[cloud])
	}
	if facts["lab"].gateway != labN.external {
		t.Errorf("lab: the router's gateway is %q, want the external network %s", facts["lab"].gateway, labN.external)
	}
	if facts["aws"].gateway != facts["aws"].router || facts["aws"].networkCIDR != facts["aws"].subnetCIDR {
		t.Errorf("aws: the subnet's default route goes to %q (want the VPC's internet gateway %s); VPC %s, subnet %s", facts["aws"].gateway,
			facts["aws"].router, facts["aws"].networkCIDR, facts["aws"].subnetCIDR)
	}
	if netip.MustParsePrefix(facts["lab"].subnetCIDR).Overlaps(netip.MustParsePrefix(facts["aws"].subnetCIDR)) {
		t.Fatalf("the two blocks overlap: lab %s, aws %s", facts["lab"].subnetCIDR, facts["aws"].subnetCIDR)
	}

	// The rules: ssh from anywhere, 7000 from the group itself there, and
	// 7000 from the other cloud's member subnet — the reconcile loop adds
	// that one once the other cloud has members, so it may take a pass.
	for cloud, other := range map[string]string{"lab": "aws", "aws": "lab"} {
		took, err := expectRules(ctx, clouds[cloud], groupNative[cloud], 3*reconcileEvery+repairMargin, facts[other].subnetCIDR)
		if err != nil {
			t.Errorf("%s: the group's rules: %v", cloud, err)
			continue
		}
		t.Logf("FIGURE %s holds the expanded self rule %.1fs after both servers were up", cloud, took.Seconds())
	}

	// A second AWS server, in the region's default VPC, with the group:
	// an EC2 group belongs to one VPC, so the group gets a second
	// realization there; each realization's self rule names its own VPC's
	// group and takes the other VPC's members (and the lab's) by subnet.
	// The server is named by a default subnet, so its interface is asked
	// to go with it: moto keeps the interface of an instance launched with
	// no subnet attached (and holding its group) after termination, where
	// EC2 deletes it.
	dflt, err := awsN.defaultSubnet(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sv2, err := d.Compute.CreateServer(ctx, &canopyv1.CreateServerRequest{Name: run + "-aws2", Flavor: "t3.micro", Image: image,
		Location: &canopyv1.Location{Cloud: "aws"}, Networks: []string{dflt}, SecurityGroups: []string{groupName}, Wait: true})
	if err != nil {
		t.Fatalf("server in the default VPC: %v", err)
	}
	made.Lock()
	made.servers = append(made.servers, sv2.Id)
	made.Unlock()
	sf2, err := awsN.server(ctx, sv2.NativeId)
	if err != nil {
		t.Fatal(err)
	}
	dfltCIDR, err := awsN.subnetCIDR(ctx, sf2.subnet)
	if err != nil {
		t.Fatal(err)
	}
	gg, err = e.nc.GetSecurityGroup(ctx, &canopyv1.GetSecurityGroupRequest{Id: group.Id})
	if err != nil || len(gg.Realizations) != 3 {
		t.Fatalf("the global group after a server in another VPC: %v %v", gg, err)
	}
	dfltGroup := ""
	for _, r := range gg.Realizations {
		if r.Cloud == "aws" && r.NativeId != groupNative["aws"] {
			dfltGroup = r.NativeId
		}
	}
	if gn, err := awsN.groupNetwork(ctx, dfltGroup); err != nil || gn != sf2.network || gn == facts["aws"].network || !slices.Contains(sf2.groups, dfltGroup) {
		t.Errorf("aws: the second realization %s is in %q (%v); the server is in %s with groups %v", dfltGroup, gn, err, sf2.network, sf2.groups)
	}
	for _, want := range []struct {
		cloud, group string
		peers        []string
	}{
		{"aws", dfltGroup, []string{facts["aws"].subnetCIDR, facts["lab"].subnetCIDR}},
		{"aws", groupNative["aws"], []string{dfltCIDR, facts["lab"].subnetCIDR}},
		{"lab", groupNative["lab"], []string{dfltCIDR, facts["aws"].subnetCIDR}},
	} {
		if _, err := expectRules(ctx, clouds[want.cloud], want.group, 3*reconcileEvery+repairMargin, want.peers...); err != nil {
			t.Errorf("%s: group %s with a member in the default VPC (%s): %v", want.cloud, want.group, dfltCIDR, err)
		}
	}
	if _, err := d.Compute.DeleteServer(ctx, &canopyv1.DeleteServerRequest{Id: sv2.Id, Wait: true}); err != nil {
		t.Fatalf("delete server %s: %v", sv2.Name, err)
	}
	// Its member range leaves the other realizations' rules.
	for cloud, other := range map[string]string{"lab": "aws", "aws": "lab"} {
		if _, err := expectRules(ctx, clouds[cloud], groupNative[cloud], 3*reconcileEvery+repairMargin, facts[other].subnetCIDR); err != nil {
			t.Errorf("%s: after the default VPC's member left: %v", cloud, err)
		}
	}

	// The floating IP auto_ip gave the OpenStack server: in Nova's
	// addresses, in Neutron on the server's port, and in canopy's
	// GetServer as a floating address.
	var novaFloating []string
	if _, err := poll(ctx, 30*time.Second, func() error {
		sf, err := labN.server(ctx, svs["lab"].NativeId)
		if err != nil {
			return err
		}
		if novaFloating = sf.floating; len(novaFloating) != 1 {
			return fmt.Errorf("nova shows floating %v, fixed %v", sf.floating, sf.fixed)
		}
		return nil
	}); err != nil {
		t.Errorf("lab: the server's floating IP: %v", err)
	} else {
		fs, err := labN.floatingOf(ctx, svs["lab"].NativeId)
		if err != nil || len(fs) != 1 || fs[0].FloatingIP != novaFloating[0] || fs[0].FloatingNetworkID != labN.external {
			t.Errorf("lab: neutron's floating IPs on the server's port: %+v %v; nova shows %v", fs, err, novaFloating)
		}
		made.Lock()
		made.fip = novaFloating[0]
		made.Unlock()
		sv, err := d.Compute.GetServer(ctx, &canopyv1.GetServerRequest{Id: svs["lab"].Id})
		if err != nil {
			t.Fatal(err)
		}
		ok := false
		for _, a := range sv.Addresses {
			ok = ok || (a.Type == "floating" && a.Ip == novaFloating[0])
		}
		if !ok {
			t.Errorf("canopy's GetServer shows %v, not the floating %s", sv.Addresses, novaFloating[0])
		}
	}

	// Nothing in use goes.
	_, err = e.nc.DeleteSecurityGroup(ctx, &canopyv1.DeleteSecurityGroupRequest{Id: group.Id})
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "in use") {
		t.Errorf("deleting the group in use: %v, want FAILED_PRECONDITION in use", err)
	}
	_, err = e.nc.DeleteNetwork(ctx, &canopyv1.DeleteNetworkRequest{Id: mesh.Id})
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "in use") {
		t.Errorf("deleting the network in use: %v, want FAILED_PRECONDITION in use", err)
	}

	// 4. Drift: the ssh rule deleted at each cloud with its own API is
	// back within one interval plus the margin.
	for _, cloud := range []string{"lab", "aws"} {
		c := clouds[cloud]
		rs, err := c.groupRules(ctx, groupNative[cloud])
		if err != nil {
			t.Fatal(err)
		}
		ssh, ok := findRule(rs, 22, "0.0.0.0/0", "")
		if !ok {
			t.Fatalf("%s: no ssh rule to delete: %v", cloud, rs)
		}
		if err := c.deleteRule(ctx, groupNative[cloud], ssh); err != nil {
			t.Fatalf("%s: delete rule %s at the cloud: %v", cloud, ssh.ID, err)
		}
		took, err := poll(ctx, reconcileEvery+repairMargin, func() error {
			rs, err := c.groupRules(ctx, groupNative[cloud])
			if err != nil {
				return err
			}
			if r, ok := findRule(rs, 22, "0.0.0.0/0", ""); !ok || r.ID == ssh.ID {
				return fmt.Errorf("not back: %v", rs)
			}
			return nil
		})
		if err != nil {
			t.Errorf("%s: the deleted rule is not back within %s: %v", cloud, reconcileEvery+repairMargin, err)
			continue
		}
		t.Logf("FIGURE %s: the rule deleted at the cloud was back in %.1fs (interval %s)", cloud, took.Seconds(), reconcileEvery)
	}
	e.driftReported()

	// 5. Cleanup through canopy: the servers, the floating IP auto_ip
	// allocated (kept on server delete, as shade's delete_server without
	// delete_ips), then the globals, which remove every realization.
	for _, sv := range svs {
		if _, err := d.Compute.DeleteServer(ctx, &canopyv1.DeleteServerRequest{Id: sv.Id, Wait: true}); err != nil {
			t.Fatalf("delete server %s: %v", sv.Name, err)
		}
	}
	made.Lock()
	made.servers = nil
	made.Unlock()
	if len(novaFloating) == 1 {
		if _, err := e.done(e.nc.ReleaseFloatingIP(ctx, &canopyv1.ReleaseFloatingIPRequest{Id: novaFloating[0], Wait: true})); err != nil {
			t.Errorf("release the floating IP %s: %v", novaFloating[0], err)
		}
		made.Lock()
		made.fip = ""
		made.Unlock()
	}
	start := time.Now()
	if _, err := e.done(e.nc.DeleteSecurityGroup(ctx, &canopyv1.DeleteSecurityGroupRequest{Id: group.Id, Wait: true})); err != nil {
		t.Fatalf("delete the global group: %v", err)
	}
	if _, err := e.done(e.nc.DeleteNetwork(ctx, &canopyv1.DeleteNetworkRequest{Id: mesh.Id, Wait: true})); err != nil {
		t.Fatalf("delete the global network: %v", err)
	}
	t.Logf("FIGURE delete both globals (every realization): %.1fs", time.Since(start).Seconds())
	made.Lock()
	made.group, made.network = "", ""
	made.Unlock()
	for _, id := range []string{mesh.Id, group.Id} {
		_, err := e.nc.GetNetwork(ctx, &canopyv1.GetNetworkRequest{Id: id})
		_, gerr := e.nc.GetSecurityGroup(ctx, &canopyv1.GetSecurityGroupRequest{Id: id})
		if status.Code(err) != codes.NotFound || status.Code(gerr) != codes.NotFound {
			t.Errorf("%s after delete: %v / %v, want NOT_FOUND", id, err, gerr)
		}
	}
	for cloud, c := range clouds {
		var left []string
		if _, err := poll(ctx, time.Minute, func() error {
			if left = c.remaining(ctx, facts[cloud], groupNative[cloud], svs[cloud].NativeId); len(left) > 0 {
				return fmt.Errorf("left: %v", left)
			}
			return nil
		}); err != nil {
			t.Errorf("%s still holds %v", cloud, left)
		}
	}
	if left := awsN.groupsLeft(ctx, dfltGroup); len(left) > 0 {
		t.Errorf("aws still holds the default VPC's realization: %v", left)
	}
	if len(novaFloating) == 1 {
		fp, err := floatingips.List(l.network, floatingips.ListOpts{FloatingIP: novaFloating[0]}).AllPages(ctx)
		fs, _ := floatingips.ExtractFloatingIPs(fp)
		if err != nil || len(fs) != 0 {
			t.Errorf("lab: the floating IP %s is still allocated: %+v %v", novaFloating[0], fs, err)
		}
	}
}
