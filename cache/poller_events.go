package cache

import (
	"time"
)

// Event is one change the cloud announced about a resource, as Push takes
// it: the resource as the announcement describes it (when Present), and
// what orders it among the resource's other announcements.
type Event[T any] struct {
	ID      string
	Item    T
	Present bool // false: the resource is gone
	// Updated is the resource's own last-change time at the cloud and
	// Emitted when the cloud sent the announcement: an announcement older
	// than one already heard (or than the listed resource) is stale.
	Updated time.Time
	Emitted time.Time
	// MessageID de-duplicates announcements delivered twice.
	MessageID string
}

// PushResult says what Push did with an announcement.
type PushResult string

// What Push did with an announcement (the label of the events metric).
const (
	Applied   PushResult = "applied"
	Duplicate PushResult = "duplicate"
	Stale     PushResult = "stale"
)

// recentMessages is how many announcement ids are remembered to drop a
// second delivery.
const recentMessages = 4096

// keepHeard is how long an announcement is remembered after a list that
// came later has taken it in: long enough to order a late redelivery.
const keepHeard = 10 * time.Minute

// heard is the latest announcement about one resource.
type heard[T any] struct {
	item             T
	present          bool
	updated, emitted time.Time
	recv             time.Time
}

// events is what a poller keeps of a cloud's announcements. Guarded by the
// poller's mutex.
type events[T any] struct {
	live      bool          // the feed is connected: lists only reconcile
	reconcile time.Duration // the list interval while live
	// synced says view is the cloud's whole state: a list, and every
	// announcement since, all heard while connected. Only then do
	// announcements reach subscribers as snapshots (a partial view would
	// read as deletions).
	synced  bool
	view    map[string]T
	viewAt  time.Time // when the list the view comes from started
	heard   map[string]heard[T]
	updated func(T) time.Time // a listed resource's last-change time (nil: unknown)
	// seeds are what a create answered of resources no list has shown
	// yet: the base an announcement lacking some of a read's fields is
	// laid over (Current, Seeded), never a wake.
	seeds  map[string]heard[T]
	msgs   map[string]struct{}
	ring   []string
	pos    int
	pushes int
}

func newEvents[T any]() events[T] {
	return events[T]{reconcile: time.Minute, heard: map[string]heard[T]{}, seeds: map[string]heard[T]{}, msgs: map[string]struct{}{}}
}

// SetUpdated tells the poller a listed resource's last-change time, so an
// announcement older than a list is dropped. Call it before use.
func (p *Poller[T]) SetUpdated(fn func(T) time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ev.updated = fn
}

// SetLive says whether the cloud's announcements are being heard. While
// they are, the poller lists only every reconcile (0 keeps the last
// value; the default is a minute). When they stop being heard, it lists
// at once and at full rate from then on.
func (p *Poller[T]) SetLive(live bool, reconcile time.Duration) {
	if p == nil { // a kind the cloud lacks
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if reconcile > 0 {
		p.ev.reconcile = reconcile
	}
	was := p.ev.live
	p.ev.live = live
	if was && !live {
		// What changed while nobody heard is known only to a list.
		p.ev.synced = false
		p.interval = p.min
		p.kickLocked()
	}
}

// Live says whether the poller is fed by announcements.
func (p *Poller[T]) Live() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ev.live
}

// Kick makes a running poller list now (an announcement about a resource
// it cannot describe from the announcement alone).
func (p *Poller[T]) Kick() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.kickLocked()
}

// Known says whether the poller has the resource in its view or has heard
// of it.
func (p *Poller[T]) Known(id string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.ev.heard[id]; ok {
		return true
	}
	_, ok := p.ev.view[id]
	return ok
}

// Push takes in one announcement: unless it is a second delivery or older
// than what is known of the resource, it wakes the waiters it satisfies
// and, once the poller is synced, reaches every subscriber as a snapshot.
func (p *Poller[T]) Push(e Event[T]) PushResult {
	p.mu.Lock()
	defer p.mu.Unlock()
	ev := &p.ev
	if e.MessageID != "" {
		if _, dup := ev.msgs[e.MessageID]; dup {
			return Duplicate
		}
		if len(ev.ring) < recentMessages {
			ev.ring = append(ev.ring, e.MessageID)
		} else {
			delete(ev.msgs, ev.ring[ev.pos])
			ev.ring[ev.pos] = e.MessageID
			ev.pos = (ev.pos + 1) % recentMessages
		}
		ev.msgs[e.MessageID] = struct{}{}
	}
	if h, ok := ev.heard[e.ID]; ok && !newer(e.Updated, e.Emitted, h.updated, h.emitted) {
		return Stale
	}
	if ev.updated != nil && ev.synced && !e.Updated.IsZero() {
		if cur, ok := ev.view[e.ID]; ok && ev.updated(cur).After(e.Updated) {
			return Stale
		}
	}
	now := time.Now()
	if ev.pushes++; ev.pushes%1024 == 0 { // no list may come for long while live and idle
		for _, m := range []map[string]heard[T]{ev.heard, ev.seeds} {
			for id, h := range m {
				if now.Sub(h.recv) > keepHeard {
					delete(m, id)
				}
			}
		}
	}
	ev.heard[e.ID] = heard[T]{item: e.Item, present: e.Present, updated: e.Updated, emitted: e.Emitted, recv: now}
	for w := range p.waiters {
		if w.id == e.ID && w.done(e.Item, e.Present) {
			w.ch <- result[T]{item: e.Item, present: e.Present}
			delete(p.waiters, w)
		}
	}
	if ev.synced {
		if e.Present {
			ev.view[e.ID] = e.Item
		} else {
			delete(ev.view, e.ID)
		}
		if len(p.subs) > 0 {
			items := make([]T, 0, len(ev.view))
			for _, it := range ev.view {
				items = append(items, it)
			}
			snap := Snapshot[T]{Items: items, At: now}
			for ch := range p.subs {
				select { // replace an undelivered older snapshot
				case <-ch:
				default:
				}
				ch <- snap
			}
		}
	}
	return Applied
}

// newer orders two announcements of one resource: by the resource's own
// change time, then by when they were sent. Equal is not newer.
func newer(u1, e1, u2, e2 time.Time) bool {
	if !u1.Equal(u2) {
		return u1.After(u2)
	}
	return e1.After(e2)
}

// heardSince is the latest announcement about id received at or after
// since.
func (ev *events[T]) heardSince(id string, since time.Time) (T, bool, bool) {
	h, ok := ev.heardAfter(id, since)
	return h.item, h.present, ok
}

// lastHeard is when the latest announcement about id received at or
// after since came.
func (ev *events[T]) lastHeard(id string, since time.Time) (time.Time, bool) {
	h, ok := ev.heardAfter(id, since)
	return h.recv, ok
}

// heardAfter is the latest announcement about id, if it was received at
// or after since.
func (ev *events[T]) heardAfter(id string, since time.Time) (heard[T], bool) {
	h, ok := ev.heard[id]
	if !ok || h.recv.Before(since) {
		return heard[T]{}, false
	}
	return h, true
}

// merge lays what was announced after a list started over the list's
// items (the list may have read the older state), makes the result the
// view, and forgets announcements old enough to be in every later list.
func (ev *events[T]) merge(items []T, key func(T) string, started time.Time) []T {
	late := map[string]heard[T]{}
	for id, h := range ev.heard {
		switch {
		case h.recv.After(started):
			late[id] = h
		case time.Since(h.recv) > keepHeard:
			delete(ev.heard, id)
		}
	}
	if len(ev.seeds) > 0 { // a list begun after a create answered shows what it did
		for _, it := range items {
			if s, ok := ev.seeds[key(it)]; ok && s.recv.Before(started) {
				delete(ev.seeds, key(it))
			}
		}
		for id, s := range ev.seeds {
			if time.Since(s.recv) > keepHeard {
				delete(ev.seeds, id)
			}
		}
	}
	out := items
	if len(late) > 0 {
		out = make([]T, 0, len(items)+len(late))
		for _, it := range items {
			id := key(it)
			if h, ok := late[id]; ok {
				delete(late, id)
				if h.present {
					out = append(out, h.item)
				}
				continue
			}
			out = append(out, it)
		}
		for _, h := range late {
			if h.present {
				out = append(out, h.item)
			}
		}
	}
	ev.view, ev.viewAt = make(map[string]T, len(out)), started
	for _, it := range out {
		ev.view[key(it)] = it
	}
	ev.synced = ev.live
	return out
}

// Current is the resource as the poller last listed or heard it, or else
// as its create answered (Seed).
func (p *Poller[T]) Current(id string) (T, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if h, ok := p.ev.heard[id]; ok && !h.recv.Before(p.ev.viewAt) {
		return h.item, h.present
	}
	if it, ok := p.ev.view[id]; ok {
		return it, ok
	}
	if s, ok := p.ev.seeds[id]; ok {
		return s.item, true
	}
	var zero T
	return zero, false
}

// Seed gives the poller a resource as its create answered: an
// announcement that lacks some of what a read shows is laid over it
// (Current while nothing else is known of it, Seeded after). It wakes
// nobody and orders nothing; a list of the resource supersedes it.
func (p *Poller[T]) Seed(id string, item T) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.ev.view[id]; ok {
		return
	}
	p.ev.seeds[id] = heard[T]{item: item, present: true, recv: time.Now()}
}

// Seeded is the resource as its create answered (Seed), if no list has
// shown it since. (The announcements of a fast create may come before
// the create's answer.)
func (p *Poller[T]) Seeded(id string) (T, bool) {
	if p == nil {
		var zero T
		return zero, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	s, ok := p.ev.seeds[id]
	return s.item, ok
}

// listDueLocked says whether a poller on a live feed, with waiters and no
// subscribers, lists now: before it is synced, when a waiter's resource
// has gone unannounced (silentLocked); once synced, when reconciliation
// is due or the feed has gone quiet about a resource waited on
// (quietLocked). Callers hold p.mu.
func (p *Poller[T]) listDueLocked() bool {
	if !p.ev.synced {
		return p.silentLocked()
	}
	return !time.Now().Before(p.reconcileAt) || p.quietLocked()
}

// quietFactor times the max interval is how long the feed may say nothing
// of a resource waited on before a list looks (at most once per that
// long): a change the cloud makes without an announcement, or whose
// announcement was lost (Cinder's error_restoring after cinder-backup lost
// the bus in a broker restart), is seen then, not at the next
// reconciliation.
const quietFactor = 6

// quietLocked says whether a waiter's resource has gone unannounced for
// quietFactor max intervals since the waiter came or the feed last spoke
// of it, and no list was made in that time. Callers hold p.mu.
func (p *Poller[T]) quietLocked() bool {
	quiet := quietFactor * p.max
	if p.latest != nil && time.Since(p.latest.At) < quiet {
		return false
	}
	for w := range p.waiters {
		last := w.at
		if at, ok := p.ev.lastHeard(w.id, w.since); ok && at.After(last) {
			last = at
		}
		if time.Since(last) >= quiet {
			return true
		}
	}
	return false
}

// silentLocked says whether a waiter has waited max_interval on a resource
// the feed has said nothing of: only a list can tell its state (a change
// made while canopy was not listening). Callers hold p.mu.
func (p *Poller[T]) silentLocked() bool {
	for w := range p.waiters {
		if _, _, ok := p.ev.heardSince(w.id, w.since); !ok && time.Since(w.at) >= p.max {
			return true
		}
	}
	return false
}
