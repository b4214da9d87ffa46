package server

import (
	"context"

	"google.golang.org/protobuf/proto"

	"github.com/canopy-cloud/canopy/cache"
	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/router"
)

// The Watch RPCs of the networking kinds, in the one shape of
// watchstream.go: each cloud's batched poller of the kind (router.Cloud's
// Networks, Ports, SecurityGroups, FloatingIPs, listing fresh through
// cache.Net) feeds every watcher, and the kind's netKind converts what it
// lists exactly as List does. A change made at the cloud behind canopy's
// back is seen at the next poll: a rule added there, or put back there by
// the reconcile loop (network_reconcile.go), is a MODIFIED event of the
// group. Global networks and groups are definitions kept by canopy, not
// cloud resources: they are not watched, their realizations are.

// netWatch is one networking kind's Watch: its netKind, its poller and
// what the stream needs of its messages.
type netWatch[T any, P watched] struct {
	k      netKind[T, P]
	poller func(*router.Cloud) *cache.Poller[T]
	labels func(P) map[string]string
	// fill completes a cloud's converted messages (nil: nothing to add).
	fill func(context.Context, []P) error
	// gone is the last state of a resource that disappeared, DELETED.
	gone func(P) P
}

// run serves one Watch request of the kind on send until the client goes.
func (w netWatch[T, P]) run(ctx context.Context, v *netViews, req watchRequest, send func(watchEvent, P, *canopyv1.CloudError) error) error {
	keep, err := watchFilterSeen(req, w.labels, func(x P) bool { return w.k.visible(ctx, x) })
	if err != nil {
		return err
	}
	targets, err := v.rt.ListTargets(req.GetLocation())
	if err != nil {
		return err
	}
	if req.GetLocation().GetCloud() != "" && w.poller(targets[0]) == nil {
		// A cloud named outright must have the kind; a fan-out skips the
		// clouds without it.
		return router.CapabilityErr(targets[0].Name, w.k.cap)
	}
	convert := func(ctx context.Context, cl *router.Cloud, items []T) ([]P, error) {
		out, err := w.k.convert(ctx, v, cl, items)
		if err == nil && w.fill != nil {
			err = w.fill(ctx, out)
		}
		return out, err
	}
	return watchFeed[T, P]{
		what: w.k.name + "s",
		subscribe: func(ctx context.Context, cl *router.Cloud) <-chan cache.Snapshot[T] {
			p := w.poller(cl)
			if p == nil {
				return nil
			}
			return p.Subscribe(ctx)
		},
		list: func(ctx context.Context, cl *router.Cloud) ([]P, error) {
			out, err := w.k.cloudList(ctx, v, cl, false)
			if err == nil && w.fill != nil {
				err = w.fill(ctx, out)
			}
			return out, err
		},
		convert: convert,
		gone:    w.gone,
		keep:    keep,
		send:    send,
	}.run(ctx, targets)
}

// deletedStatus is the status a DELETED event's last state carries.
const deletedStatus = "DELETED"

// lastState is a watch's DELETED event: the last state seen, status
// DELETED, the cloud's word "DELETED".
func lastState[P proto.Message](x P) P { return deletedCopy(x, deletedStatus) }

var (
	networkWatch = netWatch[providers.Network, *canopyv1.Network]{
		k:      networkKind,
		poller: func(cl *router.Cloud) *cache.Poller[providers.Network] { return cl.Networks },
		labels: (*canopyv1.Network).GetLabels,
		gone:   lastState[*canopyv1.Network],
	}
	portWatch = netWatch[providers.Port, *canopyv1.Port]{
		k:      portKind,
		poller: func(cl *router.Cloud) *cache.Poller[providers.Port] { return cl.Ports },
		labels: (*canopyv1.Port).GetLabels,
		gone:   lastState[*canopyv1.Port],
	}
	securityGroupWatch = netWatch[providers.SecurityGroup, *canopyv1.SecurityGroup]{
		k:      securityGroupKind,
		poller: func(cl *router.Cloud) *cache.Poller[providers.SecurityGroup] { return cl.SecurityGroups },
		labels: (*canopyv1.SecurityGroup).GetLabels,
		gone:   lastState[*canopyv1.SecurityGroup],
	}
	floatingIPWatch = netWatch[providers.FloatingIP, *canopyv1.FloatingIP]{
		k:      floatingIPKind,
		poller: func(cl *router.Cloud) *cache.Poller[providers.FloatingIP] { return cl.FloatingIPs },
		labels: (*canopyv1.FloatingIP).GetLabels,
		gone:   lastState[*canopyv1.FloatingIP],
	}
)

// WatchNetworks implements canopyv1.NetworkServiceServer.
func (s *networkService) WatchNetworks(req *canopyv1.WatchNetworksRequest, stream canopyv1.NetworkService_WatchNetworksServer) error {
	w := networkWatch
	w.fill = s.withCIDR // the range canopy keeps for a Neutron network
	return w.run(stream.Context(), &s.netViews, req, func(t watchEvent, x *canopyv1.Network, ce *canopyv1.CloudError) error {
		return stream.Send(&canopyv1.WatchNetworksResponse{Type: canopyv1.WatchNetworksResponse_EventType(t), Network: x, CloudError: ce})
	})
}

// WatchPorts implements canopyv1.NetworkServiceServer.
func (s *networkService) WatchPorts(req *canopyv1.WatchPortsRequest, stream canopyv1.NetworkService_WatchPortsServer) error {
	return portWatch.run(stream.Context(), &s.netViews, req, func(t watchEvent, x *canopyv1.Port, ce *canopyv1.CloudError) error {
		return stream.Send(&canopyv1.WatchPortsResponse{Type: canopyv1.WatchPortsResponse_EventType(t), Port: x, CloudError: ce})
	})
}

// WatchSecurityGroups implements canopyv1.NetworkServiceServer.
func (s *networkService) WatchSecurityGroups(req *canopyv1.WatchSecurityGroupsRequest, stream canopyv1.NetworkService_WatchSecurityGroupsServer) error {
	return securityGroupWatch.run(stream.Context(), &s.netViews, req, func(t watchEvent, x *canopyv1.SecurityGroup, ce *canopyv1.CloudError) error {
		return stream.Send(&canopyv1.WatchSecurityGroupsResponse{Type: canopyv1.WatchSecurityGroupsResponse_EventType(t), SecurityGroup: x, CloudError: ce})
	})
}

// WatchFloatingIPs implements canopyv1.NetworkServiceServer.
func (s *networkService) WatchFloatingIPs(req *canopyv1.WatchFloatingIPsRequest, stream canopyv1.NetworkService_WatchFloatingIPsServer) error {
	return floatingIPWatch.run(stream.Context(), &s.netViews, req, func(t watchEvent, x *canopyv1.FloatingIP, ce *canopyv1.CloudError) error {
		return stream.Send(&canopyv1.WatchFloatingIPsResponse{Type: canopyv1.WatchFloatingIPsResponse_EventType(t), FloatingIp: x, CloudError: ce})
	})
}
