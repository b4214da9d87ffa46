package sim

import (
	"fmt"
	"net/netip"
	"slices"

	"github.com/canopy-cloud/canopy/providers"
)

// Servers on the simulated networks (networks.go), as Nova does it on
// Neutron: a server gets a port on each network it names (on "private"
// when it names neither networks nor ports), existing ports it is given
// become its own, and its addresses are its ports' fixed addresses and the
// floating IPs mapped to them. When it is deleted, the ports it made go
// and the ports it was given are unbound.

// serverNets is what a server create asks of the networking, checked
// before the server is recorded.
type serverNets struct {
	networks []string // native ids, a new port on each
	ports    []string // existing ports to bind
	groups   []string // the new ports' security groups
}

// planServer checks spec's networks (native ids or names), ports and
// security groups. Callers hold c.mu.
func (c *Cloud) planServer(spec providers.ServerSpec) (serverNets, error) {
	var plan serverNets
	for i, ref := range spec.Networks {
		id, err := c.networkRef(ref)
		if err != nil {
			return plan, fmt.Errorf("%w: networks[%d]: %v", providers.ErrInvalid, i, err)
		}
		plan.networks = append(plan.networks, id)
	}
	for i, pid := range spec.Ports {
		r, ok := c.net.Ports[pid]
		switch {
		case !ok:
			return plan, fmt.Errorf("%w: ports[%d]: port %q does not exist", providers.ErrInvalid, i, pid)
		case r.P.DeviceID != "":
			return plan, fmt.Errorf("%w: ports[%d]: port %s is in use by %s %s", providers.ErrConflict, i, pid, r.P.DeviceOwner, r.P.DeviceID)
		case slices.Contains(plan.ports, pid):
			return plan, fmt.Errorf("%w: ports[%d]: port %s is given twice", providers.ErrInvalid, i, pid)
		}
		plan.ports = append(plan.ports, pid)
	}
	if len(spec.Networks) == 0 && len(spec.Ports) == 0 {
		if _, ok := c.net.Networks[PrivateNetworkID]; ok {
			plan.networks = []string{PrivateNetworkID}
		}
	}
	groups, err := c.groupsFor(spec.SecurityGroupIDs)
	if err != nil {
		return plan, err
	}
	plan.groups = groups
	return plan, nil
}

// networkRef resolves a network by native id, else by name (one only).
func (c *Cloud) networkRef(ref string) (string, error) {
	if _, ok := c.net.Networks[ref]; ok {
		return ref, nil
	}
	var found []string
	for _, id := range sortedKeys(c.net.Networks) {
		if c.net.Networks[id].Name == ref {
			found = append(found, id)
		}
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("network %q does not exist", ref)
	case 1:
		return found[0], nil
	}
	return "", fmt.Errorf("network name %q is ambiguous (%v); name it by id", ref, found)
}

// bindServer makes and binds the planned ports of a server about to be
// recorded and returns their ids, in order: new ones first, then the
// given ones. When a network runs out of addresses (one named twice may),
// the ports made so far go again. Callers hold c.mu.
func (c *Cloud) bindServer(s *providers.Server, plan serverNets) ([]string, error) {
	var ids []string
	for _, n := range plan.networks {
		r, err := c.newPort("", n, "", "")
		if err != nil {
			for _, pid := range ids {
				c.dropPort(pid)
			}
			return nil, err
		}
		r.Auto, r.P.SecurityGroupIDs = true, slices.Clone(plan.groups)
		ids = append(ids, r.P.NativeID)
	}
	ids = append(ids, plan.ports...)
	for _, pid := range ids {
		p := &c.net.Ports[pid].P
		p.DeviceID, p.DeviceOwner = s.NativeID, ownerCompute+s.Zone
	}
	return ids, nil
}

// unbindServer deletes the ports a server made and unbinds the ones it
// was given, once it is gone. Callers hold c.mu.
func (c *Cloud) unbindServer(id string, ports []string) {
	for _, pid := range ports {
		r, ok := c.net.Ports[pid]
		if !ok || r.P.DeviceID != id {
			continue
		}
		if r.Auto {
			c.dropPort(pid)
			continue
		}
		r.P.DeviceID, r.P.DeviceOwner = "", ""
	}
}

// serverAddresses are a server's addresses: each port's fixed ones, then
// the floating IPs mapped to them, under the port's network's name.
// Callers hold c.mu.
func (c *Cloud) serverAddresses(ports []string) []providers.Address {
	out := []providers.Address{}
	for _, pid := range ports {
		r, ok := c.net.Ports[pid]
		if !ok {
			continue
		}
		name := r.P.NetworkID
		if n, ok := c.net.Networks[name]; ok && n.Name != "" {
			name = n.Name
		}
		for _, f := range r.P.FixedIPs {
			out = append(out, providers.Address{Network: name, IP: f.IP, Version: ipVersion(f.IP), Type: "fixed"})
		}
		if len(c.net.FIPs) == 0 {
			continue
		}
		for _, fid := range sortedKeys(c.net.FIPs) {
			if f := c.net.FIPs[fid]; f.PortID == pid {
				out = append(out, providers.Address{Network: name, IP: f.IP, Version: ipVersion(f.IP), Type: "floating"})
			}
		}
	}
	return out
}

func ipVersion(ip string) int32 {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return 0
	}
	return version(a)
}
