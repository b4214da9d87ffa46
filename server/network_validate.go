package server

import (
	"net/netip"
	"strconv"
	"strings"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/router"
)

// parseCIDR parses a network range; host bits set are refused with the
// range the caller probably meant, as Neutron and EC2 both refuse them.
func parseCIDR(field, v string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(strings.TrimSpace(v))
	if err != nil {
		return netip.Prefix{}, router.BadRequest(field, "%q is not a CIDR such as 10.0.0.0/16", v)
	}
	if p.Masked() != p {
		return netip.Prefix{}, router.BadRequest(field, "%q has host bits set: did you mean %s?", v, p.Masked())
	}
	return p, nil
}

func parseAddr(field, v string) (netip.Addr, error) {
	a, err := netip.ParseAddr(strings.TrimSpace(v))
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, router.BadRequest(field, "%q is not an IP address", v)
	}
	return a, nil
}

// overlaps says whether two ranges share an address.
func overlaps(a, b netip.Prefix) bool { return a.Overlaps(b) }

// lastAddr is the last address of a range (its broadcast address in v4).
func lastAddr(p netip.Prefix) netip.Addr {
	a := p.Addr().As16()
	bits := p.Bits()
	if p.Addr().Is4() {
		bits += 96
	}
	for i := bits; i < 128; i++ {
		a[i/8] |= 1 << (7 - uint(i%8))
	}
	out := netip.AddrFrom16(a)
	if p.Addr().Is4() {
		return out.Unmap()
	}
	return out
}

// hostIn checks that an address is a usable host of a subnet: inside it,
// and neither its network address nor (in v4) its broadcast address.
func hostIn(field string, a netip.Addr, p netip.Prefix) error {
	if !p.Contains(a) {
		return router.BadRequest(field, "%s is outside the subnet %s", a, p)
	}
	if a == p.Addr() || (a.Is4() && p.Bits() < 31 && a == lastAddr(p)) {
		return router.BadRequest(field, "%s is the subnet's network or broadcast address", a)
	}
	return nil
}

// subnetSpec validates a CreateSubnetRequest's addressing against the
// network's range (when it has one) and builds the spec, ids left for the
// caller.
func subnetSpec(req *canopyv1.CreateSubnetRequest, networkCIDR string) (providers.SubnetSpec, netip.Prefix, error) {
	spec := providers.SubnetSpec{Name: req.GetName(), Zone: req.GetZone(), NoGateway: req.GetNoGateway(), DisableDHCP: req.GetDisableDhcp(), Labels: req.GetLabels()}
	if req.GetCidr() == "" {
		return spec, netip.Prefix{}, router.BadRequest("cidr", "required: the subnet's range, e.g. 10.0.1.0/24")
	}
	p, err := parseCIDR("cidr", req.GetCidr())
	if err != nil {
		return spec, p, err
	}
	spec.CIDR = p.String()
	if networkCIDR != "" {
		if np, err := netip.ParsePrefix(networkCIDR); err == nil && (np.Bits() > p.Bits() || !np.Contains(p.Addr())) {
			return spec, p, router.BadRequest("cidr", "%s is outside the network's range %s", p, np)
		}
	}
	if g := req.GetGatewayIp(); g != "" {
		if req.GetNoGateway() {
			return spec, p, router.BadRequest("gateway_ip", "set gateway_ip or no_gateway, not both")
		}
		a, err := parseAddr("gateway_ip", g)
		if err != nil {
			return spec, p, err
		}
		if err := hostIn("gateway_ip", a, p); err != nil {
			return spec, p, err
		}
		spec.GatewayIP = a.String()
	}
	for i, d := range req.GetDnsServers() {
		a, err := parseAddr("dns_servers["+strconv.Itoa(i)+"]", d)
		if err != nil {
			return spec, p, err
		}
		spec.DNSServers = append(spec.DNSServers, a.String())
	}
	for i, r := range req.GetAllocationPools() {
		field := "allocation_pools[" + strconv.Itoa(i) + "]"
		s, err := parseAddr(field+".start", r.GetStart())
		if err != nil {
			return spec, p, err
		}
		e, err := parseAddr(field+".end", r.GetEnd())
		if err != nil {
			return spec, p, err
		}
		if err := hostIn(field+".start", s, p); err != nil {
			return spec, p, err
		}
		if err := hostIn(field+".end", e, p); err != nil {
			return spec, p, err
		}
		if e.Less(s) {
			return spec, p, router.BadRequest(field, "start %s is after end %s", s, e)
		}
		spec.Pools = append(spec.Pools, providers.IPRange{Start: s.String(), End: e.String()})
	}
	return spec, p, nil
}

var protocolNames = map[string]string{"": "", "any": "", "tcp": "tcp", "udp": "udp", "icmp": "icmp", "icmpv6": "icmpv6", "ipv6-icmp": "icmpv6"}

// ruleSpec validates a rule and normalizes it: default direction ingress,
// the ether type from the remote CIDR's family, protocol names lower case,
// a single port as min = max. The remote group is the caller's to resolve.
func ruleSpec(field string, r *canopyv1.SecurityGroupRule) (providers.SecurityRule, error) {
	out := providers.SecurityRule{Direction: providers.Ingress, Description: r.GetDescription(), PortMin: r.GetPortMin(), PortMax: r.GetPortMax()}
	if r == nil {
		return out, router.BadRequest(field, "required")
	}
	if r.GetDirection() == canopyv1.SecurityGroupRule_DIRECTION_EGRESS {
		out.Direction = providers.Egress
	}
	switch strings.ToLower(r.GetEtherType()) {
	case "", "ipv4":
		out.EtherType = providers.IPv4
	case "ipv6":
		out.EtherType = providers.IPv6
	default:
		return out, router.BadRequest(field+".ether_type", "%q: want IPv4 or IPv6", r.GetEtherType())
	}
	if c := r.GetRemoteCidr(); c != "" {
		if r.GetRemoteGroup() != "" {
			return out, router.BadRequest(field+".remote_group", "set remote_cidr or remote_group, not both")
		}
		p, err := parseCIDR(field+".remote_cidr", c)
		if err != nil {
			return out, err
		}
		fam := providers.IPv4
		if p.Addr().Is6() {
			fam = providers.IPv6
		}
		if r.GetEtherType() != "" && fam != out.EtherType {
			return out, router.BadRequest(field+".remote_cidr", "%s is not %s (the rule's ether_type)", p, out.EtherType)
		}
		out.EtherType, out.RemoteCIDR = fam, p.String()
	}
	proto, known := protocolNames[strings.ToLower(r.GetProtocol())]
	if !known {
		n, err := strconv.Atoi(r.GetProtocol())
		if err != nil || n < 0 || n > 255 {
			return out, router.BadRequest(field+".protocol", "%q: want tcp, udp, icmp, icmpv6, a protocol number 0-255, or empty for any", r.GetProtocol())
		}
		switch n {
		case 6:
			proto = "tcp"
		case 17:
			proto = "udp"
		case 1:
			proto = "icmp"
		case 58:
			proto = "icmpv6"
		default:
			proto = strconv.Itoa(n)
		}
	}
	out.Protocol = proto
	switch proto {
	case "tcp", "udp":
		if out.PortMin != 0 && out.PortMax == 0 {
			out.PortMax = out.PortMin
		}
		if out.PortMin < 0 || out.PortMax > 65535 || out.PortMin > out.PortMax || (out.PortMin == 0) != (out.PortMax == 0) {
			return out, router.BadRequest(field+".port_min", "ports %d-%d: want 1 <= port_min <= port_max <= 65535, or both 0 for all", out.PortMin, out.PortMax)
		}
	case "icmp", "icmpv6":
		if out.PortMin == 0 && out.PortMax == 0 {
			out.PortMin, out.PortMax = -1, -1
		}
		if out.PortMin < -1 || out.PortMin > 255 || out.PortMax < -1 || out.PortMax > 255 {
			return out, router.BadRequest(field+".port_min", "ICMP type %d and code %d: want -1 (any) to 255", out.PortMin, out.PortMax)
		}
	default:
		if out.PortMin != 0 || out.PortMax != 0 {
			return out, router.BadRequest(field+".port_min", "ports only go with tcp, udp (and ICMP type/code with icmp), not protocol %q", r.GetProtocol())
		}
	}
	return out, nil
}
