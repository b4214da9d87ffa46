package server

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/canopy-cloud/canopy/clock"
	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/providers"
)

// The volumes take an hour to create, until the test ends their creation
// (FinishVolumeTransitions) once it has seen the operations unfinished:
// no check depends on how fast the machine runs.
func TestOperationService(t *testing.T) {
	start := time.Now()
	clk := clock.NewFake(start)
	e := newEnv(t, `
clouds:
  - name: local
    kind: sim
    options: {volume_delay: 1h}
`, WithClock(clk))
	c := e.volumes()
	ctx := ctxT(t)
	// wait with a deadline longer than the server will wait: the operation,
	// not done, when the wait's bound (min(a fifth, 1s) before the
	// deadline: waitEnd, tested alone in TestWaitBound) passes on the
	// server's clock, not an error. The clock is the test's: the bound
	// passes when the test moves it, and the caller's wall-clock deadline
	// is a minute away, so a loaded machine has all the time it needs to
	// carry the answer back.
	e.sim("local").InjectFault("CreateVolume", providers.ErrUnavailable, 4) // retried for 1.5s
	short, cancel := context.WithTimeout(ctx, testDeadline)
	defer cancel()
	dl, _ := short.Deadline()
	type answer struct {
		op  *canopyv1.Operation
		err error
	}
	answered := make(chan answer, 1)
	go func() {
		op, err := c.vol.CreateVolume(short, &canopyv1.CreateVolumeRequest{Name: "d", SizeGib: 1, Wait: true})
		answered <- answer{op, err}
	}()
	if err := clk.WaitTimers(short, 1); err != nil {
		t.Fatalf("the create's wait set no bound: %v", err)
	}
	// The server's deadline is the caller's plus the request's time on the
	// way, at most the time since start.
	bound, transit := clk.Pending()[0], time.Since(start)
	if latest := dl.Sub(start) - time.Second + transit; bound <= 0 || bound > latest {
		t.Fatalf("the wait is bounded %s from the server's now, want (0, %s]: a second before the caller's deadline", bound, latest)
	}
	select {
	case a := <-answered:
		t.Fatalf("the wait answered before its bound: %v, %v", a.op, a.err)
	default:
	}
	clk.Advance(bound)
	var op *canopyv1.Operation
	select {
	case a := <-answered:
		if a.err != nil || a.op.Done {
			t.Fatalf("wait past its bound = %v, %v; want the unfinished operation", a.op, a.err)
		}
		op = a.op
	case <-short.Done():
		t.Fatal("no answer once the wait's bound passed")
	}
	ids := []string{op.Id}
	for _, name := range []string{"a", "b", "c"} {
		op, err := c.vol.CreateVolume(ctx, &canopyv1.CreateVolumeRequest{Name: name, SizeGib: 1})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, op.Id)
	}
	// WaitOperation with a short timeout returns the operation as it is.
	got, err := c.ops.WaitOperation(ctx, &canopyv1.WaitOperationRequest{Id: ids[0], Timeout: durationpb.New(10 * time.Millisecond)})
	if err != nil || got.Done || got.Metadata.Step == "" || got.Metadata.CreateTime == nil {
		t.Fatalf("wait with a short timeout = %v, %v", got, err)
	}
	open, err := c.ops.ListOperations(ctx, &canopyv1.ListOperationsRequest{UnfinishedOnly: true, Kind: "volume.create"})
	if err != nil || len(open.Operations) != 4 || open.Operations[0].Id != ids[3] {
		t.Fatalf("unfinished, newest first = %v, %v", open, err)
	}
	// Paging, newest first.
	var seen []string
	token := ""
	for {
		page, err := c.ops.ListOperations(ctx, &canopyv1.ListOperationsRequest{PageSize: 2, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, op := range page.Operations {
			seen = append(seen, op.Id)
		}
		if token = page.NextPageToken; token == "" {
			break
		}
	}
	if strings.Join(seen, ",") != strings.Join([]string{ids[3], ids[2], ids[1], ids[0]}, ",") {
		t.Errorf("pages = %v, want %v reversed", seen, ids)
	}
	// The four volumes reach the cloud (the first once its create is
	// retried past the faults), then their creation ends.
	eventually(t, "the four volumes at the cloud", func() bool { return e.sim("local").VolumeCount() == 4 })
	if n := e.sim("local").FinishVolumeTransitions(); n != 4 {
		t.Fatalf("%d volumes being created at the cloud, want 4", n)
	}
	for _, id := range ids {
		got, err := c.ops.WaitOperation(ctx, &canopyv1.WaitOperationRequest{Id: id})
		if err != nil || !got.Done || got.GetResponse() == nil {
			t.Fatalf("wait = %v, %v", got, err)
		}
	}
	byTarget, err := c.ops.ListOperations(ctx, &canopyv1.ListOperationsRequest{TargetId: open.Operations[1].Metadata.TargetId})
	if err != nil || len(byTarget.Operations) != 1 || byTarget.Operations[0].Id != ids[2] {
		t.Errorf("by target = %v, %v", byTarget, err)
	}
	if _, err := c.ops.DeleteOperation(ctx, &canopyv1.DeleteOperationRequest{Id: ids[0]}); err != nil {
		t.Fatal(err)
	}
	_, err = c.ops.GetOperation(ctx, &canopyv1.GetOperationRequest{Id: ids[0]})
	wantErr(t, err, codes.NotFound, "")
	// The volume stays.
	if _, err := c.vol.GetVolume(ctx, &canopyv1.GetVolumeRequest{Id: "a"}); err != nil {
		t.Errorf("deleting the operation lost the volume: %v", err)
	}
	// Cancelling a create in flight rolls it back.
	op, err = c.vol.CreateVolume(ctx, &canopyv1.CreateVolumeRequest{Name: "doomed", SizeGib: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ops.CancelOperation(ctx, &canopyv1.CancelOperationRequest{Id: op.Id}); err != nil {
		t.Fatal(err)
	}
	// A volume the create made before the cancel is deleted once it may
	// be (a volume being created cannot be): its creation is ended for as
	// long as the rollback runs.
	eventually(t, "the cancelled create rolled back", func() bool {
		e.sim("local").FinishVolumeTransitions()
		got, err = c.ops.GetOperation(ctx, &canopyv1.GetOperationRequest{Id: op.Id})
		return err == nil && got.Done
	})
	if got.GetError().GetCode() != int32(codes.Canceled) {
		t.Fatalf("cancelled = %v", got)
	}
	_, err = c.vol.GetVolume(ctx, &canopyv1.GetVolumeRequest{Id: op.Metadata.TargetId})
	wantErr(t, err, codes.NotFound, "")
	if n := e.sim("local").VolumeCount(); n != 4 {
		t.Errorf("%d volumes at the cloud after the rollback, want 4", n)
	}
}

// A wait ends min(a fifth of the time left, 1s) before the call's
// deadline (waitEnd), or after the configured timeout without one.
func TestWaitBound(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		left, early time.Duration
	}{
		{0, 0},
		{time.Second, 200 * time.Millisecond},
		{3 * time.Second, 600 * time.Millisecond},
		{5 * time.Second, time.Second},
		{time.Hour, time.Second},
	} {
		dl := now.Add(tc.left)
		if early := dl.Sub(waitEnd(now, dl)); early != tc.early {
			t.Errorf("%s left: the wait ends %s before the deadline, want %s", tc.left, early, tc.early)
		}
	}
	cfg := testConfig(t, "clouds: [{name: local, kind: sim}]")
	v := &ops{storageCore: &storageCore{cfg: cfg}}
	before := time.Now()
	w, cancel := v.waitBound(context.Background())
	defer cancel()
	got, ok := w.Deadline()
	if want := before.Add(cfg.Wait.Timeout.Std()); !ok || got.Before(want) {
		t.Errorf("no deadline: the wait ends at %v (%v), want the configured timeout after %v", got, ok, before)
	}
	// On the server's clock: a caller due in an hour is let go a second
	// before on that clock, and a caller without a deadline after the wait
	// timeout.
	now = time.Now()
	clk := clock.NewFake(now)
	v.clock = clk
	for _, tc := range []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
		want time.Duration
	}{
		{"deadline in an hour", func() (context.Context, context.CancelFunc) {
			return context.WithDeadline(context.Background(), now.Add(time.Hour))
		}, time.Hour - time.Second},
		{"no deadline", func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) }, cfg.Wait.Timeout.Std()},
	} {
		ctx, cancel := tc.ctx()
		w, wcancel := v.waitBound(ctx)
		if p := clk.Pending(); len(p) != 1 || p[0] != tc.want {
			t.Errorf("%s: the wait's bound is pending %v, want [%s]", tc.name, p, tc.want)
		}
		clk.Advance(tc.want - time.Millisecond)
		if w.Err() != nil {
			t.Errorf("%s: the wait ended a millisecond before its bound: %v", tc.name, w.Err())
		}
		clk.Advance(time.Millisecond)
		select {
		case <-w.Done():
		case <-time.After(testDeadline):
			t.Fatalf("%s: the wait did not end at its bound", tc.name)
		}
		if !errors.Is(w.Err(), context.DeadlineExceeded) {
			t.Errorf("%s: the wait ended with %v, want the deadline exceeded", tc.name, w.Err())
		}
		wcancel()
		cancel()
	}
}
