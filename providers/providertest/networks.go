package providertest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/canopy-cloud/canopy/providers"
)

// The Networks section: networks, subnets, ports (providers.Networks),
// routers, security groups and floating IPs, each part run when the adapter
// has the capability. What it holds every cloud to (Neutron, EC2, the sim):
//
//   - Every create takes a name (prefixed with Fixture.Prefix), labels and
//     an idempotency token; Get and List show the labels and the token
//     (Properties[providers.PropToken]). A create repeated with the same
//     token and Replay set returns the first one's NativeID, and the cloud
//     lists one resource, not two.
//   - Networks, routers and floating IPs are placed in Fixture.Zone (on a
//     cloud of several regions, such as AWS, they live in that zone's
//     region, where the subnets and servers are).
//   - Networks are made with NetworkSpec.CIDR 10.<random>.0.0/16 (clouds
//     whose networks have no range ignore it; those that have one report
//     it back). Subnets are /24s inside it, IPv4; a subnet's default
//     gateway is its first host address; its DHCP is on unless asked off.
//   - Bad input is ErrInvalid: a malformed CIDR, a gateway outside its
//     subnet, a subnet overlapping another of its network (Neutron answers
//     400 and EC2 InvalidSubnet.Conflict: both invalid input, so not
//     ErrConflict), a subnet outside its network's range (where networks
//     have one), a fixed IP outside its subnet, a malformed rule, an
//     AllocateFloatingIP from a network that is not external. A reference
//     to something missing (a subnet's network, a rule's remote group) is
//     ErrInvalid or ErrNotFound.
//   - Deleting what something still uses is ErrConflict: a network or a
//     subnet with a port, a subnet with a router interface, a router with
//     an interface, a security group a port uses or another group's rule
//     names; so is adding a router interface twice and associating a
//     floating IP that is associated elsewhere. A duplicate security rule is
//     ErrAlreadyExists. Get and Delete of what is not there are
//     ErrNotFound, and so is removing a router interface that is not
//     attached.
//   - A new security group holds the cloud's default rules (both clouds
//     allow all egress: a rule egress, IPv4, any protocol, to anywhere —
//     RemoteCIDR "" or 0.0.0.0/0) and no ingress rule. Rules read back
//     normalized as providers.SecurityRule says: protocol "" for any, tcp
//     and udp port ranges as given, ICMP type and code with -1 for any.
//   - A floating IP is allocated from Fixture.ExternalNetwork, associated
//     to a port on a subnet whose router has its gateway on that network,
//     and then shows the port and its fixed IP. Without an external network
//     (Fixture.ExternalNetwork empty) AllocateFloatingIP is ErrUnsupported.
//   - With Compute too: a server created on an existing port
//     (ServerSpec.Ports) makes it its own (the port's DeviceID) and shows
//     its address as "fixed"; a floating IP associated to the server shows
//     the server and the port, and the server shows it as "floating". A
//     port another server uses is ErrConflict (or ErrInvalid), a missing
//     security group ErrInvalid (or ErrNotFound).
//   - A part the cloud cannot do (Fixture.NetworkUnsupported, keys below)
//     is skipped with the fixture's reason, after checking that the adapter
//     refuses it (ErrUnsupported or ErrInvalid) rather than ignoring the
//     field: a subnet made without the DNS servers it was asked for would
//     be a silent lie.
//
// Everything the section creates is deleted at cleanup, in reverse order,
// so a real cloud is left as it was found. Reads after writes are polled
// (Fixture.WaitTimeout, Fixture.Poll) where a cloud is eventually
// consistent.

// Keys of Fixture.NetworkUnsupported: the parts of the Networks section a
// cloud may lack (EC2 lacks all four: DNS servers are a VPC's DHCP options,
// its subnets have no pools, their gateway is always the first host, and
// DHCP cannot be turned off).
const (
	UnsupportedNetDNSServers = "dns-servers" // SubnetSpec.DNSServers
	UnsupportedNetPools      = "pools"       // SubnetSpec.Pools
	UnsupportedNetGatewayIP  = "gateway-ip"  // SubnetSpec.GatewayIP and NoGateway
	UnsupportedNetNoDHCP     = "dhcp-off"    // SubnetSpec.DisableDHCP
)

// RunNetworkTests runs the Networks section alone (RunConformanceTests runs
// it with everything else): for adapter work on networking and for
// variants that differ only there, such as a cloud without an external
// network.
func RunNetworkTests(t *testing.T, h Harness) {
	ctx := context.Background()
	p := h.MakeProvider(ctx, t)
	t.Cleanup(func() { _ = p.Close() })
	fx := h.Fixture()
	fx.defaults()
	s := &suite{p: p, fx: fx}
	t.Run("Networks", s.testNetworks)
}

// netSuite tests one cloud's networking; the optional parts are nil when
// the adapter lacks them.
type netSuite struct {
	*suite
	n   providers.Networks
	r   providers.Routers
	sg  providers.SecurityGroups
	fip providers.FloatingIPs
}

func (s *suite) testNetworks(t *testing.T) {
	n, ok := s.p.(providers.Networks)
	if !ok || !providers.Has(s.p, providers.CapNetworks) {
		t.Skip("adapter has no Networks capability: network tests not run")
	}
	ns := &netSuite{suite: s, n: n}
	if providers.Has(s.p, providers.CapRouters) {
		ns.r, _ = s.p.(providers.Routers)
	}
	if providers.Has(s.p, providers.CapSecurityGroups) {
		ns.sg, _ = s.p.(providers.SecurityGroups)
	}
	if providers.Has(s.p, providers.CapFloatingIPs) {
		ns.fip, _ = s.p.(providers.FloatingIPs)
	}
	t.Run("Network", ns.testNetwork)
	t.Run("Subnet", ns.testSubnet)
	t.Run("SubnetOptions", ns.testSubnetOptions)
	t.Run("SubnetErrors", ns.testSubnetErrors)
	t.Run("Port", ns.testPort)                   // networks_ports.go
	t.Run("Router", ns.testRouter)               // networks_routers.go
	t.Run("SecurityGroup", ns.testSecurityGroup) // networks_groups.go
	t.Run("SecurityRules", ns.testSecurityRules) // networks_groups.go
	t.Run("FloatingIP", ns.testFloatingIP)       // networks_fips.go
	t.Run("ServerPorts", ns.testServerPorts)     // networks_servers.go
}

// ------------------------------------------------------------ helpers

// supports reports whether the cloud can do part (an UnsupportedNet* key).
func (ns *netSuite) supports(part string) bool {
	_, lacks := ns.fx.NetworkUnsupported[part]
	return !lacks
}

// refused is for a part the cloud lacks: create must refuse it
// (ErrUnsupported or ErrInvalid), and then the test is skipped with the
// fixture's reason. Something it made anyway is deleted with del.
func (ns *netSuite) refused(t *testing.T, part string, create func() (string, error), del func(context.Context, string) error) {
	t.Helper()
	why := ns.fx.NetworkUnsupported[part]
	id, err := create()
	switch {
	case err == nil:
		ns.cleanup(t, "leftover of "+part, id, del)
		t.Errorf("the cloud cannot do %s (fixture: %s), yet the create succeeded: the adapter must refuse it with ErrUnsupported, not drop the field", part, why)
	case errors.Is(err, providers.ErrUnsupported) || errors.Is(err, providers.ErrInvalid):
		t.Skipf("cloud does not support %s: %s (refused: %v)", part, why, err)
	default:
		t.Errorf("%s on a cloud without it: err = %v, want ErrUnsupported (or ErrInvalid)", part, err)
	}
}

// cleanup deletes id at the end of the test, retrying while the cloud
// says it is still in use (a port being detached, an eventually consistent
// API) until the fixture's timeout; a resource that cannot be deleted is
// an error, since the section must leave a real cloud as it found it.
func (ns *netSuite) cleanup(t *testing.T, what, id string, del func(context.Context, string) error) {
	t.Cleanup(func() {
		deadline := time.Now().Add(ns.fx.WaitTimeout)
		for {
			err := del(context.Background(), id)
			if err == nil || errors.Is(err, providers.ErrNotFound) {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("cleanup: %s %s left behind: %v", what, id, err)
				return
			}
			time.Sleep(ns.fx.Poll)
		}
	})
}

// eventually polls check until it returns nil, failing the test with its
// last error after the fixture's timeout.
func (ns *netSuite) eventually(t *testing.T, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(ns.fx.WaitTimeout)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still not so after %s: %v", what, ns.fx.WaitTimeout, err)
		}
		time.Sleep(ns.fx.Poll)
	}
}

// wantErr checks that err wraps one of the sentinels.
func wantErr(t *testing.T, what string, err error, want ...error) bool {
	t.Helper()
	for _, w := range want {
		if errors.Is(err, w) {
			return true
		}
	}
	t.Errorf("%s: err = %v, want %v", what, err, want)
	return false
}

// ident is what a create names a resource by and what Get and List must
// show again.
type ident struct {
	name, token string
	labels      map[string]string
}

func (ns *netSuite) ident(t *testing.T, what string) ident {
	name := ns.name(t, what)
	return ident{name: name, token: newToken(t), labels: map[string]string{"suite": "providertest", "run": name}}
}

// check compares what the cloud shows with what was asked: name (unless
// the kind has none), labels, and the idempotency token.
func (id ident) check(c providers.Common, named bool) error {
	if named && c.Name != id.name {
		return fmt.Errorf("name = %q, want %q", c.Name, id.name)
	}
	for k, v := range id.labels {
		if c.Labels[k] != v {
			return fmt.Errorf("labels = %v, want %v", c.Labels, id.labels)
		}
	}
	if got := c.Properties[providers.PropToken]; got != id.token {
		return fmt.Errorf("properties[%s] = %q, want the token %q", providers.PropToken, got, id.token)
	}
	return nil
}

// common returns a resource's Common (each kind embeds it).
type common interface {
	providers.Network | providers.Subnet | providers.Port | providers.Router | providers.SecurityGroup | providers.FloatingIP
}

func commonOf[T common](v T) providers.Common {
	switch x := any(v).(type) {
	case providers.Network:
		return x.Common
	case providers.Subnet:
		return x.Common
	case providers.Port:
		return x.Common
	case providers.Router:
		return x.Common
	case providers.SecurityGroup:
		return x.Common
	case providers.FloatingIP:
		return x.Common
	}
	panic("unreachable")
}

// shows checks, polling, that get shows the resource as id says and that
// list lists it exactly once.
func shows[T common](t *testing.T, ns *netSuite, kind, nativeID string, id ident, named bool,
	get func(context.Context, string) (T, error), list func(context.Context) ([]T, error)) T {
	t.Helper()
	ctx := context.Background()
	var got T
	ns.eventually(t, "Get"+kind+" "+nativeID, func() error {
		var err error
		if got, err = get(ctx, nativeID); err != nil {
			return err
		}
		return id.check(commonOf(got), named)
	})
	ns.eventually(t, "List"+kind+"s lists "+nativeID+" once", func() error {
		all, err := list(ctx)
		if err != nil {
			return err
		}
		return listedOnce(all, nativeID, id)
	})
	return got
}

// listedOnce: the list holds nativeID, and no other resource with id's
// run label (a second resource a replay made would carry it).
func listedOnce[T common](all []T, nativeID string, id ident) error {
	found := false
	for _, v := range all {
		c := commonOf(v)
		if c.NativeID == nativeID {
			found = true
			if err := id.check(c, false); err != nil {
				return fmt.Errorf("as listed: %v", err)
			}
		} else if c.Labels["run"] == id.labels["run"] {
			return fmt.Errorf("a second resource %s with the same labels is listed beside %s", c.NativeID, nativeID)
		}
	}
	if !found {
		return fmt.Errorf("%s not listed (%d listed)", nativeID, len(all))
	}
	return nil
}

// replay repeats a create with Replay set: it must return first's id, and
// the cloud must still list one resource.
func replay[T common](t *testing.T, ns *netSuite, kind, first string, id ident, again func() (T, error), list func(context.Context) ([]T, error),
	del func(context.Context, string) error) {
	t.Helper()
	v, err := again()
	if err != nil {
		t.Fatalf("Create%s replayed with the same token: %v", kind, err)
	}
	if got := commonOf(v).NativeID; got != first {
		ns.cleanup(t, "replayed "+kind, got, del)
		t.Errorf("Create%s replayed with the same token = %s, want the first one, %s", kind, got, first)
	}
	ns.eventually(t, "after a replay, List"+kind+"s lists "+first+" once", func() error {
		all, err := list(context.Background())
		if err != nil {
			return err
		}
		return listedOnce(all, first, id)
	})
}

// netCIDR returns a random 10.x.0.0/16 (x in 1..254); the section's
// subnets are /24s inside it.
func netCIDR() netip.Prefix {
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(1 + rand.IntN(254)), 0, 0}), 16)
}

// sub24 is the i-th /24 of a /16.
func sub24(p netip.Prefix, i int) netip.Prefix {
	a := p.Addr().As4()
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{a[0], a[1], byte(i), 0}), 24)
}

// host is the i-th address of a prefix (1: its first host).
func host(p netip.Prefix, i int) string {
	a := p.Masked().Addr().As4()
	n := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	n += uint32(i)
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}).String()
}

// newNetwork creates a network with a fresh 10.x.0.0/16, deleted at
// cleanup.
func (ns *netSuite) newNetwork(t *testing.T, what string) (providers.Network, netip.Prefix) {
	t.Helper()
	id, cidr := ns.ident(t, what), netCIDR()
	n, err := ns.n.CreateNetwork(context.Background(), providers.NetworkSpec{Name: id.name, CIDR: cidr.String(), Zone: ns.fx.Zone, Labels: id.labels,
		IdempotencyToken: id.token})
	if err != nil {
		t.Fatalf("CreateNetwork(%s, %s): %v", id.name, cidr, err)
	}
	ns.cleanup(t, "network", n.NativeID, ns.n.DeleteNetwork)
	return n, cidr
}

// subnetSpec is a subnet of network with a fresh name, labels and token.
func (ns *netSuite) subnetSpec(t *testing.T, network string, cidr netip.Prefix) (providers.SubnetSpec, ident) {
	id := ns.ident(t, "subnet")
	return providers.SubnetSpec{Name: id.name, NetworkID: network, CIDR: cidr.String(), Zone: ns.fx.Zone, Labels: id.labels, IdempotencyToken: id.token}, id
}

// newSubnet creates a subnet, deleted at cleanup.
func (ns *netSuite) newSubnet(t *testing.T, spec providers.SubnetSpec) providers.Subnet {
	t.Helper()
	sub, err := ns.n.CreateSubnet(context.Background(), spec)
	if err != nil {
		t.Fatalf("CreateSubnet(%s, %s): %v", spec.Name, spec.CIDR, err)
	}
	ns.cleanup(t, "subnet", sub.NativeID, ns.n.DeleteSubnet)
	return sub
}

// newPort creates a port on a subnet, deleted at cleanup.
func (ns *netSuite) newPort(t *testing.T, sub providers.Subnet, fixedIP string, groups ...string) providers.Port {
	t.Helper()
	id := ns.ident(t, "port")
	p, err := ns.n.CreatePort(context.Background(), providers.PortSpec{Name: id.name, NetworkID: sub.NetworkID, SubnetID: sub.NativeID,
		FixedIP: fixedIP, SecurityGroupIDs: groups, Labels: id.labels, IdempotencyToken: id.token})
	if err != nil {
		t.Fatalf("CreatePort(%s in %s, ip %q): %v", id.name, sub.NativeID, fixedIP, err)
	}
	ns.cleanup(t, "port", p.NativeID, ns.n.DeletePort)
	return p
}

// ------------------------------------------------------------ networks

func (ns *netSuite) testNetwork(t *testing.T) {
	ctx := context.Background()
	id, cidr := ns.ident(t, "net"), netCIDR()
	spec := providers.NetworkSpec{Name: id.name, CIDR: cidr.String(), Zone: ns.fx.Zone, Labels: id.labels, IdempotencyToken: id.token}
	n, err := ns.n.CreateNetwork(ctx, spec)
	if err != nil {
		t.Fatalf("CreateNetwork: %v", err)
	}
	ns.cleanup(t, "network", n.NativeID, ns.n.DeleteNetwork)
	if n.NativeID == "" || n.Name != id.name || n.External {
		t.Errorf("CreateNetwork = %+v: want an id, name %s, not external", n, id.name)
	}
	if n.CIDR != "" && n.CIDR != cidr.String() {
		t.Errorf("CreateNetwork: CIDR = %q, want %s (or none, where networks have no range)", n.CIDR, cidr)
	}
	got := shows(t, ns, "Network", n.NativeID, id, true, ns.n.GetNetwork, ns.n.ListNetworks)
	if got.CIDR != n.CIDR || got.External {
		t.Errorf("GetNetwork = %+v: want CIDR %q as created, not external", got, n.CIDR)
	}
	spec.Replay = true
	replay(t, ns, "Network", n.NativeID, id, func() (providers.Network, error) { return ns.n.CreateNetwork(ctx, spec) }, ns.n.ListNetworks, ns.n.DeleteNetwork)

	if ext := ns.fx.ExternalNetwork; ext != "" {
		e, err := ns.n.GetNetwork(ctx, ext)
		if err != nil || !e.External {
			t.Errorf("GetNetwork(external %s) = %+v, %v; want External", ext, e, err)
		}
	}

	if err := ns.n.DeleteNetwork(ctx, n.NativeID); err != nil {
		t.Fatalf("DeleteNetwork: %v", err)
	}
	ns.eventually(t, "GetNetwork after delete is ErrNotFound", func() error {
		if _, err := ns.n.GetNetwork(ctx, n.NativeID); !errors.Is(err, providers.ErrNotFound) {
			return fmt.Errorf("err = %v", err)
		}
		return nil
	})
	wantErr(t, "DeleteNetwork twice", ns.n.DeleteNetwork(ctx, n.NativeID), providers.ErrNotFound)
	_, err = ns.n.GetNetwork(ctx, missingID(n.NativeID))
	wantErr(t, "GetNetwork(missing)", err, providers.ErrNotFound)
}
