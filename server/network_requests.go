package server

import (
	"context"
	"net/netip"
	"strconv"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/router"
	"github.com/canopy-cloud/canopy/store"
)

// createOp is the one shape of a networking create: validated name and
// labels, a cloud that has the capability, an operation with a new id.
func (s *networkService) createOp(ctx context.Context, kind, capability string, req interface {
	operationRequest
	GetLabels() map[string]string
}, plan func() (*router.Cloud, netJob, error)) (*canopyv1.Operation, error) {
	if named, ok := req.(interface{ GetName() string }); ok {
		if err := router.CheckName("name", named.GetName()); err != nil {
			return nil, err
		}
	}
	if err := router.CheckLabels("labels", req.GetLabels()); err != nil {
		return nil, err
	}
	return s.ops.asOperation(ctx, opNetCreate(kind), req, func() (opRequest, error) {
		cl, job, err := plan()
		if err != nil {
			return opRequest{}, err
		}
		if _, err := cl.NetOrFail(capability); err != nil {
			return opRequest{}, err
		}
		return opRequest{cl: cl, target: store.NewID(), reserve: kind, spec: job}, nil
	})
}

// sameCloud refuses a reference to a resource of another cloud.
func sameCloud(field string, cl, other *router.Cloud, id string) error {
	if cl != other {
		return router.BadRequest(field, "%s is in cloud %q, not %q: networking resources reference only their own cloud", id, other.Name, cl.Name)
	}
	return nil
}

// CreateNetwork implements canopyv1.NetworkServiceServer.
func (s *networkService) CreateNetwork(ctx context.Context, req *canopyv1.CreateNetworkRequest) (*canopyv1.Operation, error) {
	if req.GetScope() == canopyv1.Scope_SCOPE_GLOBAL {
		return s.createGlobalNetwork(ctx, req) // network_global_api.go
	}
	if req.GetSubnetPrefixLength() != 0 || req.GetGateway() {
		return nil, router.BadRequest("scope", "subnet_prefix_length and gateway are for global networks (scope GLOBAL)")
	}
	spec := providers.NetworkSpec{Name: req.GetName(), MTU: req.GetMtu(), Labels: req.GetLabels(), Zone: zoneOf(req.GetLocation())}
	if req.GetCidr() != "" {
		p, err := parseCIDR("cidr", req.GetCidr())
		if err != nil {
			return nil, err
		}
		spec.CIDR = p.String()
	}
	if req.GetMtu() < 0 || (req.GetMtu() > 0 && req.GetMtu() < 68) || req.GetMtu() > 65535 {
		return nil, router.BadRequest("mtu", "%d: want 68 to 65535, or 0 for the cloud's default", req.GetMtu())
	}
	return s.createOp(ctx, providers.KindNetwork, providers.CapNetworks, req, func() (*router.Cloud, netJob, error) {
		cl, err := s.rt.RouteCreate(req.GetLocation())
		return cl, netJob{Network: &spec, CIDR: spec.CIDR}, err
	})
}

// CreateSubnet implements canopyv1.NetworkServiceServer.
func (s *networkService) CreateSubnet(ctx context.Context, req *canopyv1.CreateSubnetRequest) (*canopyv1.Operation, error) {
	if req.GetNetwork() == "" {
		return nil, router.BadRequest("network", "required: the subnet's network (canopy id or name)")
	}
	return s.createOp(ctx, providers.KindSubnet, providers.CapNetworks, req, func() (*router.Cloud, netJob, error) {
		cl, nm, _, nw, err := networkKind.find(ctx, &s.netViews, "network", req.GetNetwork())
		if err != nil {
			return nil, netJob{}, err
		}
		if err := s.withCIDR(ctx, []*canopyv1.Network{nw}); err != nil {
			return nil, netJob{}, err
		}
		spec, p, err := subnetSpec(req, nw.Cidr)
		if err != nil {
			return nil, netJob{}, err
		}
		// Overlap within the network is refused here, the same on every
		// cloud, naming the subnet in the way.
		subs, err := subnetKind.cloudList(ctx, &s.netViews, cl, true)
		if err != nil {
			return nil, netJob{}, err
		}
		for _, x := range subs {
			if x.NetworkId != nm.ID {
				continue
			}
			if q, err := netip.ParsePrefix(x.Cidr); err == nil && overlaps(p, q) {
				return nil, netJob{}, router.BadRequest("cidr", "%s overlaps subnet %s (%q, %s) of network %s", p, x.Id, x.Name, q, nm.ID)
			}
		}
		spec.NetworkID = nm.NativeID
		return cl, netJob{Subnet: &spec}, nil
	})
}

// CreatePort implements canopyv1.NetworkServiceServer.
func (s *networkService) CreatePort(ctx context.Context, req *canopyv1.CreatePortRequest) (*canopyv1.Operation, error) {
	if req.GetNetwork() == "" {
		return nil, router.BadRequest("network", "required: the port's network (canopy id or name)")
	}
	return s.createOp(ctx, providers.KindPort, providers.CapNetworks, req, func() (*router.Cloud, netJob, error) {
		cl, nm, _, _, err := networkKind.find(ctx, &s.netViews, "network", req.GetNetwork())
		if err != nil {
			return nil, netJob{}, err
		}
		spec := providers.PortSpec{Name: req.GetName(), NetworkID: nm.NativeID, Labels: req.GetLabels()}
		var subnet netip.Prefix
		if req.GetSubnet() != "" {
			scl, sm, sx, _, err := subnetKind.findIn(ctx, &s.netViews, cl, "subnet", req.GetSubnet())
			if err != nil {
				return nil, netJob{}, err
			}
			if err := sameCloud("subnet", cl, scl, sm.ID); err != nil {
				return nil, netJob{}, err
			}
			if sx.NetworkID != nm.NativeID {
				return nil, netJob{}, router.BadRequest("subnet", "subnet %s is not in network %s", sm.ID, nm.ID)
			}
			spec.SubnetID = sm.NativeID
			subnet, _ = netip.ParsePrefix(sx.CIDR)
		}
		if ip := req.GetFixedIp(); ip != "" {
			a, err := parseAddr("fixed_ip", ip)
			if err != nil {
				return nil, netJob{}, err
			}
			if subnet.IsValid() {
				if err := hostIn("fixed_ip", a, subnet); err != nil {
					return nil, netJob{}, err
				}
			}
			spec.FixedIP = a.String()
		}
		if spec.SecurityGroupIDs, err = s.groupNatives(ctx, cl, "security_groups", req.GetSecurityGroups()); err != nil {
			return nil, netJob{}, err
		}
		return cl, netJob{Port: &spec}, nil
	})
}

// groupNatives resolves security group references in one cloud.
func (s *networkService) groupNatives(ctx context.Context, cl *router.Cloud, field string, refs []string) ([]string, error) {
	var out []string
	for i, ref := range refs {
		f := field + "[" + strconv.Itoa(i) + "]"
		gcl, gm, _, _, err := securityGroupKind.findIn(ctx, &s.netViews, cl, f, ref)
		if err != nil {
			return nil, err
		}
		if err := sameCloud(f, cl, gcl, gm.ID); err != nil {
			return nil, err
		}
		out = append(out, gm.NativeID)
	}
	return out, nil
}

// externalNetwork resolves an external network in a cloud: the one named,
// or the cloud's only one.
func (s *networkService) externalNetwork(ctx context.Context, cl *router.Cloud, field, ref string) (string, error) {
	if ref != "" {
		ncl, nm, nx, _, err := networkKind.findIn(ctx, &s.netViews, cl, field, ref)
		if err != nil {
			return "", err
		}
		if err := sameCloud(field, cl, ncl, nm.ID); err != nil {
			return "", err
		}
		if !nx.External {
			return "", router.BadRequest(field, "network %s (%q) is not external: floating IPs and gateways come from an external network", nm.ID, nx.Name)
		}
		return nm.NativeID, nil
	}
	nets, err := networkKind.cloudList(ctx, &s.netViews, cl, true)
	if err != nil {
		return "", err
	}
	var ext []*canopyv1.Network
	for _, n := range nets {
		if n.External {
			ext = append(ext, n)
		}
	}
	switch len(ext) {
	case 0:
		return "", status.Errorf(codes.FailedPrecondition, "cloud %q has no external network: no floating IPs or gateways there", cl.Name)
	case 1:
		return ext[0].NativeId, nil
	}
	var names []string
	for _, n := range ext {
		names = append(names, n.Name)
	}
	return "", router.BadRequest(field, "cloud %q has several external networks (%s): name one", cl.Name, strings.Join(names, ", "))
}

// CreateRouter implements canopyv1.NetworkServiceServer.
func (s *networkService) CreateRouter(ctx context.Context, req *canopyv1.CreateRouterRequest) (*canopyv1.Operation, error) {
	return s.createOp(ctx, providers.KindRouter, providers.CapRouters, req, func() (*router.Cloud, netJob, error) {
		cl, err := s.rt.RouteCreate(req.GetLocation())
		if err != nil {
			return nil, netJob{}, err
		}
		spec := providers.RouterSpec{Name: req.GetName(), Labels: req.GetLabels(), Zone: zoneOf(req.GetLocation())}
		if req.GetExternalNetwork() != "" {
			if spec.ExternalNetworkID, err = s.externalNetwork(ctx, cl, "external_network", req.GetExternalNetwork()); err != nil {
				return nil, netJob{}, err
			}
		}
		return cl, netJob{Router: &spec}, nil
	})
}

// CreateSecurityGroup implements canopyv1.NetworkServiceServer.
func (s *networkService) CreateSecurityGroup(ctx context.Context, req *canopyv1.CreateSecurityGroupRequest) (*canopyv1.Operation, error) {
	if req.GetScope() == canopyv1.Scope_SCOPE_GLOBAL {
		return s.createGlobalGroup(ctx, req) // network_global_api.go
	}
	if len(req.GetDescription()) > 255 {
		return nil, router.BadRequest("description", "longer than 255 bytes")
	}
	var rules []providers.SecurityRule
	for i, r := range req.GetRules() {
		x, err := ruleSpec("rules["+strconv.Itoa(i)+"]", r)
		if err != nil {
			return nil, err
		}
		rules = append(rules, x)
	}
	return s.createOp(ctx, providers.KindSecurityGroup, providers.CapSecurityGroups, req, func() (*router.Cloud, netJob, error) {
		cl, err := s.rt.RouteCreate(req.GetLocation())
		if err != nil {
			return nil, netJob{}, err
		}
		spec := providers.SecurityGroupSpec{Name: req.GetName(), Description: req.GetDescription(), Labels: req.GetLabels(), Zone: zoneOf(req.GetLocation())}
		if req.GetNetwork() != "" {
			ncl, nm, _, _, err := networkKind.findIn(ctx, &s.netViews, cl, "network", req.GetNetwork())
			if err != nil {
				return nil, netJob{}, err
			}
			if err := sameCloud("network", cl, ncl, nm.ID); err != nil {
				return nil, netJob{}, err
			}
			spec.NetworkID = nm.NativeID
		}
		for i, r := range req.GetRules() {
			switch g := r.GetRemoteGroup(); {
			case g == "":
			case g == req.GetName():
				rules[i].RemoteGroupID = selfGroup
			default:
				natives, err := s.groupNatives(ctx, cl, "rules["+strconv.Itoa(i)+"].remote_group", []string{g})
				if err != nil {
					return nil, netJob{}, err
				}
				rules[i].RemoteGroupID = natives[0]
			}
		}
		return cl, netJob{Group: &spec, Rules: rules}, nil
	})
}

// AllocateFloatingIP implements canopyv1.NetworkServiceServer.
func (s *networkService) AllocateFloatingIP(ctx context.Context, req *canopyv1.AllocateFloatingIPRequest) (*canopyv1.Operation, error) {
	return s.createOp(ctx, providers.KindFloatingIP, providers.CapFloatingIPs, req, func() (*router.Cloud, netJob, error) {
		cl, err := s.rt.RouteCreate(req.GetLocation())
		if err != nil {
			return nil, netJob{}, err
		}
		if _, err := cl.NetOrFail(providers.CapFloatingIPs); err != nil {
			return nil, netJob{}, err
		}
		spec := providers.FloatingIPSpec{Labels: req.GetLabels(), Zone: zoneOf(req.GetLocation())}
		if spec.NetworkID, err = s.externalNetwork(ctx, cl, "network", req.GetNetwork()); err != nil {
			return nil, netJob{}, err
		}
		job := netJob{FIP: &spec}
		if req.GetServer() != "" {
			scl, sm, err := s.findServer(ctx, "server", req.GetServer())
			if err != nil {
				return nil, netJob{}, err
			}
			if err := sameCloud("server", cl, scl, sm.ID); err != nil {
				return nil, netJob{}, err
			}
			job.Server = sm.NativeID
		}
		return cl, job, nil
	})
}

// zoneOf is where, within a cloud of several regions, a networking
// resource goes: the location's zone, else its region (adapters of
// single-region clouds ignore it).
func zoneOf(loc *canopyv1.Location) string {
	if z := loc.GetZone(); z != "" {
		return z
	}
	return loc.GetRegion()
}
