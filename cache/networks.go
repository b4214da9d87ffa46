package cache

import (
	"context"

	"github.com/canopy-cloud/canopy/internal/ttllru"
	"github.com/canopy-cloud/canopy/providers"
)

// Kinds of cached networking reads; they match config.CacheKinds.
const (
	Networks       = "networks"
	Subnets        = "subnets"
	Ports          = "ports"
	Routers        = "routers"
	SecurityGroups = "security_groups"
	FloatingIPs    = "floating_ips"
)

// NetworkKinds are the networking cache kinds.
var NetworkKinds = []string{Networks, Subnets, Ports, Routers, SecurityGroups, FloatingIPs}

// Net wraps a cloud's networking drivers the way Storage wraps block
// storage: coalesced and cached reads, a Get answered from a fresh list,
// writes that invalidate what they change (a port's create changes the
// network's and the subnet's view too, so writes invalidate every
// networking kind they touch), every upstream call through the cloud's rate
// limiter. Methods of a capability the adapter lacks return
// providers.ErrUnsupported.
type Net struct {
	c   *Compute
	net providers.Networks
	rtr providers.Routers
	sg  providers.SecurityGroups
	fip providers.FloatingIPs
}

// NewNet wraps the networking capabilities of p, or returns nil when p has
// no Networks.
func NewNet(cloud string, p providers.Provider, lim *Limiter, opts Options) *Net {
	n, ok := p.(providers.Networks)
	if !ok || !providers.Has(p, providers.CapNetworks) {
		return nil
	}
	if opts.Size <= 0 {
		opts.Size = 4096
	}
	c := &Compute{cloud: cloud, lim: lim, m: lim.m, opts: opts,
		gen: map[string]uint64{}, listing: map[string]string{}, lru: map[string]*ttllru.LRU[string, entry]{},
		purged: map[string]bool{}, filled: map[string]bool{}}
	if c.opts.Poll <= 0 {
		c.opts.Poll = 1e9
	}
	for _, kind := range NetworkKinds {
		if ttl := opts.TTL[kind]; ttl > 0 {
			c.lru[kind] = ttllru.New[string, entry](opts.Size, ttl)
		}
	}
	out := &Net{c: c, net: n}
	if providers.Has(p, providers.CapRouters) {
		out.rtr, _ = p.(providers.Routers)
	}
	if providers.Has(p, providers.CapSecurityGroups) {
		out.sg, _ = p.(providers.SecurityGroups)
	}
	if providers.Has(p, providers.CapFloatingIPs) {
		out.fip, _ = p.(providers.FloatingIPs)
	}
	return out
}

// Has reports whether the wrapped adapter offers a networking capability.
func (n *Net) Has(capability string) bool {
	switch capability {
	case providers.CapNetworks:
		return n.net != nil
	case providers.CapRouters:
		return n.rtr != nil
	case providers.CapSecurityGroups:
		return n.sg != nil
	case providers.CapFloatingIPs:
		return n.fip != nil
	}
	return false
}

// Limit waits for the cloud's rate limiter (for calls made outside Net).
func (n *Net) Limit(ctx context.Context) error { return n.c.lim.Wait(ctx) }

// InvalidateAll drops every cached networking read (a reconcile, a test
// that changed the cloud behind canopy's back).
func (n *Net) InvalidateAll() {
	for _, k := range NetworkKinds {
		n.c.invalidate(k)
	}
}

// ServersChanged drops the reads a server write changes: the ports a
// server create makes or binds and a delete removes, and the floating IPs
// mapped to them.
func (n *Net) ServersChanged() {
	n.c.invalidate(Ports)
	n.c.invalidate(FloatingIPs)
}

func notMoving[T any](T) bool { return false }

// netWrite is a write that changes several kinds' views.
func (n *Net) netWrite(ctx context.Context, method string, fn func(context.Context) error, also ...string) error {
	for _, k := range also {
		n.c.invalidate(k)
	}
	defer func() {
		for _, k := range also {
			n.c.invalidate(k)
		}
	}()
	return n.c.write(ctx, kindOfMethod(method), method, fn)
}

// kindOfMethod is the cache kind a write method changes first.
func kindOfMethod(method string) string {
	switch method {
	case "CreateNetwork", "DeleteNetwork":
		return Networks
	case "CreateSubnet", "DeleteSubnet":
		return Subnets
	case "CreatePort", "DeletePort":
		return Ports
	case "CreateRouter", "DeleteRouter", "SetRouterGateway", "AddRouterInterface", "RemoveRouterInterface":
		return Routers
	case "CreateSecurityGroup", "DeleteSecurityGroup", "AddSecurityRule", "DeleteSecurityRule":
		return SecurityGroups
	}
	return FloatingIPs
}

// ListNetworks lists networks, from the cache while fresh.
func (n *Net) ListNetworks(ctx context.Context) ([]providers.Network, error) {
	return list(n.c, ctx, Networks, "ListNetworks", false, n.net.ListNetworks, notMoving[providers.Network])
}

// ListNetworksFresh lists networks from the cloud (coalesced with a list
// in flight): the Watch poller's list, which must see what changed at the
// cloud behind canopy's back.
func (n *Net) ListNetworksFresh(ctx context.Context) ([]providers.Network, error) {
	return list(n.c, ctx, Networks, "ListNetworks", true, n.net.ListNetworks, notMoving[providers.Network])
}

// GetNetwork gets a network.
func (n *Net) GetNetwork(ctx context.Context, id string) (providers.Network, error) {
	return get(n.c, ctx, Networks, "GetNetwork", id, n.ListNetworks, func(x providers.Network) string { return x.NativeID }, notMoving[providers.Network], n.net.GetNetwork)
}

// CreateNetwork creates a network.
func (n *Net) CreateNetwork(ctx context.Context, spec providers.NetworkSpec) (out providers.Network, err error) {
	err = n.netWrite(ctx, "CreateNetwork", func(ctx context.Context) error { out, err = n.net.CreateNetwork(ctx, spec); return err })
	return out, err
}

// DeleteNetwork deletes a network.
func (n *Net) DeleteNetwork(ctx context.Context, id string) error {
	return n.netWrite(ctx, "DeleteNetwork", func(ctx context.Context) error { return n.net.DeleteNetwork(ctx, id) }, Subnets)
}

// ListSubnets lists subnets, from the cache while fresh.
func (n *Net) ListSubnets(ctx context.Context) ([]providers.Subnet, error) {
	return list(n.c, ctx, Subnets, "ListSubnets", false, n.net.ListSubnets, notMoving[providers.Subnet])
}

// GetSubnet gets a subnet.
func (n *Net) GetSubnet(ctx context.Context, id string) (providers.Subnet, error) {
	return get(n.c, ctx, Subnets, "GetSubnet", id, n.ListSubnets, func(x providers.Subnet) string { return x.NativeID }, notMoving[providers.Subnet], n.net.GetSubnet)
}

// CreateSubnet creates a subnet.
func (n *Net) CreateSubnet(ctx context.Context, spec providers.SubnetSpec) (out providers.Subnet, err error) {
	err = n.netWrite(ctx, "CreateSubnet", func(ctx context.Context) error { out, err = n.net.CreateSubnet(ctx, spec); return err }, Networks, Ports)
	return out, err
}

// DeleteSubnet deletes a subnet.
func (n *Net) DeleteSubnet(ctx context.Context, id string) error {
	return n.netWrite(ctx, "DeleteSubnet", func(ctx context.Context) error { return n.net.DeleteSubnet(ctx, id) }, Networks, Ports)
}

// ListPorts lists ports, from the cache while fresh.
func (n *Net) ListPorts(ctx context.Context) ([]providers.Port, error) {
	return list(n.c, ctx, Ports, "ListPorts", false, n.net.ListPorts, notMoving[providers.Port])
}

// ListPortsFresh lists ports from the cloud (coalesced with a list in
// flight): a server's ports change without canopy writing them.
func (n *Net) ListPortsFresh(ctx context.Context) ([]providers.Port, error) {
	return list(n.c, ctx, Ports, "ListPorts", true, n.net.ListPorts, notMoving[providers.Port])
}

// GetPort gets a port.
func (n *Net) GetPort(ctx context.Context, id string) (providers.Port, error) {
	return get(n.c, ctx, Ports, "GetPort", id, n.ListPorts, func(x providers.Port) string { return x.NativeID }, notMoving[providers.Port], n.net.GetPort)
}

// CreatePort creates a port.
func (n *Net) CreatePort(ctx context.Context, spec providers.PortSpec) (out providers.Port, err error) {
	err = n.netWrite(ctx, "CreatePort", func(ctx context.Context) error { out, err = n.net.CreatePort(ctx, spec); return err })
	return out, err
}

// DeletePort deletes a port.
func (n *Net) DeletePort(ctx context.Context, id string) error {
	return n.netWrite(ctx, "DeletePort", func(ctx context.Context) error { return n.net.DeletePort(ctx, id) }, FloatingIPs)
}

// ListRouters lists routers, from the cache while fresh.
func (n *Net) ListRouters(ctx context.Context) ([]providers.Router, error) {
	if n.rtr == nil {
		return nil, unsupported("routers")
	}
	return list(n.c, ctx, Routers, "ListRouters", false, n.rtr.ListRouters, notMoving[providers.Router])
}

// GetRouter gets a router.
func (n *Net) GetRouter(ctx context.Context, id string) (providers.Router, error) {
	if n.rtr == nil {
		return providers.Router{}, unsupported("routers")
	}
	return get(n.c, ctx, Routers, "GetRouter", id, n.ListRouters, func(x providers.Router) string { return x.NativeID }, notMoving[providers.Router], n.rtr.GetRouter)
}

// CreateRouter creates a router.
func (n *Net) CreateRouter(ctx context.Context, spec providers.RouterSpec) (out providers.Router, err error) {
	if n.rtr == nil {
		return out, unsupported("routers")
	}
	err = n.netWrite(ctx, "CreateRouter", func(ctx context.Context) error { out, err = n.rtr.CreateRouter(ctx, spec); return err })
	return out, err
}

// DeleteRouter deletes a router.
func (n *Net) DeleteRouter(ctx context.Context, id string) error {
	if n.rtr == nil {
		return unsupported("routers")
	}
	return n.netWrite(ctx, "DeleteRouter", func(ctx context.Context) error { return n.rtr.DeleteRouter(ctx, id) }, Ports)
}

// SetRouterGateway sets or clears a router's gateway.
func (n *Net) SetRouterGateway(ctx context.Context, id, external string) error {
	if n.rtr == nil {
		return unsupported("routers")
	}
	return n.netWrite(ctx, "SetRouterGateway", func(ctx context.Context) error { return n.rtr.SetRouterGateway(ctx, id, external) }, Ports)
}

// AddRouterInterface attaches a subnet to a router.
func (n *Net) AddRouterInterface(ctx context.Context, id, subnet string) (out providers.RouterInterface, err error) {
	if n.rtr == nil {
		return out, unsupported("routers")
	}
	err = n.netWrite(ctx, "AddRouterInterface", func(ctx context.Context) error { out, err = n.rtr.AddRouterInterface(ctx, id, subnet); return err }, Ports)
	return out, err
}

// RemoveRouterInterface detaches a subnet from a router.
func (n *Net) RemoveRouterInterface(ctx context.Context, id, subnet string) error {
	if n.rtr == nil {
		return unsupported("routers")
	}
	return n.netWrite(ctx, "RemoveRouterInterface", func(ctx context.Context) error { return n.rtr.RemoveRouterInterface(ctx, id, subnet) }, Ports)
}

// ListSecurityGroups lists security groups, from the cache while fresh.
func (n *Net) ListSecurityGroups(ctx context.Context) ([]providers.SecurityGroup, error) {
	if n.sg == nil {
		return nil, unsupported("security groups")
	}
	return list(n.c, ctx, SecurityGroups, "ListSecurityGroups", false, n.sg.ListSecurityGroups, notMoving[providers.SecurityGroup])
}

// ListSecurityGroupsFresh lists security groups from the cloud (coalesced
// with a list in flight): the reconcile loop compares what the cloud holds
// now, and the Watch poller sees rules changed at the cloud.
func (n *Net) ListSecurityGroupsFresh(ctx context.Context) ([]providers.SecurityGroup, error) {
	if n.sg == nil {
		return nil, unsupported("security groups")
	}
	return list(n.c, ctx, SecurityGroups, "ListSecurityGroups", true, n.sg.ListSecurityGroups, notMoving[providers.SecurityGroup])
}

// GetSecurityGroup gets a security group.
func (n *Net) GetSecurityGroup(ctx context.Context, id string) (providers.SecurityGroup, error) {
	if n.sg == nil {
		return providers.SecurityGroup{}, unsupported("security groups")
	}
	return get(n.c, ctx, SecurityGroups, "GetSecurityGroup", id, n.ListSecurityGroups, func(x providers.SecurityGroup) string { return x.NativeID },
		notMoving[providers.SecurityGroup], n.sg.GetSecurityGroup)
}

// CreateSecurityGroup creates a security group.
func (n *Net) CreateSecurityGroup(ctx context.Context, spec providers.SecurityGroupSpec) (out providers.SecurityGroup, err error) {
	if n.sg == nil {
		return out, unsupported("security groups")
	}
	err = n.netWrite(ctx, "CreateSecurityGroup", func(ctx context.Context) error { out, err = n.sg.CreateSecurityGroup(ctx, spec); return err })
	return out, err
}

// DeleteSecurityGroup deletes a security group.
func (n *Net) DeleteSecurityGroup(ctx context.Context, id string) error {
	if n.sg == nil {
		return unsupported("security groups")
	}
	return n.netWrite(ctx, "DeleteSecurityGroup", func(ctx context.Context) error { return n.sg.DeleteSecurityGroup(ctx, id) })
}

// AddSecurityRule adds a rule to a group.
func (n *Net) AddSecurityRule(ctx context.Context, group string, rule providers.SecurityRule) (out providers.SecurityRule, err error) {
	if n.sg == nil {
		return out, unsupported("security groups")
	}
	err = n.netWrite(ctx, "AddSecurityRule", func(ctx context.Context) error { out, err = n.sg.AddSecurityRule(ctx, group, rule); return err })
	return out, err
}

// DeleteSecurityRule removes a rule from a group.
func (n *Net) DeleteSecurityRule(ctx context.Context, group, rule string) error {
	if n.sg == nil {
		return unsupported("security groups")
	}
	return n.netWrite(ctx, "DeleteSecurityRule", func(ctx context.Context) error { return n.sg.DeleteSecurityRule(ctx, group, rule) })
}

// ListFloatingIPs lists floating IPs, from the cache while fresh.
func (n *Net) ListFloatingIPs(ctx context.Context) ([]providers.FloatingIP, error) {
	if n.fip == nil {
		return nil, unsupported("floating IPs")
	}
	return list(n.c, ctx, FloatingIPs, "ListFloatingIPs", false, n.fip.ListFloatingIPs, notMoving[providers.FloatingIP])
}

// ListFloatingIPsFresh lists floating IPs from the cloud (coalesced with
// a list in flight): the Watch poller's list; an association changes when
// the cloud deletes the server or port it maps to.
func (n *Net) ListFloatingIPsFresh(ctx context.Context) ([]providers.FloatingIP, error) {
	if n.fip == nil {
		return nil, unsupported("floating IPs")
	}
	return list(n.c, ctx, FloatingIPs, "ListFloatingIPs", true, n.fip.ListFloatingIPs, notMoving[providers.FloatingIP])
}

// GetFloatingIP gets a floating IP.
func (n *Net) GetFloatingIP(ctx context.Context, id string) (providers.FloatingIP, error) {
	if n.fip == nil {
		return providers.FloatingIP{}, unsupported("floating IPs")
	}
	return get(n.c, ctx, FloatingIPs, "GetFloatingIP", id, n.ListFloatingIPs, func(x providers.FloatingIP) string { return x.NativeID },
		notMoving[providers.FloatingIP], n.fip.GetFloatingIP)
}

// AllocateFloatingIP allocates a floating IP.
func (n *Net) AllocateFloatingIP(ctx context.Context, spec providers.FloatingIPSpec) (out providers.FloatingIP, err error) {
	if n.fip == nil {
		return out, unsupported("floating IPs")
	}
	err = n.netWrite(ctx, "AllocateFloatingIP", func(ctx context.Context) error { out, err = n.fip.AllocateFloatingIP(ctx, spec); return err })
	return out, err
}

// AssociateFloatingIP associates a floating IP with a port or server.
func (n *Net) AssociateFloatingIP(ctx context.Context, id, port, server string) error {
	if n.fip == nil {
		return unsupported("floating IPs")
	}
	return n.netWrite(ctx, "AssociateFloatingIP", func(ctx context.Context) error { return n.fip.AssociateFloatingIP(ctx, id, port, server) })
}

// DisassociateFloatingIP frees a floating IP.
func (n *Net) DisassociateFloatingIP(ctx context.Context, id string) error {
	if n.fip == nil {
		return unsupported("floating IPs")
	}
	return n.netWrite(ctx, "DisassociateFloatingIP", func(ctx context.Context) error { return n.fip.DisassociateFloatingIP(ctx, id) })
}

// ReleaseFloatingIP releases a floating IP.
func (n *Net) ReleaseFloatingIP(ctx context.Context, id string) error {
	if n.fip == nil {
		return unsupported("floating IPs")
	}
	return n.netWrite(ctx, "ReleaseFloatingIP", func(ctx context.Context) error { return n.fip.ReleaseFloatingIP(ctx, id) })
}
