package sim

import (
	"context"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/canopy-cloud/canopy/providers"
)

// The simulator's networking, shaped like Neutron: networks, subnets with
// gateways and allocation pools, ports that hold addresses, routers whose
// gateways and interfaces are ports too, security groups with rules, and
// floating IPs. Addresses are real (net/netip): CIDRs are parsed and
// checked for overlap, every address a port, a router or a floating IP
// holds is taken from its subnet's pools and given back when it goes, and
// what something still uses cannot be deleted.
//
// A new cloud has what a fresh devstack has: an external network "public"
// (shared, with subnet 203.0.113.0/24 for floating IPs and router
// gateways), the project's network "private" (10.0.0.0/16) that servers
// attach to when they name none, a router "router1" between them, and the
// security group "default". Options.NoExternalNetwork leaves out "public"
// and the router: a cloud where floating IPs are ErrUnsupported.

// Native ids of what a new simulated cloud already has.
const (
	PublicNetworkID  = "net-public"
	PublicSubnetID   = "subnet-public"
	PrivateNetworkID = "net-private"
	PrivateSubnetID  = "subnet-private"
	DefaultRouterID  = "router-default"
	DefaultGroupID   = "sg-default"
)

// Device owners of ports, as Neutron spells them; a server's port is
// "compute:<zone>".
const (
	ownerRouterInterface = "network:router_interface"
	ownerRouterGateway   = "network:router_gateway"
	ownerCompute         = "compute:"
)

// netState is the simulator's networking; it is persisted with the rest of
// the cloud (state.go). Callers hold c.mu. The resources are kept as the
// providers types; what can be derived (a network's subnets, a router's
// interfaces and gateway addresses, a floating IP's server) is derived
// when read, from the ports.
type netState struct {
	Networks map[string]*providers.Network       `json:"networks"`
	Subnets  map[string]*providers.Subnet        `json:"subnets"`
	Ports    map[string]*portRec                 `json:"ports"`
	Routers  map[string]*providers.Router        `json:"routers"`
	Groups   map[string]*providers.SecurityGroup `json:"groups"`
	FIPs     map[string]*providers.FloatingIP    `json:"fips"`
}

// portRec is a port; Auto marks one a server create made, deleted with
// the server (a port given to the create is only unbound, as Nova does).
type portRec struct {
	P    providers.Port `json:"port"`
	Auto bool           `json:"auto,omitempty"`
}

func newNetState() *netState {
	n := &netState{}
	n.fill()
	return n
}

// fill makes every map non-nil (after loading a state file).
func (n *netState) fill() {
	if n.Networks == nil {
		n.Networks = map[string]*providers.Network{}
	}
	if n.Subnets == nil {
		n.Subnets = map[string]*providers.Subnet{}
	}
	if n.Ports == nil {
		n.Ports = map[string]*portRec{}
	}
	if n.Routers == nil {
		n.Routers = map[string]*providers.Router{}
	}
	if n.Groups == nil {
		n.Groups = map[string]*providers.SecurityGroup{}
	}
	if n.FIPs == nil {
		n.FIPs = map[string]*providers.FloatingIP{}
	}
}

// common is a new resource's Common: ACTIVE, in the cloud's region,
// labelled, carrying its idempotency token.
func (c *Cloud) common(id, name string, labels map[string]string, token string, now time.Time) providers.Common {
	props := map[string]string{}
	if token != "" {
		props[providers.PropToken] = token
	}
	return providers.Common{NativeID: id, Name: name, Region: c.opts.Regions[0], Status: providers.StatusActive, ProviderStatus: "ACTIVE",
		Created: now, Updated: now, Labels: cloneMap(labels), Properties: props}
}

// seedNetworks makes what a new cloud has (see the top of this file).
// Fixed ids, not newID: the seed's id sequence stays what it was before
// the cloud had networks.
func (c *Cloud) seedNetworks() {
	epoch := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	n := c.net
	mk := func(id, name string) providers.Common {
		cm := c.common(id, name, nil, "", epoch)
		cm.Properties = nil
		return cm
	}
	n.Networks[PrivateNetworkID] = &providers.Network{Common: mk(PrivateNetworkID, "private"), MTU: 1500, Default: true}
	n.Subnets[PrivateSubnetID] = c.subnetOf(mk(PrivateSubnetID, "private-subnet"), PrivateNetworkID, netip.MustParsePrefix("10.0.0.0/16"), true)
	g := &providers.SecurityGroup{Common: mk(DefaultGroupID, "default"), Description: "Default security group"}
	g.Rules = append(defaultRules(DefaultGroupID+"-egress"),
		providers.SecurityRule{NativeID: DefaultGroupID + "-ingress-v4", Direction: providers.Ingress, EtherType: providers.IPv4, RemoteGroupID: DefaultGroupID},
		providers.SecurityRule{NativeID: DefaultGroupID + "-ingress-v6", Direction: providers.Ingress, EtherType: providers.IPv6, RemoteGroupID: DefaultGroupID})
	n.Groups[DefaultGroupID] = g
	if c.opts.NoExternalNetwork {
		return
	}
	n.Networks[PublicNetworkID] = &providers.Network{Common: mk(PublicNetworkID, "public"), MTU: 1500, External: true, Shared: true}
	n.Subnets[PublicSubnetID] = c.subnetOf(mk(PublicSubnetID, "public-subnet"), PublicNetworkID, netip.MustParsePrefix("203.0.113.0/24"), false)
	n.Routers[DefaultRouterID] = &providers.Router{Common: mk(DefaultRouterID, "router1"), ExternalNetworkID: PublicNetworkID}
	gw, _ := c.allocate(n.Subnets[PublicSubnetID])
	n.Ports[DefaultRouterID+"-gw"] = &portRec{P: providers.Port{Common: mk(DefaultRouterID+"-gw", ""), NetworkID: PublicNetworkID,
		MAC: macOf(1), FixedIPs: []providers.FixedIP{{SubnetID: PublicSubnetID, IP: gw.String()}}, DeviceID: DefaultRouterID, DeviceOwner: ownerRouterGateway}}
	n.Ports[DefaultRouterID+"-if"] = &portRec{P: providers.Port{Common: mk(DefaultRouterID+"-if", ""), NetworkID: PrivateNetworkID,
		MAC: macOf(2), FixedIPs: []providers.FixedIP{{SubnetID: PrivateSubnetID, IP: "10.0.0.1"}}, DeviceID: DefaultRouterID, DeviceOwner: ownerRouterInterface}}
}

// subnetOf is a subnet of cidr with the defaults: the first host as its
// gateway, its other hosts as its pool.
func (c *Cloud) subnetOf(cm providers.Common, network string, cidr netip.Prefix, dhcp bool) *providers.Subnet {
	gw := cidr.Addr().Next()
	return &providers.Subnet{Common: cm, NetworkID: network, CIDR: cidr.String(), IPVersion: version(cidr.Addr()), GatewayIP: gw.String(),
		DHCP: dhcp, Pools: defaultPools(cidr, gw)}
}

// defaultRules are a new group's rules, as Neutron makes them: all egress,
// IPv4 and IPv6.
func defaultRules(idPrefix string) []providers.SecurityRule {
	return []providers.SecurityRule{
		{NativeID: idPrefix + "-v4", Direction: providers.Egress, EtherType: providers.IPv4},
		{NativeID: idPrefix + "-v6", Direction: providers.Egress, EtherType: providers.IPv6},
	}
}

// macOf is a port's MAC address, in OpenStack's fa:16:3e prefix.
func macOf(n uint64) string {
	x := mix(n)
	return fmt.Sprintf("fa:16:3e:%02x:%02x:%02x", byte(x>>16), byte(x>>8), byte(x))
}

// netCall is the prologue of every networking method: the usual call
// accounting and faults, then the lock, with servers whose delete has
// finished swept away (their ports go with them). The caller unlocks.
func (c *Cloud) netCall(ctx context.Context, method string) error {
	if err := c.call(ctx, method); err != nil {
		return err
	}
	c.mu.Lock()
	now := time.Now()
	for id := range c.servers {
		c.view(id, now)
	}
	return nil
}

// ------------------------------------------------------------ networks

func (c *Cloud) networkView(n *providers.Network) providers.Network {
	out := *n
	out.Labels, out.Properties = cloneMap(n.Labels), cloneMap(n.Properties)
	out.SubnetIDs = nil
	for id, s := range c.net.Subnets {
		if s.NetworkID == n.NativeID {
			out.SubnetIDs = append(out.SubnetIDs, id)
		}
	}
	sort.Strings(out.SubnetIDs)
	return out
}

// ListNetworks implements providers.Networks.
func (c *Cloud) ListNetworks(ctx context.Context) ([]providers.Network, error) {
	if err := c.netCall(ctx, "ListNetworks"); err != nil {
		return nil, err
	}
	defer c.mu.Unlock()
	out := make([]providers.Network, 0, len(c.net.Networks))
	for _, n := range c.net.Networks {
		out = append(out, c.networkView(n))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].NativeID < out[j].NativeID })
	return out, nil
}

// GetNetwork implements providers.Networks.
func (c *Cloud) GetNetwork(ctx context.Context, id string) (providers.Network, error) {
	if err := c.netCall(ctx, "GetNetwork"); err != nil {
		return providers.Network{}, err
	}
	defer c.mu.Unlock()
	n, ok := c.net.Networks[id]
	if !ok {
		return providers.Network{}, fmt.Errorf("sim: network %q: %w", id, providers.ErrNotFound)
	}
	return c.networkView(n), nil
}

// CreateNetwork implements providers.Networks. Networks need no range (as
// in Neutron); one given (spec.CIDR) is kept, and the network's subnets
// must then lie inside it (as in a VPC).
func (c *Cloud) CreateNetwork(ctx context.Context, spec providers.NetworkSpec) (providers.Network, error) {
	if err := c.netCall(ctx, "CreateNetwork"); err != nil {
		return providers.Network{}, err
	}
	defer c.mu.Unlock()
	if n := byToken(c.net.Networks, spec.IdempotencyToken, func(n *providers.Network) providers.Common { return n.Common }); n != nil {
		return c.networkView(n), nil
	}
	var cidr string
	if spec.CIDR != "" {
		p, err := parseCIDR(spec.CIDR)
		if err != nil {
			return providers.Network{}, fmt.Errorf("sim: create network: %w", err)
		}
		cidr = p.String()
	}
	if spec.MTU < 0 || spec.MTU > 9000 || (spec.MTU > 0 && spec.MTU < 68) {
		return providers.Network{}, fmt.Errorf("sim: create network: %w: mtu %d is not between 68 and 9000", providers.ErrInvalid, spec.MTU)
	}
	mtu := spec.MTU
	if mtu == 0 {
		mtu = 1500
	}
	n := &providers.Network{Common: c.common(c.newID("net"), spec.Name, spec.Labels, spec.IdempotencyToken, time.Now()), CIDR: cidr, MTU: mtu}
	c.net.Networks[n.NativeID] = n
	c.save()
	return c.networkView(n), nil
}

// DeleteNetwork implements providers.Networks. Like Neutron it deletes the
// network's subnets with it, and refuses while a port or a floating IP
// uses it.
func (c *Cloud) DeleteNetwork(ctx context.Context, id string) error {
	if err := c.netCall(ctx, "DeleteNetwork"); err != nil {
		return err
	}
	defer c.mu.Unlock()
	if _, ok := c.net.Networks[id]; !ok {
		return fmt.Errorf("sim: delete network %q: %w", id, providers.ErrNotFound)
	}
	for _, pid := range sortedKeys(c.net.Ports) {
		if p := c.net.Ports[pid].P; p.NetworkID == id {
			return fmt.Errorf("sim: delete network %q: %w: port %s%s uses it", id, providers.ErrConflict, pid, ownedBy(p))
		}
	}
	for _, fid := range sortedKeys(c.net.FIPs) {
		if c.net.FIPs[fid].NetworkID == id {
			return fmt.Errorf("sim: delete network %q: %w: floating IP %s (%s) is allocated from it", id, providers.ErrConflict, fid, c.net.FIPs[fid].IP)
		}
	}
	for sid, s := range c.net.Subnets {
		if s.NetworkID == id {
			delete(c.net.Subnets, sid)
		}
	}
	delete(c.net.Networks, id)
	c.save()
	return nil
}

// ownedBy says what a port belongs to, for error messages.
func ownedBy(p providers.Port) string {
	if p.DeviceID == "" {
		return ""
	}
	return fmt.Sprintf(" (%s %s)", strings.TrimSuffix(p.DeviceOwner, ":"), p.DeviceID)
}

// byToken returns the resource created with token, or nil.
func byToken[T any](m map[string]*T, token string, common func(*T) providers.Common) *T {
	if token == "" {
		return nil
	}
	for _, v := range m {
		if common(v).Properties[providers.PropToken] == token {
			return v
		}
	}
	return nil
}

func sortedKeys[T any](m map[string]T) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
