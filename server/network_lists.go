package server

import (
	"context"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/router"
)

// networkNamespace holds the range canopy keeps for a network on clouds
// whose networks have none of their own (Neutron): subnets are checked to
// fall inside it, and the API shows it as the network's cidr.
const networkNamespace = "networks"

// withCIDR fills the cidr canopy keeps for networks whose cloud shows none.
func (v *netViews) withCIDR(ctx context.Context, nets []*canopyv1.Network) error {
	var missing int
	for _, n := range nets {
		if n.Cidr == "" {
			missing++
		}
	}
	if missing == 0 {
		return nil
	}
	if missing == 1 {
		for _, n := range nets {
			if n.Cidr == "" {
				if raw, err := v.store.GetRecord(ctx, networkNamespace, n.Id); err == nil {
					n.Cidr = string(raw)
				}
			}
		}
		return nil
	}
	recs, err := v.store.ListRecords(ctx, networkNamespace, "")
	if err != nil {
		return router.StoreErr("list network records", err)
	}
	byID := make(map[string]string, len(recs))
	for _, r := range recs {
		byID[r.Key] = string(r.Value)
	}
	for _, n := range nets {
		if n.Cidr == "" {
			n.Cidr = byID[n.Id]
		}
	}
	return nil
}

// netList is the one List of every networking kind: fan out, keep what
// the caller sees and the request's filters accept, page.
func netList[T any, P router.Named](ctx context.Context, v *netViews, k netKind[T, P], q router.Query, keep func(P) bool) ([]P, string, []*canopyv1.CloudError, error) {
	return netListWith(ctx, v, k, q, nil, keep)
}

// netListWith is netList with the caller's global resources of the kind
// merged in (extra).
func netListWith[T any, P router.Named](ctx context.Context, v *netViews, k netKind[T, P], q router.Query, extra func(context.Context) ([]P, error), keep func(P) bool) ([]P, string, []*canopyv1.CloudError, error) {
	named := q.Location.GetCloud()
	fetch := func(ctx context.Context, cl *router.Cloud) ([]P, error) {
		return k.cloudList(ctx, v, cl, named == cl.Name)
	}
	page, next, errs, err := router.ListWith(ctx, v.rt, q, fetch, extra, func(x P) bool {
		loc := x.GetLocation()
		return k.visible(ctx, x) && router.MatchLocation(q.Location, loc.GetRegion(), loc.GetZone()) && keep(x)
	})
	if page == nil {
		page = []P{}
	}
	return page, next, errs, err
}

// refID resolves an optional reference filter to a canopy id ("" when
// unset).
func refID[T any, P router.Named](ctx context.Context, v *netViews, k netKind[T, P], field, ref string) (string, error) {
	if ref == "" {
		return "", nil
	}
	_, m, _, _, err := k.find(ctx, v, field, ref)
	return m.ID, err
}

func query(size int32, token string, loc *canopyv1.Location, labels map[string]string, filters ...any) router.Query {
	return router.Query{PageSize: size, PageToken: token, Location: loc, Labels: labels, Filters: filters}
}

func nameOK(want, got string) bool { return want == "" || want == got }

// ListNetworks implements canopyv1.NetworkServiceServer.
func (s *networkService) ListNetworks(ctx context.Context, req *canopyv1.ListNetworksRequest) (*canopyv1.ListNetworksResponse, error) {
	q := query(req.GetPageSize(), req.GetPageToken(), req.GetLocation(), req.GetLabels(), "networks", req.GetName(), req.GetExternal())
	globals := func(ctx context.Context) ([]*canopyv1.Network, error) {
		return globalList(ctx, &s.netViews, providers.KindNetwork, s.globalNetworkPB)
	}
	page, next, errs, err := netListWith(ctx, &s.netViews, networkKind, q, globals, func(x *canopyv1.Network) bool {
		return nameOK(req.GetName(), x.Name) && (!req.GetExternal() || x.External) && router.MatchLabels(req.GetLabels(), x.Labels)
	})
	if err != nil {
		return nil, err
	}
	if err := s.withCIDR(ctx, page); err != nil {
		return nil, err
	}
	return &canopyv1.ListNetworksResponse{Networks: page, NextPageToken: next, CloudErrors: errs, Unreachable: router.Unreachable(errs)}, nil
}

// ListSubnets implements canopyv1.NetworkServiceServer.
func (s *networkService) ListSubnets(ctx context.Context, req *canopyv1.ListSubnetsRequest) (*canopyv1.ListSubnetsResponse, error) {
	network, err := refID(ctx, &s.netViews, networkKind, "network", req.GetNetwork())
	if err != nil {
		return nil, err
	}
	q := query(req.GetPageSize(), req.GetPageToken(), req.GetLocation(), req.GetLabels(), "subnets", req.GetName(), network)
	page, next, errs, err := netList(ctx, &s.netViews, subnetKind, q, func(x *canopyv1.Subnet) bool {
		return nameOK(req.GetName(), x.Name) && nameOK(network, x.NetworkId) && router.MatchLabels(req.GetLabels(), x.Labels)
	})
	if err != nil {
		return nil, err
	}
	return &canopyv1.ListSubnetsResponse{Subnets: page, NextPageToken: next, CloudErrors: errs, Unreachable: router.Unreachable(errs)}, nil
}

// ListPorts implements canopyv1.NetworkServiceServer.
func (s *networkService) ListPorts(ctx context.Context, req *canopyv1.ListPortsRequest) (*canopyv1.ListPortsResponse, error) {
	network, err := refID(ctx, &s.netViews, networkKind, "network", req.GetNetwork())
	if err != nil {
		return nil, err
	}
	server := ""
	if req.GetServer() != "" {
		if server, err = s.serverID(ctx, req.GetServer()); err != nil {
			return nil, err
		}
	}
	q := query(req.GetPageSize(), req.GetPageToken(), req.GetLocation(), req.GetLabels(), "ports", req.GetName(), network, server)
	k := portKind
	if server != "" {
		k = freshPortKind
	}
	page, next, errs, err := netList(ctx, &s.netViews, k, q, func(x *canopyv1.Port) bool {
		return nameOK(req.GetName(), x.Name) && nameOK(network, x.NetworkId) && nameOK(server, x.ServerId) && router.MatchLabels(req.GetLabels(), x.Labels)
	})
	if err != nil {
		return nil, err
	}
	return &canopyv1.ListPortsResponse{Ports: page, NextPageToken: next, CloudErrors: errs, Unreachable: router.Unreachable(errs)}, nil
}

// ListRouters implements canopyv1.NetworkServiceServer.
func (s *networkService) ListRouters(ctx context.Context, req *canopyv1.ListRoutersRequest) (*canopyv1.ListRoutersResponse, error) {
	q := query(req.GetPageSize(), req.GetPageToken(), req.GetLocation(), req.GetLabels(), "routers", req.GetName())
	page, next, errs, err := netList(ctx, &s.netViews, routerKind, q, func(x *canopyv1.Router) bool {
		return nameOK(req.GetName(), x.Name) && router.MatchLabels(req.GetLabels(), x.Labels)
	})
	if err != nil {
		return nil, err
	}
	return &canopyv1.ListRoutersResponse{Routers: page, NextPageToken: next, CloudErrors: errs, Unreachable: router.Unreachable(errs)}, nil
}

// ListSecurityGroups implements canopyv1.NetworkServiceServer.
func (s *networkService) ListSecurityGroups(ctx context.Context, req *canopyv1.ListSecurityGroupsRequest) (*canopyv1.ListSecurityGroupsResponse, error) {
	q := query(req.GetPageSize(), req.GetPageToken(), req.GetLocation(), req.GetLabels(), "security_groups", req.GetName())
	globals := func(ctx context.Context) ([]*canopyv1.SecurityGroup, error) {
		return globalList(ctx, &s.netViews, providers.KindSecurityGroup, s.globalGroupPB)
	}
	page, next, errs, err := netListWith(ctx, &s.netViews, securityGroupKind, q, globals, func(x *canopyv1.SecurityGroup) bool {
		return nameOK(req.GetName(), x.Name) && router.MatchLabels(req.GetLabels(), x.Labels)
	})
	if err != nil {
		return nil, err
	}
	return &canopyv1.ListSecurityGroupsResponse{SecurityGroups: page, NextPageToken: next, CloudErrors: errs, Unreachable: router.Unreachable(errs)}, nil
}

// ListFloatingIPs implements canopyv1.NetworkServiceServer.
func (s *networkService) ListFloatingIPs(ctx context.Context, req *canopyv1.ListFloatingIPsRequest) (*canopyv1.ListFloatingIPsResponse, error) {
	server := ""
	if req.GetServer() != "" {
		var err error
		if server, err = s.serverID(ctx, req.GetServer()); err != nil {
			return nil, err
		}
	}
	q := query(req.GetPageSize(), req.GetPageToken(), req.GetLocation(), req.GetLabels(), "floating_ips", server)
	page, next, errs, err := netList(ctx, &s.netViews, floatingIPKind, q, func(x *canopyv1.FloatingIP) bool {
		return nameOK(server, x.ServerId) && router.MatchLabels(req.GetLabels(), x.Labels)
	})
	if err != nil {
		return nil, err
	}
	return &canopyv1.ListFloatingIPsResponse{FloatingIps: page, NextPageToken: next, CloudErrors: errs, Unreachable: router.Unreachable(errs)}, nil
}
