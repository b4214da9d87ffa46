package sim

import (
	"fmt"
	"net/netip"

	"github.com/canopy-cloud/canopy/providers"
)

// Addresses: parsing and checking CIDRs, pools and gateways, and handing
// out the addresses of a subnet (networks.go).

// parseCIDR parses a network's or a subnet's range; it must be the range
// itself (10.0.1.0/24, not 10.0.1.5/24) and leave room for hosts.
func parseCIDR(s string) (netip.Prefix, error) {
	if s == "" {
		return netip.Prefix{}, fmt.Errorf("%w: cidr is empty", providers.ErrInvalid)
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%w: cidr %q: %v", providers.ErrInvalid, s, err)
	}
	if p.Masked() != p {
		return netip.Prefix{}, fmt.Errorf("%w: cidr %q has host bits set (the range is %s)", providers.ErrInvalid, s, p.Masked())
	}
	if max := p.Addr().BitLen() - 2; p.Bits() > max {
		return netip.Prefix{}, fmt.Errorf("%w: cidr %q is too small for hosts (at most /%d)", providers.ErrInvalid, s, max)
	}
	return p, nil
}

func version(a netip.Addr) int32 {
	if a.Is4() {
		return 4
	}
	return 6
}

// lastAddr is the last address of a prefix (IPv4: its broadcast).
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// hosts is the range of a prefix's host addresses: IPv4 leaves out the
// network and broadcast addresses, IPv6 the subnet-router anycast one.
func hosts(p netip.Prefix) (first, last netip.Addr) {
	first, last = p.Masked().Addr().Next(), lastAddr(p)
	if p.Addr().Is4() {
		last = last.Prev()
	}
	return first, last
}

// defaultPools are a subnet's hosts without its gateway, as Neutron makes
// them: one range, or two around the gateway.
func defaultPools(p netip.Prefix, gw netip.Addr) []providers.IPRange {
	first, last := hosts(p)
	var out []providers.IPRange
	add := func(a, b netip.Addr) {
		if a.IsValid() && b.IsValid() && !b.Less(a) {
			out = append(out, providers.IPRange{Start: a.String(), End: b.String()})
		}
	}
	if !gw.IsValid() || gw.Less(first) || last.Less(gw) {
		add(first, last)
		return out
	}
	if gw != first {
		add(first, gw.Prev())
	}
	if gw != last {
		add(gw.Next(), last)
	}
	return out
}

// checkPools validates explicit pools: inside the subnet's hosts, ordered,
// apart from each other and from the gateway.
func checkPools(pools []providers.IPRange, p netip.Prefix, gw netip.Addr) error {
	first, last := hosts(p)
	type rng struct{ a, b netip.Addr }
	var seen []rng
	for i, r := range pools {
		a, err1 := netip.ParseAddr(r.Start)
		b, err2 := netip.ParseAddr(r.End)
		if err1 != nil || err2 != nil {
			return fmt.Errorf("%w: allocation_pools[%d] %s-%s: not addresses", providers.ErrInvalid, i, r.Start, r.End)
		}
		if b.Less(a) || a.Less(first) || last.Less(b) {
			return fmt.Errorf("%w: allocation_pools[%d] %s-%s: not a range of the hosts of %s (%s-%s)", providers.ErrInvalid, i, r.Start, r.End, p, first, last)
		}
		if gw.IsValid() && !gw.Less(a) && !b.Less(gw) {
			return fmt.Errorf("%w: allocation_pools[%d] %s-%s holds the gateway_ip %s", providers.ErrInvalid, i, r.Start, r.End, gw)
		}
		for j, s := range seen {
			if !b.Less(s.a) && !s.b.Less(a) {
				return fmt.Errorf("%w: allocation_pools[%d] %s-%s overlaps allocation_pools[%d]", providers.ErrInvalid, i, r.Start, r.End, j)
			}
		}
		seen = append(seen, rng{a, b})
	}
	return nil
}

// used maps every address of a subnet something holds (a port, a router,
// a floating IP) to what holds it. Callers hold c.mu.
func (c *Cloud) used(sub *providers.Subnet) map[netip.Addr]string {
	out := map[netip.Addr]string{}
	for id, r := range c.net.Ports {
		for _, f := range r.P.FixedIPs {
			if f.SubnetID == sub.NativeID {
				if a, err := netip.ParseAddr(f.IP); err == nil {
					out[a] = "port " + id + ownedBy(r.P)
				}
			}
		}
	}
	p, _ := netip.ParsePrefix(sub.CIDR)
	for id, f := range c.net.FIPs {
		if a, err := netip.ParseAddr(f.IP); err == nil && f.NetworkID == sub.NetworkID && p.Contains(a) {
			out[a] = "floating IP " + id
		}
	}
	return out
}

// allocate takes the first free address of a subnet's pools; false when
// they are full. Callers hold c.mu.
func (c *Cloud) allocate(sub *providers.Subnet) (netip.Addr, bool) {
	used := c.used(sub)
	for _, r := range sub.Pools {
		a, _ := netip.ParseAddr(r.Start)
		b, _ := netip.ParseAddr(r.End)
		for ; a.IsValid() && !b.Less(a); a = a.Next() {
			if _, taken := used[a]; !taken {
				return a, true
			}
		}
	}
	return netip.Addr{}, false
}

// allocateIn takes a free address of the first subnet of network (of the
// IP version wanted, 0: any) that has one: a port the cloud places. ok is
// false when the network has such subnets and all are full; sub is nil
// when it has none.
func (c *Cloud) allocateIn(network string, ver int32) (sub *providers.Subnet, a netip.Addr, ok bool) {
	for _, id := range sortedKeys(c.net.Subnets) {
		s := c.net.Subnets[id]
		if s.NetworkID != network || (ver != 0 && s.IPVersion != ver) {
			continue
		}
		if a, ok := c.allocate(s); ok {
			return s, a, true
		}
		sub = s
	}
	return sub, netip.Addr{}, sub == nil
}

// fixedIP checks an address asked for in a subnet: a host of it, not its
// gateway, not held by anything.
func (c *Cloud) fixedIP(sub *providers.Subnet, ip string) (netip.Addr, error) {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("%w: fixed_ip %q is not an address", providers.ErrInvalid, ip)
	}
	p, _ := netip.ParsePrefix(sub.CIDR)
	first, last := hosts(p)
	if a.Less(first) || last.Less(a) {
		return netip.Addr{}, fmt.Errorf("%w: fixed_ip %s is not a host of subnet %s (%s)", providers.ErrInvalid, ip, sub.NativeID, sub.CIDR)
	}
	if ip == sub.GatewayIP {
		return netip.Addr{}, fmt.Errorf("%w: fixed_ip %s is the gateway of subnet %s", providers.ErrConflict, ip, sub.NativeID)
	}
	if who, taken := c.used(sub)[a]; taken {
		return netip.Addr{}, fmt.Errorf("%w: fixed_ip %s of subnet %s is held by %s", providers.ErrConflict, ip, sub.NativeID, who)
	}
	return a, nil
}
