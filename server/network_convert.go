package server

import (
	"context"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/router"
	"github.com/canopy-cloud/canopy/store"
)

// refs maps the native ids one cloud's networking resources name (a
// subnet's network, a rule's remote group, a port's server) to canopy ids,
// adopting each kind's in one batched store call.
type refs struct {
	want map[string][]string
	ids  map[string]map[string]store.Mapping
}

func newRefs() *refs {
	return &refs{want: map[string][]string{}, ids: map[string]map[string]store.Mapping{}}
}

func (r *refs) add(kind string, natives ...string) {
	for _, n := range natives {
		if n != "" {
			r.want[kind] = append(r.want[kind], n)
		}
	}
}

func (r *refs) resolve(ctx context.Context, rt router.Resolver, cl *router.Cloud) error {
	for kind, natives := range r.want {
		m, err := rt.Adopt(ctx, cl, kind, natives)
		if err != nil {
			return err
		}
		r.ids[kind] = m
	}
	return nil
}

// id is the canopy id of a native id ("" for "").
func (r *refs) id(kind, native string) string {
	if native == "" {
		return ""
	}
	return r.ids[kind][native].ID
}

func (r *refs) list(kind string, natives []string) []string {
	out := make([]string, 0, len(natives))
	for _, n := range natives {
		out = append(out, r.id(kind, n))
	}
	return out
}

// netLocation is where a networking resource lives, with its owner.
func netLocation(cloud string, c providers.Common, m store.Mapping) *canopyv1.Location {
	loc := location(cloud, c)
	loc.Project = m.Project
	return loc
}

func networkPB(cloud string, m store.Mapping, x providers.Network, r *refs) *canopyv1.Network {
	return &canopyv1.Network{
		Id: m.ID, NativeId: x.NativeID, Location: netLocation(cloud, x.Common, m), Name: x.Name,
		Status: statusPB(x.Status), ProviderStatus: x.ProviderStatus, StatusMessage: x.StatusMessage,
		CreateTime: ts(x.Created), UpdateTime: ts(x.Updated), Labels: x.Labels, Properties: x.Properties,
		Cidr: x.CIDR, External: x.External, Shared: x.Shared, Mtu: x.MTU, SubnetIds: r.list(providers.KindSubnet, x.SubnetIDs), Default: x.Default,
	}
}

func subnetPB(cloud string, m store.Mapping, x providers.Subnet, r *refs) *canopyv1.Subnet {
	out := &canopyv1.Subnet{
		Id: m.ID, NativeId: x.NativeID, Location: netLocation(cloud, x.Common, m), Name: x.Name,
		Status: statusPB(x.Status), ProviderStatus: x.ProviderStatus, StatusMessage: x.StatusMessage,
		CreateTime: ts(x.Created), UpdateTime: ts(x.Updated), Labels: x.Labels, Properties: x.Properties,
		NetworkId: r.id(providers.KindNetwork, x.NetworkID), Cidr: x.CIDR, IpVersion: x.IPVersion, GatewayIp: x.GatewayIP,
		Dhcp: x.DHCP, DnsServers: x.DNSServers,
	}
	for _, p := range x.Pools {
		out.AllocationPools = append(out.AllocationPools, &canopyv1.IPRange{Start: p.Start, End: p.End})
	}
	return out
}

func portPB(cloud string, m store.Mapping, x providers.Port, r *refs) *canopyv1.Port {
	out := &canopyv1.Port{
		Id: m.ID, NativeId: x.NativeID, Location: netLocation(cloud, x.Common, m), Name: x.Name,
		Status: statusPB(x.Status), ProviderStatus: x.ProviderStatus, StatusMessage: x.StatusMessage,
		CreateTime: ts(x.Created), UpdateTime: ts(x.Updated), Labels: x.Labels, Properties: x.Properties,
		NetworkId: r.id(providers.KindNetwork, x.NetworkID), MacAddress: x.MAC, DeviceOwner: x.DeviceOwner, DeviceNativeId: x.DeviceID,
		SecurityGroupIds: r.list(providers.KindSecurityGroup, x.SecurityGroupIDs),
	}
	if isServerPort(x) {
		out.ServerId = r.id(providers.KindServer, x.DeviceID)
	}
	for _, f := range x.FixedIPs {
		out.FixedIps = append(out.FixedIps, &canopyv1.FixedIP{SubnetId: r.id(providers.KindSubnet, f.SubnetID), Ip: f.IP})
	}
	return out
}

// isServerPort says whether a port's device is a server (Nova's
// "compute:<zone>" owners, EC2's instance attachments).
func isServerPort(x providers.Port) bool {
	o := x.DeviceOwner
	return x.DeviceID != "" && (len(o) >= 8 && o[:8] == "compute:" || o == "instance" || o == "server")
}

func routerPB(cloud string, m store.Mapping, x providers.Router, r *refs) *canopyv1.Router {
	out := &canopyv1.Router{
		Id: m.ID, NativeId: x.NativeID, Location: netLocation(cloud, x.Common, m), Name: x.Name,
		Status: statusPB(x.Status), ProviderStatus: x.ProviderStatus, StatusMessage: x.StatusMessage,
		CreateTime: ts(x.Created), UpdateTime: ts(x.Updated), Labels: x.Labels, Properties: x.Properties,
		ExternalNetworkId: r.id(providers.KindNetwork, x.ExternalNetworkID), ExternalIps: x.ExternalIPs,
	}
	for _, i := range x.Interfaces {
		out.Interfaces = append(out.Interfaces, &canopyv1.RouterInterface{SubnetId: r.id(providers.KindSubnet, i.SubnetID), PortId: r.id(providers.KindPort, i.PortID), Ip: i.IP})
	}
	return out
}

func ruleDirectionPB(d string) canopyv1.SecurityGroupRule_Direction {
	if d == providers.Egress {
		return canopyv1.SecurityGroupRule_DIRECTION_EGRESS
	}
	return canopyv1.SecurityGroupRule_DIRECTION_INGRESS
}

func rulePB(x providers.SecurityRule, r *refs) *canopyv1.SecurityGroupRule {
	return &canopyv1.SecurityGroupRule{
		Id: x.NativeID, Direction: ruleDirectionPB(x.Direction), EtherType: x.EtherType, Protocol: x.Protocol,
		PortMin: x.PortMin, PortMax: x.PortMax, RemoteCidr: x.RemoteCIDR, RemoteGroup: r.id(providers.KindSecurityGroup, x.RemoteGroupID),
		Description: x.Description,
	}
}

func securityGroupPB(cloud string, m store.Mapping, x providers.SecurityGroup, r *refs) *canopyv1.SecurityGroup {
	out := &canopyv1.SecurityGroup{
		Id: m.ID, NativeId: x.NativeID, Location: netLocation(cloud, x.Common, m), Name: x.Name,
		Status: statusPB(x.Status), ProviderStatus: x.ProviderStatus, StatusMessage: x.StatusMessage,
		CreateTime: ts(x.Created), UpdateTime: ts(x.Updated), Labels: x.Labels, Properties: x.Properties,
		Description: x.Description, NetworkId: r.id(providers.KindNetwork, x.NetworkID),
	}
	for _, rule := range x.Rules {
		out.Rules = append(out.Rules, rulePB(rule, r))
	}
	return out
}

func floatingIPPB(cloud string, m store.Mapping, x providers.FloatingIP, r *refs) *canopyv1.FloatingIP {
	name := x.Name
	if name == "" {
		name = x.IP // its address stands for a name
	}
	return &canopyv1.FloatingIP{
		Id: m.ID, NativeId: x.NativeID, Location: netLocation(cloud, x.Common, m), Name: name,
		Status: statusPB(x.Status), ProviderStatus: x.ProviderStatus, StatusMessage: x.StatusMessage,
		CreateTime: ts(x.Created), UpdateTime: ts(x.Updated), Labels: x.Labels, Properties: x.Properties,
		Ip: x.IP, NetworkId: r.id(providers.KindNetwork, x.NetworkID), PortId: r.id(providers.KindPort, x.PortID),
		ServerId: r.id(providers.KindServer, x.ServerID), FixedIp: x.FixedIP,
	}
}
