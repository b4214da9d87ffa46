package server

import (
	"context"
	"slices"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/router"
	"github.com/canopy-cloud/canopy/store"
)

// netDelete is the one shape of a networking delete: find the resource,
// refuse (naming the blocker) what check says is still in use, and delete
// it in an operation answering with its last view, status DELETED.
func netDelete[T any, P router.Named](ctx context.Context, s *networkService, k netKind[T, P], req interface {
	operationRequest
	GetId() string
}, check func(context.Context, *router.Cloud, store.Mapping, T) error) (*canopyv1.Operation, error) {
	return s.ops.asOperation(ctx, opNetDelete(k.kind), req, func() (opRequest, error) {
		cl, m, x, pb, err := k.find(ctx, &s.netViews, "id", req.GetId())
		if err != nil {
			return opRequest{}, err
		}
		if m.Project != project(ctx) {
			return opRequest{}, status.Errorf(codes.PermissionDenied, "%s %s (%q) belongs to the cloud %q (project %q), not to your project: it is only shared with you", k.name, m.ID, pb.GetName(), cl.Name, m.Project)
		}
		if check != nil {
			if err := check(ctx, cl, m, x); err != nil {
				return opRequest{}, err
			}
		}
		last := deletedCopy(any(pb).(proto.Message), "")
		return opRequest{cl: cl, target: m.ID, spec: netJob{Native: m.NativeID, Last: anyBytes(last)}}, nil
	})
}

// inUse is FAILED_PRECONDITION naming what blocks a delete (at most five).
func inUse(kind, id string, by []string) error {
	more := ""
	if len(by) > 5 {
		by, more = by[:5], ", ..."
	}
	return status.Errorf(codes.FailedPrecondition, "%s %s is in use by %s%s", kind, id, strings.Join(by, ", "), more)
}

// DeleteNetwork implements canopyv1.NetworkServiceServer.
func (s *networkService) DeleteNetwork(ctx context.Context, req *canopyv1.DeleteNetworkRequest) (*canopyv1.Operation, error) {
	if g, ok, err := s.findGlobal(ctx, providers.KindNetwork, req.GetId()); err != nil {
		return nil, err
	} else if ok {
		if err := s.globalInUse(ctx, g); err != nil {
			return nil, err
		}
		return s.deleteGlobal(ctx, req, g)
	}
	return netDelete(ctx, s, networkKind, req, func(ctx context.Context, cl *router.Cloud, m store.Mapping, x providers.Network) error {
		ports, err := freshPortKind.cloudList(ctx, &s.netViews, cl, true)
		if err != nil {
			return err
		}
		var by []string
		for _, p := range ports {
			// The cloud's own ports (DHCP) go with the network.
			if p.NetworkId == m.ID && !strings.HasPrefix(p.DeviceOwner, "network:dhcp") {
				by = append(by, "port "+p.Id+describeDevice(p))
			}
		}
		if len(by) > 0 {
			return inUse("network", m.ID, by)
		}
		return nil
	})
}

func describeDevice(p *canopyv1.Port) string {
	switch {
	case p.ServerId != "":
		return " (server " + p.ServerId + ")"
	case p.DeviceOwner != "":
		return " (" + p.DeviceOwner + ")"
	}
	return ""
}

// DeleteSubnet implements canopyv1.NetworkServiceServer.
func (s *networkService) DeleteSubnet(ctx context.Context, req *canopyv1.DeleteSubnetRequest) (*canopyv1.Operation, error) {
	return netDelete(ctx, s, subnetKind, req, func(ctx context.Context, cl *router.Cloud, m store.Mapping, x providers.Subnet) error {
		ports, err := freshPortKind.cloudList(ctx, &s.netViews, cl, true)
		if err != nil {
			return err
		}
		var by []string
		for _, p := range ports {
			if strings.HasPrefix(p.DeviceOwner, "network:dhcp") {
				continue // the cloud's own, which go with the subnet
			}
			for _, f := range p.FixedIps {
				if f.SubnetId == m.ID {
					by = append(by, "port "+p.Id+describeDevice(p))
					break
				}
			}
		}
		if len(by) > 0 {
			return inUse("subnet", m.ID, by)
		}
		return nil
	})
}

// DeletePort implements canopyv1.NetworkServiceServer.
func (s *networkService) DeletePort(ctx context.Context, req *canopyv1.DeletePortRequest) (*canopyv1.Operation, error) {
	return netDelete(ctx, s, portKind, req, nil)
}

// DeleteRouter implements canopyv1.NetworkServiceServer.
func (s *networkService) DeleteRouter(ctx context.Context, req *canopyv1.DeleteRouterRequest) (*canopyv1.Operation, error) {
	return netDelete(ctx, s, routerKind, req, func(ctx context.Context, cl *router.Cloud, m store.Mapping, x providers.Router) error {
		if len(x.Interfaces) == 0 {
			return nil
		}
		r := newRefs()
		for _, i := range x.Interfaces {
			r.add(providers.KindSubnet, i.SubnetID)
		}
		if err := r.resolve(ctx, s.rt, cl); err != nil {
			return err
		}
		var by []string
		for _, i := range x.Interfaces {
			by = append(by, "an interface in subnet "+r.id(providers.KindSubnet, i.SubnetID))
		}
		return status.Errorf(codes.FailedPrecondition, "router %s still has %s: remove them first", m.ID, strings.Join(by, ", "))
	})
}

// DeleteSecurityGroup implements canopyv1.NetworkServiceServer.
func (s *networkService) DeleteSecurityGroup(ctx context.Context, req *canopyv1.DeleteSecurityGroupRequest) (*canopyv1.Operation, error) {
	if g, ok, err := s.findGlobal(ctx, providers.KindSecurityGroup, req.GetId()); err != nil {
		return nil, err
	} else if ok {
		if err := s.globalInUse(ctx, g); err != nil {
			return nil, err
		}
		return s.deleteGlobal(ctx, req, g)
	}
	return netDelete(ctx, s, securityGroupKind, req, func(ctx context.Context, cl *router.Cloud, m store.Mapping, x providers.SecurityGroup) error {
		var by []string
		groups, err := securityGroupKind.cloudList(ctx, &s.netViews, cl, true)
		if err != nil {
			return err
		}
		for _, g := range groups {
			if g.Id == m.ID {
				continue
			}
			for _, r := range g.Rules {
				if r.RemoteGroup == m.ID {
					by = append(by, "a rule of security group "+g.Id+" ("+g.Name+")")
					break
				}
			}
		}
		ports, err := freshPortKind.cloudList(ctx, &s.netViews, cl, true)
		if err != nil {
			return err
		}
		for _, p := range ports {
			if slices.Contains(p.SecurityGroupIds, m.ID) {
				by = append(by, "port "+p.Id+describeDevice(p))
			}
		}
		if len(by) > 0 {
			return inUse("security group", m.ID, by)
		}
		return nil
	})
}

// ReleaseFloatingIP implements canopyv1.NetworkServiceServer.
func (s *networkService) ReleaseFloatingIP(ctx context.Context, req *canopyv1.ReleaseFloatingIPRequest) (*canopyv1.Operation, error) {
	return netDelete(ctx, s, floatingIPKind, req, nil)
}

// deletedCopy is a copy of a resource message with status DELETED (and,
// when set, the cloud's word): a delete's answer, a watch's last event.
// Every networking message has both fields.
func deletedCopy[P proto.Message](x P, providerStatus string) P {
	last := proto.Clone(x).(P)
	r := last.ProtoReflect()
	if fd := r.Descriptor().Fields().ByName("status"); fd != nil {
		r.Set(fd, protoreflect.ValueOfEnum(protoreflect.EnumNumber(canopyv1.Status_STATUS_DELETED)))
	}
	if fd := r.Descriptor().Fields().ByName("provider_status"); fd != nil && providerStatus != "" {
		r.Set(fd, protoreflect.ValueOfString(providerStatus))
	}
	return last
}
