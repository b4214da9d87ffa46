package server

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/internal/failpoint"
	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/router"
	"github.com/canopy-cloud/canopy/store"
)

// serversPB converts one cloud's servers, mapping every native id (server,
// flavor, image) to its canopy id in three batched store calls; crash
// duplicates are left out (router.Claimed).
func (s serverViews) serversPB(ctx context.Context, cl *router.Cloud, list []providers.Server) ([]*canopyv1.Server, error) {
	var del func(context.Context, string) error
	if cl.Compute != nil {
		del = cl.Compute.DeleteServer
	}
	list, ids, err := router.Claimed(ctx, s.rt, cl, providers.KindServer, list, func(sv providers.Server) providers.Common { return sv.Common }, del)
	if err != nil {
		return nil, err
	}
	flvN, imgN := make([]string, len(list)), make([]string, len(list))
	for i, sv := range list {
		flvN[i], imgN[i] = sv.FlavorID, sv.ImageID
	}
	fids, err := s.rt.Adopt(ctx, cl, providers.KindFlavor, flvN)
	if err != nil {
		return nil, err
	}
	iids, err := s.rt.Adopt(ctx, cl, providers.KindImage, imgN)
	if err != nil {
		return nil, err
	}
	out := make([]*canopyv1.Server, len(list))
	for i, sv := range list {
		m := ids[sv.NativeID]
		out[i] = serverPB(cl.Name, m.ID, sv, fids[sv.FlavorID].ID, iids[sv.ImageID].ID)
		out[i].Location.Project = m.Project
	}
	return out, nil
}

// serverPB1 converts one server whose mapping is known. When the server is
// the one m is bound to and carries no other id's token there is nothing
// to claim, and only its flavor and image are mapped (the cached
// GetServer path: no batch maps); otherwise the list path decides.
func (s serverViews) serverPB1(ctx context.Context, cl *router.Cloud, m store.Mapping, sv providers.Server) (*canopyv1.Server, error) {
	if tok := sv.Properties[providers.PropToken]; (tok == "" || tok == m.ID) && sv.NativeID == m.NativeID {
		f, err := s.rt.AdoptOne(ctx, cl, providers.KindFlavor, sv.FlavorID)
		if err != nil {
			return nil, err
		}
		i, err := s.rt.AdoptOne(ctx, cl, providers.KindImage, sv.ImageID)
		if err != nil {
			return nil, err
		}
		out := serverPB(cl.Name, m.ID, sv, f.ID, i.ID)
		out.Location.Project = m.Project
		return out, nil
	}
	id := m.ID
	out, err := s.serversPB(ctx, cl, []providers.Server{sv})
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, status.Errorf(codes.NotFound, "server %s: cloud %q shows only a duplicate of it", id, cl.Name)
	}
	out[0].Id = id
	return out[0], nil
}

func (s serverViews) cloudServers(ctx context.Context, cl *router.Cloud) ([]*canopyv1.Server, error) {
	c, err := cl.ComputeOrFail()
	if err != nil {
		return nil, err
	}
	list, err := c.ListServers(ctx)
	if err != nil {
		return nil, router.CloudErr(cl.Name, "list servers", err)
	}
	return cl.ServerMemo.Convert(list, func() ([]*canopyv1.Server, error) {
		out, err := s.serversPB(ctx, cl, list)
		// In list order once, when converted: every list of this cloud
		// alone then pages without sorting (router.Paginate).
		sort.Slice(out, func(i, j int) bool { return serverKey(out[i]) < serverKey(out[j]) })
		return out, err
	})
}

func serverKey(sv *canopyv1.Server) string {
	return router.SortKey(sv.Location.GetCloud(), sv.Name, sv.Id)
}

// ListServers implements canopyv1.ComputeServiceServer.
func (s *computeService) ListServers(ctx context.Context, req *canopyv1.ListServersRequest) (*canopyv1.ListServersResponse, error) {
	if err := checkServerKind("kind", req.GetKind()); err != nil {
		return nil, err
	}
	q := router.Query{PageSize: req.GetPageSize(), PageToken: req.GetPageToken(), Location: req.GetLocation(), Labels: req.GetLabels(), Filters: []any{"servers", req.GetName(), req.GetStatus(), req.GetKind()}}
	page, next, errs, err := router.List(ctx, s.rt, q, s.cloudServers, func(sv *canopyv1.Server) bool {
		return sv.Location.GetProject() == project(ctx) && (req.GetName() == "" || sv.Name == req.GetName()) && (req.GetStatus() == 0 || sv.Status == req.GetStatus()) &&
			(req.GetKind() == 0 || sv.Kind == req.GetKind()) && router.MatchLabels(req.GetLabels(), sv.Labels) && router.MatchLocation(req.GetLocation(), sv.Location.GetRegion(), sv.Location.GetZone())
	})
	if err != nil {
		return nil, err
	}
	return &canopyv1.ListServersResponse{Servers: page, NextPageToken: next, CloudErrors: errs, Unreachable: router.Unreachable(errs)}, nil
}

// findServer resolves the `id` field (canopy id or name) to a cloud, a
// mapping and the server's current state.
func (s *computeService) findServer(ctx context.Context, v string) (*router.Cloud, store.Mapping, *canopyv1.Server, error) {
	cl, m, err := router.Find(ctx, s.rt, providers.KindServer, "id", v, s.cloudServers)
	if err != nil {
		return nil, m, nil, err
	}
	if m.Pending() {
		// canopy allocated the id but the cloud has not answered yet.
		return cl, m, &canopyv1.Server{Id: m.ID, Location: &canopyv1.Location{Cloud: cl.Name}, Status: canopyv1.Status_STATUS_PENDING, CreateTime: ts(m.Created), Kind: cloudServerKind(cl)}, nil
	}
	c, err := cl.ComputeOrFail()
	if err != nil {
		return nil, m, nil, err
	}
	sv, err := c.GetServer(ctx, m.NativeID)
	if errors.Is(err, providers.ErrNotFound) {
		// Deleted behind canopy's back, or a delete that did not wait has
		// finished: forget the mapping.
		_ = s.store.Delete(ctx, m.ID)
		return nil, m, nil, router.NotFound(providers.KindServer, m.ID)
	}
	if err != nil {
		return nil, m, nil, router.CloudErr(cl.Name, "get server "+m.NativeID, err)
	}
	out, err := s.serverPB1(ctx, cl, m, sv)
	return cl, m, out, err
}

// GetServer implements canopyv1.ComputeServiceServer.
func (s *computeService) GetServer(ctx context.Context, req *canopyv1.GetServerRequest) (*canopyv1.Server, error) {
	_, _, sv, err := s.findServer(ctx, req.GetId())
	return sv, err
}

// CreateServer implements canopyv1.ComputeServiceServer. The canopy id is
// allocated and made durable before the cloud is called, so a client never
// holds an id canopy could forget.
func (s *computeService) CreateServer(ctx context.Context, req *canopyv1.CreateServerRequest) (*canopyv1.Server, error) {
	if err := router.CheckName("name", req.GetName()); err != nil {
		return nil, err
	}
	if req.GetFlavor() == "" {
		return nil, router.BadRequest("flavor", "required: a canopy id or a name")
	}
	if req.GetImage() == "" && req.GetBootVolume() == "" {
		return nil, router.BadRequest("image", "required: a canopy id or a name (or set boot_volume)")
	}
	if err := router.CheckLabels("labels", req.GetLabels()); err != nil {
		return nil, err
	}
	if len(req.GetUserData()) > router.MaxUserData {
		return nil, router.BadRequest("user_data", "at most %d bytes, got %d", router.MaxUserData, len(req.GetUserData()))
	}
	if err := router.CheckRequestID(req.GetRequestId()); err != nil {
		return nil, err
	}
	if req.GetAutoIp() && !req.GetWait() {
		return nil, router.BadRequest("auto_ip", "needs wait: the floating IP is associated once the server is ACTIVE")
	}
	cl, err := s.rt.RouteCreate(req.GetLocation())
	if err != nil {
		return nil, err
	}
	c, err := cl.ComputeOrFail()
	if err != nil {
		return nil, err
	}
	networks, ports, groups, err := s.net.serverNet(ctx, cl, req) // network_servers.go
	if err != nil {
		return nil, err
	}
	flavor, err := s.rt.ResolveIn(ctx, cl, providers.KindFlavor, "flavor", req.GetFlavor(), flavorNames(c))
	if err != nil {
		return nil, err
	}
	var image string
	if req.GetImage() != "" {
		image, err = s.rt.ResolveIn(ctx, cl, providers.KindImage, "image", req.GetImage(), imageNames(c))
		if status.Code(err) == codes.InvalidArgument {
			// An image of another cloud is placed in this one first
			// (image_replicate.go), then booted from there.
			if id, placed, perr := s.placeForServer(ctx, cl, req.GetImage()); perr != nil {
				return nil, perr
			} else if placed {
				image, err = s.rt.ResolveIn(ctx, cl, providers.KindImage, "image", id, imageNames(c))
			}
		}
		if err != nil {
			return nil, err
		}
	}
	boot, err := s.boot.planBoot(ctx, cl, req) // emulate_boot.go
	if err != nil {
		return nil, err
	}
	if kp := req.GetKeypair(); kp != "" {
		if _, err := c.GetKeypair(ctx, kp); router.IsNotFound(err) {
			return nil, router.BadRequest("keypair", "no keypair %q in cloud %q", kp, cl.Name)
		} else if err != nil {
			return nil, router.CloudErr(cl.Name, "get keypair "+kp, err)
		}
	}

	m, created, err := s.store.Reserve(ctx, store.Mapping{Cloud: cl.Name, Kind: providers.KindServer, Project: project(ctx), RequestID: req.GetRequestId()})
	if err != nil {
		return nil, router.StoreErr("reserve server id", err)
	}
	if !created && !m.Pending() {
		// A retry of a create that completed: the same server, not a second
		// — in the state it is in now, when it has since been deleted.
		sv, err := s.afterAction(ctx, cl, m, req.GetWait(), time.Time{}, "ACTIVE or deleted", func(sv providers.Server, present bool) bool {
			return !present || sv.Status == providers.StatusActive || sv.Status == providers.StatusDeleting || sv.Status == providers.StatusDeleted
		})
		if status.Code(err) == codes.NotFound {
			return &canopyv1.Server{Id: m.ID, NativeId: m.NativeID, Name: req.GetName(), Location: &canopyv1.Location{Cloud: cl.Name, Project: m.Project},
				Status: canopyv1.Status_STATUS_DELETED, ProviderStatus: "DELETED", Kind: cloudServerKind(cl)}, nil
		}
		if err == nil && req.GetAutoIp() && sv.GetStatus() == canopyv1.Status_STATUS_ACTIVE {
			return s.withAutoIP(ctx, cl, m, sv.GetLocation().GetZone(), true) // the first attempt may have stopped before its floating IP
		}
		return sv, err
	}
	failpoint.Hit("rpc/server.create:reserved")
	spec := providers.ServerSpec{
		Name: req.GetName(), Zone: req.GetLocation().GetZone(), FlavorID: flavor, ImageID: image,
		Keypair: req.GetKeypair(), Networks: networks, Ports: ports, SecurityGroupIDs: groups, UserData: req.GetUserData(), Labels: req.GetLabels(),
		IdempotencyToken: m.ID, Replay: !created, Project: project(ctx),
	}
	if err := boot.begin(ctx, &spec, m.ID); err != nil {
		return nil, err
	}
	sv, err := c.CreateServer(ctx, spec)
	if err != nil {
		if created && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
			// The cloud refused: nothing exists, so the id is released.
			_ = s.store.Delete(context.WithoutCancel(ctx), m.ID)
			boot.abort(context.WithoutCancel(ctx))
		}
		return nil, router.CloudErr(cl.Name, "create server", err)
	}
	if m, err = s.store.Bind(context.WithoutCancel(ctx), m.ID, sv.NativeID); err != nil {
		return nil, router.StoreErr("bind server "+sv.NativeID, err)
	}
	failpoint.Hit("rpc/server.create:bound")
	if err := boot.done(context.WithoutCancel(ctx), sv); err != nil {
		return nil, err
	}
	if req.GetWait() {
		out, err := s.afterAction(ctx, cl, m, true, time.Time{}, "ACTIVE", statusIs(providers.StatusActive))
		if err != nil || !req.GetAutoIp() {
			return out, err
		}
		return s.withAutoIP(ctx, cl, m, out.GetLocation().GetZone(), !created)
	}
	return s.serverPB1(ctx, cl, m, sv)
}

// withAutoIP associates a floating IP with a new, ACTIVE server and
// answers with the server as the cloud shows it then. replay says a first
// attempt of this create may have allocated one already.
func (s *computeService) withAutoIP(ctx context.Context, cl *router.Cloud, m store.Mapping, zone string, replay bool) (*canopyv1.Server, error) {
	if err := s.net.autoIP(ctx, cl, m, zone, replay); err != nil {
		return nil, err
	}
	return s.afterAction(ctx, cl, m, true, time.Time{}, "ACTIVE with a floating address", func(sv providers.Server, present bool) bool {
		if !present {
			return true
		}
		for _, a := range sv.Addresses {
			if a.Type == "floating" {
				return true
			}
		}
		return false
	})
}

func statusIs(want providers.Status) func(providers.Server, bool) bool {
	return func(sv providers.Server, present bool) bool { return present && sv.Status == want }
}

// afterAction returns the server once done holds (when wait is set) or as
// it is now. since is when the action was sent (what the cloud announced
// before does not count; zero: everything counts, as for a new server).
func (s *computeService) afterAction(ctx context.Context, cl *router.Cloud, m store.Mapping, wait bool, since time.Time, what string, done func(providers.Server, bool) bool) (*canopyv1.Server, error) {
	if wait {
		sv, present, err := s.waitServer(ctx, cl, m, what, since, done)
		if err != nil {
			return nil, err
		}
		if !present {
			return nil, router.NotFound(providers.KindServer, m.ID)
		}
		return s.serverPB1(ctx, cl, m, sv)
	}
	sv, err := cl.Compute.GetServer(ctx, m.NativeID)
	if err != nil {
		return nil, router.CloudErr(cl.Name, "get server "+m.NativeID, err)
	}
	return s.serverPB1(ctx, cl, m, sv)
}

// DeleteServer implements canopyv1.ComputeServiceServer.
func (s *computeService) DeleteServer(ctx context.Context, req *canopyv1.DeleteServerRequest) (*canopyv1.Server, error) {
	cl, m, cur, err := s.findServer(ctx, req.GetId())
	if status.Code(err) == codes.NotFound && req.GetAllowMissing() {
		return &canopyv1.Server{Id: req.GetId(), Status: canopyv1.Status_STATUS_DELETED, ProviderStatus: "DELETED"}, nil
	}
	if err != nil {
		return nil, err
	}
	if m.Pending() {
		return nil, status.Errorf(codes.FailedPrecondition, "server %s is still being created in cloud %q; delete it once it has a native id", m.ID, cl.Name)
	}
	if err := cl.Compute.DeleteServer(ctx, m.NativeID); errors.Is(err, providers.ErrNotFound) {
		// Gone from the cloud while canopy still maps it: an earlier delete
		// finished there before canopy forgot the id (it crashed, or the
		// server was deleted behind its back). The delete is done.
		if err := s.store.Delete(context.WithoutCancel(ctx), m.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, router.StoreErr("forget server "+m.ID, err)
		}
		cur.Status, cur.ProviderStatus = canopyv1.Status_STATUS_DELETED, "DELETED"
		return cur, nil
	} else if err != nil {
		return nil, router.CloudErr(cl.Name, "delete server "+m.NativeID, err)
	}
	failpoint.Hit("rpc/server.delete:sent")
	if req.GetWait() {
		if _, _, err := s.waitServer(ctx, cl, m, "deleted", time.Time{}, func(_ providers.Server, present bool) bool { return !present }); err != nil {
			return nil, err
		}
		if err := s.store.Delete(context.WithoutCancel(ctx), m.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, router.StoreErr("forget server "+m.ID, err)
		}
		cur.Status, cur.ProviderStatus = canopyv1.Status_STATUS_DELETED, "DELETED"
		return cur, nil
	}
	sv, err := cl.Compute.GetServer(ctx, m.NativeID)
	if errors.Is(err, providers.ErrNotFound) {
		_ = s.store.Delete(context.WithoutCancel(ctx), m.ID)
		cur.Status, cur.ProviderStatus = canopyv1.Status_STATUS_DELETED, "DELETED"
		return cur, nil
	}
	if err != nil {
		return nil, router.CloudErr(cl.Name, "get server "+m.NativeID, err)
	}
	return s.serverPB1(ctx, cl, m, sv)
}

// serverAction runs start/stop/reboot and optionally waits for the result.
func (s *computeService) serverAction(ctx context.Context, id string, action providers.Action, wait bool, what string, want providers.Status) (*canopyv1.Server, error) {
	cl, m, _, err := s.findServer(ctx, id)
	if err != nil {
		return nil, err
	}
	if m.Pending() {
		return nil, status.Errorf(codes.FailedPrecondition, "server %s is still being created in cloud %q", m.ID, cl.Name)
	}
	sent := time.Now()
	if err := cl.Compute.ServerAction(ctx, m.NativeID, action); err != nil {
		return nil, router.CloudErr(cl.Name, fmt.Sprintf("%s server %s", action, m.NativeID), err)
	}
	return s.afterAction(ctx, cl, m, wait, sent, what, statusIs(want))
}

// StartServer implements canopyv1.ComputeServiceServer.
func (s *computeService) StartServer(ctx context.Context, req *canopyv1.StartServerRequest) (*canopyv1.Server, error) {
	return s.serverAction(ctx, req.GetId(), providers.ActionStart, req.GetWait(), "ACTIVE", providers.StatusActive)
}

// StopServer implements canopyv1.ComputeServiceServer.
func (s *computeService) StopServer(ctx context.Context, req *canopyv1.StopServerRequest) (*canopyv1.Server, error) {
	return s.serverAction(ctx, req.GetId(), providers.ActionStop, req.GetWait(), "STOPPED", providers.StatusStopped)
}

// RebootServer implements canopyv1.ComputeServiceServer.
func (s *computeService) RebootServer(ctx context.Context, req *canopyv1.RebootServerRequest) (*canopyv1.Server, error) {
	action := providers.ActionReboot
	if req.GetHard() {
		action = providers.ActionHardReboot
	}
	return s.serverAction(ctx, req.GetId(), action, req.GetWait(), "ACTIVE", providers.StatusActive)
}
