// Package cache protects the clouds: it coalesces and caches reads and
// batches status polling, so any number of canopy clients cost each cloud a
// bounded number of calls.
package cache

import (
	"context"
	"sync"
	"time"
)

// Poller batches the waits on one (cloud, kind): however many callers wait
// on however many resources, the cloud sees one list per interval. The
// interval adapts: MinInterval while something listed is transitional,
// doubling up to MaxInterval while nothing is.
//
// A cloud that announces its changes (poller_events.go) feeds them in with
// Push: each wakes the waiters on its resource and reaches the subscribers
// at once, and while the feed is live (SetLive) the poller only lists at a
// slow reconciliation rate; when the feed is lost it lists at full rate
// again at once.
type Poller[T any] struct {
	list         func(ctx context.Context) ([]T, error)
	key          func(T) string
	transitional func(T) bool
	min, max     time.Duration

	mu       sync.Mutex
	waiters  map[*waiter[T]]struct{}
	subs     map[chan Snapshot[T]]struct{}
	running  bool
	interval time.Duration
	polls    int64
	kick     chan struct{} // lists at once (a lost feed, a subscriber to sync)

	ev events[T] // what the cloud's announcements said (poller_events.go)
}

// waiter is one caller waiting for done to hold.
type waiter[T any] struct {
	id    string
	since time.Time // announcements received before it do not count
	at    time.Time // when it started waiting
	done  func(item T, present bool) bool
	ch    chan result[T]
}

// Snapshot is one list the poller made, as subscribers receive it.
type Snapshot[T any] struct {
	Items []T
	Err   error
	At    time.Time
}

type result[T any] struct {
	item    T
	present bool
	err     error
}

// NewPoller makes a poller over list. key gives an item's native id and
// transitional says whether it is still changing on its own.
func NewPoller[T any](list func(context.Context) ([]T, error), key func(T) string, transitional func(T) bool, min, max time.Duration) *Poller[T] {
	if min <= 0 {
		min = 500 * time.Millisecond
	}
	if max < min {
		max = min
	}
	return &Poller[T]{list: list, key: key, transitional: transitional, min: min, max: max, waiters: map[*waiter[T]]struct{}{}, subs: map[chan Snapshot[T]]struct{}{},
		kick: make(chan struct{}, 1), ev: newEvents[T]()}
}

// Wait blocks until done(item, present) holds for the resource with native
// id, as seen by the poller's lists, or ctx ends. present is false once the
// resource is absent from a list (deleted). A list error is returned to
// every waiter only if it persists until their context ends; transient
// errors are retried at the next interval.
func (p *Poller[T]) Wait(ctx context.Context, id string, done func(item T, present bool) bool) (T, bool, error) {
	return p.WaitSince(ctx, id, time.Now(), done)
}

// WaitSince is Wait for a caller that changed the resource at since: what
// the cloud announced about it since then (Push) may already satisfy done.
// A zero since (a resource created by the caller, whose id is new) counts
// every announcement.
func (p *Poller[T]) WaitSince(ctx context.Context, id string, since time.Time, done func(item T, present bool) bool) (T, bool, error) {
	w := &waiter[T]{id: id, since: since, at: time.Now(), done: done, ch: make(chan result[T], 1)}
	p.mu.Lock()
	if it, present, ok := p.ev.heardSince(id, since); ok && done(it, present) {
		p.mu.Unlock()
		return it, present, nil
	}
	p.waiters[w] = struct{}{}
	p.startLocked()
	p.mu.Unlock()

	select {
	case r := <-w.ch:
		return r.item, r.present, r.err
	case <-ctx.Done():
		p.mu.Lock()
		delete(p.waiters, w)
		p.mu.Unlock()
		select { // it may have been woken meanwhile
		case r := <-w.ch:
			return r.item, r.present, r.err
		default:
		}
		var zero T
		return zero, false, ctx.Err()
	}
}

// Subscribe delivers every list the poller makes to the returned channel
// until ctx ends (then the channel is closed). The channel holds only the
// latest snapshot: a slow subscriber skips intermediate lists rather than
// slowing the poller, which is right for consumers that diff states.
func (p *Poller[T]) Subscribe(ctx context.Context) <-chan Snapshot[T] {
	ch := make(chan Snapshot[T], 1)
	p.mu.Lock()
	p.subs[ch] = struct{}{}
	if p.running && !p.ev.synced {
		p.kickLocked() // announcements reach subscribers once a list has synced them
	}
	p.startLocked()
	p.mu.Unlock()
	out := make(chan Snapshot[T])
	go func() {
		defer close(out)
		defer func() {
			p.mu.Lock()
			delete(p.subs, ch)
			p.mu.Unlock()
		}()
		for {
			select {
			case <-ctx.Done():
				return
			case s := <-ch:
				select {
				case out <- s:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out
}

// Subscribers returns how many watchers are subscribed.
func (p *Poller[T]) Subscribers() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.subs)
}

// startLocked starts the loop if it is not running. Callers hold p.mu.
func (p *Poller[T]) startLocked() {
	if !p.running {
		p.running = true
		p.interval = p.min
		select { // a kick for an earlier loop
		case <-p.kick:
		default:
		}
		first := p.min
		switch {
		case p.ev.live && p.ev.synced:
			first = p.ev.reconcile // the feed says what changes; lists only reconcile
		case p.ev.live:
			first = p.max // and lists then only if the feed has said nothing of a waiter's resource (silentLocked)
		}
		go p.loop(first)
	}
}

// kickLocked makes the running loop list at once. Callers hold p.mu.
func (p *Poller[T]) kickLocked() {
	if !p.running {
		return
	}
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

func (p *Poller[T]) idleLocked() bool { return len(p.waiters) == 0 && len(p.subs) == 0 }

// Waiters returns how many callers are waiting.
func (p *Poller[T]) Waiters() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.waiters)
}

// Polls returns how many lists the poller has made.
func (p *Poller[T]) Polls() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.polls
}

// Interval returns the current poll interval.
func (p *Poller[T]) Interval() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.interval
}

// loop lists once per interval while anyone waits, then exits.
func (p *Poller[T]) loop(first time.Duration) {
	timer := time.NewTimer(first)
	defer timer.Stop()
	for {
		kicked := false
		select {
		case <-timer.C:
		case <-p.kick:
			kicked = true
		}
		p.mu.Lock()
		if p.idleLocked() {
			p.running = false
			p.mu.Unlock()
			return
		}
		if !kicked && p.ev.live && !p.ev.synced && len(p.subs) == 0 && !p.silentLocked() {
			// The feed speaks of every resource waited on: it, not a list,
			// will say when each is done.
			timer.Reset(p.max)
			p.mu.Unlock()
			continue
		}
		p.polls++
		p.mu.Unlock()

		started := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), p.max*4)
		items, err := p.list(ctx)
		cancel()

		p.mu.Lock()
		if err == nil {
			// What the cloud announced while the list ran is newer than it.
			items = p.ev.merge(items, p.key, started)
		}
		snap := Snapshot[T]{Items: items, Err: err, At: time.Now()}
		for ch := range p.subs {
			select { // replace an undelivered older snapshot
			case <-ch:
			default:
			}
			ch <- snap
		}
		moving := false
		if err == nil {
			byID := make(map[string]T, len(items))
			for _, it := range items {
				byID[p.key(it)] = it
				if p.transitional(it) {
					moving = true
				}
			}
			for w := range p.waiters {
				it, ok := byID[w.id]
				if w.done(it, ok) {
					w.ch <- result[T]{item: it, present: ok}
					delete(p.waiters, w)
				}
			}
		}
		if moving || err != nil {
			p.interval = p.min
		} else if p.interval *= 2; p.interval > p.max {
			p.interval = p.max
		}
		if p.idleLocked() {
			p.running = false
			p.mu.Unlock()
			return
		}
		every := p.interval
		if p.ev.live && err == nil {
			every = p.ev.reconcile
		}
		// Keep the cadence: the next list starts one interval after this one
		// started, not after it finished, so a slow list does not stretch
		// the time a change can go unseen.
		next := every - time.Since(started)
		if next < time.Millisecond {
			next = time.Millisecond
		}
		timer.Reset(next)
		p.mu.Unlock()
	}
}
