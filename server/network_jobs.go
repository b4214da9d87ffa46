package server

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/internal/failpoint"
	"github.com/canopy-cloud/canopy/jobs"
	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/router"
	"github.com/canopy-cloud/canopy/store"
)

// Networking operation kinds are "<kind>.create" and "<kind>.delete" for
// each providers.Kind* of networking.
var netKinds = []string{providers.KindNetwork, providers.KindSubnet, providers.KindPort, providers.KindRouter, providers.KindSecurityGroup, providers.KindFloatingIP}

func opNetCreate(kind string) string { return kind + ".create" }
func opNetDelete(kind string) string { return kind + ".delete" }

// isNetCreate reports whether an operation kind creates a networking
// resource.
func isNetCreate(op string) bool {
	kind, verb, _ := strings.Cut(op, ".")
	for _, k := range netKinds {
		if k == kind {
			return verb == "create"
		}
	}
	return false
}

// selfGroup stands, in a recorded rule, for the group the operation
// creates (a rule whose remote is the group itself).
const selfGroup = "self"

// netJob is what a networking operation records: the create's spec, every
// reference resolved to a native id at request time, or the delete's
// target and its last view.
type netJob struct {
	Network *providers.NetworkSpec       `json:"network,omitempty"`
	CIDR    string                       `json:"cidr,omitempty"` // a network's range canopy keeps
	Subnet  *providers.SubnetSpec        `json:"subnet,omitempty"`
	Port    *providers.PortSpec          `json:"port,omitempty"`
	Router  *providers.RouterSpec        `json:"router,omitempty"`
	Group   *providers.SecurityGroupSpec `json:"group,omitempty"`
	Rules   []providers.SecurityRule     `json:"rules,omitempty"`
	FIP     *providers.FloatingIPSpec    `json:"fip,omitempty"`
	Server  string                       `json:"server,omitempty"` // native server a new floating IP goes to
	Native  string                       `json:"native,omitempty"` // what a delete deletes
	Last    []byte                       `json:"last,omitempty"`   // a delete's answer
}

func (s *networkService) registerJobs(r *jobs.Runner) {
	for _, kind := range netKinds {
		r.Register(opNetCreate(kind), jobs.Kind{First: "create", Undoable: always, Undo: s.undoCreate, Fail: s.failCreate,
			Steps: map[string]jobs.Step{"create": s.netStep(s.create), "rules": s.netStep(s.addRules), "associate": s.netStep(s.associateNew)}})
		r.Register(opNetDelete(kind), jobs.Kind{First: "delete", Steps: map[string]jobs.Step{"delete": s.netStep(s.delete)}})
	}
}

func (s *networkService) netStep(fn func(ctx context.Context, op *store.Operation, cl *router.Cloud, job netJob) (jobs.Result, error)) jobs.Step {
	return func(ctx context.Context, op *store.Operation) (jobs.Result, error) {
		var job netJob
		if err := json.Unmarshal(op.Spec, &job); err != nil {
			return jobs.Result{}, status.Errorf(codes.Internal, "operation %s: corrupt spec: %v", op.ID, err)
		}
		cl, ok := s.rt.Cloud(op.Cloud)
		if !ok || cl.Net == nil {
			return jobs.Result{}, status.Errorf(codes.FailedPrecondition, "cloud %q is no longer configured with networks", op.Cloud)
		}
		if op.State == nil {
			op.State = map[string]string{}
		}
		return fn(ctx, op, cl, job)
	}
}

// create makes the resource with the operation's target id as its token:
// a repeated step (a crash after the cloud made it) finds that resource
// instead of making a second one.
func (s *networkService) create(ctx context.Context, op *store.Operation, cl *router.Cloud, job netJob) (jobs.Result, error) {
	token, replay := op.TargetID, jobs.Repeated(ctx)
	kind, _, _ := strings.Cut(op.Kind, ".")
	// The request reserved the id after recording the operation; a crash
	// between the two leaves the operation, resumed at restart, without
	// it — and a resource made then could not be bound. Reserving is a
	// no-op when done.
	if err := s.ops.reserve(ctx, *op, kind); err != nil {
		return jobs.Result{}, err
	}
	var native string
	var err error
	n := cl.Net
	switch kind {
	case providers.KindNetwork:
		spec := *job.Network
		spec.IdempotencyToken, spec.Replay = token, replay
		var x providers.Network
		x, err = n.CreateNetwork(ctx, spec)
		native = x.NativeID
		if err == nil && x.CIDR == "" && job.CIDR != "" {
			if perr := s.store.PutRecord(ctx, networkNamespace, op.TargetID, []byte(job.CIDR)); perr != nil {
				return jobs.Result{}, router.StoreErr("record network "+op.TargetID, perr)
			}
		}
	case providers.KindSubnet:
		spec := *job.Subnet
		spec.IdempotencyToken, spec.Replay = token, replay
		var x providers.Subnet
		x, err = n.CreateSubnet(ctx, spec)
		native = x.NativeID
	case providers.KindPort:
		spec := *job.Port
		spec.IdempotencyToken, spec.Replay = token, replay
		var x providers.Port
		x, err = n.CreatePort(ctx, spec)
		native = x.NativeID
	case providers.KindRouter:
		spec := *job.Router
		spec.IdempotencyToken, spec.Replay = token, replay
		var x providers.Router
		x, err = n.CreateRouter(ctx, spec)
		native = x.NativeID
	case providers.KindSecurityGroup:
		spec := *job.Group
		spec.IdempotencyToken, spec.Replay = token, replay
		var x providers.SecurityGroup
		x, err = n.CreateSecurityGroup(ctx, spec)
		native = x.NativeID
	case providers.KindFloatingIP:
		spec := *job.FIP
		spec.IdempotencyToken, spec.Replay = token, replay
		var x providers.FloatingIP
		x, err = n.AllocateFloatingIP(ctx, spec)
		native = x.NativeID
	default:
		return jobs.Result{}, status.Errorf(codes.Internal, "operation %s: unknown kind %q", op.ID, op.Kind)
	}
	if err != nil {
		return jobs.Result{}, stepErr(cl.Name, "create "+kind, err)
	}
	failpoint.Hit("net.create:created")
	if _, err := s.store.Bind(ctx, op.TargetID, native); err != nil {
		return jobs.Result{}, router.StoreErr("bind "+kind+" "+native, err)
	}
	op.State["native"] = native
	switch {
	case len(job.Rules) > 0:
		return jobs.Result{Next: "rules", Progress: 50}, nil
	case job.Server != "":
		return jobs.Result{Next: "associate", Progress: 50}, nil
	}
	return s.finishCreate(ctx, op, cl, kind, native)
}

// addRules adds a new group's rules; a repeated step skips those the
// cloud already holds.
func (s *networkService) addRules(ctx context.Context, op *store.Operation, cl *router.Cloud, job netJob) (jobs.Result, error) {
	native := op.State["native"]
	for _, r := range job.Rules {
		if r.RemoteGroupID == selfGroup {
			r.RemoteGroupID = native
		}
		_, err := cl.Net.AddSecurityRule(ctx, native, r)
		if errors.Is(err, providers.ErrAlreadyExists) && jobs.Repeated(ctx) {
			continue
		}
		if err != nil {
			return jobs.Result{}, stepErr(cl.Name, "add rule to security group "+native, err)
		}
	}
	return s.finishCreate(ctx, op, cl, providers.KindSecurityGroup, native)
}

// associateNew associates a new floating IP with the server the request
// named.
func (s *networkService) associateNew(ctx context.Context, op *store.Operation, cl *router.Cloud, job netJob) (jobs.Result, error) {
	native := op.State["native"]
	if err := cl.Net.AssociateFloatingIP(ctx, native, "", job.Server); err != nil {
		if x, gerr := cl.Net.GetFloatingIP(ctx, native); !(jobs.Repeated(ctx) && gerr == nil && x.ServerID == job.Server) {
			return jobs.Result{}, stepErr(cl.Name, "associate floating IP "+native, err)
		}
	}
	return s.finishCreate(ctx, op, cl, providers.KindFloatingIP, native)
}

// finishCreate ends a create with the resource as its response.
func (s *networkService) finishCreate(ctx context.Context, op *store.Operation, cl *router.Cloud, kind, native string) (jobs.Result, error) {
	var out proto.Message
	var err error
	v := &s.netViews
	switch kind {
	case providers.KindNetwork:
		var x *canopyv1.Network
		if x, err = networkKind.describe(ctx, v, cl, native); err == nil {
			err = s.withCIDR(ctx, []*canopyv1.Network{x})
		}
		out = x
	case providers.KindSubnet:
		out, err = subnetKind.describe(ctx, v, cl, native)
	case providers.KindPort:
		out, err = portKind.describe(ctx, v, cl, native)
	case providers.KindRouter:
		out, err = routerKind.describe(ctx, v, cl, native)
	case providers.KindSecurityGroup:
		out, err = securityGroupKind.describe(ctx, v, cl, native)
	case providers.KindFloatingIP:
		out, err = floatingIPKind.describe(ctx, v, cl, native)
	}
	if err != nil {
		return jobs.Result{}, err
	}
	return jobs.Result{Done: true, Response: anyBytes(out), Progress: 100}, nil
}

// failCreate releases the id of a create that made nothing.
func (s *networkService) failCreate(ctx context.Context, op *store.Operation) {
	if op.State["native"] == "" {
		_ = s.store.Delete(ctx, op.TargetID)
		_ = s.store.DeleteRecord(ctx, networkNamespace, op.TargetID)
	}
}

// undoCreate, for a cancelled create, deletes what it made.
func (s *networkService) undoCreate(ctx context.Context, op *store.Operation) error {
	cl, ok := s.rt.Cloud(op.Cloud)
	native := op.State["native"]
	if ok && cl.Net != nil && native != "" {
		kind, _, _ := strings.Cut(op.Kind, ".")
		if err := s.deleteNative(ctx, cl, kind, native); err != nil && !errors.Is(err, providers.ErrNotFound) {
			return errorWrap("delete "+kind+" "+native, err)
		}
	}
	_ = s.store.Delete(ctx, op.TargetID)
	_ = s.store.DeleteRecord(ctx, networkNamespace, op.TargetID)
	return nil
}

func (s *networkService) deleteNative(ctx context.Context, cl *router.Cloud, kind, native string) error {
	n := cl.Net
	switch kind {
	case providers.KindNetwork:
		return n.DeleteNetwork(ctx, native)
	case providers.KindSubnet:
		return n.DeleteSubnet(ctx, native)
	case providers.KindPort:
		return n.DeletePort(ctx, native)
	case providers.KindRouter:
		return n.DeleteRouter(ctx, native)
	case providers.KindSecurityGroup:
		return n.DeleteSecurityGroup(ctx, native)
	case providers.KindFloatingIP:
		return n.ReleaseFloatingIP(ctx, native)
	}
	return status.Errorf(codes.Internal, "unknown networking kind %q", kind)
}

// delete deletes the resource; one already gone is deleted.
func (s *networkService) delete(ctx context.Context, op *store.Operation, cl *router.Cloud, job netJob) (jobs.Result, error) {
	kind, _, _ := strings.Cut(op.Kind, ".")
	err := s.deleteNative(ctx, cl, kind, job.Native)
	if err != nil && !errors.Is(err, providers.ErrNotFound) {
		return jobs.Result{}, stepErr(cl.Name, "delete "+kind+" "+job.Native, err)
	}
	if err := s.store.Delete(ctx, op.TargetID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return jobs.Result{}, router.StoreErr("forget "+op.TargetID, err)
	}
	_ = s.store.DeleteRecord(ctx, networkNamespace, op.TargetID)
	return jobs.Result{Done: true, Response: job.Last, Progress: 100}, nil
}
