package cache

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type item struct {
	id     string
	status string
}

// fakeList is a cloud whose items the test changes; it counts list calls.
// With gate set, each list waits for a token on gate (or its context: a
// list that timed out there is not counted) and then, having read the
// items, hands its call number to listed: the test decides when lists
// happen and knows what each one saw, whatever the machine's load. With
// onList set, it is called with the call number once the list has read
// the items: what it changes, the next list sees.
type fakeList struct {
	mu     sync.Mutex
	items  map[string]string
	calls  atomic.Int64
	err    error
	gate   chan struct{}
	listed chan int64
	onList func(n int64)
}

func (f *fakeList) list(ctx context.Context) ([]item, error) {
	if f.gate != nil {
		select {
		case <-f.gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	n := f.calls.Add(1)
	f.mu.Lock()
	err := f.err
	var out []item
	for id, st := range f.items {
		out = append(out, item{id, st})
	}
	f.mu.Unlock()
	if f.onList != nil {
		f.onList(n)
	}
	if f.listed != nil {
		f.listed <- n
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (f *fakeList) set(id, status string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if status == "" {
		delete(f.items, id)
	} else {
		f.items[id] = status
	}
}

// pollOnce lets one gated list happen and returns once it has read the
// items.
func (f *fakeList) pollOnce(t *testing.T) int64 {
	t.Helper()
	deadline := time.NewTimer(testDeadline)
	defer deadline.Stop()
	select {
	case f.gate <- struct{}{}:
	case <-deadline.C:
		t.Fatalf("the poller made no list within %s", testDeadline)
	}
	select {
	case n := <-f.listed:
		return n
	case <-deadline.C:
		t.Fatalf("the list did not finish within %s", testDeadline)
	}
	return 0
}

// testDeadline bounds every wait of the cache tests so that a hang fails
// the test; it checks no speed (a loaded 2-core machine under -race
// stalls for seconds).
const testDeadline = time.Minute

// until polls cond until it holds; every wait has a deadline
// (testDeadline).
func until(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(testDeadline); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not so after %s", what, testDeadline)
		}
	}
}

// within waits for ch to be closed or to deliver, up to testDeadline.
func within[T any](t *testing.T, what string, ch <-chan T) (T, bool) {
	t.Helper()
	select {
	case v, ok := <-ch:
		return v, ok
	case <-time.After(testDeadline):
		t.Fatalf("%s: not within %s", what, testDeadline)
	}
	var zero T
	return zero, false
}

func newTestPoller(f *fakeList, min, max time.Duration) *Poller[item] {
	return NewPoller(f.list, func(i item) string { return i.id }, func(i item) bool { return i.status == "BUILD" }, min, max)
}

// n waiters cost one list per poll, not one each: the lists are gated, so
// exactly two happen (one sees every resource building, the next sees
// them all active and wakes every waiter at once).
func TestPollerBatchesWaiters(t *testing.T) {
	f := &fakeList{items: map[string]string{}, gate: make(chan struct{}), listed: make(chan int64)}
	const n = 200
	for i := 0; i < n; i++ {
		f.set(string(rune('a'+i%26))+string(rune(i)), "BUILD")
	}
	p := newTestPoller(f, 20*time.Millisecond, time.Second)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		id := string(rune('a'+i%26)) + string(rune(i))
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			it, ok, err := p.Wait(ctx, id, func(it item, ok bool) bool { return ok && it.status == "ACTIVE" })
			if err != nil || !ok || it.status != "ACTIVE" {
				errs <- errors.New("waiter " + id + " woke wrongly")
			}
		}()
	}
	until(t, "every waiter registered", func() bool { return p.Waiters() == n })
	f.pollOnce(t) // sees BUILD: nobody wakes
	if w := p.Waiters(); w != n {
		t.Fatalf("%d waiters left after a list of building resources, want %d", w, n)
	}
	for id := range f.items {
		f.set(id, "ACTIVE")
	}
	f.pollOnce(t) // sees ACTIVE: everybody wakes
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	within(t, "every waiter woken by one list", done)
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if calls := f.calls.Load(); calls != 2 {
		t.Errorf("%d waiters cost %d list calls, want 2 (one per poll)", n, calls)
	}
	if p.Waiters() != 0 {
		t.Errorf("%d waiters left", p.Waiters())
	}
}

func TestPollerDeleteAndDeadline(t *testing.T) {
	f := &fakeList{items: map[string]string{"x": "ACTIVE", "y": "BUILD"}}
	f.onList = func(n int64) { // deleted once the poller has listed it present
		if n == 1 {
			f.set("x", "")
		}
	}
	p := newTestPoller(f, 5*time.Millisecond, 20*time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, present, err := p.Wait(ctx, "x", func(_ item, ok bool) bool { return !ok })
	if err != nil || present {
		t.Fatalf("wait for delete: present=%v err=%v", present, err)
	}
	short, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if _, _, err := p.Wait(short, "y", func(it item, _ bool) bool { return it.status == "ACTIVE" }); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("wait past deadline: err = %v", err)
	}
	if p.Waiters() != 0 {
		t.Errorf("timed-out waiter not removed")
	}
}

// The interval grows to max while nothing is transitional and drops to
// min at the first list that shows something building.
func TestPollerAdaptiveInterval(t *testing.T) {
	f := &fakeList{items: map[string]string{"x": "ACTIVE"}}
	p := newTestPoller(f, 2*time.Millisecond, 16*time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _, _, _ = p.Wait(ctx, "x", func(item, bool) bool { return false }) }()
	until(t, "the idle interval reaches max (16ms)", func() bool { return p.Interval() == 16*time.Millisecond })
	f.set("y", "BUILD")
	until(t, "the interval drops to min (2ms) once something builds", func() bool { return p.Interval() == 2*time.Millisecond })
	if polls := p.Polls(); polls < 4 {
		t.Errorf("%d polls: 2→4→8→16ms takes 3 idle polls and one more to see the build", polls)
	}
}

// A failing list is retried at the next interval; the waiter gets the
// answer of the first list that succeeds, not the errors.
func TestPollerRetriesListErrors(t *testing.T) {
	f := &fakeList{items: map[string]string{"x": "BUILD"}, err: errors.New("cloud down")}
	f.onList = func(n int64) {
		if n == 3 { // three failed lists first: the fourth answers
			f.mu.Lock()
			f.err = nil
			f.items["x"] = "ACTIVE"
			f.mu.Unlock()
		}
	}
	p := newTestPoller(f, 2*time.Millisecond, 4*time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	it, _, err := p.Wait(ctx, "x", func(it item, _ bool) bool { return it.status == "ACTIVE" })
	if err != nil || it.status != "ACTIVE" {
		t.Fatalf("after transient errors: %v %v", it, err)
	}
	if n := f.calls.Load(); n != 4 {
		t.Errorf("%d lists; want 3 failed and one that answered", n)
	}
}

func TestPollerSubscribe(t *testing.T) {
	f := &fakeList{items: map[string]string{"x": "BUILD"}}
	p := newTestPoller(f, 5*time.Millisecond, 20*time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, b := p.Subscribe(ctx), p.Subscribe(ctx)
	for _, ch := range []<-chan Snapshot[item]{a, b} {
		s, _ := within(t, "a first snapshot", ch)
		if s.Err != nil || len(s.Items) != 1 {
			t.Fatalf("snapshot = %+v", s)
		}
	}
	f.set("x", "ACTIVE")
	for {
		s, ok := within(t, "a snapshot showing x active", a)
		if !ok {
			t.Fatal("subscription closed before x showed active")
		}
		if len(s.Items) == 1 && s.Items[0].status == "ACTIVE" {
			break
		}
	}
	if p.Subscribers() != 2 {
		t.Errorf("subscribers = %d", p.Subscribers())
	}
	cancel()
	for _, ch := range []<-chan Snapshot[item]{a, b} { // closed once the context ends
		for {
			if _, ok := within(t, "the channel closed after cancel", ch); !ok {
				break
			}
		}
	}
	until(t, "no subscriber left after cancel", func() bool { return p.Subscribers() == 0 })
}
