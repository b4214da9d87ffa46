package aws

import (
	"errors"
	"fmt"
	"net/netip"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/canopy-cloud/canopy/providers"
)

// A subnet reports what EC2 fixes: the VPC router at base + 1, DHCP on,
// addresses from base + 4 to the last but one.
func TestSubnetOf(t *testing.T) {
	s := subnetOf("us-east-1", types.Subnet{SubnetId: awssdk.String("subnet-1"), VpcId: awssdk.String("vpc-1"), CidrBlock: awssdk.String("10.1.2.0/24"),
		AvailabilityZone: awssdk.String("us-east-1a"), State: types.SubnetStateAvailable,
		Tags: []types.Tag{{Key: awssdk.String("Name"), Value: awssdk.String("web")}, {Key: awssdk.String("canopy:token"), Value: awssdk.String("t")}}})
	if s.GatewayIP != "10.1.2.1" || !s.DHCP || s.IPVersion != 4 || s.Zone != "us-east-1a" || s.Name != "web" || s.Properties[providers.PropToken] != "t" ||
		len(s.Pools) != 1 || s.Pools[0] != (providers.IPRange{Start: "10.1.2.4", End: "10.1.2.254"}) || s.Status != providers.StatusActive || len(s.Labels) != 0 {
		t.Errorf("subnetOf = %+v", s)
	}
	if got := lastAddr(netip.MustParsePrefix("10.1.0.0/20")); got.String() != "10.1.15.255" {
		t.Errorf("lastAddr(10.1.0.0/20) = %s", got)
	}
}

// What EC2 cannot do is ErrUnsupported, what is malformed ErrInvalid, and
// the malformed is said first (a gateway outside its subnet is bad input
// on every cloud).
func TestCheckSubnetSpec(t *testing.T) {
	base := providers.SubnetSpec{NetworkID: "vpc-1", CIDR: "10.0.1.0/24"}
	for _, tc := range []struct {
		name string
		set  func(*providers.SubnetSpec)
		want error
	}{
		{"ok", func(*providers.SubnetSpec) {}, nil},
		{"the VPC router as gateway", func(s *providers.SubnetSpec) { s.GatewayIP = "10.0.1.1" }, nil},
		{"no network", func(s *providers.SubnetSpec) { s.NetworkID = "" }, providers.ErrInvalid},
		{"host bits", func(s *providers.SubnetSpec) { s.CIDR = "10.0.1.5/24" }, providers.ErrInvalid},
		{"gateway outside", func(s *providers.SubnetSpec) { s.GatewayIP = "10.0.2.1" }, providers.ErrInvalid},
		{"gateway no address", func(s *providers.SubnetSpec) { s.GatewayIP = "gw" }, providers.ErrInvalid},
		{"pool outside", func(s *providers.SubnetSpec) { s.Pools = []providers.IPRange{{Start: "10.0.1.10", End: "10.0.9.10"}} }, providers.ErrInvalid},
		{"another gateway", func(s *providers.SubnetSpec) { s.GatewayIP = "10.0.1.254" }, providers.ErrUnsupported},
		{"no gateway", func(s *providers.SubnetSpec) { s.NoGateway = true }, providers.ErrUnsupported},
		{"dhcp off", func(s *providers.SubnetSpec) { s.DisableDHCP = true }, providers.ErrUnsupported},
		{"dns", func(s *providers.SubnetSpec) { s.DNSServers = []string{"1.1.1.1"} }, providers.ErrUnsupported},
		{"pools", func(s *providers.SubnetSpec) { s.Pools = []providers.IPRange{{Start: "10.0.1.10", End: "10.0.1.20"}} }, providers.ErrUnsupported},
		{"ipv6", func(s *providers.SubnetSpec) { s.CIDR = "2001:db8::/64" }, providers.ErrUnsupported},
	} {
		spec := base
		tc.set(&spec)
		_, err := checkSubnetSpec(spec)
		if (tc.want == nil) != (err == nil) || (tc.want != nil && !errors.Is(err, tc.want)) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}

// Rules go to EC2 in its spelling and come back in the contract's.
func TestRuleRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		in   providers.SecurityRule
		perm string // protocol from-to remote, as EC2 takes it
		back providers.SecurityRule
	}{
		{providers.SecurityRule{Direction: providers.Ingress, Protocol: "tcp", PortMin: 22, PortMax: 22, RemoteCIDR: "10.0.0.0/8"},
			"tcp 22-22 10.0.0.0/8", providers.SecurityRule{Direction: providers.Ingress, EtherType: providers.IPv4, Protocol: "tcp", PortMin: 22, PortMax: 22, RemoteCIDR: "10.0.0.0/8"}},
		{providers.SecurityRule{Direction: providers.Egress, Protocol: "17"},
			"udp 0-65535 0.0.0.0/0", providers.SecurityRule{Direction: providers.Egress, EtherType: providers.IPv4, Protocol: "udp", RemoteCIDR: "0.0.0.0/0"}},
		{providers.SecurityRule{Direction: providers.Ingress, EtherType: providers.IPv6, Protocol: "icmpv6", PortMin: 128, PortMax: -1},
			"58 128--1 ::/0", providers.SecurityRule{Direction: providers.Ingress, EtherType: providers.IPv6, Protocol: "icmpv6", PortMin: 128, PortMax: -1, RemoteCIDR: "::/0"}},
		{providers.SecurityRule{Direction: providers.Ingress, RemoteGroupID: "sg-1", Description: "self"},
			"-1 none sg-1", providers.SecurityRule{Direction: providers.Ingress, EtherType: providers.IPv4, RemoteGroupID: "sg-1", Description: "self"}},
		{providers.SecurityRule{Direction: providers.Ingress, Protocol: "132", RemoteCIDR: "192.0.2.0/24"},
			"132 none 192.0.2.0/24", providers.SecurityRule{Direction: providers.Ingress, EtherType: providers.IPv4, Protocol: "132", RemoteCIDR: "192.0.2.0/24"}},
	} {
		p, err := permissionOf(tc.in)
		if err != nil {
			t.Errorf("permissionOf(%+v): %v", tc.in, err)
			continue
		}
		ports := "none"
		if p.FromPort != nil {
			ports = fmt.Sprintf("%d-%d", *p.FromPort, *p.ToPort)
		}
		remote := ""
		var r types.SecurityGroupRule
		switch {
		case len(p.IpRanges) == 1:
			remote = awssdk.ToString(p.IpRanges[0].CidrIp)
			r.CidrIpv4, r.Description = p.IpRanges[0].CidrIp, p.IpRanges[0].Description
		case len(p.Ipv6Ranges) == 1:
			remote = awssdk.ToString(p.Ipv6Ranges[0].CidrIpv6)
			r.CidrIpv6, r.Description = p.Ipv6Ranges[0].CidrIpv6, p.Ipv6Ranges[0].Description
		case len(p.UserIdGroupPairs) == 1:
			remote = awssdk.ToString(p.UserIdGroupPairs[0].GroupId)
			r.ReferencedGroupInfo, r.Description = &types.ReferencedSecurityGroup{GroupId: p.UserIdGroupPairs[0].GroupId}, p.UserIdGroupPairs[0].Description
		}
		if got := awssdk.ToString(p.IpProtocol) + " " + ports + " " + remote; got != tc.perm {
			t.Errorf("permissionOf(%+v) = %s, want %s", tc.in, got, tc.perm)
		}
		// EC2 answers "-1" with ports -1 for every protocol without ports.
		r.IpProtocol, r.IsEgress = p.IpProtocol, awssdk.Bool(tc.in.Direction == providers.Egress)
		r.FromPort, r.ToPort = p.FromPort, p.ToPort
		if r.FromPort == nil {
			r.FromPort, r.ToPort = awssdk.Int32(-1), awssdk.Int32(-1)
		}
		if back := ruleOf(r); back != tc.back {
			t.Errorf("ruleOf(EC2's %s) = %+v, want %+v", tc.perm, back, tc.back)
		}
	}
}
