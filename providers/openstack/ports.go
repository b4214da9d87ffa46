package openstack

// Neutron ports (providers.Networks). neutron.go says how labels and the
// idempotency token are kept.

import (
	"context"
	"fmt"
	"net/url"
	"strconv"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"

	"github.com/canopy-cloud/canopy/providers"
)

type portJSON struct {
	attrs
	NetworkID      string     `json:"network_id"`
	MAC            string     `json:"mac_address"`
	FixedIPs       []ports.IP `json:"fixed_ips"`
	DeviceID       string     `json:"device_id"`
	DeviceOwner    string     `json:"device_owner"`
	SecurityGroups []string   `json:"security_groups"`
	BindingHost    string     `json:"binding:host_id"`
	AdminStateUp   *bool      `json:"admin_state_up"`
}

func toPort(region string, p portJSON) providers.Port {
	out := providers.Port{
		Common: p.common(region), NetworkID: p.NetworkID, MAC: p.MAC,
		DeviceID: p.DeviceID, DeviceOwner: p.DeviceOwner, SecurityGroupIDs: append([]string(nil), p.SecurityGroups...),
	}
	for _, ip := range p.FixedIPs {
		out.FixedIPs = append(out.FixedIPs, providers.FixedIP{SubnetID: ip.SubnetID, IP: ip.IPAddress})
	}
	if p.BindingHost != "" {
		out.Properties["binding_host"] = p.BindingHost
	}
	if p.AdminStateUp != nil {
		out.Properties["admin_state_up"] = strconv.FormatBool(*p.AdminStateUp)
	}
	return out
}

func (c *Cloud) listPorts(ctx context.Context, sc *gophercloud.ServiceClient, opts ports.ListOpts) ([]portJSON, error) {
	opts.Limit = c.opts.PageSize
	return listAll[portJSON](ctx, ports.List(sc, opts), "ports")
}

// ListPorts implements providers.Networks: every port the project sees,
// servers', routers' and DHCP's included.
func (c *Cloud) ListPorts(ctx context.Context) ([]providers.Port, error) {
	sc, region, err := c.neutron(ctx)
	if err != nil {
		return nil, err
	}
	list, err := c.listPorts(ctx, sc, ports.ListOpts{})
	if err != nil {
		return nil, netFail(err, "list ports in %s", region)
	}
	out := make([]providers.Port, 0, len(list))
	for _, p := range list {
		out = append(out, toPort(region, p))
	}
	return out, nil
}

// GetPort implements providers.Networks.
func (c *Cloud) GetPort(ctx context.Context, id string) (providers.Port, error) {
	sc, region, err := c.neutron(ctx)
	if err != nil {
		return providers.Port{}, err
	}
	p, err := extract[portJSON](ports.Get(ctx, sc, url.PathEscape(id)).Result, "port")
	if err != nil {
		return providers.Port{}, netFail(err, "get port %s in %s", id, region)
	}
	return toPort(region, p), nil
}

// CreatePort implements providers.Networks. Without SecurityGroupIDs
// Neutron gives the port the project's default group. A fixed IP another
// port holds is ErrConflict (Neutron's 409 IpAddressAlreadyAllocated).
func (c *Cloud) CreatePort(ctx context.Context, spec providers.PortSpec) (providers.Port, error) {
	sc, region, err := c.neutron(ctx)
	if err != nil {
		return providers.Port{}, err
	}
	if spec.NetworkID == "" {
		return providers.Port{}, fmt.Errorf("openstack: create port %q in %s: %w: network_id is required", spec.Name, region, providers.ErrInvalid)
	}
	opts := ports.CreateOpts{NetworkID: spec.NetworkID, Name: spec.Name}
	if spec.SubnetID != "" || spec.FixedIP != "" {
		opts.FixedIPs = []ports.IP{{SubnetID: spec.SubnetID, IPAddress: spec.FixedIP}}
	}
	if len(spec.SecurityGroupIDs) > 0 {
		sgs := append([]string(nil), spec.SecurityGroupIDs...)
		opts.SecurityGroups = &sgs
	}
	p, err := creation[portJSON]{
		sc: sc, kind: providers.KindPort, resource: "ports",
		labels: spec.Labels, token: spec.IdempotencyToken, replay: spec.Replay,
		post: func(ctx context.Context, desc string) (portJSON, error) {
			o := opts
			o.Description = desc
			return extract[portJSON](ports.Create(ctx, sc, o).Result, "port")
		},
		list: func(ctx context.Context, tag, desc string) ([]portJSON, error) {
			return c.listPorts(ctx, sc, ports.ListOpts{NetworkID: spec.NetworkID, Tags: tag, Description: desc})
		},
		get: func(ctx context.Context, id string) (portJSON, error) {
			return extract[portJSON](ports.Get(ctx, sc, id).Result, "port")
		},
		del: func(ctx context.Context, id string) error { return ports.Delete(ctx, sc, id).ExtractErr() },
	}.run(ctx, c)
	if err != nil {
		return providers.Port{}, netFail(err, "create port %q in %s", spec.Name, region)
	}
	return toPort(region, p), nil
}

// DeletePort implements providers.Networks. A router's interface port is
// Neutron's to delete (409 through the port API: ErrConflict); a server's
// port is detached and deleted.
func (c *Cloud) DeletePort(ctx context.Context, id string) error {
	sc, region, err := c.neutron(ctx)
	if err != nil {
		return err
	}
	if err := ports.Delete(ctx, sc, url.PathEscape(id)).ExtractErr(); err != nil {
		return netFail(err, "delete port %s in %s", id, region)
	}
	return nil
}
