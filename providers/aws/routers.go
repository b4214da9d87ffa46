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

// Routers are internet gateways with a route table each.
//
// A router canopy made is an internet gateway tagged canopy:gateway
// ("amazon" while it has its gateway, "" when not). It is attached to a VPC
// when its first interface is added: the adapter then makes a route table
// in that VPC tagged canopy:router=<igw id>, gives it the default route
// 0.0.0.0/0 through the gateway while the router has its gateway, and
// associates the subnet with it; each further interface is one more
// association. Removing the last interface deletes the table and detaches
// the gateway again. So one router serves one VPC, and a VPC has one
// router (EC2 attaches one internet gateway per VPC); anything else is a
// conflict.
//
// An internet gateway made outside canopy is a router too: its gateway is
// on "amazon" while it is attached, and its interfaces are the explicit
// subnet associations of the route tables of its VPC that route through
// it.

// defaultRoute is the destination of a router's gateway route.
const defaultRoute = "0.0.0.0/0"

// describeIGWs lists a region's internet gateways matching the input.
func describeIGWs(ctx context.Context, region string, api netAPI, in *ec2.DescribeInternetGatewaysInput) ([]types.InternetGateway, error) {
	return allPages(ctx, region, "internet gateways", ec2.NewDescribeInternetGatewaysPaginator(api, in), func(p *ec2.DescribeInternetGatewaysOutput) []types.InternetGateway { return p.InternetGateways })
}

// describeRouteTables lists a region's route tables matching the input.
func describeRouteTables(ctx context.Context, region string, api netAPI, in *ec2.DescribeRouteTablesInput) ([]types.RouteTable, error) {
	return allPages(ctx, region, "route tables", ec2.NewDescribeRouteTablesPaginator(api, in), func(p *ec2.DescribeRouteTablesOutput) []types.RouteTable { return p.RouteTables })
}

// attachedVpc returns the VPC an internet gateway is attached to ("" none).
func attachedVpc(g types.InternetGateway) string {
	for _, a := range g.Attachments {
		if a.State != types.AttachmentStatusDetached && a.State != types.AttachmentStatusDetaching {
			return awssdk.ToString(a.VpcId)
		}
	}
	return ""
}

// routesThrough says whether a route table sends a route through the
// gateway.
func routesThrough(t types.RouteTable, igw string) bool {
	for _, r := range t.Routes {
		if awssdk.ToString(r.GatewayId) == igw {
			return true
		}
	}
	return false
}

// routerTables picks, from route tables, those of the router: the one
// tagged with its id, and (for a gateway made outside canopy) those of its
// VPC that route through it.
func routerTables(g types.InternetGateway, tables []types.RouteTable) []types.RouteTable {
	id, vpc := awssdk.ToString(g.InternetGatewayId), attachedVpc(g)
	_, ours := lookupTag(g.Tags, tagGateway)
	var out []types.RouteTable
	for _, t := range tables {
		switch {
		case tagValue(t.Tags, tagRouter) == id:
			out = append(out, t)
		case !ours && vpc != "" && awssdk.ToString(t.VpcId) == vpc && routesThrough(t, id):
			out = append(out, t)
		}
	}
	return out
}

// routerOf converts an internet gateway and its route tables; cidrs are
// the CIDRs of the subnets they name (for the interfaces' addresses).
func routerOf(region string, g types.InternetGateway, tables []types.RouteTable, cidrs map[string]string) providers.Router {
	r := providers.Router{Common: common(awssdk.ToString(g.InternetGatewayId), region, g.Tags)}
	vpc := attachedVpc(g)
	r.Status, r.ProviderStatus = providers.StatusActive, "detached"
	if vpc != "" {
		r.ProviderStatus = "attached"
		r.Properties["vpc_id"] = vpc
	}
	if gw, ours := lookupTag(g.Tags, tagGateway); ours {
		r.ExternalNetworkID = gw
	} else if vpc != "" {
		r.ExternalNetworkID = amazonNetwork
	}
	var ids []string
	for _, t := range tables {
		ids = append(ids, awssdk.ToString(t.RouteTableId))
		for _, a := range t.Associations {
			sn := awssdk.ToString(a.SubnetId)
			if sn == "" || (a.AssociationState != nil && a.AssociationState.State != types.RouteTableAssociationStateCodeAssociated) {
				continue
			}
			r.Interfaces = append(r.Interfaces, providers.RouterInterface{SubnetID: sn, IP: vpcRouterIP(cidrs[sn])})
		}
	}
	sort.Slice(r.Interfaces, func(i, j int) bool { return r.Interfaces[i].SubnetID < r.Interfaces[j].SubnetID })
	if len(ids) > 0 {
		r.Properties["route_table_ids"] = strings.Join(ids, ",")
	}
	return r
}

// subnetCIDRs returns the CIDR of every subnet of a region.
func subnetCIDRs(ctx context.Context, region string, api netAPI) (map[string]string, error) {
	subnets, err := describeSubnets(ctx, region, api, &ec2.DescribeSubnetsInput{})
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, s := range subnets {
		out[awssdk.ToString(s.SubnetId)] = awssdk.ToString(s.CidrBlock)
	}
	return out, nil
}

// routersIn converts internet gateways of a region with their route
// tables.
func routersIn(ctx context.Context, region string, api netAPI, igws []types.InternetGateway) ([]providers.Router, error) {
	if len(igws) == 0 {
		return nil, nil
	}
	tables, err := describeRouteTables(ctx, region, api, &ec2.DescribeRouteTablesInput{})
	if err != nil {
		return nil, err
	}
	cidrs, err := subnetCIDRs(ctx, region, api)
	if err != nil {
		return nil, err
	}
	out := make([]providers.Router, 0, len(igws))
	for _, g := range igws {
		out = append(out, routerOf(region, g, routerTables(g, tables), cidrs))
	}
	return out, nil
}

// ListRouters implements providers.Routers: the internet gateways of every
// region.
func (c *Cloud) ListRouters(ctx context.Context) ([]providers.Router, error) {
	return listEachRegion(ctx, c, func(r providers.Router) string { return r.NativeID },
		func(ctx context.Context, region string, api netAPI) ([]providers.Router, error) {
			igws, err := describeIGWs(ctx, region, api, &ec2.DescribeInternetGatewaysInput{})
			if err != nil {
				return nil, err
			}
			return routersIn(ctx, region, api, igws)
		})
}

// describeIGW finds an internet gateway by id.
func (c *Cloud) describeIGW(ctx context.Context, id string) (string, types.InternetGateway, error) {
	return locateByID(ctx, c, "router", "igw-", id, func(ctx context.Context, region string, api netAPI) ([]types.InternetGateway, error) {
		return describeIGWs(ctx, region, api, &ec2.DescribeInternetGatewaysInput{InternetGatewayIds: []string{id}})
	})
}

// router returns a router with its region, client and internet gateway.
func (c *Cloud) router(ctx context.Context, id string) (providers.Router, string, netAPI, types.InternetGateway, error) {
	region, g, err := c.describeIGW(ctx, id)
	if err != nil {
		return providers.Router{}, "", nil, types.InternetGateway{}, err
	}
	api, err := c.netClient(region)
	if err != nil {
		return providers.Router{}, "", nil, types.InternetGateway{}, err
	}
	rs, err := routersIn(ctx, region, api, []types.InternetGateway{g})
	if err != nil {
		return providers.Router{}, "", nil, types.InternetGateway{}, err
	}
	return rs[0], region, api, g, nil
}

// GetRouter implements providers.Routers.
func (c *Cloud) GetRouter(ctx context.Context, id string) (providers.Router, error) {
	if err := c.check(); err != nil {
		return providers.Router{}, err
	}
	r, _, _, _, err := c.router(ctx, id)
	return r, err
}

// checkExternal refuses an external network other than "amazon".
func checkExternal(id string) error {
	if id != "" && id != amazonNetwork {
		return fmt.Errorf("%w: external_network_id %q is not an external network (on EC2 the only one is %q)", providers.ErrInvalid, id, amazonNetwork)
	}
	return nil
}

// CreateRouter implements providers.Routers with CreateInternetGateway, in
// the region of the spec's zone (else the cloud's first). It is attached
// to a VPC by its first interface, which must be in that region.
func (c *Cloud) CreateRouter(ctx context.Context, spec providers.RouterSpec) (providers.Router, error) {
	if err := c.check(); err != nil {
		return providers.Router{}, err
	}
	if err := checkExternal(spec.ExternalNetworkID); err != nil {
		return providers.Router{}, fmt.Errorf("aws: create router %q: %w", spec.Name, err)
	}
	tags, err := netTags(types.ResourceTypeInternetGateway, "router", spec.Name, spec.Labels, spec.IdempotencyToken,
		map[string]string{tagGateway: spec.ExternalNetworkID})
	if err != nil {
		return providers.Router{}, err
	}
	region, api, err := c.netRegion(ctx, spec.Zone)
	if err != nil {
		return providers.Router{}, err
	}
	find := replayByToken(spec.IdempotencyToken, func(ctx context.Context, by []types.Filter) ([]types.InternetGateway, error) {
		return describeIGWs(ctx, region, api, &ec2.DescribeInternetGatewaysInput{Filters: by})
	})
	create := func(ctx context.Context) (types.InternetGateway, error) {
		out, err := api.CreateInternetGateway(failpoint.Sent(ctx, "aws/router:sent"), &ec2.CreateInternetGatewayInput{TagSpecifications: tags}, once(spec.IdempotencyToken)...)
		if err != nil {
			return types.InternetGateway{}, netFail(err, reference, "create router %q (internet gateway) in %s", spec.Name, region)
		}
		failpoint.Hit("aws/router:posted")
		if out.InternetGateway == nil {
			return types.InternetGateway{}, fmt.Errorf("aws: create internet gateway in %s: %w: no gateway in the answer", region, providers.ErrUnavailable)
		}
		return *out.InternetGateway, nil
	}
	g, found, err := providers.FindOrCreate(ctx, c.replays, spec.IdempotencyToken, spec.Replay, find, create)
	if err != nil {
		return providers.Router{}, err
	}
	id := awssdk.ToString(g.InternetGatewayId)
	c.remember(id, region)
	if found {
		return c.GetRouter(ctx, id)
	}
	return routerOf(region, g, nil, nil), nil
}

// DeleteRouter implements providers.Routers with DeleteInternetGateway. A
// router with interfaces is a conflict; so is a gateway made outside canopy
// that is still attached to its VPC (EC2's DependencyViolation).
func (c *Cloud) DeleteRouter(ctx context.Context, id string) error {
	if err := c.check(); err != nil {
		return err
	}
	r, region, api, g, err := c.router(ctx, id)
	if err != nil {
		return err
	}
	if len(r.Interfaces) > 0 {
		var subnets []string
		for _, i := range r.Interfaces {
			subnets = append(subnets, i.SubnetID)
		}
		return fmt.Errorf("aws: delete router %s: %w: it still has interfaces in subnets %s", id, providers.ErrConflict, strings.Join(subnets, ", "))
	}
	if err := c.tidyRouter(ctx, region, api, g); err != nil {
		return err
	}
	if _, err := removal(ctx, api.DeleteInternetGateway, &ec2.DeleteInternetGatewayInput{InternetGatewayId: awssdk.String(id)}); err != nil {
		return netFail(err, target, "delete router %s (internet gateway) in %s", id, region)
	}
	return nil
}
