package cache

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// waitAsync starts a Wait for id to reach status and returns where its
// outcome arrives.
func waitAsync(p *Poller[item], id, status string, since time.Time) <-chan item {
	out := make(chan item, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		it, _, err := p.WaitSince(ctx, id, since, func(it item, ok bool) bool { return ok && it.status == status })
		if err != nil {
			it = item{id: id, status: "error: " + err.Error()}
		}
		out <- it
	}()
	return out
}

// While the feed is live, an announcement wakes a waiter with no list at
// all once the poller is synced: the one list made is the first (sync),
// and the next would be an hour later.
func TestPushWakesWaiterWithoutListing(t *testing.T) {
	f := &fakeList{items: map[string]string{"a": "BUILD"}, gate: make(chan struct{}), listed: make(chan int64, 4)}
	p := newTestPoller(f, time.Millisecond, 10*time.Millisecond)
	p.SetLive(true, time.Hour)
	got := waitAsync(p, "a", "ACTIVE", time.Time{})
	until(t, "waiter registered", func() bool { return p.Waiters() == 1 })
	f.pollOnce(t) // the sync list: a still building
	until(t, "list taken in", func() bool { _, ok := p.Current("a"); return ok })
	if r := p.Push(Event[item]{ID: "a", Item: item{"a", "ACTIVE"}, Present: true, Updated: time.Unix(10, 0), MessageID: "m1"}); r != Applied {
		t.Fatalf("push: %s, want applied", r)
	}
	if it, _ := within(t, "wake", got); it.status != "ACTIVE" {
		t.Fatalf("woke with %+v", it)
	}
	if n := f.calls.Load(); n != 1 {
		t.Fatalf("%d lists, want 1 (the sync)", n)
	}
}

// A second delivery of the same message, and an announcement older than
// the last one heard, change nothing.
func TestPushDropsDuplicatesAndStale(t *testing.T) {
	f := &fakeList{items: map[string]string{}}
	p := newTestPoller(f, time.Hour, time.Hour)
	t0 := time.Unix(100, 0)
	tests := []struct {
		ev   Event[item]
		want PushResult
		cur  string
	}{
		{Event[item]{ID: "a", Item: item{"a", "BUILD"}, Present: true, Updated: t0, Emitted: t0, MessageID: "1"}, Applied, "BUILD"},
		{Event[item]{ID: "a", Item: item{"a", "ACTIVE"}, Present: true, Updated: t0.Add(time.Second), Emitted: t0.Add(time.Second), MessageID: "2"}, Applied, "ACTIVE"},
		{Event[item]{ID: "a", Item: item{"a", "ACTIVE"}, Present: true, Updated: t0.Add(time.Second), Emitted: t0.Add(time.Second), MessageID: "2"}, Duplicate, "ACTIVE"},
		// sent before the one applied (same updated_at, earlier emission)
		{Event[item]{ID: "a", Item: item{"a", "BUILD"}, Present: true, Updated: t0.Add(time.Second), Emitted: t0.Add(time.Millisecond), MessageID: "3"}, Stale, "ACTIVE"},
		// an older updated_at, delivered late
		{Event[item]{ID: "a", Item: item{"a", "BUILD"}, Present: true, Updated: t0, Emitted: t0.Add(time.Hour), MessageID: "4"}, Stale, "ACTIVE"},
		{Event[item]{ID: "a", Present: false, Updated: t0.Add(2 * time.Second), Emitted: t0.Add(2 * time.Second), MessageID: "5"}, Applied, ""},
	}
	for i, tc := range tests {
		if got := p.Push(tc.ev); got != tc.want {
			t.Fatalf("event %d: %s, want %s", i, got, tc.want)
		}
		cur, ok := p.Current("a")
		if !ok {
			cur.status = ""
		}
		if cur.status != tc.cur {
			t.Fatalf("after event %d: current %q, want %q", i, cur.status, tc.cur)
		}
	}
}

// An announcement older than the listed state (by the resource's own
// change time) is stale.
func TestPushOlderThanListIsStale(t *testing.T) {
	f := &fakeList{items: map[string]string{"a": "ACTIVE"}, gate: make(chan struct{}), listed: make(chan int64, 4)}
	p := newTestPoller(f, time.Millisecond, time.Millisecond)
	p.SetUpdated(func(item) time.Time { return time.Unix(200, 0) })
	p.SetLive(true, time.Hour)
	got := waitAsync(p, "a", "GONE", time.Time{})
	until(t, "waiter registered", func() bool { return p.Waiters() == 1 })
	f.pollOnce(t)
	until(t, "list taken in", func() bool { _, ok := p.Current("a"); return ok })
	if r := p.Push(Event[item]{ID: "a", Item: item{"a", "BUILD"}, Present: true, Updated: time.Unix(199, 0)}); r != Stale {
		t.Fatalf("push: %s, want stale", r)
	}
	if r := p.Push(Event[item]{ID: "a", Item: item{"a", "GONE"}, Present: true, Updated: time.Unix(201, 0)}); r != Applied {
		t.Fatalf("push: %s, want applied", r)
	}
	within(t, "wake", got)
}

// What was announced before a waiter came counts when it came after
// since (a server the caller just made: zero since), not when it came
// before (the state before the caller's action).
func TestWaitSinceHeard(t *testing.T) {
	f := &fakeList{items: map[string]string{}, gate: make(chan struct{}), listed: make(chan int64, 4)}
	p := newTestPoller(f, time.Hour, time.Hour)
	p.Push(Event[item]{ID: "a", Item: item{"a", "ACTIVE"}, Present: true, MessageID: "1"})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	it, ok, err := p.WaitSince(ctx, "a", time.Time{}, func(it item, ok bool) bool { return ok && it.status == "ACTIVE" })
	if err != nil || !ok || it.status != "ACTIVE" {
		t.Fatalf("zero since: %+v %v %v", it, ok, err)
	}
	// after an action: the ACTIVE heard before it must not end the wait
	got := waitAsync(p, "a", "ACTIVE", time.Now())
	until(t, "waiter registered", func() bool { return p.Waiters() == 1 })
	p.Push(Event[item]{ID: "a", Item: item{"a", "REBOOT"}, Present: true, Emitted: time.Unix(1, 0), MessageID: "2"})
	if p.Waiters() != 1 {
		t.Fatal("REBOOT woke the waiter")
	}
	p.Push(Event[item]{ID: "a", Item: item{"a", "ACTIVE"}, Present: true, Emitted: time.Unix(2, 0), MessageID: "3"})
	if it, _ := within(t, "wake", got); it.status != "ACTIVE" {
		t.Fatalf("woke with %+v", it)
	}
	if n := f.calls.Load(); n != 0 {
		t.Fatalf("%d lists, want none", n)
	}
}

// Losing the feed makes the poller list at once and at full rate: with a
// reconcile interval of an hour, the lists after SetLive(false) are the
// proof.
func TestLostFeedPollsAtOnce(t *testing.T) {
	f := &fakeList{items: map[string]string{"a": "BUILD"}, gate: make(chan struct{}), listed: make(chan int64, 4)}
	p := newTestPoller(f, time.Millisecond, time.Millisecond)
	p.SetLive(true, time.Hour)
	got := waitAsync(p, "a", "ACTIVE", time.Time{})
	until(t, "waiter registered", func() bool { return p.Waiters() == 1 })
	f.pollOnce(t) // sync
	until(t, "list taken in", func() bool { _, ok := p.Current("a"); return ok })
	if !p.Live() {
		t.Fatal("not live")
	}
	// The next list is an hour away: lost, it comes at once.
	p.SetLive(false, 0)
	f.set("a", "ACTIVE")
	f.pollOnce(t)
	if it, _ := within(t, "wake", got); it.status != "ACTIVE" {
		t.Fatalf("woke with %+v", it)
	}
}

// An announcement received while a list was in flight is newer than what
// the list read: the list does not undo it.
func TestListDoesNotUndoLateAnnouncement(t *testing.T) {
	f := &fakeList{items: map[string]string{"a": "BUILD"}, gate: make(chan struct{}), listed: make(chan int64, 4)}
	p := newTestPoller(f, time.Millisecond, time.Millisecond)
	p.SetLive(true, time.Hour)
	f.onList = func(n int64) {
		if n == 1 { // the list has read a as BUILD; the cloud then announces ACTIVE
			p.Push(Event[item]{ID: "a", Item: item{"a", "ACTIVE"}, Present: true, MessageID: "1"})
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sub := p.Subscribe(ctx)
	f.pollOnce(t)
	snap, _ := within(t, "snapshot", sub)
	if len(snap.Items) != 1 || snap.Items[0].status != "ACTIVE" {
		t.Fatalf("snapshot %+v, want a ACTIVE", snap.Items)
	}
	// Synced now: announcements reach subscribers without a list.
	p.Push(Event[item]{ID: "b", Item: item{"b", "BUILD"}, Present: true, MessageID: "2"})
	snap, _ = within(t, "snapshot", sub)
	if len(snap.Items) != 2 {
		t.Fatalf("snapshot %+v, want a and b", snap.Items)
	}
	if n := f.calls.Load(); n != 1 {
		t.Fatalf("%d lists, want 1", n)
	}
}

// A create's answer (Seed) is what Current shows until the resource is
// heard or listed; it wakes nobody; Seeded keeps it for announcements
// that came first; a list that shows the resource supersedes it.
func TestSeed(t *testing.T) {
	f := &fakeList{items: map[string]string{}, gate: make(chan struct{}), listed: make(chan int64, 4)}
	p := newTestPoller(f, time.Millisecond, 10*time.Millisecond)
	p.Seed("a", item{"a", "CREATING"})
	if it, ok := p.Current("a"); !ok || it.status != "CREATING" {
		t.Fatalf("Current after Seed: %+v %v", it, ok)
	}
	if p.Known("a") {
		t.Fatal("a seed counts as heard")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, _, err := p.WaitSince(ctx, "a", time.Time{}, func(it item, ok bool) bool { return ok }); err == nil {
		t.Fatal("a seed woke a waiter")
	}
	p.Push(Event[item]{ID: "a", Item: item{"a", "ACTIVE"}, Present: true, Emitted: time.Unix(10, 0), MessageID: "m1"})
	if it, _ := p.Current("a"); it.status != "ACTIVE" {
		t.Fatalf("Current after an announcement: %+v", it)
	}
	if it, ok := p.Seeded("a"); !ok || it.status != "CREATING" {
		t.Fatalf("Seeded after an announcement: %+v %v", it, ok)
	}
	f.mu.Lock()
	f.items["a"] = "ACTIVE"
	f.mu.Unlock()
	f.pollOnce(t) // the list the expired wait started, begun after the seed
	until(t, "the list supersedes the seed", func() bool { _, ok := p.Seeded("a"); return !ok })
}

// A change the feed never announces (a lost announcement: Cinder's
// error_restoring after a broker restart) is seen once the feed has been
// quiet about the resource waited on for quietFactor max intervals, not
// at the next reconciliation an hour later; and while the feed speaks,
// nothing is listed.
func TestQuietFeedLists(t *testing.T) {
	const max = 20 * time.Millisecond
	f := &fakeList{items: map[string]string{"a": "BUILD"}}
	p := newTestPoller(f, time.Millisecond, max)
	p.SetLive(true, time.Hour)
	got := waitAsync(p, "a", "ERROR", time.Time{})
	until(t, "synced", func() bool { _, ok := p.Current("a"); return ok })
	synced := f.calls.Load()
	// The feed speaks of a (still building) for a while: no list.
	for i := 0; i < 8; i++ {
		p.Push(Event[item]{ID: "a", Item: item{"a", "BUILD"}, Present: true, Emitted: time.Unix(int64(i+1), 0), MessageID: fmt.Sprint(i)})
		time.Sleep(max)
	}
	if n := f.calls.Load() - synced; n != 0 {
		t.Errorf("%d lists while the feed spoke of a every %v, want 0", n, max)
	}
	f.set("a", "ERROR") // unannounced
	if it, _ := within(t, "wake", got); it.status != "ERROR" {
		t.Fatalf("woke with %+v", it)
	}
}
