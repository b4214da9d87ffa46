package aws

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/canopy-cloud/canopy/providers"
)

// Networking: the adapter's providers.Networks, Routers, SecurityGroups and
// FloatingIPs, over EC2's VPC API.
//
//   - A network is a VPC (vpc-…; its CIDR block is required), a subnet a
//     subnet (subnet-…, in one availability zone), a port a network
//     interface (eni-…) (networks.go, subnets.go, ports.go).
//   - EC2's public IPv4 pool is one more network, NativeID "amazon" (Name
//     "internet", External): the network routers' gateways and floating IPs
//     name. It exists in every region and cannot be deleted.
//   - A router is an internet gateway (igw-…, its native id) and the route
//     table the adapter makes in the VPC of its first interface (tagged
//     canopy:router=<igw id>); its interfaces are that table's subnet
//     associations, and its gateway on "amazon" is the table's default
//     route through the gateway (routers.go).
//   - A security group is a VPC security group (sg-…), its rules EC2's
//     security group rules (sgr-…) (secgroups.go).
//   - A floating IP is an Elastic IP (eipalloc-…) (eips.go).
//
// EC2 has no client token for most of these creates (only network
// interfaces have one): every create tags what it makes with canopy:token
// and, through providers.FindOrCreate, a replayed create finds it by that
// tag instead of making a second one. Labels are tags, the Name tag the
// name (a security group's name is its GroupName), as for volumes.
//
// Native ids are EC2's; a resource's region is found by asking the regions
// (remembered once seen), as for volumes. Creates without a place go to the
// cloud's first region, or the region of the spec's zone (a region's name
// is taken too); a subnet goes to its VPC's region, a port to its
// subnet's, a security group to its VPC's.
//
// What EC2 cannot do is ErrUnsupported naming the field: a subnet's DNS
// servers (a VPC-wide DHCP option set on EC2), allocation pools, a gateway
// address other than the VPC router's (the subnet's base + 1), no gateway,
// DHCP off, a network's MTU. Where moto does not enforce a rule EC2 does
// (each is said where it is checked), the adapter checks before it calls,
// so canopy behaves the same on both.

var (
	_ providers.Networks       = (*Cloud)(nil)
	_ providers.Routers        = (*Cloud)(nil)
	_ providers.SecurityGroups = (*Cloud)(nil)
	_ providers.FloatingIPs    = (*Cloud)(nil)
)

// The external network: EC2's public IPv4 address pool.
const (
	amazonNetwork     = "amazon"
	amazonNetworkName = "internet"
)

// Tags of the networking resources the adapter keeps for itself (beside
// tagToken).
const (
	// tagGateway on an internet gateway canopy made: "amazon" when the
	// router has its gateway, "" when not.
	tagGateway = "canopy:gateway"
	// tagRouter on a route table: the internet gateway (router) it belongs
	// to.
	tagRouter = "canopy:router"
)

// netAPI is the part of the EC2 client the networking calls use; like
// ebsAPI it is apart from ec2API, so a client without it has no networking
// (Has says so).
type netAPI interface {
	ec2.DescribeVpcsAPIClient
	ec2.DescribeSubnetsAPIClient
	ec2.DescribeNetworkInterfacesAPIClient
	ec2.DescribeInternetGatewaysAPIClient
	ec2.DescribeRouteTablesAPIClient
	ec2.DescribeSecurityGroupsAPIClient
	ec2.DescribeSecurityGroupRulesAPIClient
	DescribeAddresses(context.Context, *ec2.DescribeAddressesInput, ...func(*ec2.Options)) (*ec2.DescribeAddressesOutput, error)
	CreateVpc(context.Context, *ec2.CreateVpcInput, ...func(*ec2.Options)) (*ec2.CreateVpcOutput, error)
	DeleteVpc(context.Context, *ec2.DeleteVpcInput, ...func(*ec2.Options)) (*ec2.DeleteVpcOutput, error)
	CreateSubnet(context.Context, *ec2.CreateSubnetInput, ...func(*ec2.Options)) (*ec2.CreateSubnetOutput, error)
	DeleteSubnet(context.Context, *ec2.DeleteSubnetInput, ...func(*ec2.Options)) (*ec2.DeleteSubnetOutput, error)
	CreateNetworkInterface(context.Context, *ec2.CreateNetworkInterfaceInput, ...func(*ec2.Options)) (*ec2.CreateNetworkInterfaceOutput, error)
	DeleteNetworkInterface(context.Context, *ec2.DeleteNetworkInterfaceInput, ...func(*ec2.Options)) (*ec2.DeleteNetworkInterfaceOutput, error)
	CreateInternetGateway(context.Context, *ec2.CreateInternetGatewayInput, ...func(*ec2.Options)) (*ec2.CreateInternetGatewayOutput, error)
	DeleteInternetGateway(context.Context, *ec2.DeleteInternetGatewayInput, ...func(*ec2.Options)) (*ec2.DeleteInternetGatewayOutput, error)
	AttachInternetGateway(context.Context, *ec2.AttachInternetGatewayInput, ...func(*ec2.Options)) (*ec2.AttachInternetGatewayOutput, error)
	DetachInternetGateway(context.Context, *ec2.DetachInternetGatewayInput, ...func(*ec2.Options)) (*ec2.DetachInternetGatewayOutput, error)
	CreateRouteTable(context.Context, *ec2.CreateRouteTableInput, ...func(*ec2.Options)) (*ec2.CreateRouteTableOutput, error)
	DeleteRouteTable(context.Context, *ec2.DeleteRouteTableInput, ...func(*ec2.Options)) (*ec2.DeleteRouteTableOutput, error)
	CreateRoute(context.Context, *ec2.CreateRouteInput, ...func(*ec2.Options)) (*ec2.CreateRouteOutput, error)
	DeleteRoute(context.Context, *ec2.DeleteRouteInput, ...func(*ec2.Options)) (*ec2.DeleteRouteOutput, error)
	AssociateRouteTable(context.Context, *ec2.AssociateRouteTableInput, ...func(*ec2.Options)) (*ec2.AssociateRouteTableOutput, error)
	DisassociateRouteTable(context.Context, *ec2.DisassociateRouteTableInput, ...func(*ec2.Options)) (*ec2.DisassociateRouteTableOutput, error)
	CreateSecurityGroup(context.Context, *ec2.CreateSecurityGroupInput, ...func(*ec2.Options)) (*ec2.CreateSecurityGroupOutput, error)
	DeleteSecurityGroup(context.Context, *ec2.DeleteSecurityGroupInput, ...func(*ec2.Options)) (*ec2.DeleteSecurityGroupOutput, error)
	AuthorizeSecurityGroupIngress(context.Context, *ec2.AuthorizeSecurityGroupIngressInput, ...func(*ec2.Options)) (*ec2.AuthorizeSecurityGroupIngressOutput, error)
	AuthorizeSecurityGroupEgress(context.Context, *ec2.AuthorizeSecurityGroupEgressInput, ...func(*ec2.Options)) (*ec2.AuthorizeSecurityGroupEgressOutput, error)
	RevokeSecurityGroupIngress(context.Context, *ec2.RevokeSecurityGroupIngressInput, ...func(*ec2.Options)) (*ec2.RevokeSecurityGroupIngressOutput, error)
	RevokeSecurityGroupEgress(context.Context, *ec2.RevokeSecurityGroupEgressInput, ...func(*ec2.Options)) (*ec2.RevokeSecurityGroupEgressOutput, error)
	AllocateAddress(context.Context, *ec2.AllocateAddressInput, ...func(*ec2.Options)) (*ec2.AllocateAddressOutput, error)
	ReleaseAddress(context.Context, *ec2.ReleaseAddressInput, ...func(*ec2.Options)) (*ec2.ReleaseAddressOutput, error)
	AssociateAddress(context.Context, *ec2.AssociateAddressInput, ...func(*ec2.Options)) (*ec2.AssociateAddressOutput, error)
	DisassociateAddress(context.Context, *ec2.DisassociateAddressInput, ...func(*ec2.Options)) (*ec2.DisassociateAddressOutput, error)
	CreateTags(context.Context, *ec2.CreateTagsInput, ...func(*ec2.Options)) (*ec2.CreateTagsOutput, error)
}

// netClient returns the networking client of a region.
func (c *Cloud) netClient(region string) (netAPI, error) {
	api, ok := c.clients[region].(netAPI)
	if !ok {
		return nil, fmt.Errorf("aws: cloud %q region %s: %w: the EC2 client has no VPC calls", c.name, region, providers.ErrUnsupported)
	}
	return api, nil
}

// hasNet says whether every region's client has the networking calls.
func (c *Cloud) hasNet() bool {
	for _, r := range c.regions {
		if _, err := c.netClient(r); err != nil {
			return false
		}
	}
	return true
}

// netKinds are VPC error codes the generic mapping (errors.go) would get
// wrong.
var netKinds = map[string]error{
	"InvalidNetworkInterface.InUse": providers.ErrConflict, // deleting an attached interface
	"InvalidIPAddress.InUse":        providers.ErrConflict, // a fixed IP taken; releasing an associated EIP
	"InvalidGroup.InUse":            providers.ErrConflict, // a group another group's rules name
	"Resource.AlreadyAssociated":    providers.ErrConflict, // an EIP or a subnet associated elsewhere; a VPC with a gateway
	"Gateway.NotAttached":           providers.ErrConflict, // an EIP for a VPC without internet gateway
	"CannotDelete":                  providers.ErrConflict, // a VPC's default security group
	"RouteAlreadyExists":            providers.ErrAlreadyExists,
	"VPCIdNotSpecified":             providers.ErrInvalid, // a group without VPC in a region without a default VPC
}

// netFail is fail with the corrections of netKinds.
func netFail(err error, m mode, format string, args ...any) error {
	e := fail(err, m, format, args...)
	var ae *Error
	if errors.As(e, &ae) {
		if k, ok := netKinds[ae.Code]; ok {
			ae.Kind = k
		}
	}
	return e
}

// awsCode returns the AWS error code of a mapped error ("" if none).
func awsCode(err error) string {
	var ae *Error
	if errors.As(err, &ae) {
		return ae.Code
	}
	return ""
}

// locate finds a resource by native id in its region (or every region when
// its region is not known): describe returns what a region holds under
// that id (nothing, or a not-found error, when it has none). A resource no
// region holds is ErrNotFound naming what.
func locate[T any](ctx context.Context, c *Cloud, what, id string, describe func(ctx context.Context, region string, api netAPI) ([]T, error)) (string, T, error) {
	var zero T
	var mu sync.Mutex
	region, found := "", false
	var res T
	err := c.inRegions(ctx, c.regionsOf(id), func(ctx context.Context, r string, _ ec2API) error {
		api, err := c.netClient(r)
		if err != nil {
			return err
		}
		got, err := describe(ctx, r, api)
		if isNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		if len(got) > 0 {
			mu.Lock()
			region, res, found = r, got[0], true
			mu.Unlock()
		}
		return nil
	})
	if err != nil {
		return "", zero, err
	}
	if !found {
		return "", zero, fmt.Errorf("aws: %s %q: %w", what, id, providers.ErrNotFound)
	}
	c.remember(id, region)
	return region, res, nil
}

// netRegion returns the region a networking create placed in zone goes to:
// the zone's region; with no zone the cloud's first region. A region's own
// name is taken as well (a VPC lives in a region, not a zone).
func (c *Cloud) netRegion(ctx context.Context, zone string) (string, netAPI, error) {
	r := c.regions[0]
	switch {
	case zone == "":
	case slices.Contains(c.regions, zone):
		r = zone
	default:
		var err error
		if r, err = c.zoneToRegion(ctx, zone); err != nil {
			return "", nil, err
		}
	}
	api, err := c.netClient(r)
	return r, api, err
}

// tokenFilter selects the resources a create with this token made.
func tokenFilter(token string) []types.Filter {
	return []types.Filter{{Name: awssdk.String("tag:" + tagToken), Values: []string{token}}}
}

// filter is one EC2 describe filter.
func filter(name string, values ...string) types.Filter {
	return types.Filter{Name: awssdk.String(name), Values: values}
}

// netTags builds a new resource's tags (Name, labels, the token, the
// adapter's other own tags) as a TagSpecification of resource type rt.
func netTags(rt types.ResourceType, what, name string, labels map[string]string, token string, own map[string]string) ([]types.TagSpecification, error) {
	all := map[string]string{tagToken: token}
	for k, v := range own {
		all[k] = v
	}
	tags, err := ebsTags(what, name, labels, all)
	if err != nil {
		return nil, err
	}
	for k, v := range own {
		if v == "" { // ebsTags drops empty values; these say something
			tags = append(tags, types.Tag{Key: awssdk.String(k), Value: awssdk.String("")})
		}
	}
	if len(tags) == 0 {
		return nil, nil
	}
	return []types.TagSpecification{{ResourceType: rt, Tags: tags}}, nil
}

// common fills the parts of providers.Common every networking resource
// shares: name, labels and the token from its tags.
func common(id, region string, tags []types.Tag) providers.Common {
	labels, name, own := splitTags(tags)
	out := providers.Common{NativeID: id, Region: region, Name: name, Labels: labels, Properties: map[string]string{}}
	if t := own[tagToken]; t != "" {
		out.Properties[providers.PropToken] = t
	}
	return out
}

// ---------------------------------------------------------------- addresses

// parseCIDR parses a CIDR that must be a network address (10.0.0.0/16, not
// 10.0.0.1/16), for the field named.
func parseCIDR(field, s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%w: %s %q is not a CIDR", providers.ErrInvalid, field, s)
	}
	if p.Masked() != p {
		return netip.Prefix{}, fmt.Errorf("%w: %s %q is not a network address (%s is)", providers.ErrInvalid, field, s, p.Masked())
	}
	return p, nil
}

// nth returns the address n after p's network address.
func nth(p netip.Prefix, n int) netip.Addr {
	a := p.Addr()
	for range n {
		a = a.Next()
	}
	return a
}

// lastAddr returns p's last address (the broadcast address of IPv4).
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	host := b
	bits := p.Bits()
	for i := range host {
		for j := 7; j >= 0; j-- {
			if i*8+(7-j) >= bits {
				host[i] |= 1 << j
			}
		}
	}
	a, _ := netip.AddrFromSlice(host)
	return a.Unmap()
}

// vpcRouterIP is the address EC2 gives a subnet's router: the second of
// the subnet (its gateway; EC2 reserves the first four and the last).
func vpcRouterIP(cidr string) string {
	p, err := netip.ParsePrefix(cidr)
	if err != nil || !p.Addr().Is4() {
		return ""
	}
	return nth(p.Masked(), 1).String()
}
