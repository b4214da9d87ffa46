package sim

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/canopy-cloud/canopy/providers"
)

// Floating IPs (networks.go): an address of an external network, mapped
// to a port's fixed address when the port's subnet reaches that network
// through a router.

func (c *Cloud) fipView(f *providers.FloatingIP) providers.FloatingIP {
	out := *f
	out.Labels, out.Properties = cloneMap(f.Labels), cloneMap(f.Properties)
	out.ServerID, out.ProviderStatus = "", "DOWN"
	if r, ok := c.net.Ports[f.PortID]; ok {
		out.ProviderStatus = "ACTIVE"
		if strings.HasPrefix(r.P.DeviceOwner, ownerCompute) {
			out.ServerID = r.P.DeviceID
		}
	}
	return out
}

// ListFloatingIPs implements providers.FloatingIPs.
func (c *Cloud) ListFloatingIPs(ctx context.Context) ([]providers.FloatingIP, error) {
	if err := c.netCall(ctx, "ListFloatingIPs"); err != nil {
		return nil, err
	}
	defer c.mu.Unlock()
	out := make([]providers.FloatingIP, 0, len(c.net.FIPs))
	for _, id := range sortedKeys(c.net.FIPs) {
		out = append(out, c.fipView(c.net.FIPs[id]))
	}
	return out, nil
}

// GetFloatingIP implements providers.FloatingIPs.
func (c *Cloud) GetFloatingIP(ctx context.Context, id string) (providers.FloatingIP, error) {
	if err := c.netCall(ctx, "GetFloatingIP"); err != nil {
		return providers.FloatingIP{}, err
	}
	defer c.mu.Unlock()
	f, ok := c.net.FIPs[id]
	if !ok {
		return providers.FloatingIP{}, fmt.Errorf("sim: floating IP %q: %w", id, providers.ErrNotFound)
	}
	return c.fipView(f), nil
}

// AllocateFloatingIP implements providers.FloatingIPs: ErrUnsupported on a
// cloud without an external network.
func (c *Cloud) AllocateFloatingIP(ctx context.Context, spec providers.FloatingIPSpec) (providers.FloatingIP, error) {
	if err := c.netCall(ctx, "AllocateFloatingIP"); err != nil {
		return providers.FloatingIP{}, err
	}
	defer c.mu.Unlock()
	if f := byToken(c.net.FIPs, spec.IdempotencyToken, func(f *providers.FloatingIP) providers.Common { return f.Common }); f != nil {
		return c.fipView(f), nil
	}
	var externals []string
	for _, id := range sortedKeys(c.net.Networks) {
		if c.net.Networks[id].External {
			externals = append(externals, id)
		}
	}
	ext := spec.NetworkID
	switch {
	case len(externals) == 0:
		return providers.FloatingIP{}, fmt.Errorf("sim: allocate floating IP: %w: this cloud has no external network", providers.ErrUnsupported)
	case ext == "" && len(externals) > 1:
		return providers.FloatingIP{}, fmt.Errorf("sim: allocate floating IP: %w: network_id is empty and the cloud has several external networks %v", providers.ErrInvalid, externals)
	case ext == "":
		ext = externals[0]
	}
	n, ok := c.net.Networks[ext]
	if !ok {
		return providers.FloatingIP{}, fmt.Errorf("sim: allocate floating IP: %w: network_id %q does not exist", providers.ErrInvalid, ext)
	}
	if !n.External {
		return providers.FloatingIP{}, fmt.Errorf("sim: allocate floating IP: %w: network %s (%s) is not external", providers.ErrInvalid, ext, n.Name)
	}
	_, a, ok := c.allocateIn(ext, 4)
	if !ok || !a.IsValid() {
		return providers.FloatingIP{}, fmt.Errorf("sim: allocate floating IP: %w: external network %s has no free IPv4 address left", providers.ErrQuota, ext)
	}
	f := &providers.FloatingIP{Common: c.common(c.newID("fip"), "", spec.Labels, spec.IdempotencyToken, time.Now()), IP: a.String(), NetworkID: ext}
	c.net.FIPs[f.NativeID] = f
	c.save()
	return c.fipView(f), nil
}

// AssociateFloatingIP implements providers.FloatingIPs: to a port, or to
// a server's first port with an IPv4 address.
func (c *Cloud) AssociateFloatingIP(ctx context.Context, id, portID, serverID string) error {
	if err := c.netCall(ctx, "AssociateFloatingIP"); err != nil {
		return err
	}
	defer c.mu.Unlock()
	f, ok := c.net.FIPs[id]
	if !ok {
		return fmt.Errorf("sim: associate floating IP %q: %w", id, providers.ErrNotFound)
	}
	port, err := c.portFor(portID, serverID)
	if err != nil {
		return fmt.Errorf("sim: associate floating IP %q: %w", id, err)
	}
	switch f.PortID {
	case port.P.NativeID:
		return nil
	case "":
	default:
		return fmt.Errorf("sim: associate floating IP %q (%s): %w: it is associated with port %s; disassociate it first", id, f.IP, providers.ErrConflict, f.PortID)
	}
	fixed, err := c.reachable(port.P, f.NetworkID)
	if err != nil {
		return fmt.Errorf("sim: associate floating IP %q: %w", id, err)
	}
	for _, o := range c.net.FIPs {
		if o.PortID == port.P.NativeID && o.NetworkID == f.NetworkID {
			return fmt.Errorf("sim: associate floating IP %q: %w: port %s already has floating IP %s from network %s", id, providers.ErrConflict, port.P.NativeID, o.IP, f.NetworkID)
		}
	}
	f.PortID, f.FixedIP, f.Updated = port.P.NativeID, fixed, time.Now()
	c.save()
	return nil
}

// portFor is the port an association names: the port itself, or the
// server's first port with an IPv4 address. Callers hold c.mu.
func (c *Cloud) portFor(portID, serverID string) (*portRec, error) {
	switch {
	case portID == "" && serverID == "":
		return nil, fmt.Errorf("%w: neither a port nor a server", providers.ErrInvalid)
	case portID != "":
		p, ok := c.net.Ports[portID]
		if !ok {
			return nil, fmt.Errorf("%w: port %q does not exist", providers.ErrInvalid, portID)
		}
		if serverID != "" && p.P.DeviceID != serverID {
			return nil, fmt.Errorf("%w: port %s is not server %s's", providers.ErrInvalid, portID, serverID)
		}
		return p, nil
	}
	rec, ok := c.servers[serverID]
	if !ok {
		return nil, fmt.Errorf("%w: server %q does not exist", providers.ErrInvalid, serverID)
	}
	for _, pid := range rec.ports {
		if p, ok := c.net.Ports[pid]; ok && firstV4(p.P) != "" {
			return p, nil
		}
	}
	return nil, fmt.Errorf("%w: server %s has no port with an IPv4 address", providers.ErrInvalid, serverID)
}

func firstV4(p providers.Port) string {
	for _, f := range p.FixedIPs {
		if a, err := netip.ParseAddr(f.IP); err == nil && a.Is4() {
			return f.IP
		}
	}
	return ""
}

// reachable returns the port's fixed address a floating IP of ext maps
// to: one in a subnet attached to a router whose gateway is on ext.
func (c *Cloud) reachable(p providers.Port, ext string) (string, error) {
	for _, f := range p.FixedIPs {
		if a, err := netip.ParseAddr(f.IP); err != nil || !a.Is4() {
			continue
		}
		for _, rid := range sortedKeys(c.net.Routers) {
			r := c.net.Routers[rid]
			if r.ExternalNetworkID != ext {
				continue
			}
			for _, ri := range c.routerView(r).Interfaces {
				if ri.SubnetID == f.SubnetID {
					return f.IP, nil
				}
			}
		}
	}
	if firstV4(p) == "" {
		return "", fmt.Errorf("%w: port %s has no IPv4 address", providers.ErrInvalid, p.NativeID)
	}
	return "", fmt.Errorf("%w: external network %s is not reachable from port %s's subnets (no router with a gateway there has an interface in them)",
		providers.ErrConflict, ext, p.NativeID)
}

// DisassociateFloatingIP implements providers.FloatingIPs.
func (c *Cloud) DisassociateFloatingIP(ctx context.Context, id string) error {
	if err := c.netCall(ctx, "DisassociateFloatingIP"); err != nil {
		return err
	}
	defer c.mu.Unlock()
	f, ok := c.net.FIPs[id]
	if !ok {
		return fmt.Errorf("sim: disassociate floating IP %q: %w", id, providers.ErrNotFound)
	}
	if f.PortID != "" {
		f.PortID, f.FixedIP, f.Updated = "", "", time.Now()
		c.save()
	}
	return nil
}

// ReleaseFloatingIP implements providers.FloatingIPs; an associated one
// is freed and released (as Neutron does).
func (c *Cloud) ReleaseFloatingIP(ctx context.Context, id string) error {
	if err := c.netCall(ctx, "ReleaseFloatingIP"); err != nil {
		return err
	}
	defer c.mu.Unlock()
	if _, ok := c.net.FIPs[id]; !ok {
		return fmt.Errorf("sim: release floating IP %q: %w", id, providers.ErrNotFound)
	}
	delete(c.net.FIPs, id)
	c.save()
	return nil
}
