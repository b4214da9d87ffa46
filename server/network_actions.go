package server

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/router"
	"github.com/canopy-cloud/canopy/store"
)

// The changes a cloud makes at once answer with the changed resource, read
// back from the cloud (not from canopy's idea of it).

// owned refuses a change to a resource the caller only sees (a shared
// network of the cloud).
func owned(ctx context.Context, kind string, cl *router.Cloud, m store.Mapping) error {
	if m.Project != project(ctx) {
		return status.Errorf(codes.PermissionDenied, "%s %s belongs to the cloud %q, not to your project", kind, m.ID, cl.Name)
	}
	return nil
}

// SetRouterGateway implements canopyv1.NetworkServiceServer.
func (s *networkService) SetRouterGateway(ctx context.Context, req *canopyv1.SetRouterGatewayRequest) (*canopyv1.Router, error) {
	cl, m, _, _, err := routerKind.find(ctx, &s.netViews, "id", req.GetId())
	if err != nil {
		return nil, err
	}
	ext := ""
	if req.GetExternalNetwork() != "" {
		if ext, err = s.externalNetwork(ctx, cl, "external_network", req.GetExternalNetwork()); err != nil {
			return nil, err
		}
	}
	if err := cl.Net.SetRouterGateway(ctx, m.NativeID, ext); err != nil {
		return nil, router.CloudErr(cl.Name, "set gateway of router "+m.NativeID, err)
	}
	return routerKind.describe(ctx, &s.netViews, cl, m.NativeID)
}

// routerSubnet resolves a router and a subnet of its cloud.
func (s *networkService) routerSubnet(ctx context.Context, id, subnet string) (*router.Cloud, store.Mapping, store.Mapping, error) {
	cl, m, _, _, err := routerKind.find(ctx, &s.netViews, "id", id)
	if err != nil {
		return nil, m, m, err
	}
	if subnet == "" {
		return nil, m, m, router.BadRequest("subnet", "required: a subnet (canopy id or name) in the router's cloud")
	}
	scl, sm, _, _, err := subnetKind.findIn(ctx, &s.netViews, cl, "subnet", subnet)
	if err != nil {
		return nil, m, sm, err
	}
	return cl, m, sm, sameCloud("subnet", cl, scl, sm.ID)
}

// AddRouterInterface implements canopyv1.NetworkServiceServer.
func (s *networkService) AddRouterInterface(ctx context.Context, req *canopyv1.AddRouterInterfaceRequest) (*canopyv1.Router, error) {
	cl, m, sm, err := s.routerSubnet(ctx, req.GetId(), req.GetSubnet())
	if err != nil {
		return nil, err
	}
	if _, err := cl.Net.AddRouterInterface(ctx, m.NativeID, sm.NativeID); err != nil {
		return nil, router.CloudErr(cl.Name, "add subnet "+sm.ID+" to router "+m.ID, err)
	}
	return routerKind.describe(ctx, &s.netViews, cl, m.NativeID)
}

// RemoveRouterInterface implements canopyv1.NetworkServiceServer.
func (s *networkService) RemoveRouterInterface(ctx context.Context, req *canopyv1.RemoveRouterInterfaceRequest) (*canopyv1.Router, error) {
	cl, m, sm, err := s.routerSubnet(ctx, req.GetId(), req.GetSubnet())
	if err != nil {
		return nil, err
	}
	if err := cl.Net.RemoveRouterInterface(ctx, m.NativeID, sm.NativeID); err != nil {
		return nil, router.CloudErr(cl.Name, "remove subnet "+sm.ID+" from router "+m.ID, err)
	}
	return routerKind.describe(ctx, &s.netViews, cl, m.NativeID)
}

// AddSecurityGroupRule implements canopyv1.NetworkServiceServer.
func (s *networkService) AddSecurityGroupRule(ctx context.Context, req *canopyv1.AddSecurityGroupRuleRequest) (*canopyv1.SecurityGroup, error) {
	if g, ok, err := s.findGlobal(ctx, providers.KindSecurityGroup, req.GetId()); err != nil || ok {
		if err != nil {
			return nil, err
		}
		return s.addGlobalRule(ctx, g, req) // network_global_rules.go
	}
	rule, err := ruleSpec("rule", req.GetRule())
	if err != nil {
		return nil, err
	}
	cl, m, _, _, err := securityGroupKind.find(ctx, &s.netViews, "id", req.GetId())
	if err != nil {
		return nil, err
	}
	if err := owned(ctx, "security group", cl, m); err != nil {
		return nil, err
	}
	if g := req.GetRule().GetRemoteGroup(); g != "" {
		natives, err := s.groupNatives(ctx, cl, "rule.remote_group", []string{g})
		if err != nil {
			return nil, err
		}
		rule.RemoteGroupID = natives[0]
	}
	if _, err := cl.Net.AddSecurityRule(ctx, m.NativeID, rule); err != nil {
		return nil, router.CloudErr(cl.Name, "add rule to security group "+m.ID, err)
	}
	return securityGroupKind.describe(ctx, &s.netViews, cl, m.NativeID)
}

// RemoveSecurityGroupRule implements canopyv1.NetworkServiceServer.
func (s *networkService) RemoveSecurityGroupRule(ctx context.Context, req *canopyv1.RemoveSecurityGroupRuleRequest) (*canopyv1.SecurityGroup, error) {
	if req.GetRuleId() == "" {
		return nil, router.BadRequest("rule_id", "required: the rule's id, as the group lists it")
	}
	if g, ok, err := s.findGlobal(ctx, providers.KindSecurityGroup, req.GetId()); err != nil || ok {
		if err != nil {
			return nil, err
		}
		return s.removeGlobalRule(ctx, g, req.GetRuleId())
	}
	cl, m, x, _, err := securityGroupKind.find(ctx, &s.netViews, "id", req.GetId())
	if err != nil {
		return nil, err
	}
	if err := owned(ctx, "security group", cl, m); err != nil {
		return nil, err
	}
	found := false
	for _, r := range x.Rules {
		found = found || r.NativeID == req.GetRuleId()
	}
	if !found {
		return nil, router.NotFound("security group rule", req.GetRuleId())
	}
	if err := cl.Net.DeleteSecurityRule(ctx, m.NativeID, req.GetRuleId()); err != nil {
		return nil, router.CloudErr(cl.Name, "remove rule "+req.GetRuleId()+" from security group "+m.ID, err)
	}
	return securityGroupKind.describe(ctx, &s.netViews, cl, m.NativeID)
}

// AssociateFloatingIP implements canopyv1.NetworkServiceServer.
func (s *networkService) AssociateFloatingIP(ctx context.Context, req *canopyv1.AssociateFloatingIPRequest) (*canopyv1.FloatingIP, error) {
	if (req.GetServer() == "") == (req.GetPort() == "") {
		return nil, router.BadRequest("server", "set server or port (one of them)")
	}
	cl, m, x, _, err := floatingIPKind.find(ctx, &s.netViews, "id", req.GetId())
	if err != nil {
		return nil, err
	}
	var port, server string
	if req.GetPort() != "" {
		pcl, pm, _, _, err := portKind.findIn(ctx, &s.netViews, cl, "port", req.GetPort())
		if err != nil {
			return nil, err
		}
		if err := sameCloud("port", cl, pcl, pm.ID); err != nil {
			return nil, err
		}
		port = pm.NativeID
	} else {
		scl, sm, err := s.findServer(ctx, "server", req.GetServer())
		if err != nil {
			return nil, err
		}
		if err := sameCloud("server", cl, scl, sm.ID); err != nil {
			return nil, err
		}
		server = sm.NativeID
	}
	if (port != "" && x.PortID == port) || (server != "" && x.ServerID == server) {
		return floatingIPKind.describe(ctx, &s.netViews, cl, m.NativeID) // already there
	}
	if x.PortID != "" {
		return nil, status.Errorf(codes.FailedPrecondition, "floating IP %s (%s) is associated elsewhere (fixed IP %s): disassociate it first", m.ID, x.IP, x.FixedIP)
	}
	if err := cl.Net.AssociateFloatingIP(ctx, m.NativeID, port, server); err != nil {
		return nil, router.CloudErr(cl.Name, "associate floating IP "+m.ID, err)
	}
	return floatingIPKind.describe(ctx, &s.netViews, cl, m.NativeID)
}

// DisassociateFloatingIP implements canopyv1.NetworkServiceServer.
func (s *networkService) DisassociateFloatingIP(ctx context.Context, req *canopyv1.DisassociateFloatingIPRequest) (*canopyv1.FloatingIP, error) {
	cl, m, x, pb, err := floatingIPKind.find(ctx, &s.netViews, "id", req.GetId())
	if err != nil {
		return nil, err
	}
	if x.PortID == "" {
		return pb, nil
	}
	if err := cl.Net.DisassociateFloatingIP(ctx, m.NativeID); err != nil {
		return nil, router.CloudErr(cl.Name, "disassociate floating IP "+m.ID, err)
	}
	return floatingIPKind.describe(ctx, &s.netViews, cl, m.NativeID)
}
