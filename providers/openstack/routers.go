package openstack

// Neutron routers (providers.Routers). A router's interfaces are not in
// Neutron's router body: they are the ports it owns with a router
// interface device owner, read with one port list for all routers.

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/layer3/routers"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"

	"github.com/canopy-cloud/canopy/providers"
)

// interfaceOwners are the device owners of a router's ports in its
// subnets: legacy, distributed (DVR) and HA routers.
var interfaceOwners = []string{"network:router_interface", "network:router_interface_distributed", "network:ha_router_replicated_interface"}

type routerJSON struct {
	attrs
	Gateway *routers.GatewayInfo `json:"external_gateway_info"`
}

// interfacePorts is a port list query for routers' interface ports: of one
// router (deviceID) or of all.
type interfacePorts struct {
	deviceID string
	limit    int
}

func (q interfacePorts) ToPortListQuery() (string, error) {
	v := url.Values{}
	for _, o := range interfaceOwners {
		v.Add("device_owner", o)
	}
	if q.deviceID != "" {
		v.Set("device_id", q.deviceID)
	}
	if q.limit > 0 {
		v.Set("limit", strconv.Itoa(q.limit))
	}
	return "?" + v.Encode(), nil
}

func (c *Cloud) interfaces(ctx context.Context, sc *gophercloud.ServiceClient, routerID string) (map[string][]providers.RouterInterface, error) {
	list, err := listAll[portJSON](ctx, ports.List(sc, interfacePorts{deviceID: routerID, limit: c.opts.PageSize}), "ports")
	if err != nil {
		return nil, err
	}
	out := map[string][]providers.RouterInterface{}
	for _, p := range list {
		for _, ip := range p.FixedIPs {
			out[p.DeviceID] = append(out[p.DeviceID], providers.RouterInterface{SubnetID: ip.SubnetID, PortID: p.ID, IP: ip.IPAddress})
		}
	}
	for _, l := range out {
		sort.Slice(l, func(i, j int) bool { return l[i].SubnetID < l[j].SubnetID })
	}
	return out, nil
}

func toRouter(region string, r routerJSON, ifaces []providers.RouterInterface) providers.Router {
	out := providers.Router{Common: r.common(region), Interfaces: ifaces}
	if g := r.Gateway; g != nil && g.NetworkID != "" {
		out.ExternalNetworkID = g.NetworkID
		for _, ip := range g.ExternalFixedIPs {
			out.ExternalIPs = append(out.ExternalIPs, ip.IPAddress)
		}
		if g.EnableSNAT != nil {
			out.Properties["enable_snat"] = strconv.FormatBool(*g.EnableSNAT)
		}
	}
	return out
}

func (c *Cloud) listRouters(ctx context.Context, sc *gophercloud.ServiceClient, opts routers.ListOpts) ([]routerJSON, error) {
	opts.Limit = c.opts.PageSize
	return listAll[routerJSON](ctx, routers.List(sc, opts), "routers")
}

// ListRouters implements providers.Routers.
func (c *Cloud) ListRouters(ctx context.Context) ([]providers.Router, error) {
	sc, region, err := c.neutron(ctx)
	if err != nil {
		return nil, err
	}
	list, err := c.listRouters(ctx, sc, routers.ListOpts{})
	if err != nil {
		return nil, netFail(err, "list routers in %s", region)
	}
	ifaces, err := c.interfaces(ctx, sc, "")
	if err != nil {
		return nil, netFail(err, "list router interfaces in %s", region)
	}
	out := make([]providers.Router, 0, len(list))
	for _, r := range list {
		out = append(out, toRouter(region, r, ifaces[r.ID]))
	}
	return out, nil
}

// GetRouter implements providers.Routers.
func (c *Cloud) GetRouter(ctx context.Context, id string) (providers.Router, error) {
	sc, region, err := c.neutron(ctx)
	if err != nil {
		return providers.Router{}, err
	}
	r, err := c.getRouter(ctx, sc, id)
	if err != nil {
		return providers.Router{}, netFail(err, "get router %s in %s", id, region)
	}
	return toRouter(region, r.routerJSON, r.ifaces), nil
}

type routerWithInterfaces struct {
	routerJSON
	ifaces []providers.RouterInterface
}

func (c *Cloud) getRouter(ctx context.Context, sc *gophercloud.ServiceClient, id string) (routerWithInterfaces, error) {
	r, err := extract[routerJSON](routers.Get(ctx, sc, url.PathEscape(id)).Result, "router")
	if err != nil {
		return routerWithInterfaces{}, err
	}
	ifaces, err := c.interfaces(ctx, sc, r.ID)
	if err != nil {
		return routerWithInterfaces{}, err
	}
	return routerWithInterfaces{r, ifaces[r.ID]}, nil
}

// CreateRouter implements providers.Routers. A gateway network that is
// not external is Neutron's 400 (ErrInvalid); one that does not exist its
// 404, reported as ErrInvalid naming external_network_id (the router is
// what is being made, not what is missing).
func (c *Cloud) CreateRouter(ctx context.Context, spec providers.RouterSpec) (providers.Router, error) {
	sc, region, err := c.neutron(ctx)
	if err != nil {
		return providers.Router{}, err
	}
	opts := routers.CreateOpts{Name: spec.Name}
	if spec.ExternalNetworkID != "" {
		opts.GatewayInfo = &routers.GatewayInfo{NetworkID: spec.ExternalNetworkID}
	}
	r, err := creation[routerJSON]{
		sc: sc, kind: providers.KindRouter, resource: "routers",
		labels: spec.Labels, token: spec.IdempotencyToken, replay: spec.Replay,
		post: func(ctx context.Context, desc string) (routerJSON, error) {
			o := opts
			o.Description = desc
			return extract[routerJSON](routers.Create(ctx, sc, o).Result, "router")
		},
		list: func(ctx context.Context, tag, desc string) ([]routerJSON, error) {
			return c.listRouters(ctx, sc, routers.ListOpts{Tags: tag, Description: desc})
		},
		get: func(ctx context.Context, id string) (routerJSON, error) {
			return extract[routerJSON](routers.Get(ctx, sc, id).Result, "router")
		},
		del: func(ctx context.Context, id string) error { return routers.Delete(ctx, sc, id).ExtractErr() },
	}.run(ctx, c)
	if err != nil {
		err = mapErr(err)
		if isHTTP(err, 404) && spec.ExternalNetworkID != "" {
			err = reclassify(err, providers.ErrInvalid, "external_network_id "+spec.ExternalNetworkID)
		}
		return providers.Router{}, fmt.Errorf("openstack: create router %q in %s: %w", spec.Name, region, err)
	}
	ifaces, err := c.interfaces(ctx, sc, r.ID)
	if err != nil {
		return providers.Router{}, netFail(err, "create router %q in %s: list its interfaces", spec.Name, region)
	}
	return toRouter(region, r, ifaces[r.ID]), nil
}

// DeleteRouter implements providers.Routers. Neutron refuses (409) while
// the router has interfaces: ErrConflict naming them. Its gateway goes
// with it.
func (c *Cloud) DeleteRouter(ctx context.Context, id string) error {
	sc, region, err := c.neutron(ctx)
	if err != nil {
		return err
	}
	err = routers.Delete(ctx, sc, url.PathEscape(id)).ExtractErr()
	if err == nil {
		return nil
	}
	err = mapErr(err)
	if isHTTP(err, 409) {
		if ifaces, lerr := c.interfaces(ctx, sc, id); lerr == nil && len(ifaces[id]) > 0 {
			var subnets []string
			for _, i := range ifaces[id] {
				subnets = append(subnets, i.SubnetID)
			}
			err = reclassify(err, providers.ErrConflict, "it has interfaces in subnets "+strings.Join(subnets, ", "))
		}
	}
	return fmt.Errorf("openstack: delete router %s in %s: %w", id, region, err)
}

// SetRouterGateway implements providers.Routers. Clearing a gateway a
// floating IP still routes through is Neutron's 409 (ErrConflict).
func (c *Cloud) SetRouterGateway(ctx context.Context, id, externalNetworkID string) error {
	sc, region, err := c.neutron(ctx)
	if err != nil {
		return err
	}
	gw := &routers.GatewayInfo{} // {}: no gateway
	if externalNetworkID != "" {
		gw.NetworkID = externalNetworkID
	}
	_, err = routers.Update(ctx, sc, url.PathEscape(id), routers.UpdateOpts{GatewayInfo: gw}).Extract()
	if err != nil {
		if externalNetworkID == "" {
			return netFail(err, "clear the gateway of router %s in %s", id, region)
		}
		return netFail(err, "set the gateway of router %s in %s to network %s", id, region, externalNetworkID)
	}
	return nil
}

// AddRouterInterface implements providers.Routers. Neutron answers 400
// for a subnet the router already has a port in ("Router already has a
// port on subnet"), which the contract calls ErrConflict, as it is for a
// subnet whose gateway address another router holds (409).
func (c *Cloud) AddRouterInterface(ctx context.Context, id, subnetID string) (providers.RouterInterface, error) {
	sc, region, err := c.neutron(ctx)
	if err != nil {
		return providers.RouterInterface{}, err
	}
	info, err := routers.AddInterface(ctx, sc, url.PathEscape(id), routers.AddInterfaceOpts{SubnetID: subnetID}).Extract()
	if err != nil {
		err = mapErr(err)
		var ae *APIError
		if errors.As(err, &ae) && ae.Code == 400 && strings.Contains(strings.ToLower(ae.Message), "already has a port") {
			err = reclassify(err, providers.ErrConflict, "")
		}
		return providers.RouterInterface{}, fmt.Errorf("openstack: add subnet %s to router %s in %s: %w", subnetID, id, region, err)
	}
	out := providers.RouterInterface{SubnetID: info.SubnetID, PortID: info.PortID}
	p, err := extract[portJSON](ports.Get(ctx, sc, url.PathEscape(info.PortID)).Result, "port")
	if err != nil {
		return out, netFail(err, "add subnet %s to router %s in %s: read its port %s", subnetID, id, region, info.PortID)
	}
	for _, ip := range p.FixedIPs {
		if ip.SubnetID == info.SubnetID {
			out.IP = ip.IPAddress
			break
		}
	}
	return out, nil
}

// RemoveRouterInterface implements providers.Routers: Neutron's 404 for a
// subnet the router has no interface in is ErrNotFound. A floating IP that
// still reaches its server through the interface is Neutron's 409
// (ErrConflict).
func (c *Cloud) RemoveRouterInterface(ctx context.Context, id, subnetID string) error {
	sc, region, err := c.neutron(ctx)
	if err != nil {
		return err
	}
	if _, err := routers.RemoveInterface(ctx, sc, url.PathEscape(id), routers.RemoveInterfaceOpts{SubnetID: subnetID}).Extract(); err != nil {
		return netFail(err, "remove subnet %s from router %s in %s", subnetID, id, region)
	}
	return nil
}
