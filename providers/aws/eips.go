package aws

import (
	"context"
	"fmt"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/canopy-cloud/canopy/internal/failpoint"
	"github.com/canopy-cloud/canopy/providers"
)

// Floating IPs are Elastic IPs (VPC domain; the allocation id eipalloc-…
// is the native id), from "amazon", EC2's public pool. Associated with a
// network interface (a port) or an instance (its primary interface), it is
// ACTIVE; free, DOWN-like: EC2 has no state, so a free address is ACTIVE
// too with ProviderStatus "free".

// fipOf converts an Elastic IP.
func fipOf(region string, a types.Address) providers.FloatingIP {
	f := providers.FloatingIP{
		Common:    common(awssdk.ToString(a.AllocationId), region, a.Tags),
		IP:        awssdk.ToString(a.PublicIp),
		NetworkID: amazonNetwork,
		PortID:    awssdk.ToString(a.NetworkInterfaceId),
		ServerID:  awssdk.ToString(a.InstanceId),
		FixedIP:   awssdk.ToString(a.PrivateIpAddress),
	}
	f.Status, f.ProviderStatus = providers.StatusActive, "free"
	if f.PortID != "" || f.ServerID != "" {
		f.ProviderStatus = "associated"
	}
	if id := awssdk.ToString(a.AssociationId); id != "" {
		f.Properties["association_id"] = id
	}
	if p := awssdk.ToString(a.PublicIpv4Pool); p != "" {
		f.Properties["public_ipv4_pool"] = p
	}
	return f
}

// describeAddresses lists a region's Elastic IPs matching the input
// (DescribeAddresses has no pages).
func describeAddresses(ctx context.Context, region string, api netAPI, in *ec2.DescribeAddressesInput) ([]types.Address, error) {
	out, err := api.DescribeAddresses(ctx, in)
	if err != nil {
		return nil, netFail(err, target, "describe addresses in %s", region)
	}
	var vpc []types.Address
	for _, a := range out.Addresses {
		if a.Domain != types.DomainTypeStandard && awssdk.ToString(a.AllocationId) != "" {
			vpc = append(vpc, a)
		}
	}
	return vpc, nil
}

// ListFloatingIPs implements providers.FloatingIPs: the Elastic IPs of
// every region.
func (c *Cloud) ListFloatingIPs(ctx context.Context) ([]providers.FloatingIP, error) {
	return listEachRegion(ctx, c, func(f providers.FloatingIP) string { return f.NativeID },
		func(ctx context.Context, region string, api netAPI) ([]providers.FloatingIP, error) {
			addrs, err := describeAddresses(ctx, region, api, &ec2.DescribeAddressesInput{})
			return convertAll(region, addrs, fipOf), err
		})
}

// describeAddress finds an Elastic IP by allocation id.
func (c *Cloud) describeAddress(ctx context.Context, id string) (string, types.Address, error) {
	return locateByID(ctx, c, "floating IP", "eipalloc-", id, func(ctx context.Context, region string, api netAPI) ([]types.Address, error) {
		return describeAddresses(ctx, region, api, &ec2.DescribeAddressesInput{AllocationIds: []string{id}})
	})
}

// GetFloatingIP implements providers.FloatingIPs.
func (c *Cloud) GetFloatingIP(ctx context.Context, id string) (providers.FloatingIP, error) {
	if err := c.check(); err != nil {
		return providers.FloatingIP{}, err
	}
	region, a, err := c.describeAddress(ctx, id)
	if err != nil {
		return providers.FloatingIP{}, err
	}
	return fipOf(region, a), nil
}

// AllocateFloatingIP implements providers.FloatingIPs with AllocateAddress
// (domain vpc) in the region of the spec's zone (else the cloud's first):
// an Elastic IP maps only to interfaces of its own region. The network is
// "amazon" (or empty); any other is not an external network, ErrInvalid.
func (c *Cloud) AllocateFloatingIP(ctx context.Context, spec providers.FloatingIPSpec) (providers.FloatingIP, error) {
	if err := c.check(); err != nil {
		return providers.FloatingIP{}, err
	}
	if spec.NetworkID != "" && spec.NetworkID != amazonNetwork {
		return providers.FloatingIP{}, fmt.Errorf("aws: allocate floating IP: %w: network_id %q is not an external network (on EC2 the only one is %q)",
			providers.ErrInvalid, spec.NetworkID, amazonNetwork)
	}
	tags, err := netTags(types.ResourceTypeElasticIp, "floating IP", "", spec.Labels, spec.IdempotencyToken, nil)
	if err != nil {
		return providers.FloatingIP{}, err
	}
	region, api, err := c.netRegion(ctx, spec.Zone)
	if err != nil {
		return providers.FloatingIP{}, err
	}
	find := replayByToken(spec.IdempotencyToken, func(ctx context.Context, by []types.Filter) ([]types.Address, error) {
		return describeAddresses(ctx, region, api, &ec2.DescribeAddressesInput{Filters: by})
	})
	create := func(ctx context.Context) (types.Address, error) {
		out, err := api.AllocateAddress(failpoint.Sent(ctx, "aws/floating-ip:sent"), &ec2.AllocateAddressInput{Domain: types.DomainTypeVpc, TagSpecifications: tags}, once(spec.IdempotencyToken)...)
		if err != nil {
			return types.Address{}, netFail(err, reference, "allocate floating IP (elastic IP) in %s", region)
		}
		failpoint.Hit("aws/floating-ip:posted")
		return types.Address{AllocationId: out.AllocationId, PublicIp: out.PublicIp, Domain: out.Domain, PublicIpv4Pool: out.PublicIpv4Pool, Tags: specTags(tags)}, nil
	}
	a, _, err := providers.FindOrCreate(ctx, c.replays, spec.IdempotencyToken, spec.Replay, find, create)
	if err != nil {
		return providers.FloatingIP{}, err
	}
	c.remember(awssdk.ToString(a.AllocationId), region)
	return fipOf(region, a), nil
}

// specTags returns the tags of a create's TagSpecifications (what the
// resource holds when the answer does not say).
func specTags(specs []types.TagSpecification) []types.Tag {
	var out []types.Tag
	for _, s := range specs {
		out = append(out, s.Tags...)
	}
	return out
}

// AssociateFloatingIP implements providers.FloatingIPs with AssociateAddress
// (no reassociation). One associated with the same port or server already
// is fine; one associated elsewhere is a conflict naming it. The target's
// VPC needs an internet gateway (a router with an interface there): EC2
// refuses otherwise (Gateway.NotAttached), and so does the adapter before
// calling, as moto does not check.
func (c *Cloud) AssociateFloatingIP(ctx context.Context, id, portID, serverID string) error {
	if err := c.check(); err != nil {
		return err
	}
	region, a, err := c.describeAddress(ctx, id)
	if err != nil {
		return err
	}
	if (portID == "") == (serverID == "") {
		return fmt.Errorf("aws: associate floating IP %s: %w: name a port or a server (one of them)", id, providers.ErrInvalid)
	}
	api, err := c.netClient(region)
	if err != nil {
		return err
	}
	curPort, curServer := awssdk.ToString(a.NetworkInterfaceId), awssdk.ToString(a.InstanceId)
	switch {
	case portID != "" && curPort == portID, serverID != "" && curServer == serverID:
		return nil
	case curPort != "" || curServer != "":
		what := "port " + curPort
		if curServer != "" {
			what = "server " + curServer
		}
		return fmt.Errorf("aws: associate floating IP %s: %w: it is associated with %s", id, providers.ErrConflict, what)
	}
	var vpc string
	in := &ec2.AssociateAddressInput{AllocationId: awssdk.String(id), AllowReassociation: awssdk.Bool(false)}
	if portID != "" {
		pregion, e, err := c.describeENI(ctx, portID)
		switch {
		case isNotFound(err):
			return fmt.Errorf("aws: associate floating IP %s: %w: port_id %s: no such port", id, providers.ErrInvalid, portID)
		case err != nil:
			return err
		case pregion != region:
			return fmt.Errorf("aws: associate floating IP %s: %w: port %s is in region %s, the address in %s", id, providers.ErrInvalid, portID, pregion, region)
		}
		vpc, in.NetworkInterfaceId = awssdk.ToString(e.VpcId), awssdk.String(portID)
	} else {
		sregion, inst, err := c.describeInstance(ctx, serverID)
		switch {
		case isNotFound(err):
			return fmt.Errorf("aws: associate floating IP %s: %w: server_id %s: no such server", id, providers.ErrInvalid, serverID)
		case err != nil:
			return err
		case sregion != region:
			return fmt.Errorf("aws: associate floating IP %s: %w: server %s is in region %s, the address in %s", id, providers.ErrInvalid, serverID, sregion, region)
		}
		vpc, in.InstanceId = awssdk.ToString(inst.VpcId), awssdk.String(serverID)
	}
	if vpc != "" {
		igws, err := describeIGWs(ctx, region, api, &ec2.DescribeInternetGatewaysInput{Filters: []types.Filter{filter("attachment.vpc-id", vpc)}})
		if err != nil {
			return err
		}
		if len(igws) == 0 {
			return fmt.Errorf("aws: associate floating IP %s: %w: network %s has no router with a gateway (no internet gateway attached)", id, providers.ErrConflict, vpc)
		}
	}
	if _, err := api.AssociateAddress(ctx, in); err != nil {
		return netFail(err, reference, "associate floating IP %s in %s", id, region)
	}
	return nil
}

// DisassociateFloatingIP implements providers.FloatingIPs with
// DisassociateAddress; a free address is left as it is.
func (c *Cloud) DisassociateFloatingIP(ctx context.Context, id string) error {
	if err := c.check(); err != nil {
		return err
	}
	region, a, err := c.describeAddress(ctx, id)
	if err != nil {
		return err
	}
	return c.disassociate(ctx, region, a)
}

func (c *Cloud) disassociate(ctx context.Context, region string, a types.Address) error {
	assoc := awssdk.ToString(a.AssociationId)
	if assoc == "" {
		return nil
	}
	api, err := c.netClient(region)
	if err != nil {
		return err
	}
	if _, err := removal(ctx, api.DisassociateAddress, &ec2.DisassociateAddressInput{AssociationId: awssdk.String(assoc)}); err != nil {
		err = netFail(err, target, "disassociate floating IP %s in %s", awssdk.ToString(a.AllocationId), region)
		if isNotFound(err) {
			return nil // disassociated meanwhile
		}
		return err
	}
	return nil
}

// ReleaseFloatingIP implements providers.FloatingIPs with ReleaseAddress.
// An associated address is disassociated first, as releasing a Neutron
// floating IP does (EC2 itself refuses to release one in use).
func (c *Cloud) ReleaseFloatingIP(ctx context.Context, id string) error {
	if err := c.check(); err != nil {
		return err
	}
	region, a, err := c.describeAddress(ctx, id)
	if err != nil {
		return err
	}
	if err := c.disassociate(ctx, region, a); err != nil {
		return err
	}
	api, err := c.netClient(region)
	if err != nil {
		return err
	}
	if _, err := removal(ctx, api.ReleaseAddress, &ec2.ReleaseAddressInput{AllocationId: awssdk.String(id)}); err != nil {
		return netFail(err, target, "release floating IP %s in %s", id, region)
	}
	return nil
}
