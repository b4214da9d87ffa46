package openstack

// Neutron floating IPs (providers.FloatingIPs). neutron.go says how labels
// and the idempotency token are kept.
//
// Neutron moves an associated floating IP to another port when asked
// (measured on the lab); canopy's contract calls that ErrConflict, so the
// adapter reads the floating IP before associating it.

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/external"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/layer3/floatingips"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"

	"github.com/canopy-cloud/canopy/providers"
)

type fipJSON struct {
	attrs
	NetworkID string  `json:"floating_network_id"`
	IP        string  `json:"floating_ip_address"`
	PortID    *string `json:"port_id"`
	FixedIP   *string `json:"fixed_ip_address"`
	RouterID  *string `json:"router_id"`
	// PortDetails (fip-port-details) names the port's device, so the
	// server is known without reading the port.
	PortDetails *struct {
		DeviceID    string `json:"device_id"`
		DeviceOwner string `json:"device_owner"`
	} `json:"port_details"`
}

// toFloatingIP converts; owner is the port's (device owner, device id)
// when port_details is missing.
func toFloatingIP(region string, f fipJSON, owner func(portID string) (string, string)) providers.FloatingIP {
	out := providers.FloatingIP{Common: f.common(region), IP: f.IP, NetworkID: f.NetworkID, PortID: deref(f.PortID), FixedIP: deref(f.FixedIP)}
	if r := deref(f.RouterID); r != "" {
		out.Properties["router_id"] = r
	}
	if out.PortID != "" {
		devOwner, devID := "", ""
		if d := f.PortDetails; d != nil {
			devOwner, devID = d.DeviceOwner, d.DeviceID
		} else if owner != nil {
			devOwner, devID = owner(out.PortID)
		}
		if strings.HasPrefix(devOwner, "compute:") {
			out.ServerID = devID
		}
	}
	return out
}

// portOwner reads a port's device (for clouds without fip-port-details).
func portOwner(ctx context.Context, sc *gophercloud.ServiceClient) func(string) (string, string) {
	return func(id string) (string, string) {
		p, err := extract[portJSON](ports.Get(ctx, sc, url.PathEscape(id)).Result, "port")
		if err != nil {
			return "", ""
		}
		return p.DeviceOwner, p.DeviceID
	}
}

func (c *Cloud) listFIPs(ctx context.Context, sc *gophercloud.ServiceClient, opts floatingips.ListOpts) ([]fipJSON, error) {
	opts.Limit = c.opts.PageSize
	return listAll[fipJSON](ctx, floatingips.List(sc, opts), "floatingips")
}

// ListFloatingIPs implements providers.FloatingIPs.
func (c *Cloud) ListFloatingIPs(ctx context.Context) ([]providers.FloatingIP, error) {
	sc, region, err := c.neutron(ctx)
	if err != nil {
		return nil, err
	}
	list, err := c.listFIPs(ctx, sc, floatingips.ListOpts{})
	if err != nil {
		return nil, netFail(err, "list floating IPs in %s", region)
	}
	out := make([]providers.FloatingIP, 0, len(list))
	for _, f := range list {
		out = append(out, toFloatingIP(region, f, portOwner(ctx, sc)))
	}
	return out, nil
}

// GetFloatingIP implements providers.FloatingIPs.
func (c *Cloud) GetFloatingIP(ctx context.Context, id string) (providers.FloatingIP, error) {
	sc, region, err := c.neutron(ctx)
	if err != nil {
		return providers.FloatingIP{}, err
	}
	f, err := extract[fipJSON](floatingips.Get(ctx, sc, url.PathEscape(id)).Result, "floatingip")
	if err != nil {
		return providers.FloatingIP{}, netFail(err, "get floating IP %s in %s", id, region)
	}
	return toFloatingIP(region, f, portOwner(ctx, sc)), nil
}

// externalNetwork picks the network to allocate from when none is named:
// the only external network the project sees. None is ErrUnsupported (the
// cloud hands out no public addresses to this project), several ErrInvalid.
func (c *Cloud) externalNetwork(ctx context.Context, sc *gophercloud.ServiceClient) (string, error) {
	yes := true
	opts := external.ListOptsExt{ListOptsBuilder: networks.ListOpts{Limit: c.opts.PageSize}, External: &yes}
	list, err := listAll[networkJSON](ctx, networks.List(sc, opts), "networks")
	if err != nil {
		return "", mapErr(err)
	}
	switch len(list) {
	case 0:
		return "", fmt.Errorf("%w: the cloud has no external network to allocate floating IPs from", providers.ErrUnsupported)
	case 1:
		return list[0].ID, nil
	}
	ids := make([]string, len(list))
	for i, n := range list {
		ids[i] = n.ID + " (" + n.Name + ")"
	}
	sort.Strings(ids)
	return "", fmt.Errorf("%w: network_id is required: the cloud has %d external networks: %s", providers.ErrInvalid, len(list), strings.Join(ids, ", "))
}

// AllocateFloatingIP implements providers.FloatingIPs. A network that is
// not external is Neutron's 400, one that does not exist its 404: both
// ErrInvalid naming network_id.
func (c *Cloud) AllocateFloatingIP(ctx context.Context, spec providers.FloatingIPSpec) (providers.FloatingIP, error) {
	sc, region, err := c.neutron(ctx)
	if err != nil {
		return providers.FloatingIP{}, err
	}
	fail := func(err error) (providers.FloatingIP, error) {
		return providers.FloatingIP{}, fmt.Errorf("openstack: allocate a floating IP in %s: %w", region, err)
	}
	netID := spec.NetworkID
	if netID == "" {
		if netID, err = c.externalNetwork(ctx, sc); err != nil {
			return fail(err)
		}
	}
	f, err := creation[fipJSON]{
		sc: sc, kind: providers.KindFloatingIP, resource: "floatingips",
		labels: spec.Labels, token: spec.IdempotencyToken, replay: spec.Replay,
		post: func(ctx context.Context, desc string) (fipJSON, error) {
			return extract[fipJSON](floatingips.Create(ctx, sc, floatingips.CreateOpts{FloatingNetworkID: netID, Description: desc}).Result, "floatingip")
		},
		list: func(ctx context.Context, tag, desc string) ([]fipJSON, error) {
			return c.listFIPs(ctx, sc, floatingips.ListOpts{FloatingNetworkID: netID, Tags: tag, Description: desc})
		},
		get: func(ctx context.Context, id string) (fipJSON, error) {
			return extract[fipJSON](floatingips.Get(ctx, sc, id).Result, "floatingip")
		},
		del: func(ctx context.Context, id string) error { return floatingips.Delete(ctx, sc, id).ExtractErr() },
	}.run(ctx, c)
	if err != nil {
		err = mapErr(err)
		if isHTTP(err, 404) {
			err = reclassify(err, providers.ErrInvalid, "network_id "+netID)
		}
		return fail(err)
	}
	return toFloatingIP(region, f, nil), nil
}

// serverPort is the port a floating IP for a server goes to: its first
// (oldest) port with an IPv4 address.
func (c *Cloud) serverPort(ctx context.Context, sc *gophercloud.ServiceClient, serverID string) (string, error) {
	list, err := c.listPorts(ctx, sc, ports.ListOpts{DeviceID: serverID})
	if err != nil {
		return "", mapErr(err)
	}
	sort.Slice(list, func(i, j int) bool {
		if !list[i].CreatedAt.Equal(list[j].CreatedAt.Time) {
			return list[i].CreatedAt.Before(list[j].CreatedAt.Time)
		}
		return list[i].ID < list[j].ID
	})
	for _, p := range list {
		for _, ip := range p.FixedIPs {
			if !strings.Contains(ip.IPAddress, ":") {
				return p.ID, nil
			}
		}
	}
	return "", fmt.Errorf("%w: server_id %s has no port with an IPv4 address (no such server, or no network)", providers.ErrInvalid, serverID)
}

// AssociateFloatingIP implements providers.FloatingIPs. By server, it
// goes to the server's first port: the oldest with an IPv4 address (Nova
// makes a server's ports in the order asked; a port made before the
// server and attached to it comes first). Associating it again with the
// port it has is done already. A port Neutron's routers
// cannot reach from the floating IP's network (no router joins its subnet
// to it) is ErrConflict: the topology, not the request, is wrong.
func (c *Cloud) AssociateFloatingIP(ctx context.Context, id, portID, serverID string) error {
	sc, region, err := c.neutron(ctx)
	if err != nil {
		return err
	}
	fail := func(err error) error {
		return fmt.Errorf("openstack: associate floating IP %s in %s: %w", id, region, err)
	}
	// The floating IP first: a missing one is ErrNotFound whatever else
	// is wrong.
	f, err := extract[fipJSON](floatingips.Get(ctx, sc, url.PathEscape(id)).Result, "floatingip")
	if err != nil {
		return fail(mapErr(err))
	}
	switch {
	case portID == "" && serverID == "":
		return fail(fmt.Errorf("%w: port_id or server_id is required", providers.ErrInvalid))
	case portID != "" && serverID != "":
		return fail(fmt.Errorf("%w: port_id and server_id are both set (one of them)", providers.ErrInvalid))
	}
	if serverID != "" {
		if portID, err = c.serverPort(ctx, sc, serverID); err != nil {
			return fail(err)
		}
	}
	switch cur := deref(f.PortID); cur {
	case portID:
		return nil
	case "":
	default:
		return fail(fmt.Errorf("%w: it is associated with port %s (disassociate it first)", providers.ErrConflict, cur))
	}
	_, err = floatingips.Update(ctx, sc, url.PathEscape(id), floatingips.UpdateOpts{PortID: &portID}).Extract()
	if err != nil {
		err = mapErr(err)
		var ae *APIError
		if errors.As(err, &ae) && ae.Code == 404 {
			switch {
			case strings.Contains(ae.Message, "not reachable"):
				err = reclassify(err, providers.ErrConflict, "")
			case strings.Contains(ae.Message, portID):
				err = reclassify(err, providers.ErrInvalid, "port_id "+portID)
			}
		}
		return fail(err)
	}
	return nil
}

// DisassociateFloatingIP implements providers.FloatingIPs; a free one
// stays free.
func (c *Cloud) DisassociateFloatingIP(ctx context.Context, id string) error {
	sc, region, err := c.neutron(ctx)
	if err != nil {
		return err
	}
	none := "" // gophercloud sends null
	if _, err := floatingips.Update(ctx, sc, url.PathEscape(id), floatingips.UpdateOpts{PortID: &none}).Extract(); err != nil {
		return netFail(err, "disassociate floating IP %s in %s", id, region)
	}
	return nil
}

// ReleaseFloatingIP implements providers.FloatingIPs (associated or not:
// Neutron disassociates it as it deletes it).
func (c *Cloud) ReleaseFloatingIP(ctx context.Context, id string) error {
	sc, region, err := c.neutron(ctx)
	if err != nil {
		return err
	}
	if err := floatingips.Delete(ctx, sc, url.PathEscape(id)).ExtractErr(); err != nil {
		return netFail(err, "release floating IP %s in %s", id, region)
	}
	return nil
}
