package aws

// Where a new instance is attached: VPCs, subnets, security groups and
// existing ports of a ServerSpec as RunInstances takes them.

import (
	"context"
	"fmt"
	"sort"
	"strings"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/canopy-cloud/canopy/providers"
)

// applyNetworks places the instance. Networks are subnet ids (subnet-…),
// VPC ids (vpc-…: the VPC's subnet in the server's zone, else its first),
// or security group ids (sg-…, as SecurityGroupIDs); each subnet is a new
// interface, the first the primary one. Ports are existing network
// interfaces (eni-…), attached after the new ones; the security groups
// apply to the new interfaces only (an existing one keeps its own). With
// none, EC2 uses the default VPC and security group.
func (c *Cloud) applyNetworks(ctx context.Context, region string, in *ec2.RunInstancesInput, spec providers.ServerSpec) error {
	var subnets []string
	groups := append([]string(nil), spec.SecurityGroupIDs...)
	for _, n := range spec.Networks {
		switch {
		case strings.HasPrefix(n, "subnet-"):
			subnets = append(subnets, n)
		case strings.HasPrefix(n, "sg-"):
			groups = append(groups, n)
		case strings.HasPrefix(n, "vpc-"):
			sn, err := c.serverSubnet(ctx, region, n, spec.Zone)
			if err != nil {
				return err
			}
			subnets = append(subnets, sn)
		default:
			return fmt.Errorf("%w: network %q: want a network (vpc-…), subnet (subnet-…) or security group (sg-…) id", providers.ErrInvalid, n)
		}
	}
	for _, g := range groups {
		if !strings.HasPrefix(g, "sg-") {
			return fmt.Errorf("%w: security group %q: want a security group id (sg-…)", providers.ErrInvalid, g)
		}
	}
	for _, p := range spec.Ports {
		if !strings.HasPrefix(p, "eni-") {
			return fmt.Errorf("%w: port %q: want a network interface id (eni-…)", providers.ErrInvalid, p)
		}
	}
	switch {
	case len(spec.Ports) == 0 && len(subnets) == 0:
		in.SecurityGroupIds = groups
	default:
		// Every new interface is in NetworkInterfaces (EC2 takes several
		// interfaces, or an existing one, only there), and says it goes
		// with the instance: what EC2 does for the primary interface of a
		// RunInstances given only a SubnetId, asked for explicitly because
		// moto, given only a SubnetId, keeps that interface attached to
		// the terminated instance — and so holding its security groups and
		// subnet, which then cannot be deleted.
		for i, sn := range subnets {
			in.NetworkInterfaces = append(in.NetworkInterfaces, types.InstanceNetworkInterfaceSpecification{
				DeviceIndex: awssdk.Int32(int32(i)), SubnetId: awssdk.String(sn), Groups: groups,
				DeleteOnTermination: awssdk.Bool(true),
			})
		}
		for i, p := range spec.Ports {
			in.NetworkInterfaces = append(in.NetworkInterfaces, types.InstanceNetworkInterfaceSpecification{
				DeviceIndex: awssdk.Int32(int32(len(subnets) + i)), NetworkInterfaceId: awssdk.String(p),
			})
		}
	}
	return nil
}

// serverSubnet picks the subnet of a VPC a server named by the VPC goes
// in: the one in its zone (if it has one), else the VPC's first by id.
func (c *Cloud) serverSubnet(ctx context.Context, region, vpc, zone string) (string, error) {
	api, err := c.netClient(region)
	if err != nil {
		return "", err
	}
	filters := []types.Filter{filter("vpc-id", vpc)}
	if zone != "" {
		filters = append(filters, filter("availability-zone", zone))
	}
	subnets, err := describeSubnets(ctx, region, api, &ec2.DescribeSubnetsInput{Filters: filters})
	if err != nil {
		return "", err
	}
	if len(subnets) == 0 {
		where := "region " + region
		if zone != "" {
			where = "zone " + zone
		}
		return "", fmt.Errorf("%w: network %s has no subnet in %s", providers.ErrInvalid, vpc, where)
	}
	ids := make([]string, 0, len(subnets))
	for _, s := range subnets {
		ids = append(ids, awssdk.ToString(s.SubnetId))
	}
	sort.Strings(ids)
	return ids[0], nil
}

// checkPorts refuses ports a server cannot be given: one of another region,
// one attached to a live instance (other than the one an earlier attempt
// of this create launched, which a retry with its token returns). EC2 refuses an interface attached
// elsewhere; moto attaches it again, so the adapter asks first, as it does
// before the deletes moto does not check.
func (c *Cloud) checkPorts(ctx context.Context, region, token string, ports []string) error {
	for i, p := range ports {
		pr, e, err := c.describeENI(ctx, p)
		if err != nil {
			return fmt.Errorf("ports[%d]: %w", i, err)
		}
		if pr != region {
			return fmt.Errorf("%w: ports[%d]: port %s is in region %s, the server in %s", providers.ErrInvalid, i, p, pr, region)
		}
		if inst := c.liveAttachment(ctx, e); inst != "" && !c.launchedWith(ctx, inst, token) {
			return fmt.Errorf("%w: ports[%d]: port %s is in use by instance %s", providers.ErrConflict, i, p, inst)
		}
	}
	return nil
}

// launchedWith says whether an instance was launched with the idempotency
// token.
func (c *Cloud) launchedWith(ctx context.Context, instance, token string) bool {
	if token == "" {
		return false
	}
	sv, err := c.GetServer(ctx, instance)
	return err == nil && sv.Properties["client_token"] == token
}
