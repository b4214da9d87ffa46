package aws

import (
	"context"
	"fmt"
	"strings"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/canopy-cloud/canopy/internal/failpoint"
	"github.com/canopy-cloud/canopy/providers"
)

// A router's gateway and interfaces: the internet gateway's attachment and
// its route table (routers.go says how they map).

// ourTable returns the route table the adapter made for a router in a VPC,
// if there is one.
func ourTable(ctx context.Context, region string, api netAPI, igw string) (types.RouteTable, bool, error) {
	tables, err := describeRouteTables(ctx, region, api, &ec2.DescribeRouteTablesInput{Filters: []types.Filter{filter("tag:"+tagRouter, igw)}})
	if err != nil || len(tables) == 0 {
		return types.RouteTable{}, false, err
	}
	return tables[0], true, nil
}

// setDefaultRoute adds (on) or removes the table's default route through
// the gateway; one already as asked is fine.
func setDefaultRoute(ctx context.Context, region string, api netAPI, table, igw string, on bool) error {
	if on {
		_, err := api.CreateRoute(ctx, &ec2.CreateRouteInput{RouteTableId: awssdk.String(table), DestinationCidrBlock: awssdk.String(defaultRoute), GatewayId: awssdk.String(igw)})
		if err != nil && awsCode(mapErr(err, target)) != "RouteAlreadyExists" {
			return netFail(err, target, "add the default route through %s to route table %s in %s", igw, table, region)
		}
		return nil
	}
	_, err := api.DeleteRoute(ctx, &ec2.DeleteRouteInput{RouteTableId: awssdk.String(table), DestinationCidrBlock: awssdk.String(defaultRoute)})
	if err != nil && awsCode(mapErr(err, target)) != "InvalidRoute.NotFound" {
		return netFail(err, target, "remove the default route from route table %s in %s", table, region)
	}
	return nil
}

// SetRouterGateway implements providers.Routers: it records the gateway
// (the canopy:gateway tag) and adds or removes the default route of the
// router's route table, if it has one yet.
func (c *Cloud) SetRouterGateway(ctx context.Context, id, externalNetworkID string) error {
	if err := c.check(); err != nil {
		return err
	}
	if err := checkExternal(externalNetworkID); err != nil {
		return fmt.Errorf("aws: set gateway of router %s: %w", id, err)
	}
	region, _, err := c.describeIGW(ctx, id)
	if err != nil {
		return err
	}
	api, err := c.netClient(region)
	if err != nil {
		return err
	}
	if _, err := api.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{id}, Tags: []types.Tag{{Key: awssdk.String(tagGateway), Value: awssdk.String(externalNetworkID)}}}); err != nil {
		return netFail(err, target, "tag router %s in %s", id, region)
	}
	t, ok, err := ourTable(ctx, region, api, id)
	if err != nil || !ok {
		return err
	}
	return setDefaultRoute(ctx, region, api, awssdk.ToString(t.RouteTableId), id, externalNetworkID != "")
}

// AddRouterInterface implements providers.Routers: it attaches the internet
// gateway to the subnet's VPC (on the first interface), makes the router's
// route table there if needed, and associates the subnet with it. The
// interface's address is the VPC router's in that subnet (base + 1).
//
// EC2 refuses a second internet gateway in a VPC and a subnet explicitly
// associated with another route table (Resource.AlreadyAssociated); moto
// accepts both (it moves the association), so the adapter checks first.
func (c *Cloud) AddRouterInterface(ctx context.Context, id, subnetID string) (providers.RouterInterface, error) {
	if err := c.check(); err != nil {
		return providers.RouterInterface{}, err
	}
	r, region, api, g, err := c.router(ctx, id)
	if err != nil {
		return providers.RouterInterface{}, err
	}
	sregion, s, err := c.describeSubnet(ctx, subnetID)
	switch {
	case isNotFound(err):
		return providers.RouterInterface{}, fmt.Errorf("aws: add interface to router %s: %w: subnet_id %s: no such subnet", id, providers.ErrInvalid, subnetID)
	case err != nil:
		return providers.RouterInterface{}, err
	case sregion != region:
		return providers.RouterInterface{}, fmt.Errorf("aws: add interface to router %s: %w: subnet %s is in region %s, the router in %s", id, providers.ErrInvalid, subnetID, sregion, region)
	}
	for _, i := range r.Interfaces {
		if i.SubnetID == subnetID {
			return providers.RouterInterface{}, fmt.Errorf("aws: add interface to router %s: %w: subnet %s is attached already", id, providers.ErrConflict, subnetID)
		}
	}
	vpc := awssdk.ToString(s.VpcId)
	if at := attachedVpc(g); at != "" && at != vpc {
		return providers.RouterInterface{}, fmt.Errorf("aws: add interface to router %s: %w: it serves network %s, subnet %s is in %s (an internet gateway attaches to one VPC)",
			id, providers.ErrConflict, at, subnetID, vpc)
	}
	others, err := describeRouteTables(ctx, region, api, &ec2.DescribeRouteTablesInput{Filters: []types.Filter{filter("association.subnet-id", subnetID)}})
	if err != nil {
		return providers.RouterInterface{}, err
	}
	for _, t := range others {
		owner := tagValue(t.Tags, tagRouter)
		if owner == "" {
			owner = "route table " + awssdk.ToString(t.RouteTableId)
		} else {
			owner = "router " + owner
		}
		return providers.RouterInterface{}, fmt.Errorf("aws: add interface to router %s: %w: subnet %s is attached to %s", id, providers.ErrConflict, subnetID, owner)
	}
	if attachedVpc(g) == "" {
		igws, err := describeIGWs(ctx, region, api, &ec2.DescribeInternetGatewaysInput{Filters: []types.Filter{filter("attachment.vpc-id", vpc)}})
		if err != nil {
			return providers.RouterInterface{}, err
		}
		if len(igws) > 0 {
			return providers.RouterInterface{}, fmt.Errorf("aws: add interface to router %s: %w: network %s has router %s already (EC2 attaches one internet gateway per VPC)",
				id, providers.ErrConflict, vpc, awssdk.ToString(igws[0].InternetGatewayId))
		}
		if _, err := api.AttachInternetGateway(ctx, &ec2.AttachInternetGatewayInput{InternetGatewayId: awssdk.String(id), VpcId: awssdk.String(vpc)}); err != nil {
			return providers.RouterInterface{}, netFail(err, reference, "attach router %s to network %s", id, vpc)
		}
		failpoint.Hit("aws/router-interface:attached")
	}
	t, ok, err := ourTable(ctx, region, api, id)
	if err != nil {
		return providers.RouterInterface{}, err
	}
	if !ok {
		tags := []types.Tag{{Key: awssdk.String(tagRouter), Value: awssdk.String(id)}}
		if r.Name != "" {
			tags = append(tags, types.Tag{Key: awssdk.String("Name"), Value: awssdk.String(r.Name)})
		}
		out, err := api.CreateRouteTable(failpoint.Sent(ctx, "aws/route-table:sent"), &ec2.CreateRouteTableInput{VpcId: awssdk.String(vpc),
			TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeRouteTable, Tags: tags}}})
		if err != nil {
			return providers.RouterInterface{}, netFail(err, reference, "create the route table of router %s in network %s", id, vpc)
		}
		failpoint.Hit("aws/route-table:posted")
		t = *out.RouteTable
	}
	table := awssdk.ToString(t.RouteTableId)
	if err := setDefaultRoute(ctx, region, api, table, id, r.ExternalNetworkID != ""); err != nil {
		return providers.RouterInterface{}, err
	}
	if _, err := api.AssociateRouteTable(ctx, &ec2.AssociateRouteTableInput{RouteTableId: awssdk.String(table), SubnetId: awssdk.String(subnetID)}); err != nil {
		return providers.RouterInterface{}, netFail(err, reference, "associate subnet %s with route table %s of router %s", subnetID, table, id)
	}
	return providers.RouterInterface{SubnetID: subnetID, IP: vpcRouterIP(awssdk.ToString(s.CidrBlock))}, nil
}

// RemoveRouterInterface implements providers.Routers: it ends the subnet's
// association with the router's route table; after the last one it
// detaches the internet gateway and deletes the table. A subnet not
// attached is ErrNotFound. A gateway that Elastic IPs in its VPC still use
// cannot be detached (EC2's DependencyViolation): the last interface then
// stays, a conflict, as Neutron keeps an interface floating IPs need.
func (c *Cloud) RemoveRouterInterface(ctx context.Context, id, subnetID string) error {
	if err := c.check(); err != nil {
		return err
	}
	region, g, err := c.describeIGW(ctx, id)
	if err != nil {
		return err
	}
	api, err := c.netClient(region)
	if err != nil {
		return err
	}
	tables, err := describeRouteTables(ctx, region, api, &ec2.DescribeRouteTablesInput{})
	if err != nil {
		return err
	}
	var assoc, table string
	remaining := 0
	for _, t := range routerTables(g, tables) {
		for _, a := range t.Associations {
			sn := awssdk.ToString(a.SubnetId)
			switch {
			case sn == "":
			case sn == subnetID:
				assoc, table = awssdk.ToString(a.RouteTableAssociationId), awssdk.ToString(t.RouteTableId)
			default:
				remaining++
			}
		}
	}
	if assoc == "" {
		return fmt.Errorf("aws: remove interface of router %s: %w: subnet %s is not attached to it", id, providers.ErrNotFound, subnetID)
	}
	_, ours := lookupTag(g.Tags, tagGateway)
	last := ours && remaining == 0
	if last {
		if err := c.detach(ctx, region, api, g); err != nil {
			return err
		}
	}
	if _, err := removal(ctx, api.DisassociateRouteTable, &ec2.DisassociateRouteTableInput{AssociationId: awssdk.String(assoc)}); err != nil {
		return netFail(err, target, "disassociate subnet %s from route table %s of router %s", subnetID, table, id)
	}
	if last {
		if _, err := removal(ctx, api.DeleteRouteTable, &ec2.DeleteRouteTableInput{RouteTableId: awssdk.String(table)}); err != nil {
			return netFail(err, target, "delete route table %s of router %s", table, id)
		}
	}
	return nil
}

// detach detaches an internet gateway from its VPC, if it is attached.
func (c *Cloud) detach(ctx context.Context, region string, api netAPI, g types.InternetGateway) error {
	vpc := attachedVpc(g)
	if vpc == "" {
		return nil
	}
	id := awssdk.ToString(g.InternetGatewayId)
	// EC2 refuses to detach a gateway while Elastic IPs are mapped in its
	// VPC (DependencyViolation); moto detaches it, so the adapter looks
	// first.
	if used, err := mappedAddresses(ctx, region, api, vpc); err != nil {
		return err
	} else if len(used) > 0 {
		return fmt.Errorf("aws: detach router %s from network %s: %w: floating IPs %s still use it", id, vpc, providers.ErrConflict, strings.Join(used, ", "))
	}
	if _, err := removal(ctx, api.DetachInternetGateway, &ec2.DetachInternetGatewayInput{InternetGatewayId: awssdk.String(id), VpcId: awssdk.String(vpc)}); err != nil {
		err = netFail(err, target, "detach router %s from network %s", id, vpc)
		if awsCode(err) == "DependencyViolation" {
			return fmt.Errorf("aws: detach router %s from network %s: %w: public addresses in the network still use it (%v)", id, vpc, providers.ErrConflict, err)
		}
		return err
	}
	return nil
}

// tidyRouter undoes what a router's interfaces left when it has none any
// more (an attempt that failed half-way): its route table and attachment.
func (c *Cloud) tidyRouter(ctx context.Context, region string, api netAPI, g types.InternetGateway) error {
	id := awssdk.ToString(g.InternetGatewayId)
	if _, ours := lookupTag(g.Tags, tagGateway); !ours {
		return nil // not canopy's: EC2 answers for its attachment
	}
	if err := c.detach(ctx, region, api, g); err != nil {
		return err
	}
	t, ok, err := ourTable(ctx, region, api, id)
	if err != nil || !ok {
		return err
	}
	if _, err := removal(ctx, api.DeleteRouteTable, &ec2.DeleteRouteTableInput{RouteTableId: t.RouteTableId}); err != nil {
		return netFail(err, target, "delete route table %s of router %s", awssdk.ToString(t.RouteTableId), id)
	}
	return nil
}

// mappedAddresses returns the Elastic IPs (allocation ids) mapped to
// network interfaces of a VPC.
func mappedAddresses(ctx context.Context, region string, api netAPI, vpc string) ([]string, error) {
	addrs, err := describeAddresses(ctx, region, api, &ec2.DescribeAddressesInput{})
	if err != nil {
		return nil, err
	}
	var mapped []types.Address
	for _, a := range addrs {
		if awssdk.ToString(a.NetworkInterfaceId) != "" {
			mapped = append(mapped, a)
		}
	}
	if len(mapped) == 0 {
		return nil, nil
	}
	enis, err := describeENIs(ctx, region, api, &ec2.DescribeNetworkInterfacesInput{Filters: []types.Filter{filter("vpc-id", vpc)}})
	if err != nil {
		return nil, err
	}
	in := map[string]bool{}
	for _, e := range enis {
		in[awssdk.ToString(e.NetworkInterfaceId)] = true
	}
	var out []string
	for _, a := range mapped {
		if in[awssdk.ToString(a.NetworkInterfaceId)] {
			out = append(out, awssdk.ToString(a.AllocationId))
		}
	}
	return out, nil
}
