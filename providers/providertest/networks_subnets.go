package providertest

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"testing"

	"github.com/canopy-cloud/canopy/providers"
)

// Subnets: defaults, the options a cloud may lack, and bad input
// (networks.go says what holds everywhere).

func (ns *netSuite) testSubnet(t *testing.T) {
	ctx := context.Background()
	n, cidr := ns.newNetwork(t, "net")
	want := sub24(cidr, 1)
	spec, id := ns.subnetSpec(t, n.NativeID, want)
	sub := ns.newSubnet(t, spec)
	if sub.NativeID == "" || sub.Name != id.name || sub.NetworkID != n.NativeID || sub.CIDR != want.String() || sub.IPVersion != 4 {
		t.Errorf("CreateSubnet = %+v: want an id, name %s, network %s, CIDR %s, IPv4", sub, id.name, n.NativeID, want)
	}
	got := shows(t, ns, "Subnet", sub.NativeID, id, true, ns.n.GetSubnet, ns.n.ListSubnets)
	if got.CIDR != want.String() || got.NetworkID != n.NativeID || got.IPVersion != 4 {
		t.Errorf("GetSubnet = %+v: want network %s, CIDR %s, IPv4", got, n.NativeID, want)
	}
	if gw := host(want, 1); got.GatewayIP != gw {
		t.Errorf("GetSubnet: gateway = %q, want the first host, %s", got.GatewayIP, gw)
	}
	if !got.DHCP {
		t.Errorf("GetSubnet: DHCP off; a subnet has it on unless asked")
	}
	checkPools(t, got)
	ns.eventually(t, "the network lists its subnet", func() error {
		nw, err := ns.n.GetNetwork(ctx, n.NativeID)
		if err != nil {
			return err
		}
		if !slices.Contains(nw.SubnetIDs, sub.NativeID) {
			return fmt.Errorf("network %s: subnets %v, want %s among them", n.NativeID, nw.SubnetIDs, sub.NativeID)
		}
		return nil
	})
	spec.Replay = true
	replay(t, ns, "Subnet", sub.NativeID, id, func() (providers.Subnet, error) { return ns.n.CreateSubnet(ctx, spec) }, ns.n.ListSubnets, ns.n.DeleteSubnet)

	if err := ns.n.DeleteSubnet(ctx, sub.NativeID); err != nil {
		t.Fatalf("DeleteSubnet: %v", err)
	}
	ns.eventually(t, "GetSubnet after delete is ErrNotFound", func() error {
		if _, err := ns.n.GetSubnet(ctx, sub.NativeID); !errors.Is(err, providers.ErrNotFound) {
			return fmt.Errorf("err = %v", err)
		}
		return nil
	})
	wantErr(t, "DeleteSubnet twice", ns.n.DeleteSubnet(ctx, sub.NativeID), providers.ErrNotFound)
}

// checkPools: every pool lies inside the subnet, is ordered, and leaves the
// gateway out.
func checkPools(t *testing.T, sub providers.Subnet) {
	t.Helper()
	p, err := netip.ParsePrefix(sub.CIDR)
	if err != nil {
		t.Errorf("subnet %s: CIDR %q: %v", sub.NativeID, sub.CIDR, err)
		return
	}
	gw, _ := netip.ParseAddr(sub.GatewayIP)
	for _, r := range sub.Pools {
		start, err1 := netip.ParseAddr(r.Start)
		end, err2 := netip.ParseAddr(r.End)
		if err1 != nil || err2 != nil || !p.Contains(start) || !p.Contains(end) || end.Less(start) {
			t.Errorf("subnet %s (%s): pool %s-%s is not a range inside it", sub.NativeID, sub.CIDR, r.Start, r.End)
			continue
		}
		if gw.IsValid() && !gw.Less(start) && !end.Less(gw) {
			t.Errorf("subnet %s: pool %s-%s holds the gateway %s", sub.NativeID, r.Start, r.End, gw)
		}
	}
}

func (ns *netSuite) testSubnetOptions(t *testing.T) {
	ctx := context.Background()
	n, cidr := ns.newNetwork(t, "net")
	// each case makes its own /24 of the network, and checks what it got
	cases := []struct {
		name, part string
		i          int
		set        func(*providers.SubnetSpec, netip.Prefix)
		check      func(*testing.T, providers.Subnet, netip.Prefix)
	}{
		{"DNSServers", UnsupportedNetDNSServers, 2,
			func(s *providers.SubnetSpec, _ netip.Prefix) { s.DNSServers = []string{"192.0.2.53", "198.51.100.53"} },
			func(t *testing.T, sub providers.Subnet, _ netip.Prefix) {
				if want := []string{"192.0.2.53", "198.51.100.53"}; !slices.Equal(sub.DNSServers, want) {
					t.Errorf("DNS servers = %v, want %v", sub.DNSServers, want)
				}
			}},
		{"Pools", UnsupportedNetPools, 3,
			func(s *providers.SubnetSpec, p netip.Prefix) {
				s.Pools = []providers.IPRange{{Start: host(p, 100), End: host(p, 199)}}
			},
			func(t *testing.T, sub providers.Subnet, p netip.Prefix) {
				if want := []providers.IPRange{{Start: host(p, 100), End: host(p, 199)}}; !slices.Equal(sub.Pools, want) {
					t.Errorf("pools = %v, want %v", sub.Pools, want)
				}
				// an address the cloud chooses comes from the pool
				port := ns.newPort(t, sub, "")
				if len(port.FixedIPs) != 1 || !inRange(port.FixedIPs[0].IP, host(p, 100), host(p, 199)) {
					t.Errorf("a port on a subnet with pool %s-%s got %v", host(p, 100), host(p, 199), port.FixedIPs)
				}
			}},
		{"GatewayIP", UnsupportedNetGatewayIP, 4,
			func(s *providers.SubnetSpec, p netip.Prefix) { s.GatewayIP = host(p, 254) },
			func(t *testing.T, sub providers.Subnet, p netip.Prefix) {
				if sub.GatewayIP != host(p, 254) {
					t.Errorf("gateway = %q, want %s as asked", sub.GatewayIP, host(p, 254))
				}
				checkPools(t, sub)
			}},
		{"NoGateway", UnsupportedNetGatewayIP, 5,
			func(s *providers.SubnetSpec, _ netip.Prefix) { s.NoGateway = true },
			func(t *testing.T, sub providers.Subnet, _ netip.Prefix) {
				if sub.GatewayIP != "" {
					t.Errorf("gateway = %q, want none as asked", sub.GatewayIP)
				}
			}},
		{"NoDHCP", UnsupportedNetNoDHCP, 6,
			func(s *providers.SubnetSpec, _ netip.Prefix) { s.DisableDHCP = true },
			func(t *testing.T, sub providers.Subnet, _ netip.Prefix) {
				if sub.DHCP {
					t.Errorf("DHCP on; it was asked off")
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := sub24(cidr, tc.i)
			spec, id := ns.subnetSpec(t, n.NativeID, p)
			tc.set(&spec, p)
			if !ns.supports(tc.part) {
				ns.refused(t, tc.part, func() (string, error) {
					sub, err := ns.n.CreateSubnet(ctx, spec)
					return sub.NativeID, err
				}, ns.n.DeleteSubnet)
				return
			}
			sub := ns.newSubnet(t, spec)
			tc.check(t, sub, p)
			tc.check(t, shows(t, ns, "Subnet", sub.NativeID, id, true, ns.n.GetSubnet, ns.n.ListSubnets), p)
		})
	}
}

func inRange(ip, start, end string) bool {
	a, err1 := netip.ParseAddr(ip)
	s, err2 := netip.ParseAddr(start)
	e, err3 := netip.ParseAddr(end)
	return err1 == nil && err2 == nil && err3 == nil && !a.Less(s) && !e.Less(a)
}

func (ns *netSuite) testSubnetErrors(t *testing.T) {
	ctx := context.Background()
	n, cidr := ns.newNetwork(t, "net")
	taken := sub24(cidr, 10)
	spec, _ := ns.subnetSpec(t, n.NativeID, taken)
	have := ns.newSubnet(t, spec)

	// mustFail creates a subnet that must be refused; one made anyway is
	// deleted.
	mustFail := func(what string, set func(*providers.SubnetSpec), want ...error) {
		t.Helper()
		spec, _ := ns.subnetSpec(t, n.NativeID, sub24(cidr, 11))
		set(&spec)
		sub, err := ns.n.CreateSubnet(ctx, spec)
		if err == nil {
			ns.cleanup(t, "subnet", sub.NativeID, ns.n.DeleteSubnet)
		}
		wantErr(t, "CreateSubnet with "+what, err, want...)
	}
	a := cidr.Addr().As4()
	prefix := fmt.Sprintf("%d.%d.", a[0], a[1])
	for _, bad := range []string{prefix + "300.0/24", prefix + "11.0/33", "not-a-cidr", ""} {
		mustFail(fmt.Sprintf("CIDR %q", bad), func(s *providers.SubnetSpec) { s.CIDR = bad }, providers.ErrInvalid)
	}
	gatewayErrs := []error{providers.ErrInvalid}
	if !ns.supports(UnsupportedNetGatewayIP) {
		gatewayErrs = append(gatewayErrs, providers.ErrUnsupported)
	}
	mustFail("a gateway outside it", func(s *providers.SubnetSpec) { s.GatewayIP = prefix + "12.1" }, gatewayErrs...)
	mustFail("a gateway that is no address", func(s *providers.SubnetSpec) { s.GatewayIP = "gateway" }, gatewayErrs...)
	mustFail("a CIDR overlapping another subnet of the network", func(s *providers.SubnetSpec) {
		s.CIDR = netip.PrefixFrom(taken.Addr(), 25).String()
	}, providers.ErrInvalid)
	mustFail("a missing network", func(s *providers.SubnetSpec) { s.NetworkID = missingID(n.NativeID) }, providers.ErrInvalid, providers.ErrNotFound)
	if n.CIDR != "" {
		mustFail("a CIDR outside its network's "+n.CIDR, func(s *providers.SubnetSpec) { s.CIDR = "172.31.200.0/24" }, providers.ErrInvalid)
	}

	_, err := ns.n.GetSubnet(ctx, missingID(have.NativeID))
	wantErr(t, "GetSubnet(missing)", err, providers.ErrNotFound)
	wantErr(t, "DeleteSubnet(missing)", ns.n.DeleteSubnet(ctx, missingID(have.NativeID)), providers.ErrNotFound)
}
