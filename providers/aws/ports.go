package aws

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strings"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/canopy-cloud/canopy/internal/failpoint"
	"github.com/canopy-cloud/canopy/providers"
)

// Ports are elastic network interfaces (ENIs). One is attached to an
// instance (DeviceOwner "instance") or free; interfaces EC2 makes for its
// own services (NAT gateways, load balancers...) say their interface type.

// portStatus maps an interface status.
func portStatus(s types.NetworkInterfaceStatus) providers.Status {
	switch s {
	case types.NetworkInterfaceStatusAvailable, types.NetworkInterfaceStatusInUse, types.NetworkInterfaceStatusAssociated:
		return providers.StatusActive
	case types.NetworkInterfaceStatusAttaching, types.NetworkInterfaceStatusDetaching:
		return providers.StatusUpdating
	}
	return providers.StatusUnknown
}

// portOf converts a network interface.
func portOf(region string, e types.NetworkInterface) providers.Port {
	p := providers.Port{
		Common:    common(awssdk.ToString(e.NetworkInterfaceId), region, e.TagSet),
		NetworkID: awssdk.ToString(e.VpcId),
		MAC:       awssdk.ToString(e.MacAddress),
	}
	p.Zone = awssdk.ToString(e.AvailabilityZone)
	p.Status, p.ProviderStatus = portStatus(e.Status), string(e.Status)
	subnet := awssdk.ToString(e.SubnetId)
	for _, a := range e.PrivateIpAddresses {
		if ip := awssdk.ToString(a.PrivateIpAddress); ip != "" {
			p.FixedIPs = append(p.FixedIPs, providers.FixedIP{SubnetID: subnet, IP: ip})
		}
	}
	if len(p.FixedIPs) == 0 && awssdk.ToString(e.PrivateIpAddress) != "" {
		p.FixedIPs = []providers.FixedIP{{SubnetID: subnet, IP: awssdk.ToString(e.PrivateIpAddress)}}
	}
	for _, v6 := range e.Ipv6Addresses {
		p.FixedIPs = append(p.FixedIPs, providers.FixedIP{SubnetID: subnet, IP: awssdk.ToString(v6.Ipv6Address)})
	}
	if a := e.Attachment; a != nil && awssdk.ToString(a.InstanceId) != "" && a.Status != types.AttachmentStatusDetached {
		p.DeviceID, p.DeviceOwner = awssdk.ToString(a.InstanceId), "instance"
		if a.DeviceIndex != nil {
			p.Properties["device_index"] = fmt.Sprint(*a.DeviceIndex)
		}
	} else if t := string(e.InterfaceType); t != "" && t != "interface" {
		p.DeviceOwner = t
	}
	for _, g := range e.Groups {
		p.SecurityGroupIDs = append(p.SecurityGroupIDs, awssdk.ToString(g.GroupId))
	}
	if e.Association != nil && awssdk.ToString(e.Association.PublicIp) != "" {
		p.Properties["public_ip"] = awssdk.ToString(e.Association.PublicIp)
	}
	if d := awssdk.ToString(e.Description); d != "" {
		p.Properties["description"] = d
	}
	return p
}

// describeENIs lists a region's network interfaces matching the input.
func describeENIs(ctx context.Context, region string, api netAPI, in *ec2.DescribeNetworkInterfacesInput) ([]types.NetworkInterface, error) {
	return allPages(ctx, region, "network interfaces", ec2.NewDescribeNetworkInterfacesPaginator(api, in), func(p *ec2.DescribeNetworkInterfacesOutput) []types.NetworkInterface { return p.NetworkInterfaces })
}

// ListPorts implements providers.Networks: the network interfaces of every
// region.
func (c *Cloud) ListPorts(ctx context.Context) ([]providers.Port, error) {
	return listEachRegion(ctx, c, func(p providers.Port) string { return p.NativeID },
		func(ctx context.Context, region string, api netAPI) ([]providers.Port, error) {
			enis, err := describeENIs(ctx, region, api, &ec2.DescribeNetworkInterfacesInput{})
			return convertAll(region, enis, portOf), err
		})
}

// describeENI finds a network interface by id.
func (c *Cloud) describeENI(ctx context.Context, id string) (string, types.NetworkInterface, error) {
	return locateByID(ctx, c, "port", "eni-", id, func(ctx context.Context, region string, api netAPI) ([]types.NetworkInterface, error) {
		return describeENIs(ctx, region, api, &ec2.DescribeNetworkInterfacesInput{NetworkInterfaceIds: []string{id}})
	})
}

// GetPort implements providers.Networks.
func (c *Cloud) GetPort(ctx context.Context, id string) (providers.Port, error) {
	if err := c.check(); err != nil {
		return providers.Port{}, err
	}
	region, e, err := c.describeENI(ctx, id)
	if err != nil {
		return providers.Port{}, err
	}
	return portOf(region, e), nil
}

// portSubnet returns the subnet a new port goes in: the spec's (which must
// be in the spec's network, when it names one), else the network's first
// subnet (by id) — EC2 places an interface in a subnet, never just a VPC.
func (c *Cloud) portSubnet(ctx context.Context, spec providers.PortSpec) (string, types.Subnet, error) {
	if spec.SubnetID != "" {
		region, s, err := c.describeSubnet(ctx, spec.SubnetID)
		if isNotFound(err) {
			return "", types.Subnet{}, fmt.Errorf("%w: subnet_id %s: no such subnet", providers.ErrInvalid, spec.SubnetID)
		}
		if err != nil {
			return "", types.Subnet{}, err
		}
		if spec.NetworkID != "" && awssdk.ToString(s.VpcId) != spec.NetworkID {
			return "", types.Subnet{}, fmt.Errorf("%w: subnet_id %s is in network %s, not %s", providers.ErrInvalid, spec.SubnetID, awssdk.ToString(s.VpcId), spec.NetworkID)
		}
		return region, s, nil
	}
	if spec.NetworkID == "" {
		return "", types.Subnet{}, fmt.Errorf("%w: network_id or subnet_id is required", providers.ErrInvalid)
	}
	region, _, err := c.describeVpc(ctx, spec.NetworkID)
	if isNotFound(err) {
		return "", types.Subnet{}, fmt.Errorf("%w: network_id %s: no such network", providers.ErrInvalid, spec.NetworkID)
	}
	if err != nil {
		return "", types.Subnet{}, err
	}
	api, err := c.netClient(region)
	if err != nil {
		return "", types.Subnet{}, err
	}
	subnets, err := describeSubnets(ctx, region, api, &ec2.DescribeSubnetsInput{Filters: []types.Filter{filter("vpc-id", spec.NetworkID)}})
	if err != nil {
		return "", types.Subnet{}, err
	}
	if len(subnets) == 0 {
		return "", types.Subnet{}, fmt.Errorf("%w: network %s has no subnet to put the port in (EC2 needs one)", providers.ErrInvalid, spec.NetworkID)
	}
	sort.Slice(subnets, func(i, j int) bool {
		return awssdk.ToString(subnets[i].SubnetId) < awssdk.ToString(subnets[j].SubnetId)
	})
	return region, subnets[0], nil
}

// checkFixedIP refuses an address EC2 would refuse, which moto takes: one
// outside the subnet, one of the five EC2 reserves, one another interface
// holds (EC2: InvalidParameterValue, InvalidIPAddress.InUse).
func checkFixedIP(ctx context.Context, region string, api netAPI, s types.Subnet, ip string) error {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return fmt.Errorf("%w: fixed_ip %q is not an IP address", providers.ErrInvalid, ip)
	}
	p, err := netip.ParsePrefix(awssdk.ToString(s.CidrBlock))
	if err != nil {
		return fmt.Errorf("%w: subnet %s has no IPv4 range", providers.ErrInvalid, awssdk.ToString(s.SubnetId))
	}
	p = p.Masked()
	if !p.Contains(addr) {
		return fmt.Errorf("%w: fixed_ip %s is outside subnet %s (%s)", providers.ErrInvalid, ip, awssdk.ToString(s.SubnetId), p)
	}
	if addr.Less(nth(p, 4)) || addr == lastAddr(p) {
		return fmt.Errorf("%w: fixed_ip %s is one of the addresses EC2 reserves in %s (the first four and the last)", providers.ErrInvalid, ip, p)
	}
	holders, err := describeENIs(ctx, region, api, &ec2.DescribeNetworkInterfacesInput{Filters: []types.Filter{
		filter("subnet-id", awssdk.ToString(s.SubnetId)), filter("addresses.private-ip-address", ip),
	}})
	if err != nil {
		return err
	}
	if len(holders) > 0 {
		return fmt.Errorf("%w: fixed_ip %s is taken by port %s", providers.ErrConflict, ip, awssdk.ToString(holders[0].NetworkInterfaceId))
	}
	return nil
}

// checkPortGroups refuses security groups that do not exist or belong to
// another VPC than the port's subnet: EC2 refuses them
// (InvalidGroup.NotFound, InvalidParameter), moto takes them (it makes up
// a group for an unknown id), so the adapter looks first.
func checkPortGroups(ctx context.Context, region string, api netAPI, s types.Subnet, groups []string) error {
	if len(groups) == 0 {
		return nil
	}
	for _, g := range groups {
		if !strings.HasPrefix(g, "sg-") {
			return fmt.Errorf("%w: security group %q: no such group (want an id, sg-…)", providers.ErrInvalid, g)
		}
	}
	got, err := describeGroups(ctx, region, api, &ec2.DescribeSecurityGroupsInput{GroupIds: groups})
	if err != nil {
		if isNotFound(err) {
			return fmt.Errorf("%w: security groups %s: %v", providers.ErrInvalid, strings.Join(groups, ", "), err)
		}
		return err
	}
	vpc := map[string]string{}
	for _, g := range got {
		vpc[awssdk.ToString(g.GroupId)] = awssdk.ToString(g.VpcId)
	}
	for _, g := range groups {
		v, ok := vpc[g]
		switch {
		case !ok:
			return fmt.Errorf("%w: security group %s: no such group in %s", providers.ErrInvalid, g, region)
		case v != awssdk.ToString(s.VpcId):
			return fmt.Errorf("%w: security group %s is in network %s, the port's subnet in %s", providers.ErrInvalid, g, v, awssdk.ToString(s.VpcId))
		}
	}
	return nil
}

// CreatePort implements providers.Networks with CreateNetworkInterface in
// the port's subnet. The idempotency token is EC2's ClientToken too.
func (c *Cloud) CreatePort(ctx context.Context, spec providers.PortSpec) (providers.Port, error) {
	if err := c.check(); err != nil {
		return providers.Port{}, err
	}
	if len(spec.IdempotencyToken) > 64 {
		return providers.Port{}, fmt.Errorf("aws: create port %q: %w: idempotency token longer than EC2's 64 characters", spec.Name, providers.ErrInvalid)
	}
	tags, err := netTags(types.ResourceTypeNetworkInterface, "port", spec.Name, spec.Labels, spec.IdempotencyToken, nil)
	if err != nil {
		return providers.Port{}, err
	}
	region, subnet, err := c.portSubnet(ctx, spec)
	if err != nil {
		return providers.Port{}, fmt.Errorf("aws: create port %q: %w", spec.Name, err)
	}
	api, err := c.netClient(region)
	if err != nil {
		return providers.Port{}, err
	}
	if err := checkPortGroups(ctx, region, api, subnet, spec.SecurityGroupIDs); err != nil {
		return providers.Port{}, fmt.Errorf("aws: create port %q: %w", spec.Name, err)
	}
	in := &ec2.CreateNetworkInterfaceInput{SubnetId: subnet.SubnetId, Groups: spec.SecurityGroupIDs, TagSpecifications: tags}
	if spec.IdempotencyToken != "" {
		in.ClientToken = awssdk.String(spec.IdempotencyToken)
	}
	find := replayByToken(spec.IdempotencyToken, func(ctx context.Context, by []types.Filter) ([]types.NetworkInterface, error) {
		return describeENIs(ctx, region, api, &ec2.DescribeNetworkInterfacesInput{Filters: by})
	})
	create := func(ctx context.Context) (types.NetworkInterface, error) {
		if spec.FixedIP != "" {
			// Checked here, after the look-up: a replay finds its port
			// holding the address.
			if err := checkFixedIP(ctx, region, api, subnet, spec.FixedIP); err != nil {
				return types.NetworkInterface{}, fmt.Errorf("aws: create port %q: %w", spec.Name, err)
			}
			in.PrivateIpAddress = awssdk.String(spec.FixedIP)
		}
		out, err := api.CreateNetworkInterface(failpoint.Sent(ctx, "aws/port:sent"), in, once(spec.IdempotencyToken)...)
		if err != nil {
			return types.NetworkInterface{}, netFail(err, reference, "create port %q in subnet %s", spec.Name, awssdk.ToString(subnet.SubnetId))
		}
		failpoint.Hit("aws/port:posted")
		if out.NetworkInterface == nil {
			return types.NetworkInterface{}, fmt.Errorf("aws: create port in %s: %w: no interface in the answer", region, providers.ErrUnavailable)
		}
		return *out.NetworkInterface, nil
	}
	e, _, err := providers.FindOrCreate(ctx, c.replays, spec.IdempotencyToken, spec.Replay, find, create)
	if err != nil {
		return providers.Port{}, err
	}
	c.remember(awssdk.ToString(e.NetworkInterfaceId), region)
	return portOf(region, e), nil
}

// DeletePort implements providers.Networks with DeleteNetworkInterface. An
// attached interface is a conflict naming its instance: EC2 refuses it
// (InvalidNetworkInterface.InUse), moto deletes it from under the
// instance, so the adapter looks first.
func (c *Cloud) DeletePort(ctx context.Context, id string) error {
	if err := c.check(); err != nil {
		return err
	}
	region, e, err := c.describeENI(ctx, id)
	if err != nil {
		return err
	}
	if inst := c.liveAttachment(ctx, e); inst != "" {
		return fmt.Errorf("aws: delete port %s: %w: server %s uses it", id, providers.ErrConflict, inst)
	}
	api, err := c.netClient(region)
	if err != nil {
		return err
	}
	if _, err := removal(ctx, api.DeleteNetworkInterface, &ec2.DeleteNetworkInterfaceInput{NetworkInterfaceId: awssdk.String(id)}); err != nil {
		return netFail(err, target, "delete port %s in %s", id, region)
	}
	return nil
}

// liveAttachment is the instance an interface is attached to, "" when it
// is detached or its instance is terminated: EC2 detaches an interface
// that outlives its instance (one attached at launch, DeleteOnTermination
// false) when the instance terminates; moto leaves it attached to the
// terminated instance, which would block deleting it for good.
func (c *Cloud) liveAttachment(ctx context.Context, e types.NetworkInterface) string {
	a := e.Attachment
	if a == nil || awssdk.ToString(a.InstanceId) == "" || a.Status == types.AttachmentStatusDetached {
		return ""
	}
	id := awssdk.ToString(a.InstanceId)
	sv, err := c.GetServer(ctx, id)
	if errors.Is(err, providers.ErrNotFound) || (err == nil && sv.Status == providers.StatusDeleted) {
		return ""
	}
	return id
}
