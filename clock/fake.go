package clock

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"
)

// Fake is a clock for tests: its time moves only by Advance, which runs
// the functions that came due. Tests synchronise on WaitTimers (a timer
// was set: the code under test reached its wait) rather than on sleeps.
type Fake struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
	seq    int
	set    chan struct{} // closed and replaced whenever a timer is set
}

type fakeTimer struct {
	at   time.Time
	seq  int
	f    func()
	done bool
}

// NewFake is a fake clock reading start.
func NewFake(start time.Time) *Fake { return &Fake{now: start, set: make(chan struct{})} }

// Now is the fake time.
func (c *Fake) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// AfterFunc sets a timer due d after the fake now.
func (c *Fake) AfterFunc(d time.Duration, f func()) func() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	t := &fakeTimer{at: c.now.Add(d), seq: c.seq, f: f}
	c.timers = append(c.timers, t)
	close(c.set)
	c.set = make(chan struct{})
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		if t.done {
			return false
		}
		t.done = true
		c.drop(t)
		return true
	}
}

// drop removes t from the pending timers; c.mu is held.
func (c *Fake) drop(t *fakeTimer) {
	for i, x := range c.timers {
		if x == t {
			c.timers = append(c.timers[:i], c.timers[i+1:]...)
			return
		}
	}
}

// Advance moves the time by d and runs, in order, the functions that came
// due (each in its own goroutine, as time.AfterFunc does).
func (c *Fake) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	var due []*fakeTimer
	for _, t := range c.timers {
		if !t.at.After(c.now) {
			due = append(due, t)
		}
	}
	sort.Slice(due, func(i, j int) bool {
		if !due[i].at.Equal(due[j].at) {
			return due[i].at.Before(due[j].at)
		}
		return due[i].seq < due[j].seq
	})
	for _, t := range due {
		t.done = true
		c.drop(t)
	}
	c.mu.Unlock()
	for _, t := range due {
		go t.f()
	}
}

// Pending is the durations from now of the timers not yet due, soonest
// first.
func (c *Fake) Pending() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]time.Duration, 0, len(c.timers))
	for _, t := range c.timers {
		out = append(out, t.at.Sub(c.now))
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// WaitTimers waits until at least n timers are pending, or ctx ends (an
// error saying how many were).
func (c *Fake) WaitTimers(ctx context.Context, n int) error {
	for {
		c.mu.Lock()
		have, set := len(c.timers), c.set
		c.mu.Unlock()
		if have >= n {
			return nil
		}
		select {
		case <-set:
		case <-ctx.Done():
			return fmt.Errorf("fake clock: %d timers pending, waited for %d: %w", have, n, ctx.Err())
		}
	}
}
