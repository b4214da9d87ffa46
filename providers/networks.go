package providers

import "context"

// Kinds of the networking resources; the id map keys on them.
const (
	KindNetwork       = "network"
	KindSubnet        = "subnet"
	KindPort          = "port"
	KindRouter        = "router"
	KindSecurityGroup = "security_group"
	KindFloatingIP    = "floating_ip"
)

// Capability names of the networking interfaces.
const (
	// CapNetworks: the adapter implements Networks (networks, subnets,
	// ports).
	CapNetworks = "networks"
	// CapRouters: the adapter implements Routers.
	CapRouters = "routers"
	// CapSecurityGroups: the adapter implements SecurityGroups.
	CapSecurityGroups = "security-groups"
	// CapFloatingIPs: the adapter implements FloatingIPs.
	CapFloatingIPs = "floating-ips"
)

// Rule directions and ether types, as Neutron spells them; adapters of
// other clouds map them.
const (
	Ingress = "ingress"
	Egress  = "egress"
	IPv4    = "IPv4"
	IPv6    = "IPv6"
)

// Network is an isolated layer-2/3 domain: a Neutron network, an EC2 VPC.
type Network struct {
	Common
	// CIDR is the network's own address range, on clouds whose networks
	// have one (a VPC's CIDR block); empty where only subnets have ranges
	// (Neutron).
	CIDR string
	// External networks hand out floating IPs and carry routers' gateways.
	External bool
	// Shared: visible to every project of the cloud.
	Shared bool
	// MTU in bytes, when the cloud says.
	MTU int32
	// SubnetIDs are its subnets' native ids.
	SubnetIDs []string
	// Default marks the network a cloud uses when none is named (the
	// default VPC).
	Default bool
}

// IPRange is an inclusive range of addresses, e.g. an allocation pool.
type IPRange struct {
	Start string
	End   string
}

// Subnet is an address range of a network.
type Subnet struct {
	Common
	NetworkID string // native
	CIDR      string
	IPVersion int32 // 4 or 6
	// GatewayIP is the router address the cloud gives instances; empty:
	// none.
	GatewayIP  string
	DHCP       bool
	DNSServers []string
	// Pools are the ranges instances' addresses are taken from.
	Pools []IPRange
}

// FixedIP is one address a port holds.
type FixedIP struct {
	SubnetID string // native
	IP       string
}

// Port is a network attachment point: a Neutron port, an EC2 network
// interface.
type Port struct {
	Common
	NetworkID string // native
	MAC       string
	FixedIPs  []FixedIP
	// DeviceID is the native id of what uses the port (a server, a router,
	// a DHCP agent); DeviceOwner says what kind ("compute:nova",
	// "network:router_interface", "instance" on EC2...).
	DeviceID         string
	DeviceOwner      string
	SecurityGroupIDs []string
}

// RouterInterface is a router's leg in one subnet.
type RouterInterface struct {
	SubnetID string // native
	PortID   string // native, where the cloud has one
	IP       string
}

// Router joins subnets and, with a gateway, reaches an external network:
// a Neutron router; on EC2 an internet gateway and the route table that
// sends its subnets' default route through it.
type Router struct {
	Common
	// ExternalNetworkID is the external network of its gateway, "" when it
	// has none.
	ExternalNetworkID string
	// ExternalIPs are its gateway's addresses.
	ExternalIPs []string
	Interfaces  []RouterInterface
}

// SecurityRule is one rule of a security group. Protocol is "" (any),
// "tcp", "udp", "icmp", "icmpv6" or a protocol number; PortMin/PortMax
// bound the destination ports for tcp and udp (0, 0: all) and are the ICMP
// type/code for icmp (-1: any). At most one of RemoteCIDR, RemoteGroupID is
// set; neither means any source (ingress) or destination (egress).
type SecurityRule struct {
	NativeID      string
	Direction     string // Ingress or Egress
	EtherType     string // IPv4 or IPv6
	Protocol      string
	PortMin       int32
	PortMax       int32
	RemoteCIDR    string
	RemoteGroupID string // native
	Description   string
}

// SecurityGroup is a named set of firewall rules applied to ports.
type SecurityGroup struct {
	Common
	Description string
	// NetworkID is the network the group belongs to on clouds where groups
	// belong to one (an EC2 VPC); empty elsewhere.
	NetworkID string
	Rules     []SecurityRule
}

// FloatingIP is a public address from an external network, associated to a
// port (and so a server) or free: a Neutron floating IP, an Elastic IP.
type FloatingIP struct {
	Common
	IP string
	// NetworkID is the external network (Neutron) or pool it came from.
	NetworkID string
	// PortID and ServerID say what it is associated with ("" when free);
	// FixedIP is the private address it maps to.
	PortID   string
	ServerID string
	FixedIP  string
}

// NetworkSpec is what CreateNetwork needs.
type NetworkSpec struct {
	Name string
	// CIDR: the network's range on clouds whose networks have one (EC2
	// requires it); adapters of clouds without ignore it.
	CIDR   string
	MTU    int32
	Labels map[string]string
	// Zone places it on clouds whose networks live in one region of several
	// (EC2: in the zone's region); empty: the cloud's default region.
	// Adapters of clouds without regional networks ignore it.
	Zone string
	// IdempotencyToken and Replay: as in VolumeSpec.
	IdempotencyToken string
	Replay           bool
}

// SubnetSpec is what CreateSubnet needs; every id in it is native.
type SubnetSpec struct {
	Name      string
	NetworkID string
	CIDR      string
	// Zone places the subnet on clouds whose subnets live in one zone
	// (EC2); empty: the cloud's choice.
	Zone string
	// GatewayIP: empty means the cloud's default (the first address);
	// NoGateway asks for none.
	GatewayIP   string
	NoGateway   bool
	DisableDHCP bool
	DNSServers  []string
	Pools       []IPRange
	Labels      map[string]string
	// IdempotencyToken and Replay: as in VolumeSpec.
	IdempotencyToken string
	Replay           bool
}

// PortSpec is what CreatePort needs.
type PortSpec struct {
	Name      string
	NetworkID string
	// SubnetID and FixedIP choose its address; empty: the cloud's choice
	// (EC2 needs the subnet).
	SubnetID         string
	FixedIP          string
	SecurityGroupIDs []string
	Labels           map[string]string
	// IdempotencyToken and Replay: as in VolumeSpec.
	IdempotencyToken string
	Replay           bool
}

// RouterSpec is what CreateRouter needs.
type RouterSpec struct {
	Name string
	// ExternalNetworkID, when set, gives the router a gateway on that
	// external network.
	ExternalNetworkID string
	// Zone places it on clouds whose routers live in one region of several
	// (EC2: in the zone's region); empty: the cloud's default region.
	// Adapters of clouds without regional routers ignore it.
	Zone   string
	Labels map[string]string
	// IdempotencyToken and Replay: as in VolumeSpec.
	IdempotencyToken string
	Replay           bool
}

// SecurityGroupSpec is what CreateSecurityGroup needs.
type SecurityGroupSpec struct {
	Name        string
	Description string
	// NetworkID: the network it belongs to on clouds where groups belong to
	// one (EC2: the VPC; empty means the default VPC); ignored elsewhere.
	NetworkID string
	// Zone places a group without NetworkID on clouds with several regions
	// (EC2: the default VPC of the zone's region); empty: the cloud's
	// default region. Ignored elsewhere.
	Zone   string
	Labels map[string]string
	// IdempotencyToken and Replay: as in VolumeSpec.
	IdempotencyToken string
	Replay           bool
}

// FloatingIPSpec is what AllocateFloatingIP needs.
type FloatingIPSpec struct {
	// NetworkID is the external network (native id) to allocate from;
	// empty: the cloud's only external network or its public pool. A cloud
	// without one is ErrUnsupported.
	NetworkID string
	// Zone places it on clouds whose addresses live in one region of several
	// (EC2: in the zone's region); empty: the cloud's default region.
	// Adapters of clouds without regional addresses ignore it.
	Zone   string
	Labels map[string]string
	// IdempotencyToken and Replay: as in VolumeSpec.
	IdempotencyToken string
	Replay           bool
}

// Networks is networks, their subnets and ports. Creates return the
// resource as the cloud made it (networking creates are synchronous on
// every cloud canopy knows). Deleting what something still uses (a network
// with ports, a subnet with a router interface) is ErrConflict; a resource
// the cloud no longer has is ErrNotFound; a malformed or overlapping CIDR,
// a gateway outside its subnet are ErrInvalid.
type Networks interface {
	ListNetworks(ctx context.Context) ([]Network, error)
	GetNetwork(ctx context.Context, id string) (Network, error)
	CreateNetwork(ctx context.Context, spec NetworkSpec) (Network, error)
	DeleteNetwork(ctx context.Context, id string) error

	ListSubnets(ctx context.Context) ([]Subnet, error)
	GetSubnet(ctx context.Context, id string) (Subnet, error)
	CreateSubnet(ctx context.Context, spec SubnetSpec) (Subnet, error)
	DeleteSubnet(ctx context.Context, id string) error

	ListPorts(ctx context.Context) ([]Port, error)
	GetPort(ctx context.Context, id string) (Port, error)
	CreatePort(ctx context.Context, spec PortSpec) (Port, error)
	DeletePort(ctx context.Context, id string) error
}

// Routers connect subnets to each other and to an external network.
type Routers interface {
	ListRouters(ctx context.Context) ([]Router, error)
	GetRouter(ctx context.Context, id string) (Router, error)
	CreateRouter(ctx context.Context, spec RouterSpec) (Router, error)
	// DeleteRouter: a router that still has interfaces is ErrConflict.
	DeleteRouter(ctx context.Context, id string) error
	// SetRouterGateway sets (externalNetworkID != "") or clears its
	// gateway.
	SetRouterGateway(ctx context.Context, id, externalNetworkID string) error
	// AddRouterInterface attaches a subnet; one already attached is
	// ErrConflict.
	AddRouterInterface(ctx context.Context, id, subnetID string) (RouterInterface, error)
	// RemoveRouterInterface detaches it; one not attached is ErrNotFound.
	RemoveRouterInterface(ctx context.Context, id, subnetID string) error
}

// SecurityGroups are firewall rule sets. A new group holds whatever
// default rules its cloud adds (Neutron and EC2 both allow all egress);
// canopy reads them back rather than assuming. A duplicate rule is
// ErrAlreadyExists; deleting a group a port or server uses, or that
// another group's rule names, is ErrConflict.
type SecurityGroups interface {
	ListSecurityGroups(ctx context.Context) ([]SecurityGroup, error)
	GetSecurityGroup(ctx context.Context, id string) (SecurityGroup, error)
	CreateSecurityGroup(ctx context.Context, spec SecurityGroupSpec) (SecurityGroup, error)
	DeleteSecurityGroup(ctx context.Context, id string) error
	// AddSecurityRule adds a rule (its NativeID is ignored) and returns it
	// as the cloud holds it, NativeID set.
	AddSecurityRule(ctx context.Context, groupID string, rule SecurityRule) (SecurityRule, error)
	DeleteSecurityRule(ctx context.Context, groupID, ruleID string) error
}

// FloatingIPs are public addresses. Association is by port or server (one
// of them; a server with several ports takes its first).
type FloatingIPs interface {
	ListFloatingIPs(ctx context.Context) ([]FloatingIP, error)
	GetFloatingIP(ctx context.Context, id string) (FloatingIP, error)
	AllocateFloatingIP(ctx context.Context, spec FloatingIPSpec) (FloatingIP, error)
	// AssociateFloatingIP maps it to a port or a server; one associated
	// elsewhere is ErrConflict.
	AssociateFloatingIP(ctx context.Context, id, portID, serverID string) error
	// DisassociateFloatingIP frees it; one already free is not an error.
	DisassociateFloatingIP(ctx context.Context, id string) error
	ReleaseFloatingIP(ctx context.Context, id string) error
}
