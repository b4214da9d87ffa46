package aws

import (
	"context"
	"fmt"
	"sort"
	"strings"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/canopy-cloud/canopy/internal/failpoint"
	"github.com/canopy-cloud/canopy/providers"
)

// Networks are VPCs, and the synthetic external network "amazon" (EC2's
// public IPv4 pool) listed beside them.

// amazon is the external network: it has no region of its own (every
// region hands out public addresses), no CIDR and no subnets.
func amazon() providers.Network {
	return providers.Network{
		Common: providers.Common{
			NativeID: amazonNetwork, Name: amazonNetworkName, Status: providers.StatusActive, ProviderStatus: "available",
			Properties: map[string]string{"description": "EC2's public IPv4 address pool (Elastic IPs, internet gateways)"},
		},
		External: true, Shared: true,
	}
}

// vpcStatus maps a VPC state.
func vpcStatus(state types.VpcState) providers.Status {
	switch state {
	case types.VpcStatePending:
		return providers.StatusPending
	case types.VpcStateAvailable:
		return providers.StatusActive
	}
	return providers.StatusUnknown
}

// networkOf converts a VPC; subnets are its subnets' ids.
func networkOf(region string, v types.Vpc, subnets []string) providers.Network {
	n := providers.Network{
		Common:    common(awssdk.ToString(v.VpcId), region, v.Tags),
		CIDR:      awssdk.ToString(v.CidrBlock),
		Default:   awssdk.ToBool(v.IsDefault),
		SubnetIDs: subnets,
	}
	n.Status, n.ProviderStatus = vpcStatus(v.State), string(v.State)
	set := func(k, val string) {
		if val != "" {
			n.Properties[k] = val
		}
	}
	set("dhcp_options_id", awssdk.ToString(v.DhcpOptionsId))
	set("instance_tenancy", string(v.InstanceTenancy))
	var v6 []string
	for _, a := range v.Ipv6CidrBlockAssociationSet {
		v6 = append(v6, awssdk.ToString(a.Ipv6CidrBlock))
	}
	set("ipv6_cidrs", strings.Join(v6, ","))
	return n
}

// describeVpcs lists a region's VPCs matching the input.
func describeVpcs(ctx context.Context, region string, api netAPI, in *ec2.DescribeVpcsInput) ([]types.Vpc, error) {
	return allPages(ctx, region, "vpcs", ec2.NewDescribeVpcsPaginator(api, in), func(p *ec2.DescribeVpcsOutput) []types.Vpc { return p.Vpcs })
}

// subnetIDsByVpc returns the ids of a region's subnets (those of the VPCs
// named; all when none are), by VPC.
func subnetIDsByVpc(ctx context.Context, region string, api netAPI, vpcs ...string) (map[string][]string, error) {
	in := &ec2.DescribeSubnetsInput{}
	if len(vpcs) > 0 {
		in.Filters = []types.Filter{filter("vpc-id", vpcs...)}
	}
	subnets, err := describeSubnets(ctx, region, api, in)
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for _, s := range subnets {
		vpc := awssdk.ToString(s.VpcId)
		out[vpc] = append(out[vpc], awssdk.ToString(s.SubnetId))
	}
	for _, ids := range out {
		sort.Strings(ids)
	}
	return out, nil
}

// ListNetworks implements providers.Networks: the VPCs of every region, and
// "amazon".
func (c *Cloud) ListNetworks(ctx context.Context) ([]providers.Network, error) {
	out, err := listEachRegion(ctx, c, func(n providers.Network) string { return n.NativeID },
		func(ctx context.Context, region string, api netAPI) ([]providers.Network, error) {
			vpcs, err := describeVpcs(ctx, region, api, &ec2.DescribeVpcsInput{})
			if err != nil {
				return nil, err
			}
			subnets, err := subnetIDsByVpc(ctx, region, api)
			if err != nil {
				return nil, err
			}
			return convertAll(region, vpcs, func(region string, v types.Vpc) providers.Network {
				return networkOf(region, v, subnets[awssdk.ToString(v.VpcId)])
			}), nil
		})
	if err != nil {
		return nil, err
	}
	return append(out, amazon()), nil
}

// describeVpc finds a VPC by id.
func (c *Cloud) describeVpc(ctx context.Context, id string) (string, types.Vpc, error) {
	return locateByID(ctx, c, "network", "vpc-", id, func(ctx context.Context, region string, api netAPI) ([]types.Vpc, error) {
		return describeVpcs(ctx, region, api, &ec2.DescribeVpcsInput{VpcIds: []string{id}})
	})
}

// GetNetwork implements providers.Networks.
func (c *Cloud) GetNetwork(ctx context.Context, id string) (providers.Network, error) {
	if err := c.check(); err != nil {
		return providers.Network{}, err
	}
	if id == amazonNetwork {
		return amazon(), nil
	}
	region, v, err := c.describeVpc(ctx, id)
	if err != nil {
		return providers.Network{}, err
	}
	api, err := c.netClient(region)
	if err != nil {
		return providers.Network{}, err
	}
	subnets, err := subnetIDsByVpc(ctx, region, api, id)
	if err != nil {
		return providers.Network{}, err
	}
	return networkOf(region, v, subnets[id]), nil
}

// CreateNetwork implements providers.Networks with CreateVpc, in the
// region of the spec's zone (else the cloud's first). The CIDR block is
// required (a VPC has one: /16 to /28 on EC2); EC2 has no settable MTU.
func (c *Cloud) CreateNetwork(ctx context.Context, spec providers.NetworkSpec) (providers.Network, error) {
	if err := c.check(); err != nil {
		return providers.Network{}, err
	}
	if spec.CIDR == "" {
		return providers.Network{}, fmt.Errorf("aws: create network %q: %w: cidr is required (a VPC's address range)", spec.Name, providers.ErrInvalid)
	}
	p, err := parseCIDR("cidr", spec.CIDR)
	if err != nil {
		return providers.Network{}, fmt.Errorf("aws: create network %q: %w", spec.Name, err)
	}
	if !p.Addr().Is4() {
		return providers.Network{}, fmt.Errorf("aws: create network %q: %w: cidr %s: a VPC's primary range is IPv4", spec.Name, providers.ErrInvalid, spec.CIDR)
	}
	if spec.MTU != 0 {
		return providers.Network{}, fmt.Errorf("aws: create network %q: %w: mtu: EC2 has no MTU per VPC (9001 inside, 1500 through an internet gateway)", spec.Name, providers.ErrUnsupported)
	}
	tags, err := netTags(types.ResourceTypeVpc, "network", spec.Name, spec.Labels, spec.IdempotencyToken, nil)
	if err != nil {
		return providers.Network{}, err
	}
	region, api, err := c.netRegion(ctx, spec.Zone)
	if err != nil {
		return providers.Network{}, err
	}
	find := replayByToken(spec.IdempotencyToken, func(ctx context.Context, by []types.Filter) ([]types.Vpc, error) {
		return describeVpcs(ctx, region, api, &ec2.DescribeVpcsInput{Filters: by})
	})
	create := func(ctx context.Context) (types.Vpc, error) {
		out, err := api.CreateVpc(failpoint.Sent(ctx, "aws/network:sent"), &ec2.CreateVpcInput{CidrBlock: awssdk.String(spec.CIDR), TagSpecifications: tags}, once(spec.IdempotencyToken)...)
		if err != nil {
			return types.Vpc{}, netFail(err, reference, "create network %q (cidr %s) in %s", spec.Name, spec.CIDR, region)
		}
		failpoint.Hit("aws/network:posted")
		if out.Vpc == nil {
			return types.Vpc{}, fmt.Errorf("aws: create vpc in %s: %w: no vpc in the answer", region, providers.ErrUnavailable)
		}
		return *out.Vpc, nil
	}
	v, found, err := providers.FindOrCreate(ctx, c.replays, spec.IdempotencyToken, spec.Replay, find, create)
	if err != nil {
		return providers.Network{}, err
	}
	if found {
		return c.GetNetwork(ctx, awssdk.ToString(v.VpcId))
	}
	c.remember(awssdk.ToString(v.VpcId), region)
	return networkOf(region, v, nil), nil
}

// DeleteNetwork implements providers.Networks with DeleteVpc. "amazon" is
// not the account's to delete. A VPC that still holds something is EC2's
// DependencyViolation, a conflict, which the adapter answers naming what is
// left in it.
func (c *Cloud) DeleteNetwork(ctx context.Context, id string) error {
	if err := c.check(); err != nil {
		return err
	}
	if id == amazonNetwork {
		return fmt.Errorf("aws: delete network %s: %w: EC2's public address pool is not the account's to delete", id, providers.ErrPermission)
	}
	region, _, err := c.describeVpc(ctx, id)
	if err != nil {
		return err
	}
	api, err := c.netClient(region)
	if err != nil {
		return err
	}
	if _, err := removal(ctx, api.DeleteVpc, &ec2.DeleteVpcInput{VpcId: awssdk.String(id)}); err != nil {
		err = netFail(err, target, "delete network %s in %s", id, region)
		if awsCode(err) == "DependencyViolation" {
			if deps := vpcDependents(ctx, region, api, id); deps != "" {
				return fmt.Errorf("aws: delete network %s: %w: it still holds %s", id, providers.ErrConflict, deps)
			}
		}
		return err
	}
	return nil
}

// vpcDependents describes what keeps a VPC from being deleted (subnets,
// internet gateways, security groups, route tables), for the error; ""
// when it cannot tell.
func vpcDependents(ctx context.Context, region string, api netAPI, vpc string) string {
	var parts []string
	if subnets, err := subnetIDsByVpc(ctx, region, api, vpc); err == nil && len(subnets[vpc]) > 0 {
		parts = append(parts, "subnets "+strings.Join(subnets[vpc], ", "))
	}
	if igws, err := describeIGWs(ctx, region, api, &ec2.DescribeInternetGatewaysInput{Filters: []types.Filter{filter("attachment.vpc-id", vpc)}}); err == nil && len(igws) > 0 {
		var ids []string
		for _, g := range igws {
			ids = append(ids, awssdk.ToString(g.InternetGatewayId))
		}
		parts = append(parts, "routers (internet gateways) "+strings.Join(ids, ", "))
	}
	if groups, err := describeGroups(ctx, region, api, &ec2.DescribeSecurityGroupsInput{Filters: []types.Filter{filter("vpc-id", vpc)}}); err == nil {
		var ids []string
		for _, g := range groups {
			if awssdk.ToString(g.GroupName) != "default" {
				ids = append(ids, awssdk.ToString(g.GroupId))
			}
		}
		if len(ids) > 0 {
			parts = append(parts, "security groups "+strings.Join(ids, ", "))
		}
	}
	return strings.Join(parts, "; ")
}
