package server

import (
	"context"
	"sync"

	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/canopy-cloud/canopy/cache"
	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/router"
)

// The one shape of every Watch RPC (WatchServers, WatchVolumes, the
// networking kinds' in network_watch.go): each
// target cloud's batched poller (the one waits use) feeds the stream, so
// watchers add no upstream calls beyond one list per interval per cloud.
// The stream sends every matching resource (ADDED), then a CLOUD_ERROR per
// cloud that did not answer, then SYNCED, then the changes in the order
// the polls saw them (ADDED, MODIFIED, DELETED), each batch in the merge
// order of lists.

// watchEvent is a Watch event type; every Watch response's enum numbers
// them alike (canopyv1.WatchServersResponse_EventType and the others).
type watchEvent int32

const (
	eventAdded      watchEvent = 1
	eventModified   watchEvent = 2
	eventDeleted    watchEvent = 3
	eventSynced     watchEvent = 4
	eventCloudError watchEvent = 5
)

// watched is what a watched resource message is.
type watched interface {
	router.Named
	proto.Message
}

// watchRequest is what every Watch request filters on.
type watchRequest interface {
	GetLabels() map[string]string
	GetIds() []string
	GetName() string
	GetLocation() *canopyv1.Location
}

// watchFilter validates a Watch request's filters and returns what keeps
// a resource in the stream: the caller's project, and the request's ids,
// name, labels and location.
func watchFilter[M watched](ctx context.Context, req watchRequest, labels func(M) map[string]string) (func(M) bool, error) {
	proj := project(ctx)
	return watchFilterSeen(req, labels, func(x M) bool { return x.GetLocation().GetProject() == proj })
}

// watchFilterSeen is watchFilter for kinds some of whose resources every
// project sees (external networks): seen says what the caller sees.
func watchFilterSeen[M watched](req watchRequest, labels func(M) map[string]string, seen func(M) bool) (func(M) bool, error) {
	if err := router.CheckLabels("labels", req.GetLabels()); err != nil {
		return nil, err
	}
	ids := map[string]bool{}
	for i, id := range req.GetIds() {
		x, isID, err := router.IDOrName("ids", id)
		if err != nil || !isID {
			return nil, router.BadRequest("ids", "ids[%d] %q is not a canopy id", i, id)
		}
		ids[x] = true
	}
	loc := req.GetLocation()
	return func(x M) bool {
		l := x.GetLocation()
		return seen(x) && (len(ids) == 0 || ids[x.GetId()]) && (req.GetName() == "" || x.GetName() == req.GetName()) &&
			router.MatchLabels(req.GetLabels(), labels(x)) && router.MatchLocation(loc, l.GetRegion(), l.GetZone())
	}, nil
}

// watchFeed is one kind's side of a watch: where its changes come from and
// how they become messages.
type watchFeed[N any, M watched] struct {
	what string // "servers", "volumes": names the poll in cloud errors
	// subscribe feeds a cloud's changes of the kind: its batched poller,
	// or its event-fed view (nil: the cloud has none).
	subscribe func(context.Context, *router.Cloud) <-chan cache.Snapshot[N]
	// list is a cloud's resources now, for the first batch.
	list func(context.Context, *router.Cloud) ([]M, error)
	// convert turns a poll's items into messages; an error ends the stream.
	convert func(context.Context, *router.Cloud, []N) ([]M, error)
	// gone is the last state sent of a resource that disappeared.
	gone func(M) M
	keep func(M) bool
	send func(t watchEvent, x M, ce *canopyv1.CloudError) error
}

// run streams until the client goes away (nil) or a send fails.
func (f watchFeed[N, M]) run(ctx context.Context, targets []*router.Cloud) error {
	// Subscribe before the first list, so no change between the two is lost.
	type update struct {
		cl   *router.Cloud
		snap []N
		err  error
	}
	updates := make(chan update)
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for _, cl := range targets {
		ch := f.subscribe(ctx, cl)
		if ch == nil {
			continue
		}
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

	var zero M
	sent := map[string]M{} // canopy id → last state sent
	initial, errs := router.FanOut(ctx, targets, f.list)
	initial = sortByKey(initial)
	for _, x := range initial {
		if f.keep(x) {
			sent[x.GetId()] = x
			if err := f.send(eventAdded, x, nil); err != nil {
				return err
			}
		}
	}
	for _, ce := range errs {
		if err := f.send(eventCloudError, zero, ce); err != nil {
			return err
		}
	}
	if err := f.send(eventSynced, zero, nil); err != nil {
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
			st := status.Convert(router.CloudErr(u.cl.Name, "poll "+f.what, u.err))
			if err := f.send(eventCloudError, zero, &canopyv1.CloudError{Cloud: u.cl.Name, Code: int32(st.Code()), Message: st.Message()}); err != nil {
				return err
			}
			continue
		}
		now, err := f.convert(ctx, u.cl, u.snap)
		if err != nil {
			return err
		}
		if err := f.diff(u.cl.Name, now, sent); err != nil {
			return err
		}
	}
}

// diff compares one cloud's current resources with what the stream has
// sent and sends ADDED, MODIFIED and DELETED events, in a stable order.
func (f watchFeed[N, M]) diff(cloud string, now []M, sent map[string]M) error {
	now = sortByKey(now)
	present := map[string]bool{}
	for _, x := range now {
		if !f.keep(x) {
			continue
		}
		present[x.GetId()] = true
		prev, ok := sent[x.GetId()]
		switch {
		case !ok:
			sent[x.GetId()] = x
			if err := f.send(eventAdded, x, nil); err != nil {
				return err
			}
		case !proto.Equal(prev, x):
			sent[x.GetId()] = x
			if err := f.send(eventModified, x, nil); err != nil {
				return err
			}
		}
	}
	var gone []M
	for id, x := range sent {
		if x.GetLocation().GetCloud() == cloud && !present[id] {
			gone = append(gone, x)
		}
	}
	gone = sortByKey(gone)
	for _, x := range gone {
		delete(sent, x.GetId())
		if err := f.send(eventDeleted, f.gone(x), nil); err != nil {
			return err
		}
	}
	return nil
}

// sortByKey orders resources as lists page them. A cloud's converted list
// may be the memoised slice other readers share, so it is never sorted in
// place (router.InOrder copies when it must sort).
func sortByKey[M router.Named](items []M) []M {
	sorted, _ := router.InOrder(items, func(x M) string { return router.SortKey(x.GetLocation().GetCloud(), x.GetName(), x.GetId()) })
	return sorted
}
