//go:build aws

package aws_test

// The EC2 side of the networking mapping against moto, checked with the SDK
// behind the adapter's back: routers as internet gateways with a route
// table, rules as EC2 stores them, the rules EC2 enforces that moto does
// not (the adapter checks them), and servers with ports and security
// groups.

import (
	"context"
	"errors"
	"slices"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/canopy-cloud/canopy/providers"
	awsp "github.com/canopy-cloud/canopy/providers/aws"
)

// netFixture is a VPC with one subnet, made through the adapter.
func netFixture(t *testing.T, c *awsp.Cloud, cidr, subnet, zone string) (providers.Network, providers.Subnet) {
	t.Helper()
	ctx := context.Background()
	n, err := c.CreateNetwork(ctx, providers.NetworkSpec{Name: "net-" + cidr, CIDR: cidr, Zone: zone, IdempotencyToken: "tok-net-" + cidr})
	if err != nil {
		t.Fatalf("CreateNetwork(%s): %v", cidr, err)
	}
	s, err := c.CreateSubnet(ctx, providers.SubnetSpec{Name: "sub-" + subnet, NetworkID: n.NativeID, CIDR: subnet, Zone: zone, IdempotencyToken: "tok-sub-" + subnet})
	if err != nil {
		t.Fatalf("CreateSubnet(%s): %v", subnet, err)
	}
	return n, s
}

// TestMotoRouterMapping: a router is an internet gateway; its first
// interface attaches it to the subnet's VPC and makes a route table there
// with the default route through it (while it has its gateway); the last
// one removed undoes both. A VPC takes one router, a router one VPC.
func TestMotoRouterMapping(t *testing.T) {
	resetMoto(t)
	ctx := context.Background()
	const region = "us-east-1"
	c := openMoto(t, []string{region}, nil)
	sdk := ec2Client(t, region)
	n, sub := netFixture(t, c, "10.40.0.0/16", "10.40.1.0/24", "")
	sub2, err := c.CreateSubnet(ctx, providers.SubnetSpec{NetworkID: n.NativeID, CIDR: "10.40.2.0/24", IdempotencyToken: "tok-sub2"})
	if err != nil {
		t.Fatal(err)
	}

	nets, err := c.ListNetworks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if i := slices.IndexFunc(nets, func(n providers.Network) bool { return n.NativeID == "amazon" }); i < 0 || !nets[i].External || nets[i].Name != "internet" {
		t.Errorf("ListNetworks = %+v: want the external network amazon (internet)", nets)
	}
	if err := c.DeleteNetwork(ctx, "amazon"); !errors.Is(err, providers.ErrPermission) {
		t.Errorf("DeleteNetwork(amazon): %v, want ErrPermission", err)
	}

	r, err := c.CreateRouter(ctx, providers.RouterSpec{Name: "edge", ExternalNetworkID: "amazon"})
	if err != nil {
		t.Fatal(err)
	}
	ri, err := c.AddRouterInterface(ctx, r.NativeID, sub.NativeID)
	if err != nil {
		t.Fatal(err)
	}
	if ri.IP != "10.40.1.1" {
		t.Errorf("interface address %q, want the VPC router's, 10.40.1.1", ri.IP)
	}
	if _, err := c.AddRouterInterface(ctx, r.NativeID, sub2.NativeID); err != nil {
		t.Fatal(err)
	}
	table := func() (types.RouteTable, bool) {
		out, err := sdk.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{Filters: []types.Filter{{Name: awssdk.String("tag:canopy:router"), Values: []string{r.NativeID}}}})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.RouteTables) == 0 {
			return types.RouteTable{}, false
		}
		return out.RouteTables[0], true
	}
	defaultRoute := func(rt types.RouteTable) bool {
		return slices.ContainsFunc(rt.Routes, func(x types.Route) bool {
			return awssdk.ToString(x.DestinationCidrBlock) == "0.0.0.0/0" && awssdk.ToString(x.GatewayId) == r.NativeID
		})
	}
	rt, ok := table()
	if !ok || awssdk.ToString(rt.VpcId) != n.NativeID || len(rt.Associations) != 2 || !defaultRoute(rt) {
		t.Fatalf("route table = %+v: want one in %s with both subnets and 0.0.0.0/0 through %s", rt, n.NativeID, r.NativeID)
	}
	igw, err := sdk.DescribeInternetGateways(ctx, &ec2.DescribeInternetGatewaysInput{InternetGatewayIds: []string{r.NativeID}})
	if err != nil || len(igw.InternetGateways[0].Attachments) != 1 || awssdk.ToString(igw.InternetGateways[0].Attachments[0].VpcId) != n.NativeID {
		t.Fatalf("internet gateway = %+v, %v; want it attached to %s", igw, err, n.NativeID)
	}

	if err := c.SetRouterGateway(ctx, r.NativeID, ""); err != nil {
		t.Fatal(err)
	}
	if rt, _ := table(); defaultRoute(rt) {
		t.Errorf("gateway cleared, yet the default route is there: %+v", rt.Routes)
	}
	if got, _ := c.GetRouter(ctx, r.NativeID); got.ExternalNetworkID != "" || len(got.Interfaces) != 2 {
		t.Errorf("GetRouter = %+v: want no gateway, two interfaces", got)
	}
	if err := c.SetRouterGateway(ctx, r.NativeID, "amazon"); err != nil {
		t.Fatal(err)
	}
	if rt, _ := table(); !defaultRoute(rt) {
		t.Errorf("gateway set again, yet no default route: %+v", rt.Routes)
	}

	// One internet gateway per VPC, one VPC per internet gateway: moto
	// takes both, EC2 does not, nor does the adapter.
	other, err := c.CreateRouter(ctx, providers.RouterSpec{Name: "second"})
	if err != nil {
		t.Fatal(err)
	}
	sub3, err := c.CreateSubnet(ctx, providers.SubnetSpec{NetworkID: n.NativeID, CIDR: "10.40.3.0/24"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.AddRouterInterface(ctx, other.NativeID, sub3.NativeID); !errors.Is(err, providers.ErrConflict) {
		t.Errorf("a second router in a VPC: %v, want ErrConflict", err)
	}
	_, elsewhere := netFixture(t, c, "10.41.0.0/16", "10.41.1.0/24", "")
	if _, err := c.AddRouterInterface(ctx, r.NativeID, elsewhere.NativeID); !errors.Is(err, providers.ErrConflict) {
		t.Errorf("a router's interface in a second VPC: %v, want ErrConflict", err)
	}
	// A subnet another route table holds: moto would move it quietly.
	foreign, err := sdk.CreateRouteTable(ctx, &ec2.CreateRouteTableInput{VpcId: awssdk.String(n.NativeID)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sdk.AssociateRouteTable(ctx, &ec2.AssociateRouteTableInput{RouteTableId: foreign.RouteTable.RouteTableId, SubnetId: awssdk.String(sub3.NativeID)}); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteRouter(ctx, other.NativeID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.AddRouterInterface(ctx, r.NativeID, sub3.NativeID); !errors.Is(err, providers.ErrConflict) {
		t.Errorf("a subnet of another route table: %v, want ErrConflict", err)
	}

	for _, s := range []string{sub.NativeID, sub2.NativeID} {
		if err := c.RemoveRouterInterface(ctx, r.NativeID, s); err != nil {
			t.Fatal(err)
		}
	}
	if rt, ok := table(); ok {
		t.Errorf("the last interface removed, the route table stays: %+v", rt)
	}
	igw, err = sdk.DescribeInternetGateways(ctx, &ec2.DescribeInternetGatewaysInput{InternetGatewayIds: []string{r.NativeID}})
	if err != nil || len(igw.InternetGateways[0].Attachments) != 0 {
		t.Errorf("the last interface removed, the gateway is still attached: %+v, %v", igw, err)
	}
	if err := c.DeleteRouter(ctx, r.NativeID); err != nil {
		t.Fatal(err)
	}
}

// TestMotoRuleTranslation: rules are stored as EC2 spells them and read
// back in the contract's form.
func TestMotoRuleTranslation(t *testing.T) {
	resetMoto(t)
	ctx := context.Background()
	const region = "us-east-1"
	c := openMoto(t, []string{region}, nil)
	sdk := ec2Client(t, region)
	n, _ := netFixture(t, c, "10.50.0.0/16", "10.50.1.0/24", "")
	g, err := c.CreateSecurityGroup(ctx, providers.SecurityGroupSpec{Name: "t", NetworkID: n.NativeID})
	if err != nil {
		t.Fatal(err)
	}
	if g.Description != "t" {
		t.Errorf("a group without description: %q, want its name (EC2 requires one)", g.Description)
	}
	for _, tc := range []struct {
		in       providers.SecurityRule
		proto    string // EC2's IpProtocol
		from, to int32
		cidr     string
		out      providers.SecurityRule // as read back (NativeID aside)
	}{
		{in: providers.SecurityRule{Direction: "ingress", Protocol: "6", PortMin: 80, PortMax: 80, RemoteCIDR: "10.0.0.0/8"}, proto: "tcp", from: 80, to: 80, cidr: "10.0.0.0/8",
			out: providers.SecurityRule{Direction: "ingress", EtherType: "IPv4", Protocol: "tcp", PortMin: 80, PortMax: 80, RemoteCIDR: "10.0.0.0/8"}},
		{in: providers.SecurityRule{Direction: "ingress", Protocol: "udp", RemoteCIDR: "10.0.0.0/8"}, proto: "udp", from: 0, to: 65535, cidr: "10.0.0.0/8",
			out: providers.SecurityRule{Direction: "ingress", EtherType: "IPv4", Protocol: "udp", RemoteCIDR: "10.0.0.0/8"}},
		{in: providers.SecurityRule{Direction: "ingress", EtherType: "IPv6", Protocol: "icmpv6", PortMin: -1, PortMax: -1}, proto: "58", from: -1, to: -1, cidr: "::/0",
			out: providers.SecurityRule{Direction: "ingress", EtherType: "IPv6", Protocol: "icmpv6", PortMin: -1, PortMax: -1, RemoteCIDR: "::/0"}},
		{in: providers.SecurityRule{Direction: "egress", Protocol: "", RemoteCIDR: "192.0.2.0/24", Description: "any"}, proto: "-1", from: -1, to: -1, cidr: "192.0.2.0/24",
			out: providers.SecurityRule{Direction: "egress", EtherType: "IPv4", RemoteCIDR: "192.0.2.0/24", Description: "any"}},
	} {
		got, err := c.AddSecurityRule(ctx, g.NativeID, tc.in)
		if err != nil {
			t.Fatalf("AddSecurityRule(%+v): %v", tc.in, err)
		}
		want := tc.out
		want.NativeID = got.NativeID
		if got != want {
			t.Errorf("AddSecurityRule(%+v) = %+v, want %+v", tc.in, got, want)
		}
		out, err := sdk.DescribeSecurityGroupRules(ctx, &ec2.DescribeSecurityGroupRulesInput{SecurityGroupRuleIds: []string{got.NativeID}})
		if err != nil || len(out.SecurityGroupRules) != 1 {
			t.Fatalf("describe rule %s: %+v, %v", got.NativeID, out, err)
		}
		r := out.SecurityGroupRules[0]
		cidr := awssdk.ToString(r.CidrIpv4) + awssdk.ToString(r.CidrIpv6)
		if awssdk.ToString(r.IpProtocol) != tc.proto || awssdk.ToInt32(r.FromPort) != tc.from || awssdk.ToInt32(r.ToPort) != tc.to || cidr != tc.cidr {
			t.Errorf("EC2 holds %+v for %+v: want protocol %s ports %d-%d cidr %s", r, tc.in, tc.proto, tc.from, tc.to, tc.cidr)
		}
	}
	for _, bad := range []providers.SecurityRule{
		{Direction: "ingress", Protocol: "gre"},
		{Direction: "ingress", Protocol: "47", PortMin: 1, PortMax: 2},
		{Direction: "ingress", Protocol: "tcp", PortMin: 0, PortMax: 80},
		{Direction: "ingress", Protocol: "icmp", PortMin: -1, PortMax: 3},
		{Direction: "ingress", EtherType: "IPv6", Protocol: "tcp", RemoteCIDR: "10.0.0.0/8"},
	} {
		if _, err := c.AddSecurityRule(ctx, g.NativeID, bad); !errors.Is(err, providers.ErrInvalid) {
			t.Errorf("AddSecurityRule(%+v): %v, want ErrInvalid", bad, err)
		}
	}
	if err := c.DeleteSecurityRule(ctx, g.NativeID, "sgr-0000000000000000"); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("DeleteSecurityRule(missing): %v, want ErrNotFound", err)
	}
	// A rule of another group is not this group's.
	other, err := c.CreateSecurityGroup(ctx, providers.SecurityGroupSpec{Name: "other", NetworkID: n.NativeID})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteSecurityRule(ctx, g.NativeID, other.Rules[0].NativeID); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("DeleteSecurityRule(another group's rule): %v, want ErrNotFound", err)
	}
}

// TestMotoServerPortsAndFloatingIP: a server launched into a VPC (by its
// id) with a security group and an existing port has both interfaces; what
// it uses cannot be deleted (EC2's rules, which moto does not keep); an
// Elastic IP needs the VPC's internet gateway, maps to the server, shows
// in its addresses, and is released even while associated.
func TestMotoServerPortsAndFloatingIP(t *testing.T) {
	resetMoto(t)
	ctx := context.Background()
	const region, zone = "us-east-1", "us-east-1a"
	image := registerImage(t, region, "canopy-net-test")
	c := openMoto(t, []string{region}, nil)
	sdk := ec2Client(t, region)
	n, sub := netFixture(t, c, "10.60.0.0/16", "10.60.1.0/24", zone)
	g, err := c.CreateSecurityGroup(ctx, providers.SecurityGroupSpec{Name: "web", Description: "web", NetworkID: n.NativeID})
	if err != nil {
		t.Fatal(err)
	}
	port, err := c.CreatePort(ctx, providers.PortSpec{Name: "extra", NetworkID: n.NativeID, FixedIP: "10.60.1.50"})
	if err != nil {
		t.Fatal(err)
	}
	if port.FixedIPs[0].SubnetID != sub.NativeID {
		t.Errorf("a port given only its network went to %v, want the network's subnet %s", port.FixedIPs, sub.NativeID)
	}
	for _, ip := range []string{"10.60.1.2", "10.60.1.255", "10.60.2.9"} {
		if _, err := c.CreatePort(ctx, providers.PortSpec{SubnetID: sub.NativeID, FixedIP: ip}); !errors.Is(err, providers.ErrInvalid) {
			t.Errorf("CreatePort(%s): %v, want ErrInvalid (reserved or outside; moto takes it, EC2 does not)", ip, err)
		}
	}

	s, err := c.CreateServer(ctx, providers.ServerSpec{Name: "web", FlavorID: "t3.micro", ImageID: image, Zone: zone,
		Networks: []string{n.NativeID}, Ports: []string{port.NativeID}, SecurityGroupIDs: []string{g.NativeID}})
	if err != nil {
		t.Fatalf("CreateServer: %v", err)
	}
	t.Cleanup(func() { _ = c.DeleteServer(context.Background(), s.NativeID) })
	out, err := sdk.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{s.NativeID}})
	if err != nil {
		t.Fatal(err)
	}
	in := out.Reservations[0].Instances[0]
	var primary, second *types.InstanceNetworkInterface
	for i, ni := range in.NetworkInterfaces {
		switch awssdk.ToInt32(ni.Attachment.DeviceIndex) {
		case 0:
			primary = &in.NetworkInterfaces[i]
		case 1:
			second = &in.NetworkInterfaces[i]
		}
	}
	if primary == nil || awssdk.ToString(primary.SubnetId) != sub.NativeID || len(primary.Groups) != 1 || awssdk.ToString(primary.Groups[0].GroupId) != g.NativeID {
		t.Errorf("primary interface %+v: want one in %s with group %s", primary, sub.NativeID, g.NativeID)
	}
	if second == nil || awssdk.ToString(second.NetworkInterfaceId) != port.NativeID {
		t.Errorf("interfaces %+v: want port %s at index 1", in.NetworkInterfaces, port.NativeID)
	}
	if p, err := c.GetPort(ctx, port.NativeID); err != nil || p.DeviceID != s.NativeID || p.DeviceOwner != "instance" {
		t.Errorf("GetPort = %+v, %v; want it on server %s", p, err, s.NativeID)
	}
	if err := c.DeletePort(ctx, port.NativeID); !errors.Is(err, providers.ErrConflict) {
		t.Errorf("DeletePort of an attached port: %v, want ErrConflict", err)
	}
	if err := c.DeleteSecurityGroup(ctx, g.NativeID); !errors.Is(err, providers.ErrConflict) {
		t.Errorf("DeleteSecurityGroup a server uses: %v, want ErrConflict", err)
	}
	if err := c.DeleteSubnet(ctx, sub.NativeID); !errors.Is(err, providers.ErrConflict) {
		t.Errorf("DeleteSubnet with a server: %v, want ErrConflict", err)
	}
	if _, err := c.GetSubnet(ctx, sub.NativeID); err != nil {
		t.Errorf("the refused DeleteSubnet took the subnet: %v", err)
	}

	f, err := c.AllocateFloatingIP(ctx, providers.FloatingIPSpec{})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.AssociateFloatingIP(ctx, f.NativeID, "", s.NativeID); !errors.Is(err, providers.ErrConflict) {
		t.Errorf("an Elastic IP for a VPC without internet gateway: %v, want ErrConflict", err)
	}
	r, err := c.CreateRouter(ctx, providers.RouterSpec{Name: "edge", ExternalNetworkID: "amazon"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.AddRouterInterface(ctx, r.NativeID, sub.NativeID); err != nil {
		t.Fatal(err)
	}
	if err := c.AssociateFloatingIP(ctx, f.NativeID, "", s.NativeID); err != nil {
		t.Fatalf("AssociateFloatingIP(server): %v", err)
	}
	if err := c.AssociateFloatingIP(ctx, f.NativeID, "", s.NativeID); err != nil {
		t.Errorf("AssociateFloatingIP to the same server again: %v, want nil", err)
	}
	got, err := c.GetFloatingIP(ctx, f.NativeID)
	if err != nil || got.ServerID != s.NativeID || got.FixedIP == "" {
		t.Errorf("GetFloatingIP = %+v, %v; want it on %s", got, err, s.NativeID)
	}
	srv, err := c.GetServer(ctx, s.NativeID)
	if err != nil || !slices.ContainsFunc(srv.Addresses, func(a providers.Address) bool { return a.IP == f.IP && a.Type == "floating" }) {
		t.Errorf("server addresses %+v, %v: want %s floating", srv.Addresses, err, f.IP)
	}
	// The gateway cannot go while the address needs it (EC2 refuses to
	// detach it; moto does not, the adapter checks): the interface stays.
	if err := c.RemoveRouterInterface(ctx, r.NativeID, sub.NativeID); !errors.Is(err, providers.ErrConflict) {
		t.Errorf("RemoveRouterInterface with a floating IP behind it: %v, want ErrConflict", err)
	}
	if got, err := c.GetRouter(ctx, r.NativeID); err != nil || len(got.Interfaces) != 1 {
		t.Errorf("after the refused removal: %+v, %v; want the interface kept", got, err)
	}
	// Released while associated: disassociated first, as Neutron does.
	if err := c.ReleaseFloatingIP(ctx, f.NativeID); err != nil {
		t.Fatalf("ReleaseFloatingIP(associated): %v", err)
	}
	addrs, err := sdk.DescribeAddresses(ctx, &ec2.DescribeAddressesInput{})
	if err != nil || len(addrs.Addresses) != 0 {
		t.Errorf("addresses after release: %+v, %v; want none", addrs.Addresses, err)
	}
}

// TestMotoServerInterfaceGoesWithIt: the interface a server launched into
// one subnet gets is deleted with it, as EC2 does (moto keeps the one it
// makes for a bare SubnetId), so the subnet and its group can be deleted
// once the server is.
func TestMotoServerInterfaceGoesWithIt(t *testing.T) {
	resetMoto(t)
	ctx := context.Background()
	const region, zone = "us-east-1", "us-east-1a"
	image := registerImage(t, region, "canopy-net-test")
	c := openMoto(t, []string{region}, nil)
	_, sub := netFixture(t, c, "10.61.0.0/16", "10.61.1.0/24", zone)
	g, err := c.CreateSecurityGroup(ctx, providers.SecurityGroupSpec{Name: "web", Description: "web", NetworkID: sub.NetworkID})
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.CreateServer(ctx, providers.ServerSpec{Name: "web", FlavorID: "t3.micro", ImageID: image, Zone: zone,
		Networks: []string{sub.NativeID}, SecurityGroupIDs: []string{g.NativeID}})
	if err != nil {
		t.Fatalf("CreateServer: %v", err)
	}
	if err := c.DeleteServer(ctx, s.NativeID); err != nil {
		t.Fatal(err)
	}
	ports, err := c.ListPorts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ports {
		if p.DeviceID == s.NativeID {
			t.Errorf("the deleted server's interface %s (%s) is still there", p.NativeID, p.DeviceOwner)
		}
	}
	if err := c.DeleteSecurityGroup(ctx, g.NativeID); err != nil {
		t.Errorf("DeleteSecurityGroup after the server: %v", err)
	}
	if err := c.DeleteSubnet(ctx, sub.NativeID); err != nil {
		t.Errorf("DeleteSubnet after the server: %v", err)
	}
}
