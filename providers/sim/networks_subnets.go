package sim

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"time"

	"github.com/canopy-cloud/canopy/providers"
)

// Subnets and ports (networks.go).

func subnetView(s *providers.Subnet) providers.Subnet {
	out := *s
	out.Labels, out.Properties = cloneMap(s.Labels), cloneMap(s.Properties)
	out.DNSServers = slices.Clone(s.DNSServers)
	out.Pools = slices.Clone(s.Pools)
	return out
}

// ListSubnets implements providers.Networks.
func (c *Cloud) ListSubnets(ctx context.Context) ([]providers.Subnet, error) {
	if err := c.netCall(ctx, "ListSubnets"); err != nil {
		return nil, err
	}
	defer c.mu.Unlock()
	out := make([]providers.Subnet, 0, len(c.net.Subnets))
	for _, id := range sortedKeys(c.net.Subnets) {
		out = append(out, subnetView(c.net.Subnets[id]))
	}
	return out, nil
}

// GetSubnet implements providers.Networks.
func (c *Cloud) GetSubnet(ctx context.Context, id string) (providers.Subnet, error) {
	if err := c.netCall(ctx, "GetSubnet"); err != nil {
		return providers.Subnet{}, err
	}
	defer c.mu.Unlock()
	s, ok := c.net.Subnets[id]
	if !ok {
		return providers.Subnet{}, fmt.Errorf("sim: subnet %q: %w", id, providers.ErrNotFound)
	}
	return subnetView(s), nil
}

// CreateSubnet implements providers.Networks, with Neutron's checks: a
// range inside the network's (when it has one) overlapping none of its
// other subnets, a gateway that is a host of the subnet, pools apart from
// the gateway and each other, DNS servers that are addresses.
func (c *Cloud) CreateSubnet(ctx context.Context, spec providers.SubnetSpec) (providers.Subnet, error) {
	if err := c.netCall(ctx, "CreateSubnet"); err != nil {
		return providers.Subnet{}, err
	}
	defer c.mu.Unlock()
	if s := byToken(c.net.Subnets, spec.IdempotencyToken, func(s *providers.Subnet) providers.Common { return s.Common }); s != nil {
		return subnetView(s), nil
	}
	sub, err := c.newSubnet(spec)
	if err != nil {
		return providers.Subnet{}, fmt.Errorf("sim: create subnet: %w", err)
	}
	c.net.Subnets[sub.NativeID] = sub
	c.save()
	return subnetView(sub), nil
}

func (c *Cloud) newSubnet(spec providers.SubnetSpec) (*providers.Subnet, error) {
	n, ok := c.net.Networks[spec.NetworkID]
	if !ok {
		return nil, fmt.Errorf("%w: network_id %q does not exist", providers.ErrInvalid, spec.NetworkID)
	}
	p, err := parseCIDR(spec.CIDR)
	if err != nil {
		return nil, err
	}
	if n.CIDR != "" {
		if np := netip.MustParsePrefix(n.CIDR); np.Bits() > p.Bits() || !np.Contains(p.Addr()) {
			return nil, fmt.Errorf("%w: cidr %s is outside network %s's range %s", providers.ErrInvalid, p, n.NativeID, n.CIDR)
		}
	}
	for _, id := range sortedKeys(c.net.Subnets) {
		if o := c.net.Subnets[id]; o.NetworkID == n.NativeID && netip.MustParsePrefix(o.CIDR).Overlaps(p) {
			return nil, fmt.Errorf("%w: cidr %s overlaps subnet %s (%s) of network %s", providers.ErrInvalid, p, id, o.CIDR, n.NativeID)
		}
	}
	zone := spec.Zone
	if zone != "" && !contains(c.opts.Zones, zone) {
		return nil, fmt.Errorf("%w: zone %q does not exist", providers.ErrInvalid, zone)
	}
	var gw netip.Addr
	switch {
	case spec.NoGateway && spec.GatewayIP != "":
		return nil, fmt.Errorf("%w: gateway_ip %s given with no gateway", providers.ErrInvalid, spec.GatewayIP)
	case spec.GatewayIP != "":
		if gw, err = netip.ParseAddr(spec.GatewayIP); err != nil {
			return nil, fmt.Errorf("%w: gateway_ip %q is not an address", providers.ErrInvalid, spec.GatewayIP)
		}
		if first, last := hosts(p); gw.Less(first) || last.Less(gw) {
			return nil, fmt.Errorf("%w: gateway_ip %s is not a host of the subnet %s", providers.ErrInvalid, gw, p)
		}
	case !spec.NoGateway:
		gw = p.Addr().Next()
	}
	var dns []string
	for i, d := range spec.DNSServers {
		a, err := netip.ParseAddr(d)
		if err != nil {
			return nil, fmt.Errorf("%w: dns_nameservers[%d] %q is not an address", providers.ErrInvalid, i, d)
		}
		if slices.Contains(dns, a.String()) {
			return nil, fmt.Errorf("%w: dns_nameservers[%d] %s is listed twice", providers.ErrInvalid, i, d)
		}
		dns = append(dns, a.String())
	}
	pools := defaultPools(p, gw)
	if len(spec.Pools) > 0 {
		if err := checkPools(spec.Pools, p, gw); err != nil {
			return nil, err
		}
		pools = slices.Clone(spec.Pools)
	}
	s := c.subnetOf(c.common(c.newID("subnet"), spec.Name, spec.Labels, spec.IdempotencyToken, time.Now()), n.NativeID, p, !spec.DisableDHCP)
	s.Zone, s.DNSServers, s.Pools, s.GatewayIP = zone, dns, pools, ""
	if gw.IsValid() {
		s.GatewayIP = gw.String()
	}
	return s, nil
}

// DeleteSubnet implements providers.Networks: refused while a port (a
// router's interface among them) or a floating IP holds one of its
// addresses.
func (c *Cloud) DeleteSubnet(ctx context.Context, id string) error {
	if err := c.netCall(ctx, "DeleteSubnet"); err != nil {
		return err
	}
	defer c.mu.Unlock()
	s, ok := c.net.Subnets[id]
	if !ok {
		return fmt.Errorf("sim: delete subnet %q: %w", id, providers.ErrNotFound)
	}
	used := c.used(s)
	addrs := make([]netip.Addr, 0, len(used))
	for a := range used {
		addrs = append(addrs, a)
	}
	sort.Slice(addrs, func(i, j int) bool { return addrs[i].Less(addrs[j]) })
	if len(addrs) > 0 {
		return fmt.Errorf("sim: delete subnet %q: %w: %s holds its address %s", id, providers.ErrConflict, used[addrs[0]], addrs[0])
	}
	delete(c.net.Subnets, id)
	c.save()
	return nil
}

// ------------------------------------------------------------ ports

func (c *Cloud) portView(r *portRec) providers.Port {
	out := r.P
	out.Labels, out.Properties = cloneMap(r.P.Labels), cloneMap(r.P.Properties)
	out.FixedIPs = slices.Clone(r.P.FixedIPs)
	out.SecurityGroupIDs = slices.Clone(r.P.SecurityGroupIDs)
	out.ProviderStatus = "DOWN"
	if out.DeviceID != "" {
		out.ProviderStatus = "ACTIVE"
	}
	return out
}

// ListPorts implements providers.Networks; routers' ports are listed too,
// as Neutron lists them.
func (c *Cloud) ListPorts(ctx context.Context) ([]providers.Port, error) {
	if err := c.netCall(ctx, "ListPorts"); err != nil {
		return nil, err
	}
	defer c.mu.Unlock()
	out := make([]providers.Port, 0, len(c.net.Ports))
	for _, id := range sortedKeys(c.net.Ports) {
		out = append(out, c.portView(c.net.Ports[id]))
	}
	return out, nil
}

// GetPort implements providers.Networks.
func (c *Cloud) GetPort(ctx context.Context, id string) (providers.Port, error) {
	if err := c.netCall(ctx, "GetPort"); err != nil {
		return providers.Port{}, err
	}
	defer c.mu.Unlock()
	r, ok := c.net.Ports[id]
	if !ok {
		return providers.Port{}, fmt.Errorf("sim: port %q: %w", id, providers.ErrNotFound)
	}
	return c.portView(r), nil
}

// CreatePort implements providers.Networks. The network may be left out
// when the subnet is named; the address, when not given, is the subnet's
// (or the network's first subnet's) next free one; a port with no groups
// gets the "default" group, as in Neutron.
func (c *Cloud) CreatePort(ctx context.Context, spec providers.PortSpec) (providers.Port, error) {
	if err := c.netCall(ctx, "CreatePort"); err != nil {
		return providers.Port{}, err
	}
	defer c.mu.Unlock()
	if r := byToken(c.net.Ports, spec.IdempotencyToken, func(r *portRec) providers.Common { return r.P.Common }); r != nil {
		return c.portView(r), nil
	}
	groups, err := c.groupsFor(spec.SecurityGroupIDs)
	if err != nil {
		return providers.Port{}, fmt.Errorf("sim: create port: %w", err)
	}
	r, err := c.newPort(spec.Name, spec.NetworkID, spec.SubnetID, spec.FixedIP)
	if err != nil {
		return providers.Port{}, fmt.Errorf("sim: create port: %w", err)
	}
	r.P.Common = c.common(r.P.NativeID, spec.Name, spec.Labels, spec.IdempotencyToken, r.P.Created)
	r.P.SecurityGroupIDs = groups
	c.save()
	return c.portView(r), nil
}

// newPort records a port on network (or subnet's network) holding fixedIP
// (or a free address) and returns it. Callers hold c.mu.
func (c *Cloud) newPort(name, network, subnet, fixedIP string) (*portRec, error) {
	var sub *providers.Subnet
	if subnet != "" {
		s, ok := c.net.Subnets[subnet]
		if !ok {
			return nil, fmt.Errorf("%w: subnet_id %q does not exist", providers.ErrInvalid, subnet)
		}
		if network == "" {
			network = s.NetworkID
		}
		if s.NetworkID != network {
			return nil, fmt.Errorf("%w: subnet %s is not in network %s", providers.ErrInvalid, subnet, network)
		}
		sub = s
	}
	if network == "" {
		return nil, fmt.Errorf("%w: network_id is empty", providers.ErrInvalid)
	}
	if _, ok := c.net.Networks[network]; !ok {
		return nil, fmt.Errorf("%w: network_id %q does not exist", providers.ErrInvalid, network)
	}
	var ips []providers.FixedIP
	switch {
	case fixedIP != "" && sub == nil:
		a, err := netip.ParseAddr(fixedIP)
		if err != nil {
			return nil, fmt.Errorf("%w: fixed_ip %q is not an address", providers.ErrInvalid, fixedIP)
		}
		for _, id := range sortedKeys(c.net.Subnets) {
			if s := c.net.Subnets[id]; s.NetworkID == network && netip.MustParsePrefix(s.CIDR).Contains(a) {
				sub = s
			}
		}
		if sub == nil {
			return nil, fmt.Errorf("%w: fixed_ip %s is in no subnet of network %s", providers.ErrInvalid, fixedIP, network)
		}
		fallthrough
	case fixedIP != "":
		a, err := c.fixedIP(sub, fixedIP)
		if err != nil {
			return nil, err
		}
		ips = []providers.FixedIP{{SubnetID: sub.NativeID, IP: a.String()}}
	case sub != nil:
		a, ok := c.allocate(sub)
		if !ok {
			return nil, fmt.Errorf("%w: subnet %s has no free address left", providers.ErrConflict, sub.NativeID)
		}
		ips = []providers.FixedIP{{SubnetID: sub.NativeID, IP: a.String()}}
	default:
		s, a, ok := c.allocateIn(network, 0)
		if !ok {
			return nil, fmt.Errorf("%w: network %s has no free address left", providers.ErrConflict, network)
		}
		if s != nil {
			ips = []providers.FixedIP{{SubnetID: s.NativeID, IP: a.String()}}
		}
	}
	now := time.Now()
	id := c.newID("port")
	r := &portRec{P: providers.Port{Common: c.common(id, name, nil, "", now), NetworkID: network, MAC: macOf(c.seq), FixedIPs: ips}}
	c.net.Ports[id] = r
	return r, nil
}

// DeletePort implements providers.Networks. A router's port goes with its
// interface or gateway, not by itself (Neutron refuses it too); floating
// IPs on the port are freed; a server loses the port's addresses.
func (c *Cloud) DeletePort(ctx context.Context, id string) error {
	if err := c.netCall(ctx, "DeletePort"); err != nil {
		return err
	}
	defer c.mu.Unlock()
	r, ok := c.net.Ports[id]
	if !ok {
		return fmt.Errorf("sim: delete port %q: %w", id, providers.ErrNotFound)
	}
	if o := r.P.DeviceOwner; o == ownerRouterInterface || o == ownerRouterGateway {
		return fmt.Errorf("sim: delete port %q: %w: it belongs to router %s (%s); remove it from the router", id, providers.ErrConflict, r.P.DeviceID, o)
	}
	c.dropPort(id)
	c.save()
	return nil
}

// dropPort deletes a port, freeing the floating IPs on it. Callers hold
// c.mu.
func (c *Cloud) dropPort(id string) {
	for _, f := range c.net.FIPs {
		if f.PortID == id {
			f.PortID, f.FixedIP, f.Updated = "", "", time.Now()
		}
	}
	delete(c.net.Ports, id)
}
