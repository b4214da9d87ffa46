package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/netip"
	"sort"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/canopy-cloud/canopy/internal/failpoint"
	"github.com/canopy-cloud/canopy/jobs"
	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/router"
	"github.com/canopy-cloud/canopy/store"
)

// Operation kinds that make a global resource real in one cloud; their
// target is the canopy id of the cloud's resource, their spec a
// realizeJob. They are durable: a restart resumes them, and every create
// in them carries a token, so a step repeated after a crash finds what the
// first attempt made.
const (
	opNetworkRealize = "network.realize"
	opGroupRealize   = "security_group.realize"
)

type realizeJob struct {
	Global string `json:"global"`
	// Scope and Key: the realization's (network_global.go), so a step
	// finds its record again.
	Scope string `json:"scope,omitempty"`
	Key   string `json:"key,omitempty"`
}

// realizeLocks serializes the realizations of one global resource in one
// cloud within this canopyd; the realization record (its id and
// operation, written before any cloud is asked) makes a second caller
// wait on the same operation rather than start another.
type realizeLocks struct {
	mu sync.Mutex
	m  map[string]*sync.Mutex
}

func (l *realizeLocks) lock(key string) func() {
	l.mu.Lock()
	if l.m == nil {
		l.m = map[string]*sync.Mutex{}
	}
	m, ok := l.m[key]
	if !ok {
		m = &sync.Mutex{}
		l.m[key] = m
	}
	l.mu.Unlock()
	m.Lock()
	return m.Unlock
}

// realize returns g's realization in cl for a use on network scope (a
// native id, "" for the cloud's default; only groups have scopes), making
// it first when there is none: it is how a server create that names a
// global network or group brings it to its cloud.
func (s *networkService) realize(ctx context.Context, cl *router.Cloud, g globalRecord, scope string) (realization, error) {
	capability, kind := providers.CapNetworks, opNetworkRealize
	if g.Kind == providers.KindSecurityGroup {
		capability, kind = providers.CapSecurityGroups, opGroupRealize
	} else {
		scope = ""
	}
	if _, err := cl.NetOrFail(capability); err != nil {
		return realization{}, err
	}
	unlock := s.locks.lock(g.ID + "/" + cl.Name)
	defer unlock()
	rs, err := s.realizations(ctx, g.ID)
	if err != nil {
		return realization{}, err
	}
	keys := make([]string, 0, len(rs))
	for k := range rs {
		keys = append(keys, k)
	}
	sort.Strings(keys) // the cloud's first realization ("<cloud>") before its others
	var r realization
	ok := false
	for _, k := range keys {
		if x := rs[k]; x.Cloud == cl.Name && x.serves(scope) {
			r, ok = x, true
			break
		}
	}
	if ok && r.Done {
		return r, nil
	}
	if ok && r.Op != "" {
		op, err := s.store.GetOperation(ctx, r.Op)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return realization{}, router.StoreErr("get operation "+r.Op, err)
		}
		if err == nil && (!op.Done || op.ErrorCode == 0) {
			return s.awaitRealization(ctx, g, cl, r.Op, r.ID)
		}
	}
	if !ok {
		r = realization{Cloud: cl.Name, ID: store.NewID(), Scope: scope}
		if _, taken := rs[cl.Name]; taken {
			r.Key = cl.Name + "/" + scope
			if scope == "" {
				r.Key = cl.Name + "/-"
			}
		}
	}
	// The id of the cloud's resource is recorded before any cloud is
	// asked; a failed attempt's is reused, with its token. The record
	// names the operation before it exists, and the id is reserved before
	// it too: a crash in between leaves a record whose operation is
	// missing (the next caller starts one for the same id) and never an
	// operation that a restart resumes beside a second one, for another
	// id, that the next caller would start.
	raw, _ := json.Marshal(realizeJob{Global: g.ID, Scope: r.Scope, Key: r.Key})
	op := store.Operation{ID: store.NewID(), Project: g.Project, Kind: kind, Cloud: cl.Name, TargetID: r.ID, Spec: raw}
	r.Op = op.ID
	if err := s.putRealization(ctx, g.ID, r); err != nil {
		return realization{}, err
	}
	if err := s.ops.reserve(ctx, op, g.Kind); err != nil {
		return realization{}, err
	}
	failpoint.Hit("net.realize:recorded")
	if _, _, err := s.store.CreateOperation(ctx, op); err != nil {
		return realization{}, router.StoreErr("create realize operation", err)
	}
	failpoint.Hit("net.realize:operation")
	s.ops.runner.Submit(op.ID)
	return s.awaitRealization(ctx, g, cl, op.ID, r.ID)
}

func (s *networkService) awaitRealization(ctx context.Context, g globalRecord, cl *router.Cloud, opID, id string) (realization, error) {
	op, err := s.ops.runner.Wait(ctx, opID)
	if err != nil {
		if ctx.Err() != nil {
			return realization{}, status.Errorf(codes.DeadlineExceeded, "%s %q is still being made real in cloud %q (operation %s): try again", g.Kind, g.Name, cl.Name, opID)
		}
		return realization{}, router.StoreErr("wait for operation "+opID, err)
	}
	if op.ErrorCode != 0 {
		return realization{}, status.Errorf(codes.Code(op.ErrorCode), "making %s %q real in cloud %q: %s", g.Kind, g.Name, cl.Name, op.ErrorMessage)
	}
	rs, err := s.realizations(ctx, g.ID)
	if err != nil {
		return realization{}, err
	}
	for _, r := range rs {
		if r.ID == id {
			return r, nil
		}
	}
	return realization{}, status.Errorf(codes.Aborted, "%s %q: its realization in cloud %q is gone (deleted meanwhile?): try again", g.Kind, g.Name, cl.Name)
}

func (s *networkService) registerRealizeJobs(r *jobs.Runner) {
	r.Register(opNetDefine, jobs.Kind{First: "define", Steps: map[string]jobs.Step{"define": s.define}})
	r.Register(opGlobalDelete, jobs.Kind{First: "delete", Steps: map[string]jobs.Step{"delete": s.undefine}})
	r.Register(opNetworkRealize, jobs.Kind{First: "network", Steps: map[string]jobs.Step{
		"network": s.realizeStep(s.realizeNetwork), "subnet": s.realizeStep(s.realizeSubnet),
		"router": s.realizeStep(s.realizeRouter), "done": s.realizeStep(s.realizeDone)}})
	r.Register(opGroupRealize, jobs.Kind{First: "group", Steps: map[string]jobs.Step{
		"group": s.realizeStep(s.realizeGroup), "rules": s.realizeStep(s.realizeRules), "done": s.realizeStep(s.realizeDone)}})
}

type realizeStepFn func(ctx context.Context, op *store.Operation, cl *router.Cloud, g globalRecord, r *realization) (jobs.Result, error)

// realizeStep loads the definition and the realization record, runs the
// step, and records the realization it leaves.
func (s *networkService) realizeStep(fn realizeStepFn) jobs.Step {
	return func(ctx context.Context, op *store.Operation) (jobs.Result, error) {
		var job realizeJob
		if err := json.Unmarshal(op.Spec, &job); err != nil {
			return jobs.Result{}, status.Errorf(codes.Internal, "operation %s: corrupt spec: %v", op.ID, err)
		}
		cl, ok := s.rt.Cloud(op.Cloud)
		if !ok || cl.Net == nil {
			return jobs.Result{}, status.Errorf(codes.FailedPrecondition, "cloud %q is no longer configured with networks", op.Cloud)
		}
		raw, err := s.store.GetRecord(ctx, globalNamespace, job.Global)
		if err != nil {
			return jobs.Result{}, status.Errorf(codes.NotFound, "global %s is gone", job.Global)
		}
		var g globalRecord
		if err := json.Unmarshal(raw, &g); err != nil {
			return jobs.Result{}, status.Errorf(codes.Internal, "global %s: corrupt record: %v", job.Global, err)
		}
		rs, err := s.realizations(ctx, g.ID)
		if err != nil {
			return jobs.Result{}, err
		}
		var r realization
		found := false
		for _, x := range rs {
			if x.Cloud == cl.Name && x.ID == op.TargetID {
				r, found = x, true
			}
		}
		if !found {
			r = realization{Cloud: cl.Name, ID: op.TargetID, Op: op.ID, Scope: job.Scope, Key: job.Key}
		}
		if op.State == nil {
			op.State = map[string]string{}
		}
		res, err := fn(ctx, op, cl, g, &r)
		if err != nil {
			return res, err
		}
		if perr := s.putRealization(ctx, g.ID, r); perr != nil {
			return jobs.Result{}, perr
		}
		return res, nil
	}
}

// carve claims this cloud's block of a global network's range: the one it
// claimed before (a repeated step), else the first free one. A block
// overlapping a subnet the cloud already has is skipped, so the new
// network can be routed next to what is there.
func (s *networkService) carve(ctx context.Context, cl *router.Cloud, g globalRecord) (string, error) {
	pool, err := netip.ParsePrefix(g.CIDR)
	if err != nil {
		return "", status.Errorf(codes.Internal, "global network %s: bad range %q", g.ID, g.CIDR)
	}
	claimed, err := s.store.ListRecords(ctx, carvedNamespace, g.ID+"/")
	if err != nil {
		return "", router.StoreErr("list blocks of "+g.ID, err)
	}
	for _, c := range claimed {
		if string(c.Value) == cl.Name {
			return c.Key[len(g.ID)+1:], nil
		}
	}
	subs, err := cl.Net.ListSubnets(ctx)
	if err != nil {
		return "", stepErr(cl.Name, "list subnets", err)
	}
	var used []netip.Prefix
	for _, x := range subs {
		if p, err := netip.ParsePrefix(x.CIDR); err == nil {
			used = append(used, p)
		}
	}
	for b := range blocks(pool, g.Prefix) {
		if overlapsAny(b, used) {
			continue
		}
		cur, created, err := s.store.CreateRecord(ctx, carvedNamespace, g.ID+"/"+b.String(), []byte(cl.Name))
		if err != nil {
			return "", router.StoreErr("claim block "+b.String(), err)
		}
		if created || string(cur) == cl.Name {
			return b.String(), nil
		}
	}
	return "", status.Errorf(codes.ResourceExhausted, "global network %q: its range %s has no free /%d block left for cloud %q", g.Name, g.CIDR, g.Prefix, cl.Name)
}

// blocks yields the blocks of prefix length bits that make up pool, in
// order.
func blocks(pool netip.Prefix, bits int) func(func(netip.Prefix) bool) {
	return func(yield func(netip.Prefix) bool) {
		if bits < pool.Bits() || bits > pool.Addr().BitLen() {
			return
		}
		a := pool.Addr()
		for pool.Contains(a) {
			b := netip.PrefixFrom(a, bits)
			if !yield(b) {
				return
			}
			next := lastAddr(b).Next()
			if !next.IsValid() {
				return
			}
			a = next
		}
	}
}

func overlapsAny(p netip.Prefix, in []netip.Prefix) bool {
	for _, q := range in {
		if p.Overlaps(q) {
			return true
		}
	}
	return false
}

// realizeNetwork carves the block and makes the cloud's network (its CIDR
// the block, on clouds whose networks have one).
func (s *networkService) realizeNetwork(ctx context.Context, op *store.Operation, cl *router.Cloud, g globalRecord, r *realization) (jobs.Result, error) {
	block, err := s.carve(ctx, cl, g)
	if err != nil {
		return jobs.Result{}, err
	}
	r.CIDR = block
	x, err := cl.Net.CreateNetwork(ctx, providers.NetworkSpec{Name: g.Name, CIDR: block, Labels: globalLabels(g),
		IdempotencyToken: r.ID, Replay: jobs.Repeated(ctx)})
	if err != nil {
		return jobs.Result{}, stepErr(cl.Name, "create network", err)
	}
	failpoint.Hit("net.realize:network")
	if _, err := s.store.Bind(ctx, r.ID, x.NativeID); err != nil {
		return jobs.Result{}, router.StoreErr("bind network "+x.NativeID, err)
	}
	if x.CIDR == "" {
		_ = s.store.PutRecord(ctx, networkNamespace, r.ID, []byte(block))
	}
	r.Native = x.NativeID
	// The subnet's id, allocated now so the next step's token survives a
	// crash.
	op.State["subnet"] = store.NewID()
	return jobs.Result{Next: "subnet", Progress: 40}, nil
}

func globalLabels(g globalRecord) map[string]string {
	out := map[string]string{"canopy-global": g.ID}
	for k, v := range g.Labels {
		out[k] = v
	}
	return out
}

func (s *networkService) realizeSubnet(ctx context.Context, op *store.Operation, cl *router.Cloud, g globalRecord, r *realization) (jobs.Result, error) {
	id := op.State["subnet"]
	if _, _, err := s.store.Reserve(ctx, store.Mapping{ID: id, Cloud: cl.Name, Kind: providers.KindSubnet, Project: g.Project}); err != nil && !errors.Is(err, store.ErrConflict) {
		return jobs.Result{}, router.StoreErr("reserve subnet "+id, err)
	}
	x, err := cl.Net.CreateSubnet(ctx, providers.SubnetSpec{Name: g.Name, NetworkID: r.Native, CIDR: r.CIDR, Labels: globalLabels(g),
		IdempotencyToken: id, Replay: jobs.Repeated(ctx)})
	if err != nil {
		return jobs.Result{}, stepErr(cl.Name, "create subnet "+r.CIDR, err)
	}
	if _, err := s.store.Bind(ctx, id, x.NativeID); err != nil {
		return jobs.Result{}, router.StoreErr("bind subnet "+x.NativeID, err)
	}
	r.Subnet, r.SubnetNative = id, x.NativeID
	if g.Gateway {
		op.State["router"] = store.NewID()
		return jobs.Result{Next: "router", Progress: 70}, nil
	}
	return jobs.Result{Next: "done", Progress: 90}, nil
}

// realizeRouter gives the realization a router with a gateway on the
// cloud's only external network, its subnet attached.
func (s *networkService) realizeRouter(ctx context.Context, op *store.Operation, cl *router.Cloud, g globalRecord, r *realization) (jobs.Result, error) {
	if !cl.Net.Has(providers.CapRouters) {
		return jobs.Result{}, router.CapabilityErr(cl.Name, providers.CapRouters)
	}
	ext, err := s.externalNetwork(ctx, cl, "gateway", "")
	if err != nil {
		return jobs.Result{}, err
	}
	id := op.State["router"]
	if _, _, err := s.store.Reserve(ctx, store.Mapping{ID: id, Cloud: cl.Name, Kind: providers.KindRouter, Project: g.Project}); err != nil && !errors.Is(err, store.ErrConflict) {
		return jobs.Result{}, router.StoreErr("reserve router "+id, err)
	}
	x, err := cl.Net.CreateRouter(ctx, providers.RouterSpec{Name: g.Name, ExternalNetworkID: ext, Labels: globalLabels(g), IdempotencyToken: id, Replay: jobs.Repeated(ctx)})
	if err != nil {
		return jobs.Result{}, stepErr(cl.Name, "create router", err)
	}
	if _, err := s.store.Bind(ctx, id, x.NativeID); err != nil {
		return jobs.Result{}, router.StoreErr("bind router "+x.NativeID, err)
	}
	r.Router, r.RouterNative = id, x.NativeID
	attached := false
	for _, i := range x.Interfaces {
		attached = attached || i.SubnetID == r.SubnetNative
	}
	if !attached {
		if _, err := cl.Net.AddRouterInterface(ctx, x.NativeID, r.SubnetNative); err != nil && !(errors.Is(err, providers.ErrConflict) && jobs.Repeated(ctx)) {
			return jobs.Result{}, stepErr(cl.Name, "add subnet to router", err)
		}
	}
	return jobs.Result{Next: "done", Progress: 90}, nil
}

// realizeGroup makes the cloud's group (rules come next), in the network
// of its scope on clouds whose groups belong to one.
func (s *networkService) realizeGroup(ctx context.Context, op *store.Operation, cl *router.Cloud, g globalRecord, r *realization) (jobs.Result, error) {
	x, err := cl.Net.CreateSecurityGroup(ctx, providers.SecurityGroupSpec{Name: g.Name, Description: g.Description, Labels: globalLabels(g),
		NetworkID: r.Scope, IdempotencyToken: r.ID, Replay: jobs.Repeated(ctx)})
	if err != nil {
		return jobs.Result{}, stepErr(cl.Name, "create security group", err)
	}
	if _, err := s.store.Bind(ctx, r.ID, x.NativeID); err != nil {
		return jobs.Result{}, router.StoreErr("bind security group "+x.NativeID, err)
	}
	r.Native, r.GroupNetwork = x.NativeID, x.NetworkID
	return jobs.Result{Next: "rules", Progress: 50}, nil
}

// realizeRules brings the new group's rules to the definition's
// (network_reconcile.go's sync, the same the reconcile loop runs).
func (s *networkService) realizeRules(ctx context.Context, op *store.Operation, cl *router.Cloud, g globalRecord, r *realization) (jobs.Result, error) {
	if _, _, err := s.syncGroup(ctx, cl, g, *r); err != nil {
		return jobs.Result{}, err
	}
	return jobs.Result{Next: "done", Progress: 90}, nil
}

func (s *networkService) realizeDone(ctx context.Context, op *store.Operation, cl *router.Cloud, g globalRecord, r *realization) (jobs.Result, error) {
	r.Done = true
	return jobs.Result{Done: true, Progress: 100, Response: nil}, nil
}
