package server

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/jobs"
	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/router"
	"github.com/canopy-cloud/canopy/store"
)

// The NetworkService methods' global side: defining global networks and
// groups, reading them, deleting them with every realization.

const opGlobalDelete = "global.delete"

// defineGlobal answers a create with scope GLOBAL: an operation that
// records the definition (nothing is made in any cloud until a server
// uses it).
func (s *networkService) defineGlobal(ctx context.Context, req operationRequest, g globalRecord) (*canopyv1.Operation, error) {
	if err := router.CheckName("name", g.Name); err != nil {
		return nil, err
	}
	if err := router.CheckLabels("labels", g.Labels); err != nil {
		return nil, err
	}
	return s.ops.asOperation(ctx, opNetDefine, req, func() (opRequest, error) {
		// Checked in plan, which a replay (the same request id again, after
		// the definition was recorded) does not reach: it answers with its
		// operation, not with the name its first attempt took.
		if existing, ok, err := s.findGlobal(ctx, g.Kind, g.Name); err != nil {
			return opRequest{}, err
		} else if ok {
			return opRequest{}, status.Errorf(codes.AlreadyExists, "name: a global %s named %q already exists (%s)", strings.ReplaceAll(g.Kind, "_", " "), g.Name, existing.ID)
		}
		return opRequest{target: store.NewID(), spec: g}, nil
	})
}

func (s *networkService) createGlobalNetwork(ctx context.Context, req *canopyv1.CreateNetworkRequest) (*canopyv1.Operation, error) {
	if req.GetLocation().GetCloud() != "" {
		return nil, router.BadRequest("location.cloud", "a global network is of every cloud: leave the cloud out")
	}
	if req.GetCidr() == "" {
		return nil, router.BadRequest("cidr", "required for a global network: the range each cloud's block is carved from, e.g. 10.50.0.0/16")
	}
	p, err := parseCIDR("cidr", req.GetCidr())
	if err != nil {
		return nil, err
	}
	prefix := int(req.GetSubnetPrefixLength())
	if prefix == 0 {
		prefix = 24
		if p.Addr().Is6() {
			prefix = 64
		}
	}
	if prefix < p.Bits() || prefix > p.Addr().BitLen()-2 {
		return nil, router.BadRequest("subnet_prefix_length", "/%d: want from /%d (the whole range) to /%d", prefix, p.Bits(), p.Addr().BitLen()-2)
	}
	return s.defineGlobal(ctx, req, globalRecord{Kind: providers.KindNetwork, Name: req.GetName(), Labels: req.GetLabels(),
		CIDR: p.String(), Prefix: prefix, Gateway: req.GetGateway()})
}

func (s *networkService) createGlobalGroup(ctx context.Context, req *canopyv1.CreateSecurityGroupRequest) (*canopyv1.Operation, error) {
	if req.GetLocation().GetCloud() != "" {
		return nil, router.BadRequest("location.cloud", "a global security group is of every cloud: leave the cloud out")
	}
	if req.GetNetwork() != "" {
		return nil, router.BadRequest("network", "a global security group belongs to no one network")
	}
	if len(req.GetDescription()) > 255 {
		return nil, router.BadRequest("description", "longer than 255 bytes")
	}
	g := globalRecord{Kind: providers.KindSecurityGroup, Name: req.GetName(), Description: req.GetDescription(), Labels: req.GetLabels()}
	for i, r := range req.GetRules() {
		field := "rules[" + strconv.Itoa(i) + "]"
		x, err := ruleSpec(field, r)
		if err != nil {
			return nil, err
		}
		switch ref := r.GetRemoteGroup(); {
		case ref == "":
		case ref == req.GetName():
			x.RemoteGroupID = selfGroup // its own id, once it has one (define)
		default:
			other, ok, err := s.findGlobal(ctx, providers.KindSecurityGroup, ref)
			if err != nil {
				return nil, err
			}
			if !ok {
				return nil, router.BadRequest(field+".remote_group", "no global security group %q: a global group's rules name global groups (or itself)", ref)
			}
			x.RemoteGroupID = other.ID
		}
		g.Rules = append(g.Rules, x)
	}
	return s.defineGlobal(ctx, req, g)
}

// deleteGlobal deletes a global resource's realizations, then it.
func (s *networkService) deleteGlobal(ctx context.Context, req interface {
	operationRequest
	GetId() string
}, g globalRecord) (*canopyv1.Operation, error) {
	return s.ops.asOperation(ctx, opGlobalDelete, req, func() (opRequest, error) {
		return opRequest{target: g.ID, spec: g}, nil
	})
}

// undefine is the global.delete operation's one step; each delete is
// idempotent, so a repeated step finishes what the first began.
func (s *networkService) undefine(ctx context.Context, op *store.Operation) (jobs.Result, error) {
	raw, err := s.store.GetRecord(ctx, globalNamespace, op.TargetID)
	if errors.Is(err, store.ErrNotFound) {
		return jobs.Result{Done: true, Progress: 100}, nil
	}
	if err != nil {
		return jobs.Result{}, router.StoreErr("get global "+op.TargetID, err)
	}
	var g globalRecord
	if err := json.Unmarshal(raw, &g); err != nil {
		return jobs.Result{}, status.Errorf(codes.Internal, "global %s: corrupt record: %v", op.TargetID, err)
	}
	rs, err := s.realizations(ctx, g.ID)
	if err != nil {
		return jobs.Result{}, err
	}
	for _, r := range rs {
		cl, ok := s.rt.Cloud(r.Cloud)
		if ok && cl.Net != nil {
			if err := s.unrealize(ctx, cl, g, r); err != nil {
				return jobs.Result{}, err
			}
		}
		if err := s.store.DeleteRecord(ctx, realizedNamespace, g.ID+"/"+r.key()); err != nil && !errors.Is(err, store.ErrNotFound) {
			return jobs.Result{}, router.StoreErr("forget realization", err)
		}
	}
	carved, _ := s.store.ListRecords(ctx, carvedNamespace, g.ID+"/")
	for _, c := range carved {
		_ = s.store.DeleteRecord(ctx, carvedNamespace, c.Key)
	}
	_ = s.store.DeleteRecord(ctx, globalNamespace, nameKey(g.Project, g.Kind, g.Name))
	if err := s.store.DeleteRecord(ctx, globalNamespace, g.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return jobs.Result{}, router.StoreErr("forget global "+g.ID, err)
	}
	return jobs.Result{Done: true, Progress: 100}, nil
}

// unrealize deletes what a realization made in its cloud, last made first.
func (s *networkService) unrealize(ctx context.Context, cl *router.Cloud, g globalRecord, r realization) error {
	gone := func(err error) bool { return err == nil || errors.Is(err, providers.ErrNotFound) }
	if r.RouterNative != "" {
		if err := cl.Net.RemoveRouterInterface(ctx, r.RouterNative, r.SubnetNative); !gone(err) {
			return stepErr(cl.Name, "remove the realization's router interface", err)
		}
		if err := cl.Net.DeleteRouter(ctx, r.RouterNative); !gone(err) {
			return stepErr(cl.Name, "delete the realization's router", err)
		}
		_ = s.store.Delete(ctx, r.Router)
	}
	if r.SubnetNative != "" {
		if err := cl.Net.DeleteSubnet(ctx, r.SubnetNative); !gone(err) {
			return stepErr(cl.Name, "delete the realization's subnet", err)
		}
		_ = s.store.Delete(ctx, r.Subnet)
	}
	if r.Native != "" {
		var err error
		if g.Kind == providers.KindNetwork {
			err = cl.Net.DeleteNetwork(ctx, r.Native)
		} else {
			err = cl.Net.DeleteSecurityGroup(ctx, r.Native)
		}
		if !gone(err) {
			return stepErr(cl.Name, "delete the realization", err)
		}
	}
	_ = s.store.Delete(ctx, r.ID)
	_ = s.store.DeleteRecord(ctx, networkNamespace, r.ID)
	return nil
}

// globalInUse refuses deleting a global resource a server still uses in
// some cloud, naming the ports.
func (s *networkService) globalInUse(ctx context.Context, g globalRecord) error {
	rs, err := s.realizations(ctx, g.ID)
	if err != nil {
		return err
	}
	var by []string
	for _, r := range rs {
		cl, ok := s.rt.Cloud(r.Cloud)
		if !ok || cl.Net == nil || r.Native == "" {
			continue
		}
		ports, err := cl.Net.ListPortsFresh(ctx)
		if err != nil {
			return router.CloudErr(cl.Name, "list ports", err)
		}
		for _, p := range ports {
			use := false
			if g.Kind == providers.KindNetwork {
				use = p.NetworkID == r.Native && isServerPort(p)
			} else {
				for _, id := range p.SecurityGroupIDs {
					use = use || id == r.Native
				}
			}
			if use {
				by = append(by, "port "+p.NativeID+" in cloud "+r.Cloud+" ("+p.DeviceOwner+" "+p.DeviceID+")")
			}
		}
	}
	if len(by) > 0 {
		return inUse("global "+strings.ReplaceAll(g.Kind, "_", " "), g.ID, by)
	}
	return nil
}

// globalRef resolves a server create's reference to a global network or
// group to its realization in cl, making it there first; scope is the
// native id of the server's network, where a group's realization must be
// on clouds whose groups belong to one ("" for the cloud's default).
func (s *networkService) globalRef(ctx context.Context, cl *router.Cloud, kind, ref, scope string) (string, bool, error) {
	g, ok, err := s.findGlobal(ctx, kind, ref)
	if err != nil || !ok {
		return "", false, err
	}
	r, err := s.realize(ctx, cl, g, scope)
	if err != nil {
		return "", true, err
	}
	return r.Native, true, nil
}
