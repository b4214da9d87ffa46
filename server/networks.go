package server

import (
	"context"
	"errors"
	"log/slog"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/canopy-cloud/canopy/cache"
	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/router"
	"github.com/canopy-cloud/canopy/store"
)

// networkService implements canopyv1.NetworkServiceServer: reads here and
// in network_lists.go, creates and deletes as operations in
// network_jobs.go, the synchronous changes (gateways, interfaces, rules,
// associations) in network_actions.go, the Watch streams in
// network_watch.go.
type networkService struct {
	canopyv1.UnimplementedNetworkServiceServer
	netViews
	ops     *ops
	metrics *metrics     // drift found by the reconcile loop
	locks   realizeLocks // one realization at a time per resource and cloud
	// owned says whether this replica owns a cloud's shared work (the
	// reconciler); nil: every cloud (one process, and tests).
	owned func(cloud string) bool
}

// owns reports whether the reconciler may repair cloud from this replica.
func (s *networkService) owns(cloud string) bool { return s.owned == nil || s.owned(cloud) }

// netViews reads networking resources as the API shows them: each cloud's
// cached driver (cache.Net), mapped to canopy ids with crash duplicates
// left out, every reference to another resource as its canopy id.
type netViews struct {
	rt      router.Resolver
	store   store.Store
	log     *slog.Logger
	servers serverViews // the servers ports and floating IPs belong to
}

// findServer resolves a server reference (canopy id or name).
func (v *netViews) findServer(ctx context.Context, field, ref string) (*router.Cloud, store.Mapping, error) {
	cl, m, err := router.Find(ctx, v.rt, providers.KindServer, field, ref, v.servers.cloudServers)
	if err == nil && m.Pending() {
		err = status.Errorf(codes.FailedPrecondition, "%s: server %s is still being created in cloud %q", field, m.ID, cl.Name)
	}
	return cl, m, err
}

func (v *netViews) serverID(ctx context.Context, ref string) (string, error) {
	_, m, err := v.findServer(ctx, "server", ref)
	return m.ID, err
}

// netKind describes one networking kind to the shared list, find and
// convert paths, so each is written once for the six kinds.
type netKind[T any, P router.Named] struct {
	kind string // providers.Kind*
	cap  string // the capability that serves it
	name string // in messages: "network", "security group"
	list func(*cache.Net) func(context.Context) ([]T, error)
	get  func(*cache.Net) func(context.Context, string) (T, error)
	del  func(*cache.Net) func(context.Context, string) error
	// common is its providers.Common; refs adds what it references.
	common func(T) providers.Common
	refs   func(*refs, T)
	conv   func(cloud string, m store.Mapping, x T, r *refs) P
	// public says whether every project sees it (external and shared
	// networks); nil: only its owner.
	public func(P) bool
}

var (
	networkKind = netKind[providers.Network, *canopyv1.Network]{
		kind: providers.KindNetwork, cap: providers.CapNetworks, name: "network",
		list:   func(n *cache.Net) func(context.Context) ([]providers.Network, error) { return n.ListNetworks },
		get:    func(n *cache.Net) func(context.Context, string) (providers.Network, error) { return n.GetNetwork },
		del:    func(n *cache.Net) func(context.Context, string) error { return n.DeleteNetwork },
		common: func(x providers.Network) providers.Common { return x.Common },
		refs:   func(r *refs, x providers.Network) { r.add(providers.KindSubnet, x.SubnetIDs...) },
		conv:   networkPB,
		public: func(x *canopyv1.Network) bool { return x.External || x.Shared },
	}
	subnetKind = netKind[providers.Subnet, *canopyv1.Subnet]{
		kind: providers.KindSubnet, cap: providers.CapNetworks, name: "subnet",
		list:   func(n *cache.Net) func(context.Context) ([]providers.Subnet, error) { return n.ListSubnets },
		get:    func(n *cache.Net) func(context.Context, string) (providers.Subnet, error) { return n.GetSubnet },
		del:    func(n *cache.Net) func(context.Context, string) error { return n.DeleteSubnet },
		common: func(x providers.Subnet) providers.Common { return x.Common },
		refs:   func(r *refs, x providers.Subnet) { r.add(providers.KindNetwork, x.NetworkID) },
		conv:   subnetPB,
	}
	portKind = netKind[providers.Port, *canopyv1.Port]{
		kind: providers.KindPort, cap: providers.CapNetworks, name: "port",
		list:   func(n *cache.Net) func(context.Context) ([]providers.Port, error) { return n.ListPorts },
		get:    func(n *cache.Net) func(context.Context, string) (providers.Port, error) { return n.GetPort },
		del:    func(n *cache.Net) func(context.Context, string) error { return n.DeletePort },
		common: func(x providers.Port) providers.Common { return x.Common },
		refs: func(r *refs, x providers.Port) {
			r.add(providers.KindNetwork, x.NetworkID)
			r.add(providers.KindSecurityGroup, x.SecurityGroupIDs...)
			for _, f := range x.FixedIPs {
				r.add(providers.KindSubnet, f.SubnetID)
			}
			if isServerPort(x) {
				r.add(providers.KindServer, x.DeviceID)
			}
		},
		conv: portPB,
	}
	routerKind = netKind[providers.Router, *canopyv1.Router]{
		kind: providers.KindRouter, cap: providers.CapRouters, name: "router",
		list:   func(n *cache.Net) func(context.Context) ([]providers.Router, error) { return n.ListRouters },
		get:    func(n *cache.Net) func(context.Context, string) (providers.Router, error) { return n.GetRouter },
		del:    func(n *cache.Net) func(context.Context, string) error { return n.DeleteRouter },
		common: func(x providers.Router) providers.Common { return x.Common },
		refs: func(r *refs, x providers.Router) {
			r.add(providers.KindNetwork, x.ExternalNetworkID)
			for _, i := range x.Interfaces {
				r.add(providers.KindSubnet, i.SubnetID)
				r.add(providers.KindPort, i.PortID)
			}
		},
		conv: routerPB,
	}
	securityGroupKind = netKind[providers.SecurityGroup, *canopyv1.SecurityGroup]{
		kind: providers.KindSecurityGroup, cap: providers.CapSecurityGroups, name: "security group",
		list: func(n *cache.Net) func(context.Context) ([]providers.SecurityGroup, error) {
			return n.ListSecurityGroups
		},
		get: func(n *cache.Net) func(context.Context, string) (providers.SecurityGroup, error) {
			return n.GetSecurityGroup
		},
		del:    func(n *cache.Net) func(context.Context, string) error { return n.DeleteSecurityGroup },
		common: func(x providers.SecurityGroup) providers.Common { return x.Common },
		refs: func(r *refs, x providers.SecurityGroup) {
			r.add(providers.KindNetwork, x.NetworkID)
			for _, rule := range x.Rules {
				r.add(providers.KindSecurityGroup, rule.RemoteGroupID)
			}
		},
		conv: securityGroupPB,
	}
	floatingIPKind = netKind[providers.FloatingIP, *canopyv1.FloatingIP]{
		kind: providers.KindFloatingIP, cap: providers.CapFloatingIPs, name: "floating IP",
		list:   func(n *cache.Net) func(context.Context) ([]providers.FloatingIP, error) { return n.ListFloatingIPs },
		get:    func(n *cache.Net) func(context.Context, string) (providers.FloatingIP, error) { return n.GetFloatingIP },
		del:    func(n *cache.Net) func(context.Context, string) error { return n.ReleaseFloatingIP },
		common: func(x providers.FloatingIP) providers.Common { return x.Common },
		refs: func(r *refs, x providers.FloatingIP) {
			r.add(providers.KindNetwork, x.NetworkID)
			r.add(providers.KindPort, x.PortID)
			r.add(providers.KindServer, x.ServerID)
		},
		conv: floatingIPPB,
	}
)

// freshPortKind is portKind reading the cloud instead of the cache: a
// server's ports change without canopy writing them (the cloud makes them
// while the server builds and deletes them with it), so the views that
// concern servers' ports (ports of a server, the in-use checks before a
// delete) must not answer from a list cached before that.
var freshPortKind = func() netKind[providers.Port, *canopyv1.Port] {
	k := portKind
	k.list = func(n *cache.Net) func(context.Context) ([]providers.Port, error) { return n.ListPortsFresh }
	return k
}()

// convert maps one cloud's resources to their API form (crash duplicates
// dropped, references as canopy ids).
func (k netKind[T, P]) convert(ctx context.Context, v *netViews, cl *router.Cloud, items []T) ([]P, error) {
	var del func(context.Context, string) error
	if cl.Net != nil && cl.Net.Has(k.cap) {
		del = k.del(cl.Net)
	}
	items, ids, err := router.Claimed(ctx, v.rt, cl, k.kind, items, k.common, del)
	if err != nil {
		return nil, err
	}
	r := newRefs()
	for _, x := range items {
		k.refs(r, x)
	}
	if err := r.resolve(ctx, v.rt, cl); err != nil {
		return nil, err
	}
	out := make([]P, len(items))
	for i, x := range items {
		out[i] = k.conv(cl.Name, ids[k.common(x).NativeID], x, r)
	}
	return out, nil
}

// cloudList is one cloud's resources of the kind; a cloud without the
// capability has none (or, when the request names it, FAILED_PRECONDITION).
func (k netKind[T, P]) cloudList(ctx context.Context, v *netViews, cl *router.Cloud, named bool) ([]P, error) {
	if cl.Net == nil || !cl.Net.Has(k.cap) {
		if named {
			return nil, router.CapabilityErr(cl.Name, k.cap)
		}
		return nil, nil
	}
	items, err := k.list(cl.Net)(ctx)
	if err != nil {
		return nil, router.CloudErr(cl.Name, "list "+k.name+"s", err)
	}
	return k.convert(ctx, v, cl, items)
}

// visible says whether the caller's project sees x.
func (k netKind[T, P]) visible(ctx context.Context, x P) bool {
	return x.GetLocation().GetProject() == project(ctx) || (k.public != nil && k.public(x))
}

// find resolves a reference (canopy id or name) to the resource: its
// cloud, mapping, native form and API form.
func (k netKind[T, P]) find(ctx context.Context, v *netViews, field, ref string) (*router.Cloud, store.Mapping, T, P, error) {
	var zero T
	var none P
	id, isID, err := router.IDOrName(field, ref)
	if err != nil {
		return nil, store.Mapping{}, zero, none, err
	}
	if !isID {
		all, errs := router.FanOut(ctx, v.rt.Clouds(), func(ctx context.Context, cl *router.Cloud) ([]P, error) {
			return k.cloudList(ctx, v, cl, false)
		})
		var seen []P
		for _, x := range all {
			if k.visible(ctx, x) {
				seen = append(seen, x)
			}
		}
		x, err := router.PickByName(k.name, field, id, seen, errs)
		if err != nil {
			return nil, store.Mapping{}, zero, none, err
		}
		id = x.GetId()
	}
	cl, m, err := v.rt.LookupID(ctx, k.kind, id)
	if err != nil && k.public != nil && status.Code(err) == codes.NotFound {
		// Another project's: found only if public (checked below).
		cl, m, err = v.lookupAny(ctx, k.kind, id)
	}
	if err != nil {
		return nil, m, zero, none, err
	}
	if m.NativeID == "" {
		return nil, m, zero, none, status.Errorf(codes.FailedPrecondition, "%s %s is still being created in cloud %q", k.name, m.ID, cl.Name)
	}
	net, err := cl.NetOrFail(k.cap)
	if err != nil {
		return nil, m, zero, none, err
	}
	x, err := k.get(net)(ctx, m.NativeID)
	if errors.Is(err, providers.ErrNotFound) {
		return nil, m, zero, none, status.Errorf(codes.NotFound, "%s %s: gone from cloud %q", k.name, m.ID, cl.Name)
	}
	if err != nil {
		return nil, m, zero, none, router.CloudErr(cl.Name, "get "+k.name+" "+m.NativeID, err)
	}
	out, err := k.convert(ctx, v, cl, []T{x})
	if err != nil {
		return nil, m, zero, none, err
	}
	if len(out) == 0 {
		return nil, m, zero, none, status.Errorf(codes.NotFound, "%s %s: cloud %q shows only a duplicate of it", k.name, m.ID, cl.Name)
	}
	if !k.visible(ctx, out[0]) {
		return nil, m, zero, none, router.NotFound(k.name, ref)
	}
	return cl, m, x, out[0], nil
}

// findIn is find within one cloud: a name is looked up among that
// cloud's resources only (each cloud may have its own "public" or
// "default"), and an id of another cloud's resource is INVALID_ARGUMENT.
func (k netKind[T, P]) findIn(ctx context.Context, v *netViews, cl *router.Cloud, field, ref string) (*router.Cloud, store.Mapping, T, P, error) {
	var zero T
	var none P
	if name, isID, err := router.IDOrName(field, ref); err == nil && !isID {
		all, err := k.cloudList(ctx, v, cl, true)
		if err != nil {
			return nil, store.Mapping{}, zero, none, err
		}
		var seen []P
		for _, x := range all {
			if k.visible(ctx, x) {
				seen = append(seen, x)
			}
		}
		x, err := router.PickByName(k.name, field, name, seen, nil)
		if err != nil {
			return nil, store.Mapping{}, zero, none, err
		}
		ref = x.GetId()
	}
	fcl, m, x, pb, err := k.find(ctx, v, field, ref)
	if err == nil && fcl != cl {
		err = sameCloud(field, cl, fcl, m.ID)
	}
	return fcl, m, x, pb, err
}

// describe is the API form of one resource by native id, for an
// operation's response.
func (k netKind[T, P]) describe(ctx context.Context, v *netViews, cl *router.Cloud, native string) (P, error) {
	var none P
	x, err := k.get(cl.Net)(ctx, native)
	if err != nil {
		return none, stepErr(cl.Name, "get "+k.name+" "+native, err)
	}
	out, err := k.convert(ctx, v, cl, []T{x})
	if err != nil {
		return none, err
	}
	if len(out) == 0 {
		return none, status.Errorf(codes.Internal, "%s %s: cloud %q shows it as a duplicate", k.name, native, cl.Name)
	}
	return out[0], nil
}

// GetNetwork implements canopyv1.NetworkServiceServer.
func (s *networkService) GetNetwork(ctx context.Context, req *canopyv1.GetNetworkRequest) (*canopyv1.Network, error) {
	if g, ok, err := s.findGlobal(ctx, providers.KindNetwork, req.GetId()); err != nil || ok {
		if err != nil {
			return nil, err
		}
		return s.globalNetworkPB(ctx, g)
	}
	_, _, _, x, err := networkKind.find(ctx, &s.netViews, "id", req.GetId())
	if err != nil {
		return nil, err
	}
	return x, s.withCIDR(ctx, []*canopyv1.Network{x})
}

// GetSubnet implements canopyv1.NetworkServiceServer.
func (s *networkService) GetSubnet(ctx context.Context, req *canopyv1.GetSubnetRequest) (*canopyv1.Subnet, error) {
	_, _, _, x, err := subnetKind.find(ctx, &s.netViews, "id", req.GetId())
	return x, err
}

// GetPort implements canopyv1.NetworkServiceServer.
func (s *networkService) GetPort(ctx context.Context, req *canopyv1.GetPortRequest) (*canopyv1.Port, error) {
	_, _, _, x, err := portKind.find(ctx, &s.netViews, "id", req.GetId())
	return x, err
}

// GetRouter implements canopyv1.NetworkServiceServer.
func (s *networkService) GetRouter(ctx context.Context, req *canopyv1.GetRouterRequest) (*canopyv1.Router, error) {
	_, _, _, x, err := routerKind.find(ctx, &s.netViews, "id", req.GetId())
	return x, err
}

// GetSecurityGroup implements canopyv1.NetworkServiceServer.
func (s *networkService) GetSecurityGroup(ctx context.Context, req *canopyv1.GetSecurityGroupRequest) (*canopyv1.SecurityGroup, error) {
	if g, ok, err := s.findGlobal(ctx, providers.KindSecurityGroup, req.GetId()); err != nil || ok {
		if err != nil {
			return nil, err
		}
		return s.globalGroupPB(ctx, g)
	}
	_, _, _, x, err := securityGroupKind.find(ctx, &s.netViews, "id", req.GetId())
	return x, err
}

// GetFloatingIP implements canopyv1.NetworkServiceServer.
func (s *networkService) GetFloatingIP(ctx context.Context, req *canopyv1.GetFloatingIPRequest) (*canopyv1.FloatingIP, error) {
	_, _, _, x, err := floatingIPKind.find(ctx, &s.netViews, "id", req.GetId())
	return x, err
}

// lookupAny follows the id map whatever the project owning the resource:
// only for kinds some of whose resources every project sees, which the
// caller checks once it has the resource.
func (v *netViews) lookupAny(ctx context.Context, kind, id string) (*router.Cloud, store.Mapping, error) {
	m, err := v.store.Get(ctx, id)
	if err != nil || m.Kind != kind {
		return nil, m, router.NotFound(kind, id)
	}
	cl, ok := v.rt.Cloud(m.Cloud)
	if !ok {
		return nil, m, router.NotFound(kind, id)
	}
	return cl, m, nil
}
