package server

import (
	"errors"
	"testing"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/store"
)

// A watch converts a poll taken before a delete after the delete forgot
// the server's mapping (the interleaving a loaded machine produced in a
// -count=20 run): the poll's server must keep its id, so the watcher sees
// it DELETED, not a new id ADDED, and no mapping is left behind for it.
func TestWatchConvertsAPollOlderThanADelete(t *testing.T) {
	e := newEnv(t, "clouds: [{name: local, kind: sim, options: "+fastSim+"}]")
	ctx := ctxT(t)
	sv, err := e.compute.CreateServer(ctx, &canopyv1.CreateServerRequest{Name: "web", Flavor: "m1.tiny", Image: "cirros-0.6.2", Wait: true})
	if err != nil {
		t.Fatal(err)
	}
	cl := e.srv.cloudNamed("local")
	views := serverViews{rt: e.srv.rt}
	before, err := cl.Compute.ListServers(ctx) // the poll
	if err != nil {
		t.Fatal(err)
	}
	sentBefore, err := views.serversPB(ctx, cl, before) // what a watcher had sent
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.compute.DeleteServer(ctx, &canopyv1.DeleteServerRequest{Id: sv.Id, Wait: true}); err != nil {
		t.Fatal(err)
	}
	// The delete has forgotten the mapping; now the poll is converted.
	stale, err := views.serversPB(ctx, cl, before)
	if err != nil {
		t.Fatal(err)
	}
	var got *canopyv1.Server
	for _, x := range stale {
		if x.NativeId == sv.NativeId {
			got = x
		}
	}
	if got == nil || got.Id != sv.Id {
		t.Fatalf("the late conversion shows %v, want server %s", got, sv.Id)
	}
	if m, err := e.st.Lookup(ctx, "local", "server", sv.NativeId); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the late conversion left mapping %+v (%v): a ghost nothing deletes", m, err)
	}

	// What a watcher that had sent the server sees: nothing for the late
	// poll (it matches what was sent or modifies it), then DELETED.
	var events []watchEvent
	var ids []string
	f := watchFeed[struct{}, *canopyv1.Server]{
		keep: func(*canopyv1.Server) bool { return true },
		gone: func(x *canopyv1.Server) *canopyv1.Server { return x },
		send: func(typ watchEvent, x *canopyv1.Server, _ *canopyv1.CloudError) error {
			events, ids = append(events, typ), append(ids, x.GetId())
			return nil
		},
	}
	sent := map[string]*canopyv1.Server{}
	for _, x := range sentBefore {
		sent[x.Id] = x
	}
	if err := f.diff("local", stale, sent); err != nil {
		t.Fatal(err)
	}
	after, err := cl.Compute.ListServers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	now, err := views.serversPB(ctx, cl, after)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.diff("local", now, sent); err != nil {
		t.Fatal(err)
	}
	if len(events) != 1 || events[0] != eventDeleted || ids[0] != sv.Id {
		t.Errorf("events %v for ids %v, want one DELETED for %s", events, ids, sv.Id)
	}
}
