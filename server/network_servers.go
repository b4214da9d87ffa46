package server

import (
	"context"
	"errors"
	"strconv"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/internal/failpoint"
	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/router"
	"github.com/canopy-cloud/canopy/store"
)

// serverNetworking is what a server create needs of the networking side:
// its networks, ports and security groups as native ids, and a floating IP
// for auto_ip. networkService implements it.
type serverNetworking interface {
	serverNet(ctx context.Context, cl *router.Cloud, req *canopyv1.CreateServerRequest) (networks, ports, groups []string, err error)
	autoIP(ctx context.Context, cl *router.Cloud, server store.Mapping, zone string, replay bool) error
}

// serverNet resolves a CreateServer's networks (canopy ids and names of
// canopy networks become native ids; anything else goes to the cloud as
// given, as before NetworkService), ports (free ports of the server's
// cloud) and security groups.
func (s *networkService) serverNet(ctx context.Context, cl *router.Cloud, req *canopyv1.CreateServerRequest) (networks, ports, groups []string, err error) {
	if len(req.GetPorts()) > 0 || len(req.GetSecurityGroups()) > 0 || req.GetAutoIp() {
		if _, err := cl.NetOrFail(providers.CapNetworks); err != nil {
			return nil, nil, nil, err
		}
	}
	// scope is the server's first network canopy knows (a global one's
	// realization, or a canopy network by id): on clouds whose security
	// groups belong to a network (EC2: the VPC), a global group is made
	// real in that one, where the server can use it.
	scope := ""
	for i, ref := range req.GetNetworks() {
		native := ref
		if n, global, gerr := s.globalRef(ctx, cl, providers.KindNetwork, ref, ""); gerr != nil {
			return nil, nil, nil, gerr
		} else if global {
			networks = append(networks, n)
			if scope == "" {
				scope = n
			}
			continue
		}
		if id, isID, ierr := router.IDOrName("networks", ref); ierr == nil && isID {
			// A canopy id; anything else the id map does not know is the
			// cloud's own id (a Neutron network's UUID), passed as given.
			ncl, nm, _, _, ferr := networkKind.find(ctx, &s.netViews, "networks["+strconv.Itoa(i)+"]", id)
			switch {
			case status.Code(ferr) == codes.NotFound:
			case ferr != nil:
				return nil, nil, nil, ferr
			default:
				if err := sameCloud("networks["+strconv.Itoa(i)+"]", cl, ncl, nm.ID); err != nil {
					return nil, nil, nil, err
				}
				native = nm.NativeID
				if scope == "" {
					scope = native
				}
			}
		}
		networks = append(networks, native)
	}
	for i, ref := range req.GetPorts() {
		f := "ports[" + strconv.Itoa(i) + "]"
		pcl, pm, px, _, ferr := portKind.findIn(ctx, &s.netViews, cl, f, ref)
		if ferr != nil {
			return nil, nil, nil, ferr
		}
		if err := sameCloud(f, cl, pcl, pm.ID); err != nil {
			return nil, nil, nil, err
		}
		if px.DeviceID != "" && !s.madeByRequest(ctx, cl, px.DeviceID, req.GetRequestId()) {
			return nil, nil, nil, status.Errorf(codes.FailedPrecondition, "%s: port %s is in use by %s %s", f, pm.ID, px.DeviceOwner, px.DeviceID)
		}
		ports = append(ports, pm.NativeID)
	}
	for i, ref := range req.GetSecurityGroups() {
		n, global, gerr := s.globalRef(ctx, cl, providers.KindSecurityGroup, ref, scope)
		if !global && gerr == nil {
			var natives []string
			natives, gerr = s.groupNatives(ctx, cl, "security_groups["+strconv.Itoa(i)+"]", []string{ref})
			if gerr == nil {
				n = natives[0]
			}
		}
		if gerr != nil {
			return nil, nil, nil, gerr
		}
		groups = append(groups, n)
	}
	return networks, ports, groups, nil
}

// autoIP gives a server a floating IP from its cloud's only external
// network, as shade's create_server(auto_ip=True): one it already has is
// kept (a retried create), and one allocated but not associated is
// released again.
//
// The floating IP carries the server's canopy id as its idempotency token
// (a server has one auto_ip address; the id is of another kind, so lists
// adopt the address rather than take it for a crash duplicate): a create
// retried after a crash between the allocation and the association
// (replay) finds the address the first attempt allocated instead of
// allocating a second and leaking the first.
func (s *networkService) autoIP(ctx context.Context, cl *router.Cloud, server store.Mapping, zone string, replay bool) error {
	serverNative := server.NativeID
	n, err := cl.NetOrFail(providers.CapFloatingIPs)
	if err != nil {
		return err
	}
	fips, err := n.ListFloatingIPs(ctx)
	if err != nil {
		return router.CloudErr(cl.Name, "list floating IPs", err)
	}
	for _, f := range fips {
		if f.ServerID == serverNative {
			return nil
		}
	}
	ext, err := s.externalNetwork(ctx, cl, "auto_ip", "")
	if err != nil {
		return err
	}
	f, err := n.AllocateFloatingIP(ctx, providers.FloatingIPSpec{NetworkID: ext, Zone: zone, IdempotencyToken: server.ID, Replay: replay})
	if err != nil {
		return router.CloudErr(cl.Name, "allocate a floating IP for auto_ip", err)
	}
	failpoint.Hit("net.auto-ip:allocated")
	if err := n.AssociateFloatingIP(ctx, f.NativeID, "", serverNative); err != nil {
		if rerr := n.ReleaseFloatingIP(context.WithoutCancel(ctx), f.NativeID); rerr != nil && !errors.Is(rerr, providers.ErrNotFound) {
			s.log.Warn("auto_ip: could not release the floating IP it failed to associate", "cloud", cl.Name, "ip", f.IP, "err", rerr)
		}
		return router.CloudErr(cl.Name, "associate floating IP "+f.IP+" with server "+serverNative, err)
	}
	return nil
}

// madeByRequest says whether a server is the one an earlier attempt of
// this create (same request id, same project) made: its ports are its own.
func (s *networkService) madeByRequest(ctx context.Context, cl *router.Cloud, serverNative, requestID string) bool {
	if requestID == "" {
		return false
	}
	m, err := s.store.Lookup(ctx, cl.Name, providers.KindServer, serverNative)
	return err == nil && m.RequestID == requestID && m.Project == project(ctx)
}
