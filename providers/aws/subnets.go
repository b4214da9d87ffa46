package aws

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/canopy-cloud/canopy/internal/failpoint"
	"github.com/canopy-cloud/canopy/providers"
)

// Subnets are VPC subnets. EC2 fixes what Neutron lets one choose: the
// gateway is the VPC router at the subnet's base + 1, DHCP is always on,
// DNS servers are the VPC's (its DHCP option set), and instances get
// addresses from base + 4 to the last but one (EC2 reserves the first four
// and the last). A subnet reports those as they are; a create asking for
// anything else is ErrUnsupported naming the field.

// subnetStatus maps a subnet state.
func subnetStatus(state types.SubnetState) providers.Status {
	switch state {
	case types.SubnetStatePending:
		return providers.StatusPending
	case types.SubnetStateAvailable:
		return providers.StatusActive
	}
	return providers.StatusUnknown
}

// subnetOf converts a subnet.
func subnetOf(region string, s types.Subnet) providers.Subnet {
	out := providers.Subnet{
		Common:    common(awssdk.ToString(s.SubnetId), region, s.Tags),
		NetworkID: awssdk.ToString(s.VpcId),
		CIDR:      awssdk.ToString(s.CidrBlock),
		IPVersion: 4,
		DHCP:      true,
	}
	out.Zone = awssdk.ToString(s.AvailabilityZone)
	out.Status, out.ProviderStatus = subnetStatus(s.State), string(s.State)
	if out.CIDR == "" && len(s.Ipv6CidrBlockAssociationSet) > 0 { // an IPv6-only subnet
		out.CIDR, out.IPVersion = awssdk.ToString(s.Ipv6CidrBlockAssociationSet[0].Ipv6CidrBlock), 6
	}
	if p, err := netip.ParsePrefix(out.CIDR); err == nil && p.Addr().Is4() && p.Bits() <= 28 {
		p = p.Masked()
		out.GatewayIP = nth(p, 1).String()
		out.Pools = []providers.IPRange{{Start: nth(p, 4).String(), End: lastAddr(p).Prev().String()}}
	}
	if s.AvailableIpAddressCount != nil {
		out.Properties["available_ips"] = fmt.Sprint(*s.AvailableIpAddressCount)
	}
	if awssdk.ToBool(s.DefaultForAz) {
		out.Properties["default_for_az"] = "true"
	}
	if awssdk.ToBool(s.MapPublicIpOnLaunch) {
		out.Properties["map_public_ip_on_launch"] = "true"
	}
	return out
}

// describeSubnets lists a region's subnets matching the input.
func describeSubnets(ctx context.Context, region string, api netAPI, in *ec2.DescribeSubnetsInput) ([]types.Subnet, error) {
	return allPages(ctx, region, "subnets", ec2.NewDescribeSubnetsPaginator(api, in), func(p *ec2.DescribeSubnetsOutput) []types.Subnet { return p.Subnets })
}

// ListSubnets implements providers.Networks: the subnets of every region.
func (c *Cloud) ListSubnets(ctx context.Context) ([]providers.Subnet, error) {
	return listEachRegion(ctx, c, func(s providers.Subnet) string { return s.NativeID },
		func(ctx context.Context, region string, api netAPI) ([]providers.Subnet, error) {
			subnets, err := describeSubnets(ctx, region, api, &ec2.DescribeSubnetsInput{})
			return convertAll(region, subnets, subnetOf), err
		})
}

// describeSubnet finds a subnet by id.
func (c *Cloud) describeSubnet(ctx context.Context, id string) (string, types.Subnet, error) {
	return locateByID(ctx, c, "subnet", "subnet-", id, func(ctx context.Context, region string, api netAPI) ([]types.Subnet, error) {
		return describeSubnets(ctx, region, api, &ec2.DescribeSubnetsInput{SubnetIds: []string{id}})
	})
}

// GetSubnet implements providers.Networks.
func (c *Cloud) GetSubnet(ctx context.Context, id string) (providers.Subnet, error) {
	if err := c.check(); err != nil {
		return providers.Subnet{}, err
	}
	region, s, err := c.describeSubnet(ctx, id)
	if err != nil {
		return providers.Subnet{}, err
	}
	return subnetOf(region, s), nil
}

// checkSubnetSpec refuses what EC2 cannot do, after what is malformed.
func checkSubnetSpec(spec providers.SubnetSpec) (netip.Prefix, error) {
	if spec.NetworkID == "" {
		return netip.Prefix{}, fmt.Errorf("%w: network_id is required", providers.ErrInvalid)
	}
	if spec.CIDR == "" {
		return netip.Prefix{}, fmt.Errorf("%w: cidr is required", providers.ErrInvalid)
	}
	p, err := parseCIDR("cidr", spec.CIDR)
	if err != nil {
		return netip.Prefix{}, err
	}
	if spec.GatewayIP != "" {
		gw, err := netip.ParseAddr(spec.GatewayIP)
		switch {
		case err != nil:
			return netip.Prefix{}, fmt.Errorf("%w: gateway_ip %q is not an IP address", providers.ErrInvalid, spec.GatewayIP)
		case !p.Contains(gw):
			return netip.Prefix{}, fmt.Errorf("%w: gateway_ip %s is outside the subnet's cidr %s", providers.ErrInvalid, spec.GatewayIP, spec.CIDR)
		}
	}
	for _, pool := range spec.Pools {
		for _, a := range []string{pool.Start, pool.End} {
			ip, err := netip.ParseAddr(a)
			if err != nil || !p.Contains(ip) {
				return netip.Prefix{}, fmt.Errorf("%w: allocation pool %s-%s is not inside cidr %s", providers.ErrInvalid, pool.Start, pool.End, spec.CIDR)
			}
		}
	}
	if !p.Addr().Is4() {
		return netip.Prefix{}, fmt.Errorf("%w: cidr %s: the adapter makes IPv4 subnets only (an IPv6 subnet needs the VPC's IPv6 block)", providers.ErrUnsupported, spec.CIDR)
	}
	router := nth(p, 1).String()
	switch {
	case spec.GatewayIP != "" && spec.GatewayIP != router:
		return netip.Prefix{}, fmt.Errorf("%w: gateway_ip %s: EC2 puts a subnet's router at its base + 1 (%s)", providers.ErrUnsupported, spec.GatewayIP, router)
	case spec.NoGateway:
		return netip.Prefix{}, fmt.Errorf("%w: no gateway: every EC2 subnet has the VPC router at %s", providers.ErrUnsupported, router)
	case spec.DisableDHCP:
		return netip.Prefix{}, fmt.Errorf("%w: dhcp off: EC2 always serves DHCP", providers.ErrUnsupported)
	case len(spec.DNSServers) > 0:
		return netip.Prefix{}, fmt.Errorf("%w: dns_servers: EC2 sets DNS servers per VPC (its DHCP option set), not per subnet", providers.ErrUnsupported)
	case len(spec.Pools) > 0:
		return netip.Prefix{}, fmt.Errorf("%w: allocation pools: EC2 hands out every address but the first four and the last", providers.ErrUnsupported)
	}
	return p, nil
}

// CreateSubnet implements providers.Networks with CreateSubnet, in its VPC's
// region, in the spec's zone (else EC2's choice). A CIDR outside the VPC's
// (InvalidSubnet.Range) or overlapping another subnet's
// (InvalidSubnet.Conflict) is EC2's answer, ErrInvalid.
func (c *Cloud) CreateSubnet(ctx context.Context, spec providers.SubnetSpec) (providers.Subnet, error) {
	if err := c.check(); err != nil {
		return providers.Subnet{}, err
	}
	if _, err := checkSubnetSpec(spec); err != nil {
		return providers.Subnet{}, fmt.Errorf("aws: create subnet %q: %w", spec.Name, err)
	}
	region, _, err := c.describeVpc(ctx, spec.NetworkID)
	if isNotFound(err) {
		return providers.Subnet{}, fmt.Errorf("aws: create subnet %q: %w: network_id %s: no such network", spec.Name, providers.ErrInvalid, spec.NetworkID)
	}
	if err != nil {
		return providers.Subnet{}, err
	}
	if spec.Zone != "" {
		// moto takes a zone of another region; EC2 refuses it.
		zr, err := c.zoneToRegion(ctx, spec.Zone)
		if err != nil {
			return providers.Subnet{}, err
		}
		if zr != region {
			return providers.Subnet{}, fmt.Errorf("aws: create subnet %q: %w: zone %s is in region %s, network %s in %s",
				spec.Name, providers.ErrInvalid, spec.Zone, zr, spec.NetworkID, region)
		}
	}
	tags, err := netTags(types.ResourceTypeSubnet, "subnet", spec.Name, spec.Labels, spec.IdempotencyToken, nil)
	if err != nil {
		return providers.Subnet{}, err
	}
	api, err := c.netClient(region)
	if err != nil {
		return providers.Subnet{}, err
	}
	in := &ec2.CreateSubnetInput{VpcId: awssdk.String(spec.NetworkID), CidrBlock: awssdk.String(spec.CIDR), TagSpecifications: tags}
	if spec.Zone != "" {
		in.AvailabilityZone = awssdk.String(spec.Zone)
	}
	find := replayByToken(spec.IdempotencyToken, func(ctx context.Context, by []types.Filter) ([]types.Subnet, error) {
		return describeSubnets(ctx, region, api, &ec2.DescribeSubnetsInput{Filters: by})
	})
	create := func(ctx context.Context) (types.Subnet, error) {
		out, err := api.CreateSubnet(failpoint.Sent(ctx, "aws/subnet:sent"), in, once(spec.IdempotencyToken)...)
		if err != nil {
			return types.Subnet{}, netFail(err, reference, "create subnet %q (cidr %s) in network %s", spec.Name, spec.CIDR, spec.NetworkID)
		}
		failpoint.Hit("aws/subnet:posted")
		if out.Subnet == nil {
			return types.Subnet{}, fmt.Errorf("aws: create subnet in %s: %w: no subnet in the answer", region, providers.ErrUnavailable)
		}
		return *out.Subnet, nil
	}
	s, _, err := providers.FindOrCreate(ctx, c.replays, spec.IdempotencyToken, spec.Replay, find, create)
	if err != nil {
		return providers.Subnet{}, err
	}
	c.remember(awssdk.ToString(s.SubnetId), region)
	return subnetOf(region, s), nil
}

// DeleteSubnet implements providers.Networks with DeleteSubnet. A subnet
// with network interfaces in it, or a router's interface (its route table
// association), is a conflict naming them: EC2 refuses the first
// (DependencyViolation; moto deletes the subnet and leaves the interfaces
// dangling, so the adapter looks first) and would drop the second quietly.
func (c *Cloud) DeleteSubnet(ctx context.Context, id string) error {
	if err := c.check(); err != nil {
		return err
	}
	region, _, err := c.describeSubnet(ctx, id)
	if err != nil {
		return err
	}
	api, err := c.netClient(region)
	if err != nil {
		return err
	}
	enis, err := describeENIs(ctx, region, api, &ec2.DescribeNetworkInterfacesInput{Filters: []types.Filter{filter("subnet-id", id)}})
	if err != nil {
		return err
	}
	if len(enis) > 0 {
		var ids []string
		for _, e := range enis {
			ids = append(ids, awssdk.ToString(e.NetworkInterfaceId))
		}
		return fmt.Errorf("aws: delete subnet %s: %w: ports %s use it", id, providers.ErrConflict, strings.Join(ids, ", "))
	}
	tables, err := describeRouteTables(ctx, region, api, &ec2.DescribeRouteTablesInput{Filters: []types.Filter{filter("association.subnet-id", id)}})
	if err != nil {
		return err
	}
	for _, t := range tables {
		if r := tagValue(t.Tags, tagRouter); r != "" {
			return fmt.Errorf("aws: delete subnet %s: %w: router %s has an interface in it", id, providers.ErrConflict, r)
		}
	}
	if _, err := removal(ctx, api.DeleteSubnet, &ec2.DeleteSubnetInput{SubnetId: awssdk.String(id)}); err != nil {
		return netFail(err, target, "delete subnet %s in %s", id, region)
	}
	return nil
}

// tagValue returns the value of the tag key ("" when absent).
func tagValue(tags []types.Tag, key string) string {
	v, _ := lookupTag(tags, key)
	return v
}

// lookupTag returns the value of the tag key and whether it is there.
func lookupTag(tags []types.Tag, key string) (string, bool) {
	for _, t := range tags {
		if awssdk.ToString(t.Key) == key {
			return awssdk.ToString(t.Value), true
		}
	}
	return "", false
}
