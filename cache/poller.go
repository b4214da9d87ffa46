// Package cache protects the clouds: it coalesces and caches reads and
// batches status polling, so any number of canopy clients cost each cloud a
// bounded number of calls.
package cache

import (
	"context"
	"fmt"
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
	relayed  int64         // lists received from the owner replica (Share)
	kick     chan struct{} // lists at once (a lost feed, a subscriber to sync)

	ev events[T] // what the cloud's announcements said (poller_events.go)

	// relay, cloud and kind are set by Share: several replicas share
	// one list per interval through relay.
	relay       Relay
	cloud, kind string
	// lastRelayed is the owner's latest list: a follower checks the
	// waiters that came since against it every interval (those whose
	// revision it is not older than; the owner's next list answers the
	// others).
	lastRelayed *Snapshot[T]
	// latest is the last list applied (made here or relayed), and
	// readers the cached list reads waiting for a newer one (Latest).
	latest  *Snapshot[T]
	readers map[*reader[T]]struct{}
	// term is the Lead.Term of the last list made as the owner: a new
	// one is a takeover.
	term int64
	// notBefore is when the next list may be sent at the earliest: one
	// min interval after the last one (this replica's, or with a relay
	// the previous owner's), whatever asks for it (a kick, a takeover).
	notBefore time.Time
	// reconcileAt is when a synced poller's next reconciliation list is
	// due while the feed is live.
	reconcileAt time.Time
}

// waiter is one caller waiting for done to hold.
type waiter[T any] struct {
	id    string
	since time.Time // announcements received before it do not count
	at    time.Time // when it started waiting
	done  func(item T, present bool) bool
	ch    chan result[T]
	rev   int64 // with a relay: only lists begun after this revision answer it
}

// Snapshot is one list the poller made, as subscribers receive it.
type Snapshot[T any] struct {
	Items []T
	Err   error
	At    time.Time
	rev   int64 // with a relay: the revision read before the list began (0: unknown)
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
	return &Poller[T]{list: list, key: key, transitional: transitional, min: min, max: max, waiters: map[*waiter[T]]struct{}{}, subs: map[chan Snapshot[T]]struct{}{}, readers: map[*reader[T]]struct{}{},
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
	relay := p.relay
	p.mu.Unlock()
	if relay != nil {
		rev, err := relay.Revision(ctx)
		if err != nil {
			var zero T
			return zero, false, fmt.Errorf("cloud %q: %s status: %w", p.cloud, p.kind, err)
		}
		w.rev = rev
	}
	p.mu.Lock()
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
			// The feed says what changes; lists only reconcile, or look
			// at a resource waited on that the feed has gone quiet about
			// (quietLocked): the loop wakes every max interval to ask.
			first = min(p.ev.reconcile, p.max)
			p.reconcileAt = time.Now().Add(p.ev.reconcile)
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

// idleLocked reports whether nobody needs lists: no local waiter or
// subscriber and, when this replica owns the cloud, no other replica
// following its lists. Callers hold p.mu.
func (p *Poller[T]) idleLocked() bool {
	if len(p.waiters) > 0 || len(p.subs) > 0 || len(p.readers) > 0 {
		return false
	}
	if p.relay == nil || !p.relay.Wanted(p.cloud, p.kind) {
		return true
	}
	_, lead := p.relay.Lead(p.cloud, p.kind)
	return !lead
}

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

// Relayed returns how many lists the poller took from the owner replica
// instead of making them (Share).
func (p *Poller[T]) Relayed() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.relayed
}

// Interval returns the current poll interval.
func (p *Poller[T]) Interval() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.interval
}

// loop lists once per interval while anyone waits, then exits. With a
// relay it lists only while this replica owns the cloud (publishing each
// list to the other replicas); otherwise it follows the owner's lists and
// checks every min interval whether it has become the owner.
func (p *Poller[T]) loop(first time.Duration) {
	timer := time.NewTimer(first)
	defer timer.Stop()
	var follow <-chan []byte
	stopFollow := func() {}
	defer func() { stopFollow() }()
	for {
		kicked := false
		select {
		case <-timer.C:
		case <-p.kick:
			kicked = true
		case raw, ok := <-follow:
			if !ok {
				follow = nil
				continue
			}
			snap := decodeSnapshot[T](raw)
			p.mu.Lock()
			p.relayed++
			p.lastRelayed = &snap
			p.applyLocked(snap, true)
			p.mu.Unlock()
			continue
		}
		p.mu.Lock()
		if p.idleLocked() {
			p.running = false
			p.mu.Unlock()
			return
		}
		if !kicked && p.ev.live && len(p.subs) == 0 && !p.listDueLocked() {
			// The feed speaks of every resource waited on: it, not a list,
			// will say when each is done.
			timer.Reset(p.max)
			p.mu.Unlock()
			continue
		}
		var lead Lead
		if p.relay != nil {
			var ok bool
			if lead, ok = p.relay.Lead(p.cloud, p.kind); !ok {
				if follow == nil {
					fctx, cancel := context.WithCancel(context.Background())
					stopFollow = cancel
					follow = p.relay.Follow(fctx, p.cloud, p.kind)
					p.lastRelayed = nil
				} else if p.lastRelayed != nil {
					p.applyLocked(*p.lastRelayed, false) // waiters that came since
				}
				timer.Reset(p.min)
				p.mu.Unlock()
				continue
			}
			if follow != nil {
				stopFollow()
				follow = nil
				p.lastRelayed = nil
			}
		}
		reason := ListPoll
		if kicked {
			reason = ListKick
		}
		if lead != nil && lead.Term() != p.term {
			// A new owner: its first list waits for the previous owner's
			// last (it may have been sent a moment ago: a handover).
			p.mu.Unlock()
			last, lerr := p.lastList(lead)
			p.mu.Lock()
			if lerr != nil {
				timer.Reset(p.min) // the store did not answer: ask again
				p.mu.Unlock()
				continue
			}
			p.term, reason = lead.Term(), ListTakeover
			if nb := p.handoverAfter(last); nb.After(p.notBefore) {
				p.notBefore = nb
			}
		}
		if wait := time.Until(p.notBefore); wait > 0 {
			// Too soon after the last list, whatever asked for this one.
			if lead != nil && reason == ListTakeover {
				p.term = 0 // still the first list of the term
			}
			timer.Reset(wait)
			p.mu.Unlock()
			continue
		}
		p.polls++
		p.mu.Unlock()

		l, ok := p.listOnce(lead, reason)
		items, err, sent, answered := l.items, l.err, l.sent, l.answered
		if !ok {
			// Not recorded (the term ended or the store did not answer):
			// not listed either. The next tick follows the new owner or
			// tries again.
			p.mu.Lock()
			p.polls--
			timer.Reset(p.min)
			p.mu.Unlock()
			continue
		}
		if err == nil {
			// What the cloud announced while the list ran is newer than it.
			p.mu.Lock()
			items = p.ev.merge(items, p.key, sent)
			p.mu.Unlock()
		}
		snap := Snapshot[T]{Items: items, Err: err, At: answered, rev: l.rev}
		if lead != nil {
			if raw, eerr := encodeSnapshot(snap); eerr == nil {
				pctx, cancel := context.WithTimeout(context.Background(), p.max)
				_ = lead.Publish(pctx, raw) // a deposed owner's publish is refused; the next tick follows
				cancel()
			}
		}

		p.mu.Lock()
		// The next list is sent one min interval after this one was (its
		// request written), at the earliest, and a little later still: the
		// cloud must see the two an interval apart, and this one reached
		// it some time after it was written (bounded by its answer, and by
		// a tenth of the interval for a slow cloud: what reaches it a little
		// late, a proxy or a loaded host, is within that).
		guard := min(answered.Sub(l.wrote), p.min/10)
		p.notBefore = l.wrote.Add(p.min + guard)
		moving := p.applyLocked(snap, true)
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
			p.reconcileAt = l.wrote.Add(every + guard)
			if len(p.subs) == 0 {
				every = min(every, p.max) // to ask listDueLocked, not to list
			}
		}
		// Keep the cadence: the next list starts one interval after this one
		// was sent, not after it finished, so a slow list does not stretch
		// the time a change can go unseen.
		next := time.Until(l.wrote.Add(every + guard))
		if next < time.Millisecond {
			next = time.Millisecond
		}
		timer.Reset(next)
		p.mu.Unlock()
	}
}

// applyLocked delivers one list (made here or relayed) to the subscribers
// (when subs) and wakes the waiters it satisfies; moving reports whether
// anything in it is transitional. Callers hold p.mu.
func (p *Poller[T]) applyLocked(snap Snapshot[T], subs bool) (moving bool) {
	for ch := range p.subs {
		if !subs {
			break
		}
		select { // replace an undelivered older snapshot
		case <-ch:
		default:
		}
		ch <- snap
	}
	if snap.rev > 0 || p.relay == nil {
		p.latest = &snap
	}
	for r := range p.readers {
		switch {
		case snap.rev <= r.after:
		case snap.Err != nil:
			r.lastErr = snap.Err // transient, as for waiters: the next list may do
		default:
			r.ch <- snap
			delete(p.readers, r)
		}
	}
	if snap.Err != nil {
		return false
	}
	byID := make(map[string]T, len(snap.Items))
	for _, it := range snap.Items {
		byID[p.key(it)] = it
		if p.transitional(it) {
			moving = true
		}
	}
	for w := range p.waiters {
		if snap.rev < w.rev {
			continue // the list began before the waiter did
		}
		it, ok := byID[w.id]
		if w.done(it, ok) {
			w.ch <- result[T]{item: it, present: ok}
			delete(p.waiters, w)
		}
	}
	return moving
}
