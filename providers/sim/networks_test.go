package sim_test

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/providers/providertest"
	"github.com/canopy-cloud/canopy/providers/sim"
)

// A cloud without an external network: routers have no gateway, floating
// IPs are ErrUnsupported (the suite checks it); the rest is as usual.
func TestConformanceNoExternalNetwork(t *testing.T) {
	providertest.RunNetworkTests(t, harness{sim.Options{Seed: 4, NoExternalNetwork: true}})
}

// must(call)(t) is call's value, the test failing on its error.
func must[T any](v T, err error) func(*testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func wantIs(t *testing.T, what string, err, want error, mention ...string) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: err = %v, want %v", what, err, want)
		return
	}
	for _, m := range mention {
		if !strings.Contains(err.Error(), m) {
			t.Errorf("%s: err = %v, want it to name %q", what, err, m)
		}
	}
}

// What a new cloud has, as a fresh devstack.
func TestNetworkDefaults(t *testing.T) {
	ctx := context.Background()
	c := sim.New(sim.Options{Seed: 1})
	pub := must(c.GetNetwork(ctx, sim.PublicNetworkID))(t)
	if !pub.External || !pub.Shared || pub.Name != "public" || !slices.Equal(pub.SubnetIDs, []string{sim.PublicSubnetID}) {
		t.Errorf("public = %+v", pub)
	}
	priv := must(c.GetNetwork(ctx, sim.PrivateNetworkID))(t)
	if priv.External || !priv.Default || priv.Name != "private" {
		t.Errorf("private = %+v", priv)
	}
	sub := must(c.GetSubnet(ctx, sim.PublicSubnetID))(t)
	if sub.CIDR != "203.0.113.0/24" || sub.GatewayIP != "203.0.113.1" || !slices.Equal(sub.Pools, []providers.IPRange{{Start: "203.0.113.2", End: "203.0.113.254"}}) {
		t.Errorf("public subnet = %+v", sub)
	}
	r := must(c.GetRouter(ctx, sim.DefaultRouterID))(t)
	if r.ExternalNetworkID != sim.PublicNetworkID || len(r.ExternalIPs) != 1 || len(r.Interfaces) != 1 || r.Interfaces[0].SubnetID != sim.PrivateSubnetID || r.Interfaces[0].IP != "10.0.0.1" {
		t.Errorf("router1 = %+v", r)
	}
	g := must(c.GetSecurityGroup(ctx, sim.DefaultGroupID))(t)
	if len(g.Rules) != 4 {
		t.Errorf("default group rules = %+v, want egress and ingress-from-itself, IPv4 and IPv6", g.Rules)
	}
	wantIs(t, "DeleteSecurityGroup(default)", c.DeleteSecurityGroup(ctx, sim.DefaultGroupID), providers.ErrConflict)
	// A router's ports are not deleted by themselves.
	wantIs(t, "DeletePort(router interface)", c.DeletePort(ctx, r.Interfaces[0].PortID), providers.ErrConflict, "router")

	none := sim.New(sim.Options{NoExternalNetwork: true})
	if _, err := none.GetNetwork(ctx, sim.PublicNetworkID); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("no_external_network: public: %v", err)
	}
	_, err := none.AllocateFloatingIP(ctx, providers.FloatingIPSpec{})
	wantIs(t, "AllocateFloatingIP without an external network", err, providers.ErrUnsupported, "no external network")
	if o, err := sim.ParseOptions(map[string]any{"no_external_network": true}); err != nil || !o.NoExternalNetwork {
		t.Errorf("ParseOptions(no_external_network) = %+v, %v", o, err)
	}
}

// Servers attach to "private" by default, to the networks and ports they
// name, with the groups they name; a floating IP on their port shows in
// their addresses; their ports go (or are unbound) with them.
func TestServerNetworking(t *testing.T) {
	ctx := context.Background()
	c := sim.New(sim.Options{Seed: 2})
	plain := must(c.CreateServer(ctx, providers.ServerSpec{Name: "plain", FlavorID: "1", ImageID: "img-cirros"}))(t)
	if len(plain.Addresses) != 1 || plain.Addresses[0].Network != "private" || plain.Addresses[0].Type != "fixed" ||
		!netip.MustParsePrefix("10.0.0.0/16").Contains(netip.MustParseAddr(plain.Addresses[0].IP)) {
		t.Errorf("a server naming no network: addresses %+v, want one fixed on private", plain.Addresses)
	}

	g := must(c.CreateSecurityGroup(ctx, providers.SecurityGroupSpec{Name: "web"}))(t)
	p := must(c.CreatePort(ctx, providers.PortSpec{Name: "given", NetworkID: sim.PrivateNetworkID, FixedIP: "10.0.9.9"}))(t)
	spec := providers.ServerSpec{Name: "s", FlavorID: "1", ImageID: "img-cirros", Networks: []string{"private"}, Ports: []string{p.NativeID},
		SecurityGroupIDs: []string{g.NativeID}}
	s := must(c.CreateServer(ctx, spec))(t)
	if len(s.Addresses) != 2 || s.Addresses[1].IP != "10.0.9.9" {
		t.Fatalf("addresses %+v, want a new port's and 10.0.9.9", s.Addresses)
	}
	ports := must(c.ListPorts(ctx))(t)
	var made providers.Port
	for _, q := range ports {
		if q.DeviceID == s.NativeID && q.NativeID != p.NativeID {
			made = q
		}
	}
	if !slices.Equal(made.SecurityGroupIDs, []string{g.NativeID}) || made.DeviceOwner != "compute:sim-1a" {
		t.Errorf("the port the create made = %+v, want group %s, owner compute:sim-1a", made, g.NativeID)
	}
	if got := must(c.GetPort(ctx, p.NativeID))(t); got.DeviceID != s.NativeID {
		t.Errorf("given port: device %q, want the server %s", got.DeviceID, s.NativeID)
	}
	wantIs(t, "DeleteSecurityGroup used by a server's port", c.DeleteSecurityGroup(ctx, g.NativeID), providers.ErrConflict, made.NativeID)

	for what, bad := range map[string]providers.ServerSpec{
		"port in use":   {Ports: []string{p.NativeID}},
		"missing port":  {Ports: []string{"port-nope"}},
		"missing group": {SecurityGroupIDs: []string{"sg-nope"}},
		"missing net":   {Networks: []string{"nope"}},
	} {
		bad.Name, bad.FlavorID, bad.ImageID = "bad", "1", "img-cirros"
		_, err := c.CreateServer(ctx, bad)
		want := providers.ErrInvalid
		if what == "port in use" {
			want = providers.ErrConflict
		}
		wantIs(t, "CreateServer with a "+what, err, want, strings.Join(append(bad.Ports, append(bad.SecurityGroupIDs, bad.Networks...)...), ""))
	}

	f := must(c.AllocateFloatingIP(ctx, providers.FloatingIPSpec{}))(t)
	if err := c.AssociateFloatingIP(ctx, f.NativeID, "", s.NativeID); err != nil {
		t.Fatal(err)
	}
	got := must(c.GetServer(ctx, s.NativeID))(t)
	if n := len(got.Addresses); n != 3 || got.Addresses[1] != (providers.Address{Network: "private", IP: f.IP, Version: 4, Type: "floating"}) {
		t.Errorf("after associating %s: addresses %+v, want it floating after the first port's fixed one", f.IP, got.Addresses)
	}
	if fg := must(c.GetFloatingIP(ctx, f.NativeID))(t); fg.ServerID != s.NativeID || fg.PortID != made.NativeID {
		t.Errorf("floating IP = %+v, want server %s port %s", fg, s.NativeID, made.NativeID)
	}
	// The router that makes it reachable cannot lose what it needs.
	wantIs(t, "clearing router1's gateway under a floating IP", c.SetRouterGateway(ctx, sim.DefaultRouterID, ""), providers.ErrConflict, f.NativeID)
	wantIs(t, "removing router1's interface under a floating IP", c.RemoveRouterInterface(ctx, sim.DefaultRouterID, sim.PrivateSubnetID), providers.ErrConflict, f.NativeID)

	if err := c.DeleteServer(ctx, s.NativeID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetPort(ctx, made.NativeID); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("the port the server made, after its delete: %v, want ErrNotFound", err)
	}
	if got := must(c.GetPort(ctx, p.NativeID))(t); got.DeviceID != "" {
		t.Errorf("the given port after the server's delete: device %q, want unbound", got.DeviceID)
	}
	if fg := must(c.GetFloatingIP(ctx, f.NativeID))(t); fg.PortID != "" || fg.ServerID != "" {
		t.Errorf("floating IP after its port went: %+v, want free", fg)
	}
	if err := c.DeleteSecurityGroup(ctx, g.NativeID); err != nil {
		t.Errorf("DeleteSecurityGroup once its server is gone: %v", err)
	}
}

// A server still deleting holds its ports; once its delete has finished,
// they are gone, even when nothing reads the server in between.
func TestServerPortsGoWithDelayedDelete(t *testing.T) {
	ctx := context.Background()
	c := sim.New(sim.Options{Seed: 3, DeleteDelay: time.Hour}) // until FinishTransition
	n := must(c.CreateNetwork(ctx, providers.NetworkSpec{Name: "n"}))(t)
	must(c.CreateSubnet(ctx, providers.SubnetSpec{NetworkID: n.NativeID, CIDR: "192.168.0.0/24"}))(t)
	s := must(c.CreateServer(ctx, providers.ServerSpec{Name: "s", FlavorID: "1", ImageID: "img-cirros", Networks: []string{n.NativeID}}))(t)
	if err := c.DeleteServer(ctx, s.NativeID); err != nil {
		t.Fatal(err)
	}
	wantIs(t, "DeleteNetwork while its server is deleting", c.DeleteNetwork(ctx, n.NativeID), providers.ErrConflict, s.NativeID)
	if !c.FinishTransition(s.NativeID) {
		t.Fatal("the server's delete was not in flight")
	}
	if err := c.DeleteNetwork(ctx, n.NativeID); err != nil {
		t.Errorf("DeleteNetwork after the server's delete finished: %v", err)
	}
}

// Networking survives a restart of a persisted cloud, and a state file
// from before the cloud had networks gets a new cloud's.
func TestNetworksPersist(t *testing.T) {
	ctx := context.Background()
	path := t.TempDir() + "/sim.json"
	a := sim.New(sim.Options{Seed: 5, StatePath: path})
	n := must(a.CreateNetwork(ctx, providers.NetworkSpec{Name: "keep", IdempotencyToken: "tok"}))(t)
	s := must(a.CreateServer(ctx, providers.ServerSpec{Name: "s", FlavorID: "1", ImageID: "img-cirros"}))(t)
	f := must(a.AllocateFloatingIP(ctx, providers.FloatingIPSpec{}))(t)
	if err := a.AssociateFloatingIP(ctx, f.NativeID, "", s.NativeID); err != nil {
		t.Fatal(err)
	}
	b := sim.New(sim.Options{Seed: 5, StatePath: path})
	if got := must(b.GetNetwork(ctx, n.NativeID))(t); got.Name != "keep" || got.Properties[providers.PropToken] != "tok" {
		t.Errorf("network after restart = %+v", got)
	}
	if got := must(b.GetServer(ctx, s.NativeID))(t); len(got.Addresses) != 2 || got.Addresses[1].IP != f.IP {
		t.Errorf("server after restart: addresses %+v, want its fixed and floating %s", got.Addresses, f.IP)
	}
}

// Checks the suite leaves to each cloud: the sim's own CIDR, rule and
// association rules.
func TestNetworkErrors(t *testing.T) {
	ctx := context.Background()
	c := sim.New(sim.Options{Seed: 6})
	_, err := c.CreateNetwork(ctx, providers.NetworkSpec{Name: "x", CIDR: "10.1.2.3/16"})
	wantIs(t, "CreateNetwork with host bits set", err, providers.ErrInvalid, "10.1.0.0/16")
	n := must(c.CreateNetwork(ctx, providers.NetworkSpec{Name: "x"}))(t)
	for what, spec := range map[string]providers.SubnetSpec{
		"pool holding the gateway": {CIDR: "10.5.0.0/24", Pools: []providers.IPRange{{Start: "10.5.0.1", End: "10.5.0.9"}}},
		"overlapping pools":        {CIDR: "10.5.0.0/24", Pools: []providers.IPRange{{Start: "10.5.0.2", End: "10.5.0.9"}, {Start: "10.5.0.9", End: "10.5.0.20"}}},
		"pool outside":             {CIDR: "10.5.0.0/24", Pools: []providers.IPRange{{Start: "10.5.1.2", End: "10.5.1.9"}}},
		"bad DNS server":           {CIDR: "10.5.0.0/24", DNSServers: []string{"dns"}},
		"gateway and no gateway":   {CIDR: "10.5.0.0/24", GatewayIP: "10.5.0.1", NoGateway: true},
		"broadcast gateway":        {CIDR: "10.5.0.0/24", GatewayIP: "10.5.0.255"},
		"unknown zone":             {CIDR: "10.5.0.0/24", Zone: "nowhere"},
	} {
		spec.NetworkID = n.NativeID
		_, err := c.CreateSubnet(ctx, spec)
		wantIs(t, "CreateSubnet with a "+what, err, providers.ErrInvalid)
	}
	small := must(c.CreateSubnet(ctx, providers.SubnetSpec{NetworkID: n.NativeID, CIDR: "10.6.0.0/30"}))(t)
	must(c.CreatePort(ctx, providers.PortSpec{SubnetID: small.NativeID}))(t)
	_, err = c.CreatePort(ctx, providers.PortSpec{SubnetID: small.NativeID})
	wantIs(t, "CreatePort on a full subnet", err, providers.ErrConflict, "no free address")
	_, err = c.CreatePort(ctx, providers.PortSpec{SubnetID: small.NativeID, FixedIP: "10.6.0.1"})
	wantIs(t, "CreatePort on the gateway", err, providers.ErrConflict, "gateway")

	// A network named twice with room for one port: refused, nothing left.
	tiny := must(c.CreateNetwork(ctx, providers.NetworkSpec{Name: "tiny"}))(t)
	must(c.CreateSubnet(ctx, providers.SubnetSpec{NetworkID: tiny.NativeID, CIDR: "10.8.0.0/30"}))(t)
	before := len(must(c.ListPorts(ctx))(t))
	_, err = c.CreateServer(ctx, providers.ServerSpec{Name: "s", FlavorID: "1", ImageID: "img-cirros", Networks: []string{tiny.NativeID, "tiny"}})
	wantIs(t, "CreateServer on a network without room for its ports", err, providers.ErrConflict, tiny.NativeID)
	if after := len(must(c.ListPorts(ctx))(t)); after != before {
		t.Errorf("a refused server create left %d ports behind", after-before)
	}

	g := must(c.CreateSecurityGroup(ctx, providers.SecurityGroupSpec{Name: "g"}))(t)
	for what, r := range map[string]providers.SecurityRule{
		"icmpv6 over IPv4":       {Direction: providers.Ingress, Protocol: "icmpv6"},
		"a code without a type":  {Direction: providers.Ingress, Protocol: "icmp", PortMin: -1, PortMax: 0},
		"ports without protocol": {Direction: providers.Ingress, PortMin: 22, PortMax: 22},
		"an IPv6 CIDR for IPv4":  {Direction: providers.Ingress, EtherType: providers.IPv4, RemoteCIDR: "::/0"},
		"protocol 300":           {Direction: providers.Ingress, Protocol: "300"},
	} {
		_, err := c.AddSecurityRule(ctx, g.NativeID, r)
		wantIs(t, "AddSecurityRule with "+what, err, providers.ErrInvalid)
	}
	r := must(c.AddSecurityRule(ctx, g.NativeID, providers.SecurityRule{Direction: providers.Ingress, Protocol: "6", PortMin: 80, PortMax: 80, RemoteCIDR: "10.1.2.3/8"}))(t)
	if r.Protocol != "tcp" || r.EtherType != providers.IPv4 || r.RemoteCIDR != "10.0.0.0/8" {
		t.Errorf("rule normalized to %+v, want tcp, IPv4, 10.0.0.0/8", r)
	}

	// A port on a subnet no router joins to public cannot take a floating IP.
	must(c.CreateSubnet(ctx, providers.SubnetSpec{NetworkID: n.NativeID, CIDR: "10.7.0.0/24"}))(t)
	p := must(c.CreatePort(ctx, providers.PortSpec{NetworkID: n.NativeID}))(t)
	f := must(c.AllocateFloatingIP(ctx, providers.FloatingIPSpec{}))(t)
	wantIs(t, "AssociateFloatingIP to an unreachable port", c.AssociateFloatingIP(ctx, f.NativeID, p.NativeID, ""), providers.ErrConflict, "not reachable")
	wantIs(t, "DeleteNetwork(public) with a floating IP", c.DeleteNetwork(ctx, sim.PublicNetworkID), providers.ErrConflict)
}
