package server

import (
	"context"
	"testing"

	"github.com/canopy-cloud/canopy/auth"
	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
)

func TestWatchVolumes(t *testing.T) {
	e := newEnv(t, `
clouds:
  - name: local
    kind: sim
    options: {volume_delay: 60ms}
`)
	c := e.volumes()
	ok := c.ok(t)
	ctx, cancel := context.WithTimeout(context.Background(), testDeadline)
	defer cancel()
	first := resultOf(t, ok(c.vol.CreateVolume(ctx, &canopyv1.CreateVolumeRequest{Name: "first", SizeGib: 1, Wait: true})), &canopyv1.Volume{})
	stream, err := c.vol.WatchVolumes(ctx, &canopyv1.WatchVolumesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	next := func() *canopyv1.WatchVolumesResponse {
		t.Helper()
		ev, err := stream.Recv()
		if err != nil {
			t.Fatalf("recv: %v", err)
		}
		return ev
	}
	if ev := next(); ev.Type != canopyv1.WatchVolumesResponse_EVENT_TYPE_ADDED || ev.Volume.Id != first.Id || ev.Volume.Status != canopyv1.Status_STATUS_ACTIVE {
		t.Fatalf("first event = %v", ev)
	}
	if ev := next(); ev.Type != canopyv1.WatchVolumesResponse_EVENT_TYPE_SYNCED {
		t.Fatalf("second event = %v, want SYNCED", ev)
	}

	// A new volume appears, becomes ACTIVE; the first one goes away.
	op, err := c.vol.CreateVolume(ctx, &canopyv1.CreateVolumeRequest{Name: "second", SizeGib: 1})
	if err != nil {
		t.Fatal(err)
	}
	second := op.Metadata.TargetId
	var added, active bool
	for !active {
		ev := next()
		if ev.GetVolume().GetId() != second {
			t.Fatalf("unexpected event %v", ev)
		}
		switch ev.Type {
		case canopyv1.WatchVolumesResponse_EVENT_TYPE_ADDED:
			added = true
		case canopyv1.WatchVolumesResponse_EVENT_TYPE_MODIFIED:
		default:
			t.Fatalf("unexpected event %v", ev)
		}
		// Under load the first poll may already see it ACTIVE.
		active = ev.Volume.Status == canopyv1.Status_STATUS_ACTIVE
	}
	if !added {
		t.Errorf("MODIFIED before ADDED")
	}
	ok(c.vol.DeleteVolume(ctx, &canopyv1.DeleteVolumeRequest{Id: first.Id}))
	for {
		ev := next()
		if ev.GetVolume().GetId() != first.Id {
			t.Fatalf("unexpected event %v", ev)
		}
		if ev.Type == canopyv1.WatchVolumesResponse_EVENT_TYPE_DELETED {
			if ev.Volume.Status != canopyv1.Status_STATUS_DELETED {
				t.Errorf("deleted event = %v", ev)
			}
			break
		}
	}

	// Another project's watch sees none of it.
	other := e.volumesAs(mintToken(t, e.srv, "elsewhere", auth.ScopeRead))
	os, err := other.vol.WatchVolumes(ctx, &canopyv1.WatchVolumesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if ev, err := os.Recv(); err != nil || ev.Type != canopyv1.WatchVolumesResponse_EVENT_TYPE_SYNCED {
		t.Errorf("other project's first event = %v, %v; want SYNCED", ev, err)
	}
	bad, err := c.vol.WatchVolumes(ctx, &canopyv1.WatchVolumesRequest{Ids: []string{"first"}})
	if err == nil {
		_, err = bad.Recv()
	}
	wantErr(t, err, 3, "ids")
}
