package server

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/canopy-cloud/canopy/auth"
	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/providers"
)

// The networking Watch streams over the simulator: the poller they share,
// changes made at the cloud behind canopy's back, the reconcile loop's
// repairs, filters, projects and errors.

// watchNext receives one event, failing the test on a stream error.
func watchNext[R any](t *testing.T, recv func() (R, error)) R {
	t.Helper()
	ev, err := recv()
	if err != nil {
		t.Fatalf("recv: %v", err)
	}
	return ev
}

// watchStart reads the first batch: every ADDED (and CLOUD_ERROR) up to
// SYNCED, by the names of the resources added.
func watchStart[R interface{ GetCloudError() *canopyv1.CloudError }](t *testing.T, recv func() (R, error), typ func(R) watchEvent, name func(R) string) []string {
	t.Helper()
	var names []string
	for {
		ev := watchNext(t, recv)
		switch typ(ev) {
		case eventSynced:
			return names
		case eventAdded:
			names = append(names, name(ev))
		default:
			t.Fatalf("event before SYNCED: %v", ev)
		}
	}
}

func sgType(ev *canopyv1.WatchSecurityGroupsResponse) watchEvent { return watchEvent(ev.Type) }
func sgName(ev *canopyv1.WatchSecurityGroupsResponse) string     { return ev.GetSecurityGroup().GetName() }

func ruleOn(g *canopyv1.SecurityGroup, port int32, cidr string) *canopyv1.SecurityGroupRule {
	for _, r := range g.GetRules() {
		if r.Direction == canopyv1.SecurityGroupRule_DIRECTION_INGRESS && r.Protocol == "tcp" && r.PortMin == port && r.RemoteCidr == cidr {
			return r
		}
	}
	return nil
}

func TestWatchSecurityGroups(t *testing.T) {
	e := newNetEnv(t, netCloud)
	ctx := ctxT(t)
	var web canopyv1.SecurityGroup
	op, err := e.n.CreateSecurityGroup(ctx, &canopyv1.CreateSecurityGroupRequest{Name: "web", Labels: map[string]string{"tier": "web"},
		Rules: []*canopyv1.SecurityGroupRule{{Protocol: "tcp", PortMin: 22, RemoteCidr: "0.0.0.0/0"}}})
	if err := e.done(ctx, op, err, &web); err != nil {
		t.Fatal(err)
	}

	// Everything the project has, then SYNCED.
	all, err := e.n.WatchSecurityGroups(ctx, &canopyv1.WatchSecurityGroupsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if names := watchStart(t, all.Recv, sgType, sgName); strings.Join(names, ",") != "default,web" {
		t.Fatalf("first batch = %v, want the sim's default group and web", names)
	}
	// The filters: by name, label, id and cloud; each sees web alone.
	for i, req := range []*canopyv1.WatchSecurityGroupsRequest{
		{Name: "web"},
		{Labels: map[string]string{"tier": "web"}},
		{Ids: []string{web.Id}, Location: &canopyv1.Location{Cloud: "sim"}},
	} {
		s, err := e.n.WatchSecurityGroups(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if names := watchStart(t, s.Recv, sgType, sgName); strings.Join(names, ",") != "web" {
			t.Errorf("filter %d (%v): first batch = %v, want [web]", i, req, names)
		}
	}
	stream, err := e.n.WatchSecurityGroups(ctx, &canopyv1.WatchSecurityGroupsRequest{Name: "web"})
	if err != nil {
		t.Fatal(err)
	}
	if names := watchStart(t, stream.Recv, sgType, sgName); len(names) != 1 {
		t.Fatalf("first batch = %v", names)
	}

	// A rule added at the cloud itself, behind canopy's back, is MODIFIED.
	if _, err := e.sim("sim").AddSecurityRule(ctx, web.NativeId, providers.SecurityRule{Direction: providers.Ingress, EtherType: providers.IPv4,
		Protocol: "tcp", PortMin: 8080, PortMax: 8080, RemoteCIDR: "10.0.0.0/8"}); err != nil {
		t.Fatal(err)
	}
	ev := watchNext(t, stream.Recv)
	if ev.Type != canopyv1.WatchSecurityGroupsResponse_EVENT_TYPE_MODIFIED || ev.SecurityGroup.Id != web.Id || ruleOn(ev.SecurityGroup, 8080, "10.0.0.0/8") == nil ||
		ruleOn(ev.SecurityGroup, 22, "0.0.0.0/0") == nil {
		t.Fatalf("after a rule added at the cloud: %v, want MODIFIED with rules 22 and 8080", ev)
	}
	// One removed through canopy too.
	if _, err := e.n.RemoveSecurityGroupRule(ctx, &canopyv1.RemoveSecurityGroupRuleRequest{Id: web.Id, RuleId: ruleOn(ev.SecurityGroup, 22, "0.0.0.0/0").Id}); err != nil {
		t.Fatal(err)
	}
	ev = watchNext(t, stream.Recv)
	if ev.Type != canopyv1.WatchSecurityGroupsResponse_EVENT_TYPE_MODIFIED || ruleOn(ev.SecurityGroup, 22, "0.0.0.0/0") != nil || ruleOn(ev.SecurityGroup, 8080, "10.0.0.0/8") == nil {
		t.Fatalf("after a rule removed: %v, want MODIFIED without rule 22", ev)
	}

	// The group goes: DELETED, with its last state.
	if op, err := e.n.DeleteSecurityGroup(ctx, &canopyv1.DeleteSecurityGroupRequest{Id: web.Id, Wait: true}); err != nil || op.GetError() != nil {
		t.Fatalf("delete: %v %v", op, err)
	}
	ev = watchNext(t, stream.Recv)
	if ev.Type != canopyv1.WatchSecurityGroupsResponse_EVENT_TYPE_DELETED || ev.SecurityGroup.Id != web.Id ||
		ev.SecurityGroup.Status != canopyv1.Status_STATUS_DELETED || ruleOn(ev.SecurityGroup, 8080, "10.0.0.0/8") == nil {
		t.Fatalf("after the delete: %v, want DELETED with the last state", ev)
	}
	// The unfiltered watch saw the same (a poll may have merged the two
	// changes), and nothing of the default group.
	for {
		ev := watchNext(t, all.Recv)
		if sgName(ev) != "web" || ev.Type != canopyv1.WatchSecurityGroupsResponse_EVENT_TYPE_MODIFIED && ev.Type != canopyv1.WatchSecurityGroupsResponse_EVENT_TYPE_DELETED {
			t.Fatalf("unfiltered watch: %v", ev)
		}
		if ev.Type == canopyv1.WatchSecurityGroupsResponse_EVENT_TYPE_DELETED {
			break
		}
	}

	// Another project's watch sees none of ours.
	other := e.netClient(t, mintToken(t, e.srv, "elsewhere", auth.ScopeRead))
	os, err := other.WatchSecurityGroups(ctx, &canopyv1.WatchSecurityGroupsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if names := watchStart(t, os.Recv, sgType, sgName); len(names) != 0 {
		t.Errorf("another project's watch starts with %v", names)
	}
	mine, err := e.n.CreateSecurityGroup(ctx, &canopyv1.CreateSecurityGroupRequest{Name: "later", Wait: true})
	if err != nil || mine.GetError() != nil {
		t.Fatalf("create: %v %v", mine, err)
	}
	// Ours appears to us; the other stream stays quiet meanwhile.
	if ev := watchNext(t, all.Recv); ev.Type != canopyv1.WatchSecurityGroupsResponse_EVENT_TYPE_ADDED || sgName(ev) != "later" {
		t.Errorf("after a create: %v", ev)
	}
	// A watch the other project opens now starts without ours, and stays
	// quiet for 300ms once it has started (measured from its SYNCED, so a
	// slow start on a loaded machine does not cut it short).
	quiet, cancel := context.WithCancel(ctx)
	defer cancel()
	os2, err := other.WatchSecurityGroups(quiet, &canopyv1.WatchSecurityGroupsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if names := watchStart(t, os2.Recv, sgType, sgName); len(names) != 0 {
		t.Errorf("another project's watch opened after our create starts with %v", names)
	}
	stop := time.AfterFunc(300*time.Millisecond, cancel)
	defer stop.Stop()
	if ev, err := os2.Recv(); err == nil {
		t.Errorf("another project's watch got %v", ev)
	}
}

func TestWatchNetworkErrors(t *testing.T) {
	e := newNetEnv(t, `
clouds:
  - name: sim
    kind: sim
  - name: bare
    kind: test-nocompute
`)
	ctx := ctxT(t)
	for _, tc := range []struct {
		name  string
		open  func() error
		code  codes.Code
		field string
		say   []string
	}{
		{"ids", func() error {
			return recvErr(e.n.WatchSecurityGroups(ctx, &canopyv1.WatchSecurityGroupsRequest{Ids: []string{"web"}}))
		}, codes.InvalidArgument, "ids", []string{"web"}},
		{"cloud", func() error {
			return recvErr(e.n.WatchNetworks(ctx, &canopyv1.WatchNetworksRequest{Location: &canopyv1.Location{Cloud: "nope"}}))
		}, codes.InvalidArgument, "location.cloud", []string{"nope"}},
		{"zone", func() error {
			return recvErr(e.n.WatchPorts(ctx, &canopyv1.WatchPortsRequest{Location: &canopyv1.Location{Zone: "nowhere"}}))
		}, codes.InvalidArgument, "location.zone", []string{"nowhere"}},
		{"labels", func() error {
			return recvErr(e.n.WatchFloatingIPs(ctx, &canopyv1.WatchFloatingIPsRequest{Labels: map[string]string{"BAD KEY": "x"}}))
		}, codes.InvalidArgument, "labels[BAD KEY]", nil},
		{"capability", func() error {
			return recvErr(e.n.WatchSecurityGroups(ctx, &canopyv1.WatchSecurityGroupsRequest{Location: &canopyv1.Location{Cloud: "bare"}}))
		}, codes.FailedPrecondition, "", []string{`"bare"`, providers.CapSecurityGroups}},
		{"capability fip", func() error {
			return recvErr(e.n.WatchFloatingIPs(ctx, &canopyv1.WatchFloatingIPsRequest{Location: &canopyv1.Location{Cloud: "bare"}}))
		}, codes.FailedPrecondition, "", []string{`"bare"`, providers.CapFloatingIPs}},
	} {
		t.Run(tc.name, func(t *testing.T) { wantErr(t, tc.open(), tc.code, tc.field, tc.say...) })
	}
	// A cloud without networking is skipped by a fan-out, with no error.
	if e.srv.cloudNamed("bare").Networks != nil || e.srv.cloudNamed("sim").Networks == nil {
		t.Fatal("pollers: want the sim's and none on the cloud without networks")
	}
	s, err := e.n.WatchNetworks(ctx, &canopyv1.WatchNetworksRequest{})
	if err != nil {
		t.Fatal(err)
	}
	names := watchStart(t, s.Recv, func(ev *canopyv1.WatchNetworksResponse) watchEvent { return watchEvent(ev.Type) },
		func(ev *canopyv1.WatchNetworksResponse) string {
			return ev.GetNetwork().GetLocation().GetCloud() + "/" + ev.GetNetwork().GetName()
		})
	if len(names) == 0 {
		t.Fatal("no networks")
	}
	for _, n := range names {
		if !strings.HasPrefix(n, "sim/") {
			t.Errorf("network %s", n)
		}
	}
}

// recvErr is the error a stream starts with (a server stream's handler
// errors reach the client at its first Recv).
func recvErr[R any](s interface{ Recv() (R, error) }, err error) error {
	if err != nil {
		return err
	}
	_, err = s.Recv()
	return err
}

func TestWatchNetworksAndFloatingIPs(t *testing.T) {
	e := newNetEnv(t, netCloud)
	ctx := ctxT(t)
	nets, err := e.n.WatchNetworks(ctx, &canopyv1.WatchNetworksRequest{})
	if err != nil {
		t.Fatal(err)
	}
	netType := func(ev *canopyv1.WatchNetworksResponse) watchEvent { return watchEvent(ev.Type) }
	netName := func(ev *canopyv1.WatchNetworksResponse) string { return ev.GetNetwork().GetName() }
	first := watchStart(t, nets.Recv, netType, netName)
	if !strings.Contains(","+strings.Join(first, ",")+",", ",public,") {
		t.Fatalf("first batch %v lacks the external network", first)
	}
	var app canopyv1.Network
	op, err := e.n.CreateNetwork(ctx, &canopyv1.CreateNetworkRequest{Name: "app", Cidr: "10.20.0.0/16"})
	if err := e.done(ctx, op, err, &app); err != nil {
		t.Fatal(err)
	}
	ev := watchNext(t, nets.Recv)
	// The range canopy keeps for it is filled in, as List does.
	if ev.Type != canopyv1.WatchNetworksResponse_EVENT_TYPE_ADDED || ev.Network.Id != app.Id || ev.Network.Cidr != "10.20.0.0/16" {
		t.Fatalf("after a create: %v", ev)
	}
	// A subnet changes the network's subnet_ids.
	if op, err := e.n.CreateSubnet(ctx, &canopyv1.CreateSubnetRequest{Name: "front", Network: "app", Cidr: "10.20.1.0/24", Wait: true}); err != nil || op.GetError() != nil {
		t.Fatalf("subnet: %v %v", op, err)
	}
	if ev := watchNext(t, nets.Recv); ev.Type != canopyv1.WatchNetworksResponse_EVENT_TYPE_MODIFIED || len(ev.Network.SubnetIds) != 1 {
		t.Fatalf("after a subnet: %v", ev)
	}
	// Another project sees the external network, not ours.
	other := e.netClient(t, mintToken(t, e.srv, "elsewhere", auth.ScopeRead))
	os, err := other.WatchNetworks(ctx, &canopyv1.WatchNetworksRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if names := watchStart(t, os.Recv, netType, netName); strings.Join(names, ",") != "public" {
		t.Errorf("another project's watch starts with %v, want [public]", names)
	}

	// Floating IPs: allocated, associated with a server, released.
	fips, err := e.n.WatchFloatingIPs(ctx, &canopyv1.WatchFloatingIPsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	fipType := func(ev *canopyv1.WatchFloatingIPsResponse) watchEvent { return watchEvent(ev.Type) }
	if names := watchStart(t, fips.Recv, fipType, func(ev *canopyv1.WatchFloatingIPsResponse) string { return ev.GetFloatingIp().GetName() }); len(names) != 0 {
		t.Fatalf("floating IPs before any: %v", names)
	}
	var fip canopyv1.FloatingIP
	op, err = e.n.AllocateFloatingIP(ctx, &canopyv1.AllocateFloatingIPRequest{Labels: map[string]string{"role": "edge"}})
	if err := e.done(ctx, op, err, &fip); err != nil {
		t.Fatal(err)
	}
	if ev := watchNext(t, fips.Recv); ev.Type != canopyv1.WatchFloatingIPsResponse_EVENT_TYPE_ADDED || ev.FloatingIp.Id != fip.Id || ev.FloatingIp.Name != fip.Ip {
		t.Fatalf("after an allocation: %v", ev)
	}
	byAddr, err := e.n.WatchFloatingIPs(ctx, &canopyv1.WatchFloatingIPsRequest{Name: fip.Ip, Labels: map[string]string{"role": "edge"}})
	if err != nil {
		t.Fatal(err)
	}
	if names := watchStart(t, byAddr.Recv, fipType, func(ev *canopyv1.WatchFloatingIPsResponse) string { return ev.GetFloatingIp().GetId() }); strings.Join(names, ",") != fip.Id {
		t.Errorf("watch by address and label: %v", names)
	}
	sv, err := e.compute.CreateServer(ctx, &canopyv1.CreateServerRequest{Name: "vm", Flavor: "m1.tiny", Image: "cirros-0.6.2", Wait: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.n.AssociateFloatingIP(ctx, &canopyv1.AssociateFloatingIPRequest{Id: fip.Id, Server: sv.Id}); err != nil {
		t.Fatal(err)
	}
	if ev := watchNext(t, fips.Recv); ev.Type != canopyv1.WatchFloatingIPsResponse_EVENT_TYPE_MODIFIED || ev.FloatingIp.ServerId != sv.Id || ev.FloatingIp.FixedIp == "" {
		t.Fatalf("after the association: %v", ev)
	}
	if op, err := e.n.ReleaseFloatingIP(ctx, &canopyv1.ReleaseFloatingIPRequest{Id: fip.Id, Wait: true}); err != nil || op.GetError() != nil {
		t.Fatalf("release: %v %v", op, err)
	}
	if ev := watchNext(t, fips.Recv); ev.Type != canopyv1.WatchFloatingIPsResponse_EVENT_TYPE_DELETED || ev.FloatingIp.Id != fip.Id || ev.FloatingIp.Status != canopyv1.Status_STATUS_DELETED {
		t.Fatalf("after the release: %v", ev)
	}

	// Ports: the server's port is there; a new one appears.
	ports, err := e.n.WatchPorts(ctx, &canopyv1.WatchPortsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	portType := func(ev *canopyv1.WatchPortsResponse) watchEvent { return watchEvent(ev.Type) }
	var serverPort bool
	for {
		ev := watchNext(t, ports.Recv)
		if portType(ev) == eventSynced {
			break
		}
		serverPort = serverPort || ev.Port.ServerId == sv.Id
	}
	if !serverPort {
		t.Error("the server's port is not in the first batch")
	}
	var vip canopyv1.Port
	op, err = e.n.CreatePort(ctx, &canopyv1.CreatePortRequest{Name: "vip", Network: "app", Subnet: "front", FixedIp: "10.20.1.10"})
	if err := e.done(ctx, op, err, &vip); err != nil {
		t.Fatal(err)
	}
	if ev := watchNext(t, ports.Recv); ev.Type != canopyv1.WatchPortsResponse_EVENT_TYPE_ADDED || ev.Port.Id != vip.Id {
		t.Fatalf("after a port create: %v", ev)
	}
}

// N watchers of a kind cost the cloud one list per poll interval, not one
// per watcher.
func TestNetworkWatchersShareThePoller(t *testing.T) {
	e := newNetEnv(t, netCloud)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const n = 10
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		stream, err := e.n.WatchSecurityGroups(ctx, &canopyv1.WatchSecurityGroupsRequest{})
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				if _, err := stream.Recv(); err != nil {
					return
				}
			}
		}()
	}
	p := e.srv.cloudNamed("sim").SecurityGroups
	eventually(t, "every watcher subscribed", func() bool { return p.Subscribers() == n })
	start := p.Polls()
	eventually(t, "five polls with every watcher subscribed", func() bool { return p.Polls() >= start+5 })
	lists, polls := e.sim("sim").Calls("ListSecurityGroups"), p.Polls()
	// One list per poll, plus at most the first list (the cache coalesces
	// the watchers' first batches); never one per watcher per interval.
	if lists > polls+1 {
		t.Errorf("%d watchers over %d polls made %d ListSecurityGroups calls", n, polls, lists)
	}
	resp, err := http.Get(e.rest + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`canopy_watchers{cloud="sim",kind="security_groups"} 10`,
		`canopy_upstream_calls_total{cloud="sim",kind="security_groups",method="ListSecurityGroups"}`,
		`canopy_polls_total{cloud="sim",kind="networks"}`,
		`canopy_poll_interval_seconds{cloud="sim",kind="floating_ips"}`,
		`canopy_waiters{cloud="sim",kind="ports"}`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s:\n%s", want, grepLines(string(body), `cloud="sim"`))
		}
	}
	cancel()
	wg.Wait()
	eventually(t, "the watchers are gone", func() bool { return p.Subscribers() == 0 })
}

func TestWatchSecurityGroupsOverREST(t *testing.T) {
	e := newNetEnv(t, netCloud)
	ctx, cancel := context.WithTimeout(context.Background(), testDeadline)
	defer cancel()
	resp, err := e.get(ctx, "/v1/securityGroups:watch?name=default")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	var got []string
	for len(got) < 2 && sc.Scan() {
		var line struct {
			Result struct {
				Type          string `json:"type"`
				SecurityGroup struct {
					Name string `json:"name"`
				} `json:"security_group"`
			} `json:"result"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("not a JSON line: %q", sc.Text())
		}
		got = append(got, strings.TrimSpace(line.Result.Type+" "+line.Result.SecurityGroup.Name))
	}
	if strings.Join(got, ",") != "EVENT_TYPE_ADDED default,EVENT_TYPE_SYNCED" {
		t.Errorf("REST watch sent %v", got)
	}
	for _, path := range []string{"/v1/networks:watch", "/v1/floatingIps:watch", "/v1/ports:watch"} {
		r, err := e.get(ctx, path+"?ids=x")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(r.Body)
		r.Body.Close()
		if !strings.Contains(string(body), `"code":3`) || !strings.Contains(string(body), "ids") {
			t.Errorf("GET %s?ids=x: %d %s, want INVALID_ARGUMENT naming ids", path, r.StatusCode, body)
		}
	}
}

// A realization of a global group changed at the cloud is put back by the
// reconcile loop, and the repair shows on the watch as MODIFIED: the rule
// is back, with a new id.
func TestWatchShowsDriftRepair(t *testing.T) {
	e := newNetEnv(t, twoNetClouds)
	ctx := ctxT(t)
	var app canopyv1.SecurityGroup
	op, err := e.n.CreateSecurityGroup(ctx, &canopyv1.CreateSecurityGroupRequest{Name: "app", Scope: canopyv1.Scope_SCOPE_GLOBAL,
		Rules: []*canopyv1.SecurityGroupRule{{Protocol: "tcp", PortMin: 22, RemoteCidr: "0.0.0.0/0"}}})
	if err := e.done(ctx, op, err, &app); err != nil {
		t.Fatal(err)
	}
	if _, err := e.compute.CreateServer(ctx, &canopyv1.CreateServerRequest{Name: "s", Flavor: "m1.small", Image: "debian-12",
		Location: &canopyv1.Location{Cloud: "east"}, SecurityGroups: []string{"app"}, Wait: true}); err != nil {
		t.Fatal(err)
	}
	g, err := e.n.GetSecurityGroup(ctx, &canopyv1.GetSecurityGroupRequest{Id: "app"})
	if err != nil || len(g.Realizations) != 1 || g.Realizations[0].Cloud != "east" {
		t.Fatalf("app = %v %v", g, err)
	}
	real := g.Realizations[0]

	// The watch sees the realization, not the definition.
	stream, err := e.n.WatchSecurityGroups(ctx, &canopyv1.WatchSecurityGroupsRequest{Name: "app"})
	if err != nil {
		t.Fatal(err)
	}
	ev := watchNext(t, stream.Recv)
	if ev.Type != canopyv1.WatchSecurityGroupsResponse_EVENT_TYPE_ADDED || ev.SecurityGroup.Id != real.Id || ev.SecurityGroup.Location.GetCloud() != "east" {
		t.Fatalf("first event = %v, want the realization %s in east", ev, real.Id)
	}
	before := ruleOn(ev.SecurityGroup, 22, "0.0.0.0/0")
	if before == nil {
		t.Fatalf("the realization lacks the rule: %v", ev.SecurityGroup.Rules)
	}
	if ev := watchNext(t, stream.Recv); ev.Type != canopyv1.WatchSecurityGroupsResponse_EVENT_TYPE_SYNCED {
		t.Fatalf("then %v, want SYNCED", ev)
	}

	// The rule is deleted at the cloud; the watch shows the repair (maybe
	// after the drift itself, if a poll fell between the two).
	if err := e.sim("east").DeleteSecurityRule(ctx, real.NativeId, before.Id); err != nil {
		t.Fatal(err)
	}
	for {
		ev := watchNext(t, stream.Recv)
		if ev.Type != canopyv1.WatchSecurityGroupsResponse_EVENT_TYPE_MODIFIED || ev.SecurityGroup.Id != real.Id {
			t.Fatalf("after the drift: %v, want MODIFIED of %s", ev, real.Id)
		}
		if r := ruleOn(ev.SecurityGroup, 22, "0.0.0.0/0"); r != nil {
			if r.Id == before.Id {
				t.Fatalf("the rule is back with its old id %s: not a repair", r.Id)
			}
			break
		}
	}
	resp, err := http.Get(e.rest + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `canopy_network_drift_total{cloud="east",what="security_group_rule"}`) {
		t.Errorf("the repair is not counted:\n%s", grepLines(string(body), "drift"))
	}
}
