package clock

import (
	"context"
	"errors"
	"testing"
	"time"
)

// waitDone waits for ctx to end, at most a minute (a missed wake-up fails
// rather than hangs).
func waitDone(t *testing.T, ctx context.Context, what string) {
	t.Helper()
	select {
	case <-ctx.Done():
	case <-time.After(time.Minute):
		t.Fatalf("%s: the context did not end", what)
	}
}

func TestFakeRunsTimersWhenAdvancedPastThem(t *testing.T) {
	start := time.Unix(1e9, 0)
	c := NewFake(start)
	fired := make(chan int, 3)
	c.AfterFunc(2*time.Second, func() { fired <- 2 })
	stop := c.AfterFunc(time.Second, func() { fired <- 1 })
	c.AfterFunc(3*time.Second, func() { fired <- 3 })
	if p := c.Pending(); len(p) != 3 || p[0] != time.Second || p[2] != 3*time.Second {
		t.Fatalf("pending = %v", p)
	}
	if !stop() || stop() {
		t.Error("stop: want true once, then false")
	}
	c.Advance(2*time.Second - time.Nanosecond)
	if len(fired) != 0 || !c.Now().Equal(start.Add(2*time.Second-time.Nanosecond)) {
		t.Fatalf("a timer ran before it was due (%d), or now is %v", len(fired), c.Now())
	}
	c.Advance(time.Nanosecond)
	select {
	case n := <-fired:
		if n != 2 {
			t.Errorf("ran the timer of %ds, want 2", n)
		}
	case <-time.After(time.Minute):
		t.Fatal("the due timer did not run")
	}
	if p := c.Pending(); len(p) != 1 || p[0] != time.Second {
		t.Errorf("pending after = %v, want [1s]", p)
	}
}

func TestFakeWaitTimers(t *testing.T) {
	c := NewFake(time.Unix(1e9, 0))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	go c.AfterFunc(time.Hour, func() {})
	if err := c.WaitTimers(ctx, 1); err != nil {
		t.Fatal(err)
	}
	short, cancel2 := context.WithCancel(ctx)
	cancel2()
	if err := c.WaitTimers(short, 2); err == nil || !errors.Is(err, context.Canceled) {
		t.Errorf("WaitTimers(2) with 1 pending and an ended context = %v", err)
	}
}

// WithDeadline on a fake clock ends with DeadlineExceeded when the clock
// passes the deadline, and with the parent's error or Canceled otherwise;
// on Real it is context.WithDeadline.
func TestWithDeadline(t *testing.T) {
	start := time.Unix(1e9, 0)
	c := NewFake(start)
	ctx, cancel := WithDeadline(context.Background(), c, start.Add(time.Second))
	defer cancel()
	if dl, ok := ctx.Deadline(); !ok || !dl.Equal(start.Add(time.Second)) {
		t.Errorf("deadline = %v, %v", dl, ok)
	}
	c.Advance(999 * time.Millisecond)
	if ctx.Err() != nil {
		t.Fatalf("ended before its deadline: %v", ctx.Err())
	}
	c.Advance(time.Millisecond)
	waitDone(t, ctx, "at the deadline")
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Errorf("err at the deadline = %v", ctx.Err())
	}

	ctx, cancel = WithDeadline(context.Background(), c, c.Now().Add(time.Second))
	cancel()
	if !errors.Is(ctx.Err(), context.Canceled) || len(c.Pending()) != 0 {
		t.Errorf("cancelled: err %v, timers %v", ctx.Err(), c.Pending())
	}

	parent, pcancel := context.WithCancel(context.Background())
	ctx, cancel = WithDeadline(parent, c, c.Now().Add(time.Second))
	defer cancel()
	pcancel()
	waitDone(t, ctx, "parent cancelled")
	if !errors.Is(ctx.Err(), context.Canceled) {
		t.Errorf("parent cancelled: err %v", ctx.Err())
	}

	real, rcancel := WithDeadline(context.Background(), nil, time.Now().Add(time.Hour))
	defer rcancel()
	if _, ok := real.Deadline(); !ok {
		t.Error("a nil clock's context has no deadline")
	}
}
