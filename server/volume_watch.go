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

type volumeEvent = canopyv1.WatchVolumesResponse

// WatchVolumes implements canopyv1.VolumeServiceServer. Each cloud's
// batched volume poller feeds the stream (the one the operations' waits
// use), so watchers add no upstream calls beyond one list per interval per
// cloud. The stream sends every matching volume (ADDED), then SYNCED, then
// changes in the order the polls saw them.
func (v *volumeService) WatchVolumes(req *canopyv1.WatchVolumesRequest, stream canopyv1.VolumeService_WatchVolumesServer) error {
	ctx := stream.Context()
	if err := router.CheckLabels("labels", req.GetLabels()); err != nil {
		return err
	}
	ids := map[string]bool{}
	for i, id := range req.GetIds() {
		x, isID, err := router.IDOrName("ids", id)
		if err != nil || !isID {
			return router.BadRequest("ids", "ids[%d] %q is not a canopy id", i, id)
		}
		ids[x] = true
	}
	if err := v.checkListCloud(req.GetLocation()); err != nil {
		return err
	}
	targets, err := v.rt.ListTargets(req.GetLocation())
	if err != nil {
		return err
	}
	keep := func(x *canopyv1.Volume) bool {
		return x.Location.GetProject() == project(ctx) && (len(ids) == 0 || ids[x.Id]) && (req.GetName() == "" || x.Name == req.GetName()) &&
			router.MatchLabels(req.GetLabels(), x.Labels) && router.MatchLocation(req.GetLocation(), x.Location.GetRegion(), x.Location.GetZone())
	}

	// Subscribe before the first list, so no change between the two is lost.
	type update struct {
		sc   *router.Cloud
		snap []providers.Volume
		err  error
	}
	updates := make(chan update)
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for _, cl := range targets {
		sc := cl
		if sc.Volumes == nil {
			continue
		}
		ch := sc.Volumes.Subscribe(ctx)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for snap := range ch {
				select {
				case updates <- update{sc, snap.Items, snap.Err}:
				case <-ctx.Done():
					return
				}
			}
		}()
	}

	sent := map[string]*canopyv1.Volume{}
	send := func(t canopyv1.WatchVolumesResponse_EventType, x *canopyv1.Volume) error {
		return stream.Send(&volumeEvent{Type: t, Volume: x})
	}
	key := func(x *canopyv1.Volume) string { return router.SortKey(x.Location.GetCloud(), x.Name, x.Id) }
	initial, errs := router.FanOut(ctx, targets, v.cloudVolumes)
	sort.Slice(initial, func(i, j int) bool { return key(initial[i]) < key(initial[j]) })
	for _, x := range initial {
		if keep(x) {
			sent[x.Id] = x
			if err := send(canopyv1.WatchVolumesResponse_EVENT_TYPE_ADDED, x); err != nil {
				return err
			}
		}
	}
	for _, ce := range errs {
		if err := stream.Send(&volumeEvent{Type: canopyv1.WatchVolumesResponse_EVENT_TYPE_CLOUD_ERROR, CloudError: ce}); err != nil {
			return err
		}
	}
	if err := send(canopyv1.WatchVolumesResponse_EVENT_TYPE_SYNCED, nil); err != nil {
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
			st := status.Convert(router.CloudErr(u.sc.Name, "poll volumes", u.err))
			if err := stream.Send(&volumeEvent{Type: canopyv1.WatchVolumesResponse_EVENT_TYPE_CLOUD_ERROR,
				CloudError: &canopyv1.CloudError{Cloud: u.sc.Name, Code: int32(st.Code()), Message: st.Message()}}); err != nil {
				return err
			}
			continue
		}
		defs, err := u.sc.Emulation.DeferredVolumes(ctx)
		if err != nil {
			return router.StoreErr("list deferred volumes", err)
		}
		now, err := v.volumesView(ctx, u.sc, u.snap, defs)
		if err != nil {
			return err
		}
		sort.Slice(now, func(i, j int) bool { return key(now[i]) < key(now[j]) })
		present := map[string]bool{}
		for _, x := range now {
			if !keep(x) {
				continue
			}
			present[x.Id] = true
			prev, ok := sent[x.Id]
			switch {
			case !ok:
				sent[x.Id] = x
				if err := send(canopyv1.WatchVolumesResponse_EVENT_TYPE_ADDED, x); err != nil {
					return err
				}
			case !proto.Equal(prev, x):
				sent[x.Id] = x
				if err := send(canopyv1.WatchVolumesResponse_EVENT_TYPE_MODIFIED, x); err != nil {
					return err
				}
			}
		}
		var gone []*canopyv1.Volume
		for id, x := range sent {
			if x.Location.GetCloud() == u.sc.Name && !present[id] {
				gone = append(gone, x)
			}
		}
		sort.Slice(gone, func(i, j int) bool { return key(gone[i]) < key(gone[j]) })
		for _, x := range gone {
			delete(sent, x.Id)
			last := proto.Clone(x).(*canopyv1.Volume)
			last.Status, last.ProviderStatus, last.Attachments = canopyv1.Status_STATUS_DELETED, "deleted", nil
			if err := send(canopyv1.WatchVolumesResponse_EVENT_TYPE_DELETED, last); err != nil {
				return err
			}
		}
	}
}
