package sim

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/canopy-cloud/canopy/providers"
)

// Routers (networks.go). A router's gateway is a port on the external
// network holding one of its addresses; each interface is a port holding
// its subnet's gateway address. Both are derived from the ports when a
// router is read.

func (c *Cloud) routerView(r *providers.Router) providers.Router {
	out := *r
	out.Labels, out.Properties = cloneMap(r.Labels), cloneMap(r.Properties)
	out.Interfaces, out.ExternalIPs = nil, nil
	for _, pid := range sortedKeys(c.net.Ports) {
		p := c.net.Ports[pid].P
		if p.DeviceID != r.NativeID {
			continue
		}
		for _, f := range p.FixedIPs {
			switch p.DeviceOwner {
			case ownerRouterGateway:
				out.ExternalIPs = append(out.ExternalIPs, f.IP)
			case ownerRouterInterface:
				out.Interfaces = append(out.Interfaces, providers.RouterInterface{SubnetID: f.SubnetID, PortID: pid, IP: f.IP})
			}
		}
	}
	return out
}

// routerPorts returns the ids of a router's ports of one kind.
func (c *Cloud) routerPorts(router, owner string) []string {
	var out []string
	for _, pid := range sortedKeys(c.net.Ports) {
		if p := c.net.Ports[pid].P; p.DeviceID == router && p.DeviceOwner == owner {
			out = append(out, pid)
		}
	}
	return out
}

// ListRouters implements providers.Routers.
func (c *Cloud) ListRouters(ctx context.Context) ([]providers.Router, error) {
	if err := c.netCall(ctx, "ListRouters"); err != nil {
		return nil, err
	}
	defer c.mu.Unlock()
	out := make([]providers.Router, 0, len(c.net.Routers))
	for _, id := range sortedKeys(c.net.Routers) {
		out = append(out, c.routerView(c.net.Routers[id]))
	}
	return out, nil
}

// GetRouter implements providers.Routers.
func (c *Cloud) GetRouter(ctx context.Context, id string) (providers.Router, error) {
	if err := c.netCall(ctx, "GetRouter"); err != nil {
		return providers.Router{}, err
	}
	defer c.mu.Unlock()
	r, ok := c.net.Routers[id]
	if !ok {
		return providers.Router{}, fmt.Errorf("sim: router %q: %w", id, providers.ErrNotFound)
	}
	return c.routerView(r), nil
}

// CreateRouter implements providers.Routers.
func (c *Cloud) CreateRouter(ctx context.Context, spec providers.RouterSpec) (providers.Router, error) {
	if err := c.netCall(ctx, "CreateRouter"); err != nil {
		return providers.Router{}, err
	}
	defer c.mu.Unlock()
	if r := byToken(c.net.Routers, spec.IdempotencyToken, func(r *providers.Router) providers.Common { return r.Common }); r != nil {
		return c.routerView(r), nil
	}
	r := &providers.Router{Common: c.common(c.newID("router"), spec.Name, spec.Labels, spec.IdempotencyToken, time.Now())}
	if spec.ExternalNetworkID != "" {
		if err := c.setGateway(r, spec.ExternalNetworkID); err != nil {
			return providers.Router{}, fmt.Errorf("sim: create router: %w", err)
		}
	}
	c.net.Routers[r.NativeID] = r
	c.save()
	return c.routerView(r), nil
}

// setGateway gives a router without a gateway one on network ext, taking
// an address of it. Callers hold c.mu.
func (c *Cloud) setGateway(r *providers.Router, ext string) error {
	n, ok := c.net.Networks[ext]
	if !ok {
		return fmt.Errorf("%w: external network %q does not exist", providers.ErrInvalid, ext)
	}
	if !n.External {
		return fmt.Errorf("%w: network %s (%s) is not external", providers.ErrInvalid, ext, n.Name)
	}
	if _, _, ok := c.allocateIn(ext, 4); !ok {
		return fmt.Errorf("%w: external network %s has no free address left for a gateway", providers.ErrConflict, ext)
	}
	p, err := c.newPort("", ext, "", "")
	if err != nil {
		return err
	}
	p.P.DeviceID, p.P.DeviceOwner = r.NativeID, ownerRouterGateway
	r.ExternalNetworkID = ext
	r.Updated = time.Now()
	return nil
}

// DeleteRouter implements providers.Routers: refused while it has
// interfaces; its gateway goes with it.
func (c *Cloud) DeleteRouter(ctx context.Context, id string) error {
	if err := c.netCall(ctx, "DeleteRouter"); err != nil {
		return err
	}
	defer c.mu.Unlock()
	r, ok := c.net.Routers[id]
	if !ok {
		return fmt.Errorf("sim: delete router %q: %w", id, providers.ErrNotFound)
	}
	if ifs := c.routerView(r).Interfaces; len(ifs) > 0 {
		return fmt.Errorf("sim: delete router %q: %w: it still has an interface in subnet %s", id, providers.ErrConflict, ifs[0].SubnetID)
	}
	for _, pid := range c.routerPorts(id, ownerRouterGateway) {
		c.dropPort(pid)
	}
	delete(c.net.Routers, id)
	c.save()
	return nil
}

// SetRouterGateway implements providers.Routers. Clearing (or moving) a
// gateway floating IPs reach their ports through is refused, as in
// Neutron.
func (c *Cloud) SetRouterGateway(ctx context.Context, id, externalNetworkID string) error {
	if err := c.netCall(ctx, "SetRouterGateway"); err != nil {
		return err
	}
	defer c.mu.Unlock()
	r, ok := c.net.Routers[id]
	if !ok {
		return fmt.Errorf("sim: set gateway of router %q: %w", id, providers.ErrNotFound)
	}
	if r.ExternalNetworkID == externalNetworkID {
		return nil
	}
	if externalNetworkID != "" {
		if n, ok := c.net.Networks[externalNetworkID]; !ok || !n.External {
			return fmt.Errorf("sim: set gateway of router %q: %w: network %q is not an external network", id, providers.ErrInvalid, externalNetworkID)
		}
	}
	if r.ExternalNetworkID != "" {
		if f := c.fipThrough(r, ""); f != nil {
			return fmt.Errorf("sim: set gateway of router %q: %w: floating IP %s (%s) reaches port %s through it", id, providers.ErrConflict, f.NativeID, f.IP, f.PortID)
		}
		for _, pid := range c.routerPorts(id, ownerRouterGateway) {
			c.dropPort(pid)
		}
		r.ExternalNetworkID = ""
	}
	if externalNetworkID != "" {
		if err := c.setGateway(r, externalNetworkID); err != nil {
			return fmt.Errorf("sim: set gateway of router %q: %w", id, err)
		}
	}
	r.Updated = time.Now()
	c.save()
	return nil
}

// fipThrough returns a floating IP on the router's external network that
// reaches its port through one of the router's interfaces (only the one in
// subnet, when given), or nil. Callers hold c.mu.
func (c *Cloud) fipThrough(r *providers.Router, subnet string) *providers.FloatingIP {
	ifs := c.routerView(r).Interfaces
	for _, fid := range sortedKeys(c.net.FIPs) {
		f := c.net.FIPs[fid]
		p, ok := c.net.Ports[f.PortID]
		if f.PortID == "" || !ok || f.NetworkID != r.ExternalNetworkID {
			continue
		}
		for _, ip := range p.P.FixedIPs {
			if ip.IP == f.FixedIP && slices.ContainsFunc(ifs, func(i providers.RouterInterface) bool {
				return i.SubnetID == ip.SubnetID && (subnet == "" || subnet == i.SubnetID)
			}) {
				return f
			}
		}
	}
	return nil
}

// AddRouterInterface implements providers.Routers: the interface takes
// the subnet's gateway address, so a subnet without a gateway, or one
// whose gateway another router holds, cannot be attached.
func (c *Cloud) AddRouterInterface(ctx context.Context, id, subnetID string) (providers.RouterInterface, error) {
	if err := c.netCall(ctx, "AddRouterInterface"); err != nil {
		return providers.RouterInterface{}, err
	}
	defer c.mu.Unlock()
	r, ok := c.net.Routers[id]
	if !ok {
		return providers.RouterInterface{}, fmt.Errorf("sim: add interface to router %q: %w", id, providers.ErrNotFound)
	}
	sub, ok := c.net.Subnets[subnetID]
	if !ok {
		return providers.RouterInterface{}, fmt.Errorf("sim: add interface to router %q: %w: subnet %q does not exist", id, providers.ErrInvalid, subnetID)
	}
	p := netip.MustParsePrefix(sub.CIDR)
	for _, ri := range c.routerView(r).Interfaces {
		if ri.SubnetID == subnetID {
			return providers.RouterInterface{}, fmt.Errorf("sim: add interface to router %q: %w: it already has one in subnet %s", id, providers.ErrConflict, subnetID)
		}
		if o := c.net.Subnets[ri.SubnetID]; o != nil && netip.MustParsePrefix(o.CIDR).Overlaps(p) {
			return providers.RouterInterface{}, fmt.Errorf("sim: add interface to router %q: %w: subnet %s (%s) overlaps its interface in subnet %s (%s)",
				id, providers.ErrInvalid, subnetID, sub.CIDR, o.NativeID, o.CIDR)
		}
	}
	if sub.GatewayIP == "" {
		return providers.RouterInterface{}, fmt.Errorf("sim: add interface to router %q: %w: subnet %s has no gateway_ip", id, providers.ErrInvalid, subnetID)
	}
	if who, taken := c.used(sub)[netip.MustParseAddr(sub.GatewayIP)]; taken {
		return providers.RouterInterface{}, fmt.Errorf("sim: add interface to router %q: %w: the gateway %s of subnet %s is held by %s", id, providers.ErrConflict, sub.GatewayIP, subnetID, who)
	}
	now := time.Now()
	pid := c.newID("port")
	c.net.Ports[pid] = &portRec{P: providers.Port{Common: c.common(pid, "", nil, "", now), NetworkID: sub.NetworkID, MAC: macOf(c.seq),
		FixedIPs: []providers.FixedIP{{SubnetID: subnetID, IP: sub.GatewayIP}}, DeviceID: id, DeviceOwner: ownerRouterInterface}}
	r.Updated = now
	c.save()
	return providers.RouterInterface{SubnetID: subnetID, PortID: pid, IP: sub.GatewayIP}, nil
}

// RemoveRouterInterface implements providers.Routers: refused while a
// floating IP reaches a port of the subnet through it.
func (c *Cloud) RemoveRouterInterface(ctx context.Context, id, subnetID string) error {
	if err := c.netCall(ctx, "RemoveRouterInterface"); err != nil {
		return err
	}
	defer c.mu.Unlock()
	r, ok := c.net.Routers[id]
	if !ok {
		return fmt.Errorf("sim: remove interface from router %q: %w", id, providers.ErrNotFound)
	}
	for _, ri := range c.routerView(r).Interfaces {
		if ri.SubnetID != subnetID {
			continue
		}
		if f := c.fipThrough(r, subnetID); f != nil {
			return fmt.Errorf("sim: remove interface from router %q: %w: floating IP %s (%s) reaches port %s through it", id, providers.ErrConflict, f.NativeID, f.IP, f.PortID)
		}
		c.dropPort(ri.PortID)
		r.Updated = time.Now()
		c.save()
		return nil
	}
	return fmt.Errorf("sim: remove interface from router %q: %w: it has none in subnet %q", id, providers.ErrNotFound, subnetID)
}
