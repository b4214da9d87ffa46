// Package clock is the time that canopy's own timeouts read (the circuit
// breakers' cooldowns, the bound on an operation wait), passed in rather
// than read from the wall clock so that tests drive it instead of
// sleeping: on a loaded machine a test that sleeps past a 200 ms window
// proves nothing, and one that sleeps too little flakes. Production uses
// Real, which is the wall clock and the standard library's timers; tests
// use a Fake, whose time moves only when the test advances it.
//
// It is not for timeouts that belong to the caller (a gRPC deadline) or
// to a cloud: those stay on the wall clock.
package clock

import (
	"context"
	"sync"
	"time"
)

// Clock tells the time and runs a function once a duration has passed.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f in its own goroutine once d has passed on this
	// clock. stop cancels the call; it is false when f already ran or
	// is running.
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

// Real is the wall clock.
type Real struct{}

// Now is time.Now.
func (Real) Now() time.Time { return time.Now() }

// AfterFunc is time.AfterFunc.
func (Real) AfterFunc(d time.Duration, f func()) func() bool { return time.AfterFunc(d, f).Stop }

// Or is c, or Real when c is nil (an option left unset).
func Or(c Clock) Clock {
	if c == nil {
		return Real{}
	}
	return c
}

// WithDeadline is context.WithDeadline with dl read on c: the context ends
// with context.DeadlineExceeded once c reaches dl (or when ctx ends, or
// cancel is called). On Real it is context.WithDeadline itself.
func WithDeadline(ctx context.Context, c Clock, dl time.Time) (context.Context, context.CancelFunc) {
	if _, ok := Or(c).(Real); ok {
		return context.WithDeadline(ctx, dl)
	}
	inner, cancel := context.WithCancel(ctx)
	d := &deadlineCtx{Context: inner, parent: ctx, dl: dl}
	stop := c.AfterFunc(dl.Sub(c.Now()), func() {
		d.mu.Lock()
		d.expired = true
		d.mu.Unlock()
		cancel()
	})
	return d, func() { stop(); cancel() }
}

// deadlineCtx is a context whose deadline is on another clock.
type deadlineCtx struct {
	context.Context // cancelled at the deadline, by cancel or with parent
	parent          context.Context
	dl              time.Time

	mu      sync.Mutex
	expired bool
}

func (d *deadlineCtx) Deadline() (time.Time, bool) {
	if pdl, ok := d.parent.Deadline(); ok && pdl.Before(d.dl) {
		return pdl, true
	}
	return d.dl, true
}

func (d *deadlineCtx) Err() error {
	err := d.Context.Err()
	if err == nil {
		return nil
	}
	if perr := d.parent.Err(); perr != nil {
		return perr
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.expired {
		return context.DeadlineExceeded
	}
	return err
}
