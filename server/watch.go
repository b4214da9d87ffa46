package server

import (
	"context"
	"sort"
	"sync"

	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/providers"

	"github.com/canopy-cloud/canopy/router"
)

type watchEvent = canopyv1.WatchServersResponse

// WatchServers implements canopyv1.ComputeServiceServer. Each cloud's
// batched poller feeds the stream, so watchers add no upstream calls beyond
// one list per interval per cloud. The stream sends every matching server
// (ADDED), then SYNCED, then changes in the order the polls saw them.
func (s *computeService) WatchServers(req *canopyv1.WatchServersRequest, stream canopyv1.ComputeService_WatchServersServer) error {
	ctx := stream.Context()
	if err := router.CheckLabels("labels", req.GetLabels()); err != nil {
		return err
	}
	ids := map[string]bool{}
	for i, id := range req.GetIds() {
		v, isID, err := router.IDOrName("ids", id)
		if err != nil || !isID {
			return router.BadRequest("ids", "ids[%d] %q is not a canopy id", i, id)
		}
		ids[v] = true
	}
	targets, err := s.rt.ListTargets(req.GetLocation())
	if err != nil {
		return err
	}
	keep := func(sv *canopyv1.Server) bool {
		return sv.Location.GetProject() == project(ctx) && (len(ids) == 0 || ids[sv.Id]) && (req.GetName() == "" || sv.Name == req.GetName()) &&
			router.MatchLabels(req.GetLabels(), sv.Labels) && router.MatchLocation(req.GetLocation(), sv.Location.GetRegion(), sv.Location.GetZone())
	}

	// Subscribe before the first list, so no change between the two is lost.
	type update struct {
		cl   *router.Cloud
		snap []providers.Server
		err  error
	}
	updates := make(chan update)
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for _, cl := range targets {
		if cl.Servers == nil {
			continue
		}
		ch := cl.Servers.Subscribe(ctx)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for snap := range ch {
				select {
				case updates <- update{cl, snap.Items, snap.Err}:
				case <-ctx.Done():
					return
				}
			}
		}()
	}

	sent := map[string]*canopyv1.Server{} // canopy id → last state sent
	send := func(t canopyv1.WatchServersResponse_EventType, sv *canopyv1.Server) error {
		return stream.Send(&watchEvent{Type: t, Server: sv})
	}
	initial, errs := router.FanOut(ctx, targets, s.cloudServers)
	sort.Slice(initial, func(i, j int) bool { return serverKey(initial[i]) < serverKey(initial[j]) })
	for _, sv := range initial {
		if keep(sv) {
			sent[sv.Id] = sv
			if err := send(canopyv1.WatchServersResponse_EVENT_TYPE_ADDED, sv); err != nil {
				return err
			}
		}
	}
	for _, ce := range errs {
		if err := stream.Send(&watchEvent{Type: canopyv1.WatchServersResponse_EVENT_TYPE_CLOUD_ERROR, CloudError: ce}); err != nil {
			return err
		}
	}
	if err := send(canopyv1.WatchServersResponse_EVENT_TYPE_SYNCED, nil); err != nil {
		return err
	}

	for {
		var u update
		select {
		case <-ctx.Done():
			return nil
		case u = <-updates:
		}
		if u.err != nil {
			st := status.Convert(router.CloudErr(u.cl.Name, "poll servers", u.err))
			if err := stream.Send(&watchEvent{Type: canopyv1.WatchServersResponse_EVENT_TYPE_CLOUD_ERROR,
				CloudError: &canopyv1.CloudError{Cloud: u.cl.Name, Code: int32(st.Code()), Message: st.Message()}}); err != nil {
				return err
			}
			continue
		}
		now, err := s.serversPB(ctx, u.cl, u.snap)
		if err != nil {
			return err
		}
		if err := s.diffAndSend(u.cl.Name, now, keep, sent, send); err != nil {
			return err
		}
	}
}

// diffAndSend compares one cloud's current servers with what the stream
// has sent and sends ADDED, MODIFIED and DELETED events, in a stable order.
func (s *computeService) diffAndSend(cloud string, now []*canopyv1.Server, keep func(*canopyv1.Server) bool, sent map[string]*canopyv1.Server,
	send func(canopyv1.WatchServersResponse_EventType, *canopyv1.Server) error) error {
	sort.Slice(now, func(i, j int) bool { return serverKey(now[i]) < serverKey(now[j]) })
	present := map[string]bool{}
	for _, sv := range now {
		if !keep(sv) {
			continue
		}
		present[sv.Id] = true
		prev, ok := sent[sv.Id]
		switch {
		case !ok:
			sent[sv.Id] = sv
			if err := send(canopyv1.WatchServersResponse_EVENT_TYPE_ADDED, sv); err != nil {
				return err
			}
		case !proto.Equal(prev, sv):
			sent[sv.Id] = sv
			if err := send(canopyv1.WatchServersResponse_EVENT_TYPE_MODIFIED, sv); err != nil {
				return err
			}
		}
	}
	var gone []*canopyv1.Server
	for id, sv := range sent {
		if sv.Location.GetCloud() == cloud && !present[id] {
			gone = append(gone, sv)
		}
	}
	sort.Slice(gone, func(i, j int) bool { return serverKey(gone[i]) < serverKey(gone[j]) })
	for _, sv := range gone {
		delete(sent, sv.Id)
		last := proto.Clone(sv).(*canopyv1.Server)
		last.Status, last.ProviderStatus = canopyv1.Status_STATUS_DELETED, "DELETED"
		if err := send(canopyv1.WatchServersResponse_EVENT_TYPE_DELETED, last); err != nil {
			return err
		}
	}
	return nil
}
