package server

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/jobs"
	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/router"
	"github.com/canopy-cloud/canopy/store"
)

// Global networks and security groups (scope GLOBAL) are canopy's own
// resources, defined once and made real in each cloud where a server uses
// them, as Tricircle made Neutron resources span regions — without its
// agents: canopy never stretches L2 between clouds, it makes one network
// per cloud, each with its own block of the global range, and keeps the
// groups' rules equal everywhere (network_realize.go makes realizations,
// network_reconcile.go keeps them).
//
// Records (store.RecordStore), so that a restart or a second canopyd sees
// the same thing:
//   - globalNamespace, key id: the definition (globalRecord);
//   - globalNamespace, key "name/<project>/<kind>/<name>": the name's claim;
//   - realizedNamespace, key "<id>/<cloud>": one realization (a group's
//     further ones in a cloud whose groups belong to a network, one per
//     network: "<id>/<cloud>/<network>");
//   - carvedNamespace, key "<id>/<cidr>": a block of a global network's
//     range, claimed (CreateRecord) by the cloud it is carved for, so no
//     two clouds ever get the same block.
const (
	globalNamespace   = "global"
	realizedNamespace = "realized"
	carvedNamespace   = "carved"
)

// opNetDefine is the operation that records a global definition.
const opNetDefine = "global.define"

// globalRecord is a global network's or group's definition.
type globalRecord struct {
	ID          string            `json:"id"`
	Kind        string            `json:"kind"` // providers.KindNetwork or KindSecurityGroup
	Name        string            `json:"name"`
	Project     string            `json:"project"`
	Description string            `json:"description,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Created     time.Time         `json:"created"`
	// Network: the range blocks are carved from, their prefix length,
	// and whether each realization gets a router to the external network.
	CIDR    string `json:"cidr,omitempty"`
	Prefix  int    `json:"prefix,omitempty"`
	Gateway bool   `json:"gateway,omitempty"`
	// Group: its rules; RemoteGroupID is a global group's id (its own for
	// a rule naming itself).
	Rules []providers.SecurityRule `json:"rules,omitempty"`
}

// realization is a global resource made real in one cloud. A network
// has one per cloud; a group one per cloud where groups apply to any port
// (Neutron), but one per network where each group belongs to one network
// (an EC2 security group to its VPC, and only instances of that VPC can
// use it): Scope is the network it was asked for, GroupNetwork the one
// the cloud says it belongs to ("" where groups belong to none).
type realization struct {
	Cloud string `json:"cloud"`
	// Key is its record's key after "<global id>/": the cloud's name for
	// the first realization in a cloud (and for records written before
	// there were others), "<cloud>/<scope>" for the next ones.
	Key          string `json:"key,omitempty"`
	Scope        string `json:"scope,omitempty"`
	GroupNetwork string `json:"group_network,omitempty"`
	ID           string `json:"id"` // canopy id of the cloud's resource
	Native       string `json:"native,omitempty"`
	Op           string `json:"op,omitempty"` // the operation making it
	Done         bool   `json:"done,omitempty"`
	// Network: its block, subnet and router.
	CIDR         string `json:"cidr,omitempty"`
	Subnet       string `json:"subnet,omitempty"`
	SubnetNative string `json:"subnet_native,omitempty"`
	Router       string `json:"router,omitempty"`
	RouterNative string `json:"router_native,omitempty"`
}

func nameKey(project, kind, name string) string { return "name/" + project + "/" + kind + "/" + name }

func (r realization) key() string {
	if r.Key != "" {
		return r.Key
	}
	return r.Cloud
}

// serves says whether a realization in the right cloud is the one a use
// on network scope (a native id; "" for the cloud's default) takes: the
// one asked for that scope, or a made group that belongs to no network or
// to that one.
func (r realization) serves(scope string) bool {
	return r.Scope == scope || (r.Done && r.Native != "" && (r.GroupNetwork == "" || r.GroupNetwork == scope))
}

// sameScope says whether two realizations of groups can name each other
// in rules: same cloud, same network (or none).
func sameScope(a, b realization) bool { return a.Cloud == b.Cloud && a.GroupNetwork == b.GroupNetwork }

// globals reads the definitions of one kind the caller's project owns.
func (v *netViews) globals(ctx context.Context, kind string) ([]globalRecord, error) {
	recs, err := v.store.ListRecords(ctx, globalNamespace, "")
	if err != nil {
		return nil, router.StoreErr("list global definitions", err)
	}
	var out []globalRecord
	for _, r := range recs {
		if len(r.Key) > 5 && r.Key[:5] == "name/" {
			continue
		}
		var g globalRecord
		if json.Unmarshal(r.Value, &g) != nil || g.Kind != kind || g.Project != project(ctx) {
			continue
		}
		out = append(out, g)
	}
	return out, nil
}

// findGlobal resolves a reference (id or name) to one of the caller's
// global definitions of a kind; ok is false when there is none.
func (v *netViews) findGlobal(ctx context.Context, kind, ref string) (globalRecord, bool, error) {
	id, isID, err := router.IDOrName("id", ref)
	if err != nil {
		return globalRecord{}, false, nil // not ours to judge: the local path says why
	}
	if !isID {
		raw, err := v.store.GetRecord(ctx, globalNamespace, nameKey(project(ctx), kind, id))
		if errors.Is(err, store.ErrNotFound) {
			return globalRecord{}, false, nil
		}
		if err != nil {
			return globalRecord{}, false, router.StoreErr("get global name "+id, err)
		}
		id = string(raw)
	}
	raw, err := v.store.GetRecord(ctx, globalNamespace, id)
	if errors.Is(err, store.ErrNotFound) {
		return globalRecord{}, false, nil
	}
	if err != nil {
		return globalRecord{}, false, router.StoreErr("get global "+id, err)
	}
	var g globalRecord
	if err := json.Unmarshal(raw, &g); err != nil {
		return g, false, status.Errorf(codes.Internal, "global %s: corrupt record: %v", id, err)
	}
	if g.Kind != kind || g.Project != project(ctx) {
		return globalRecord{}, false, nil
	}
	return g, true, nil
}

// realizations reads where a global resource is real, by record key (a
// cloud's name, or "<cloud>/<network>" for a group's further realizations
// in a cloud whose groups belong to networks).
func (v *netViews) realizations(ctx context.Context, id string) (map[string]realization, error) {
	recs, err := v.store.ListRecords(ctx, realizedNamespace, id+"/")
	if err != nil {
		return nil, router.StoreErr("list realizations of "+id, err)
	}
	out := map[string]realization{}
	for _, r := range recs {
		var x realization
		if json.Unmarshal(r.Value, &x) == nil {
			x.Key = strings.TrimPrefix(r.Key, id+"/")
			out[x.Key] = x
		}
	}
	return out, nil
}

func (v *netViews) putRealization(ctx context.Context, id string, r realization) error {
	raw, _ := json.Marshal(r)
	if err := v.store.PutRecord(ctx, realizedNamespace, id+"/"+r.key(), raw); err != nil {
		return router.StoreErr("record realization of "+id+" in "+r.Cloud, err)
	}
	return nil
}

func realizationsPB(rs map[string]realization) []*canopyv1.Realization {
	var out []*canopyv1.Realization
	for _, r := range rs {
		if r.Done {
			out = append(out, &canopyv1.Realization{Cloud: r.Cloud, Id: r.ID, NativeId: r.Native, Cidr: r.CIDR, SubnetId: r.Subnet, RouterId: r.Router})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Cloud < out[j].Cloud })
	return out
}

func (v *netViews) globalNetworkPB(ctx context.Context, g globalRecord) (*canopyv1.Network, error) {
	rs, err := v.realizations(ctx, g.ID)
	if err != nil {
		return nil, err
	}
	return &canopyv1.Network{Id: g.ID, Name: g.Name, Location: &canopyv1.Location{Project: g.Project}, Status: canopyv1.Status_STATUS_ACTIVE,
		CreateTime: ts(g.Created), Labels: g.Labels, Cidr: g.CIDR, Scope: canopyv1.Scope_SCOPE_GLOBAL, Realizations: realizationsPB(rs),
		SubnetPrefixLength: int32(g.Prefix), Gateway: g.Gateway}, nil
}

func (v *netViews) globalGroupPB(ctx context.Context, g globalRecord) (*canopyv1.SecurityGroup, error) {
	rs, err := v.realizations(ctx, g.ID)
	if err != nil {
		return nil, err
	}
	out := &canopyv1.SecurityGroup{Id: g.ID, Name: g.Name, Location: &canopyv1.Location{Project: g.Project}, Status: canopyv1.Status_STATUS_ACTIVE,
		CreateTime: ts(g.Created), Labels: g.Labels, Description: g.Description, Scope: canopyv1.Scope_SCOPE_GLOBAL, Realizations: realizationsPB(rs)}
	for _, r := range g.Rules {
		pb := rulePB(r, newRefs())
		pb.Id, pb.RemoteGroup = globalRuleID(r), r.RemoteGroupID // a global id already
		out.Rules = append(out.Rules, pb)
	}
	return out, nil
}

// globalList lists the caller's global definitions of a kind as API
// resources.
func globalList[P any](ctx context.Context, v *netViews, kind string, conv func(context.Context, globalRecord) (P, error)) ([]P, error) {
	gs, err := v.globals(ctx, kind)
	if err != nil {
		return nil, err
	}
	out := make([]P, 0, len(gs))
	for _, g := range gs {
		x, err := conv(ctx, g)
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, nil
}

// define records a global definition (the global.define operation's one
// step): the name is claimed first, so two definitions never share it.
func (s *networkService) define(ctx context.Context, op *store.Operation) (jobs.Result, error) {
	var g globalRecord
	if err := json.Unmarshal(op.Spec, &g); err != nil {
		return jobs.Result{}, status.Errorf(codes.Internal, "operation %s: corrupt spec: %v", op.ID, err)
	}
	g.ID, g.Project = op.TargetID, op.Project
	for i := range g.Rules {
		if g.Rules[i].RemoteGroupID == selfGroup {
			g.Rules[i].RemoteGroupID = g.ID
		}
	}
	if g.Created.IsZero() {
		g.Created = op.Created
	}
	cur, created, err := s.store.CreateRecord(ctx, globalNamespace, nameKey(g.Project, g.Kind, g.Name), []byte(g.ID))
	if err != nil {
		return jobs.Result{}, router.StoreErr("claim global name "+g.Name, err)
	}
	if !created && string(cur) != g.ID {
		return jobs.Result{}, status.Errorf(codes.AlreadyExists, "name: a global %s named %q already exists (%s)", g.Kind, g.Name, cur)
	}
	raw, _ := json.Marshal(g)
	if err := s.store.PutRecord(ctx, globalNamespace, g.ID, raw); err != nil {
		return jobs.Result{}, router.StoreErr("record global "+g.ID, err)
	}
	if g.Kind == providers.KindNetwork {
		out, err := s.globalNetworkPB(ctx, g)
		if err != nil {
			return jobs.Result{}, err
		}
		return jobs.Result{Done: true, Response: anyBytes(out), Progress: 100}, nil
	}
	out, err := s.globalGroupPB(ctx, g)
	if err != nil {
		return jobs.Result{}, err
	}
	return jobs.Result{Done: true, Response: anyBytes(out), Progress: 100}, nil
}
