package server

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/providers"
)

// Global networks and groups over two simulated clouds; the same code is
// proved over the OpenStack lab and moto by cmd/canopyd's end-to-end test.

const twoNetClouds = `
networks:
  reconcile_interval: 100ms
clouds:
  - name: east
    kind: sim
    options: ` + fastSim + `
  - name: west
    kind: sim
    options: ` + fastSim + `
`

// groupRules is a cloud's own view of a group's rules.
func groupRules(t *testing.T, e *netEnv, cloud, native string) []providers.SecurityRule {
	t.Helper()
	g, err := e.sim(cloud).GetSecurityGroup(context.Background(), native)
	if err != nil {
		t.Fatalf("%s: group %s: %v", cloud, native, err)
	}
	return g.Rules
}

func hasRule(rules []providers.SecurityRule, port int32, cidr, group string) (string, bool) {
	for _, r := range rules {
		if r.Direction == providers.Ingress && r.Protocol == "tcp" && r.PortMin == port && r.RemoteCIDR == cidr && r.RemoteGroupID == group {
			return r.NativeID, true
		}
	}
	return "", false
}

func TestGlobalNetworkAndGroup(t *testing.T) {
	e := newNetEnv(t, twoNetClouds)
	ctx := ctxT(t)
	var mesh canopyv1.Network
	op, err := e.n.CreateNetwork(ctx, &canopyv1.CreateNetworkRequest{Name: "mesh", Scope: canopyv1.Scope_SCOPE_GLOBAL, Cidr: "10.60.0.0/16", Gateway: true})
	if err := e.done(ctx, op, err, &mesh); err != nil {
		t.Fatal(err)
	}
	if mesh.Scope != canopyv1.Scope_SCOPE_GLOBAL || mesh.Location.GetCloud() != "" || mesh.SubnetPrefixLength != 24 || len(mesh.Realizations) != 0 {
		t.Fatalf("global network = %v", &mesh)
	}
	var app canopyv1.SecurityGroup
	op, err = e.n.CreateSecurityGroup(ctx, &canopyv1.CreateSecurityGroupRequest{Name: "app", Scope: canopyv1.Scope_SCOPE_GLOBAL, Rules: []*canopyv1.SecurityGroupRule{
		{Protocol: "tcp", PortMin: 22, RemoteCidr: "0.0.0.0/0"},
		{Protocol: "tcp", PortMin: 7000, RemoteGroup: "app"},
	}})
	if err := e.done(ctx, op, err, &app); err != nil {
		t.Fatal(err)
	}
	if app.Rules[1].RemoteGroup != app.Id {
		t.Fatalf("the self rule names %q, want the group's id %s", app.Rules[1].RemoteGroup, app.Id)
	}
	// Bad definitions are refused before anything is recorded.
	_, err = e.n.CreateNetwork(ctx, &canopyv1.CreateNetworkRequest{Name: "m2", Scope: canopyv1.Scope_SCOPE_GLOBAL})
	wantErr(t, err, codes.InvalidArgument, "cidr", "required")
	_, err = e.n.CreateNetwork(ctx, &canopyv1.CreateNetworkRequest{Name: "m2", Scope: canopyv1.Scope_SCOPE_GLOBAL, Cidr: "10.61.0.0/24", SubnetPrefixLength: 16})
	wantErr(t, err, codes.InvalidArgument, "subnet_prefix_length")
	_, err = e.n.CreateNetwork(ctx, &canopyv1.CreateNetworkRequest{Name: "m2", Scope: canopyv1.Scope_SCOPE_GLOBAL, Cidr: "10.61.0.0/16", Location: &canopyv1.Location{Cloud: "east"}})
	wantErr(t, err, codes.InvalidArgument, "location.cloud")
	_, err = e.n.CreateNetwork(ctx, &canopyv1.CreateNetworkRequest{Name: "mesh", Scope: canopyv1.Scope_SCOPE_GLOBAL, Cidr: "10.62.0.0/16"})
	wantErr(t, err, codes.AlreadyExists, "", "mesh")
	_, err = e.n.CreateSecurityGroup(ctx, &canopyv1.CreateSecurityGroupRequest{Name: "g2", Scope: canopyv1.Scope_SCOPE_GLOBAL,
		Rules: []*canopyv1.SecurityGroupRule{{Protocol: "tcp", PortMin: 1, RemoteGroup: "nope"}}})
	wantErr(t, err, codes.InvalidArgument, "rules[0].remote_group", "nope")

	// A server in each cloud brings both there.
	servers := map[string]*canopyv1.Server{}
	for _, cloud := range []string{"east", "west"} {
		sv, err := e.compute.CreateServer(ctx, &canopyv1.CreateServerRequest{Name: "s-" + cloud, Flavor: "m1.small", Image: "debian-12",
			Location: &canopyv1.Location{Cloud: cloud}, Networks: []string{"mesh"}, SecurityGroups: []string{"app"}, Wait: true})
		if err != nil {
			t.Fatalf("server in %s: %v", cloud, err)
		}
		servers[cloud] = sv
	}
	got, err := e.n.GetNetwork(ctx, &canopyv1.GetNetworkRequest{Id: "mesh"})
	if err != nil || len(got.Realizations) != 2 {
		t.Fatalf("mesh after two servers: %v %v", got, err)
	}
	blocks := map[string]string{}
	for _, r := range got.Realizations {
		blocks[r.Cloud] = r.Cidr
		if r.SubnetId == "" || r.RouterId == "" || r.NativeId == "" {
			t.Errorf("realization %v: want a network, a subnet and a router", r)
		}
	}
	if blocks["east"] == blocks["west"] || !strings.HasPrefix(blocks["east"], "10.60.") || !strings.HasSuffix(blocks["west"], "/24") {
		t.Fatalf("blocks = %v: want two distinct /24s of 10.60.0.0/16", blocks)
	}
	for cloud, sv := range servers {
		ok := false
		for _, a := range sv.Addresses {
			ok = ok || strings.HasPrefix(a.Ip, strings.TrimSuffix(blocks[cloud], "0/24"))
		}
		if !ok {
			t.Errorf("server in %s has %v, none in its block %s", cloud, sv.Addresses, blocks[cloud])
		}
	}
	g, err := e.n.GetSecurityGroup(ctx, &canopyv1.GetSecurityGroupRequest{Id: "app"})
	if err != nil || len(g.Realizations) != 2 {
		t.Fatalf("app after two servers: %v %v", g, err)
	}
	natives := map[string]string{}
	for _, r := range g.Realizations {
		natives[r.Cloud] = r.NativeId
	}
	// In each cloud: ssh from anywhere, 7000 from the group there, and
	// 7000 from the other cloud's member subnet (the reconcile loop adds
	// it once the other cloud has members).
	for cloud, other := range map[string]string{"east": "west", "west": "east"} {
		eventually(t, cloud+"'s group holds the expanded self rule", func() bool {
			rules := groupRules(t, e, cloud, natives[cloud])
			_, ssh := hasRule(rules, 22, "0.0.0.0/0", "")
			_, self := hasRule(rules, 7000, "", natives[cloud])
			_, peer := hasRule(rules, 7000, blocks[other], "")
			return ssh && self && peer
		})
	}

	// Drift: a rule deleted at the cloud is back within a reconcile pass
	// or two, and counted.
	id, _ := hasRule(groupRules(t, e, "east", natives["east"]), 22, "0.0.0.0/0", "")
	if err := e.sim("east").DeleteSecurityRule(ctx, natives["east"], id); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the deleted rule is back", func() bool {
		_, ok := hasRule(groupRules(t, e, "east", natives["east"]), 22, "0.0.0.0/0", "")
		return ok
	})
	// A rule added at the cloud goes.
	if _, err := e.sim("west").AddSecurityRule(ctx, natives["west"], providers.SecurityRule{Direction: providers.Ingress, EtherType: providers.IPv4,
		Protocol: "tcp", PortMin: 9999, PortMax: 9999, RemoteCIDR: "0.0.0.0/0"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the rule added at the cloud is gone", func() bool {
		_, ok := hasRule(groupRules(t, e, "west", natives["west"]), 9999, "0.0.0.0/0", "")
		return !ok
	})
	resp, err := http.Get(e.rest + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `canopy_network_drift_total{cloud="east",what="security_group_rule"}`) ||
		!strings.Contains(string(body), `canopy_network_drift_total{cloud="west",what="security_group_rule"}`) {
		t.Errorf("metrics do not count the drift:\n%s", grepLines(string(body), "drift"))
	}

	// In use: neither global goes while a server uses it.
	_, err = e.n.DeleteSecurityGroup(ctx, &canopyv1.DeleteSecurityGroupRequest{Id: "app"})
	wantErr(t, err, codes.FailedPrecondition, "", "in use", "port")
	_, err = e.n.DeleteNetwork(ctx, &canopyv1.DeleteNetworkRequest{Id: "mesh"})
	wantErr(t, err, codes.FailedPrecondition, "", "in use", "port")
	for _, sv := range servers {
		if _, err := e.compute.DeleteServer(ctx, &canopyv1.DeleteServerRequest{Id: sv.Id, Wait: true}); err != nil {
			t.Fatal(err)
		}
	}
	for _, del := range []func() (*canopyv1.Operation, error){
		func() (*canopyv1.Operation, error) {
			return e.n.DeleteSecurityGroup(ctx, &canopyv1.DeleteSecurityGroupRequest{Id: "app", Wait: true})
		},
		func() (*canopyv1.Operation, error) {
			return e.n.DeleteNetwork(ctx, &canopyv1.DeleteNetworkRequest{Id: "mesh", Wait: true})
		},
	} {
		op, err := del()
		if err != nil || !op.Done || op.GetError() != nil {
			t.Fatalf("delete global: %v %v", op, err)
		}
	}
	// The realizations are gone from both clouds.
	for _, cloud := range []string{"east", "west"} {
		subs, _ := e.sim(cloud).ListSubnets(ctx)
		for _, s := range subs {
			if strings.HasPrefix(s.CIDR, "10.60.") {
				t.Errorf("%s still has subnet %v", cloud, s)
			}
		}
		if _, err := e.sim(cloud).GetSecurityGroup(ctx, natives[cloud]); err == nil {
			t.Errorf("%s still has the group's realization", cloud)
		}
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// A global range too small for every cloud runs out, saying so; the
// blocks of a range are never given twice.
func TestGlobalNetworkRunsOut(t *testing.T) {
	e := newNetEnv(t, twoNetClouds)
	ctx := ctxT(t)
	var small canopyv1.Network
	op, err := e.n.CreateNetwork(ctx, &canopyv1.CreateNetworkRequest{Name: "small", Scope: canopyv1.Scope_SCOPE_GLOBAL, Cidr: "10.70.0.0/24"})
	if err := e.done(ctx, op, err, &small); err != nil {
		t.Fatal(err)
	}
	if _, err := e.compute.CreateServer(ctx, &canopyv1.CreateServerRequest{Name: "a", Flavor: "m1.small", Image: "debian-12",
		Location: &canopyv1.Location{Cloud: "east"}, Networks: []string{"small"}}); err != nil {
		t.Fatal(err)
	}
	_, err = e.compute.CreateServer(ctx, &canopyv1.CreateServerRequest{Name: "b", Flavor: "m1.small", Image: "debian-12",
		Location: &canopyv1.Location{Cloud: "west"}, Networks: []string{"small"}})
	wantErr(t, err, codes.ResourceExhausted, "", "10.70.0.0/24", `"west"`)
	// The failed realization is retried by the next server, and runs out
	// again: nothing was carved twice.
	_, err = e.compute.CreateServer(ctx, &canopyv1.CreateServerRequest{Name: "b", Flavor: "m1.small", Image: "debian-12",
		Location: &canopyv1.Location{Cloud: "west"}, Networks: []string{"small"}})
	wantErr(t, err, codes.ResourceExhausted, "", "10.70.0.0/24")
	got, err := e.n.GetNetwork(ctx, &canopyv1.GetNetworkRequest{Id: "small"})
	if err != nil || len(got.Realizations) != 1 || got.Realizations[0].Cloud != "east" || got.Realizations[0].Cidr != "10.70.0.0/24" {
		t.Fatalf("small = %v %v", got, err)
	}
}

// A name in a request whose cloud is known is looked up in that cloud:
// every sim cloud has its own "public" and "default".
func TestNamesWithinTheCloud(t *testing.T) {
	e := newNetEnv(t, twoNetClouds)
	ctx := ctxT(t)
	var rt canopyv1.Router
	op, err := e.n.CreateRouter(ctx, &canopyv1.CreateRouterRequest{Name: "edge", Location: &canopyv1.Location{Cloud: "west"}, ExternalNetwork: "public"})
	if err := e.done(ctx, op, err, &rt); err != nil {
		t.Fatal(err)
	}
	pub, err := e.n.ListNetworks(ctx, &canopyv1.ListNetworksRequest{Name: "public", Location: &canopyv1.Location{Cloud: "west"}})
	if err != nil || len(pub.Networks) != 1 || rt.ExternalNetworkId != pub.Networks[0].Id {
		t.Fatalf("router's gateway on %q, west's public is %v (%v)", rt.ExternalNetworkId, pub, err)
	}
	var fip canopyv1.FloatingIP
	op, err = e.n.AllocateFloatingIP(ctx, &canopyv1.AllocateFloatingIPRequest{Location: &canopyv1.Location{Cloud: "east"}, Network: "public"})
	if err := e.done(ctx, op, err, &fip); err != nil {
		t.Fatal(err)
	}
	if fip.Location.GetCloud() != "east" {
		t.Errorf("floating IP in %q", fip.Location.GetCloud())
	}
	// An id of the other cloud's network is refused, naming both clouds.
	eastPub, err := e.n.ListNetworks(ctx, &canopyv1.ListNetworksRequest{Name: "public", Location: &canopyv1.Location{Cloud: "east"}})
	if err != nil || len(eastPub.Networks) != 1 {
		t.Fatal(eastPub, err)
	}
	_, err = e.n.CreateRouter(ctx, &canopyv1.CreateRouterRequest{Name: "edge2", Location: &canopyv1.Location{Cloud: "west"}, ExternalNetwork: eastPub.Networks[0].Id})
	wantErr(t, err, codes.InvalidArgument, "external_network", `"east"`, `"west"`)
	// Without a cloud, the name is ambiguous, and the error says so.
	_, err = e.n.GetNetwork(ctx, &canopyv1.GetNetworkRequest{Id: "public"})
	wantErr(t, err, codes.InvalidArgument, "id", "2 networks")
}

// A global group's rules change in its definition, and every realization
// follows at once.
func TestGlobalGroupRuleChanges(t *testing.T) {
	e := newNetEnv(t, twoNetClouds)
	ctx := ctxT(t)
	var g canopyv1.SecurityGroup
	op, err := e.n.CreateSecurityGroup(ctx, &canopyv1.CreateSecurityGroupRequest{Name: "web", Scope: canopyv1.Scope_SCOPE_GLOBAL,
		Rules: []*canopyv1.SecurityGroupRule{{Protocol: "tcp", PortMin: 22, RemoteCidr: "0.0.0.0/0"}}})
	if err := e.done(ctx, op, err, &g); err != nil {
		t.Fatal(err)
	}
	natives := map[string]string{}
	for _, cloud := range []string{"east", "west"} {
		sv, err := e.compute.CreateServer(ctx, &canopyv1.CreateServerRequest{Name: "s-" + cloud, Flavor: "m1.small", Image: "debian-12",
			Location: &canopyv1.Location{Cloud: cloud}, SecurityGroups: []string{"web"}, Wait: true})
		if err != nil {
			t.Fatal(err)
		}
		_ = sv
	}
	got, err := e.n.GetSecurityGroup(ctx, &canopyv1.GetSecurityGroupRequest{Id: "web"})
	if err != nil || len(got.Realizations) != 2 {
		t.Fatalf("web = %v %v", got, err)
	}
	for _, r := range got.Realizations {
		natives[r.Cloud] = r.NativeId
	}
	added, err := e.n.AddSecurityGroupRule(ctx, &canopyv1.AddSecurityGroupRuleRequest{Id: "web", Rule: &canopyv1.SecurityGroupRule{Protocol: "tcp", PortMin: 443, RemoteCidr: "0.0.0.0/0"}})
	if err != nil || len(added.Rules) != 2 {
		t.Fatalf("after adding 443: %v %v", added, err)
	}
	for cloud, native := range natives {
		if _, ok := hasRule(groupRules(t, e, cloud, native), 443, "0.0.0.0/0", ""); !ok {
			t.Errorf("%s's realization lacks the added rule", cloud)
		}
	}
	_, err = e.n.AddSecurityGroupRule(ctx, &canopyv1.AddSecurityGroupRuleRequest{Id: "web", Rule: &canopyv1.SecurityGroupRule{Protocol: "tcp", PortMin: 443, RemoteCidr: "0.0.0.0/0"}})
	wantErr(t, err, codes.AlreadyExists, "")
	_, err = e.n.AddSecurityGroupRule(ctx, &canopyv1.AddSecurityGroupRuleRequest{Id: "web", Rule: &canopyv1.SecurityGroupRule{Protocol: "tcp", PortMin: 1, RemoteGroup: "nope"}})
	wantErr(t, err, codes.InvalidArgument, "rule.remote_group", "nope")
	var ssh string
	for _, r := range added.Rules {
		if r.PortMin == 22 {
			ssh = r.Id
		}
	}
	if ssh == "" {
		t.Fatalf("rules have no ids: %v", added.Rules)
	}
	removed, err := e.n.RemoveSecurityGroupRule(ctx, &canopyv1.RemoveSecurityGroupRuleRequest{Id: g.Id, RuleId: ssh})
	if err != nil || len(removed.Rules) != 1 || removed.Rules[0].PortMin != 443 {
		t.Fatalf("after removing ssh: %v %v", removed, err)
	}
	for cloud, native := range natives {
		if _, ok := hasRule(groupRules(t, e, cloud, native), 22, "0.0.0.0/0", ""); ok {
			t.Errorf("%s's realization still has the removed rule", cloud)
		}
	}
	_, err = e.n.RemoveSecurityGroupRule(ctx, &canopyv1.RemoveSecurityGroupRuleRequest{Id: g.Id, RuleId: ssh})
	wantErr(t, err, codes.NotFound, "", ssh)
}
