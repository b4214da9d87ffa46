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
type fakeList struct {
	mu    sync.Mutex
	items map[string]string
	calls atomic.Int64
	err   error
}

func (f *fakeList) list(ctx context.Context) ([]item, error) {
	f.calls.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	var out []item
	for id, st := range f.items {
		out = append(out, item{id, st})
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

func newTestPoller(f *fakeList, min, max time.Duration) *Poller[item] {
	return NewPoller(f.list, func(i item) string { return i.id }, func(i item) bool { return i.status == "BUILD" }, min, max)
}

func TestPollerBatchesWaiters(t *testing.T) {
	f := &fakeList{items: map[string]string{}}
	const n = 200
	for i := 0; i < n; i++ {
		f.set(string(rune('a'+i%26))+string(rune(i)), "BUILD")
	}
	p := newTestPoller(f, 20*time.Millisecond, 100*time.Millisecond)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		id := string(rune('a'+i%26)) + string(rune(i))
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			it, ok, err := p.Wait(ctx, id, func(it item, ok bool) bool { return ok && it.status == "ACTIVE" })
			if err != nil || !ok || it.status != "ACTIVE" {
				errs <- errors.New("waiter " + id + " woke wrongly")
			}
		}()
	}
	for p.Waiters() < n {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // a few polls see BUILD
	before := f.calls.Load()
	for id := range f.items {
		f.set(id, "ACTIVE")
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// n waiters over ~50ms at a 20ms interval: a handful of lists, not n.
	if calls := f.calls.Load(); calls > 10 {
		t.Errorf("%d waiters cost %d list calls (before change: %d); want one per interval", n, calls, before)
	}
	if p.Waiters() != 0 {
		t.Errorf("%d waiters left", p.Waiters())
	}
}

func TestPollerDeleteAndDeadline(t *testing.T) {
	f := &fakeList{items: map[string]string{"x": "ACTIVE", "y": "BUILD"}}
	p := newTestPoller(f, 5*time.Millisecond, 20*time.Millisecond)
	go func() {
		time.Sleep(20 * time.Millisecond)
		f.set("x", "")
	}()
	_, present, err := p.Wait(context.Background(), "x", func(_ item, ok bool) bool { return !ok })
	if err != nil || present {
		t.Fatalf("wait for delete: present=%v err=%v", present, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if _, _, err := p.Wait(ctx, "y", func(it item, _ bool) bool { return it.status == "ACTIVE" }); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("wait past deadline: err = %v", err)
	}
	if p.Waiters() != 0 {
		t.Errorf("timed-out waiter not removed")
	}
}

func TestPollerAdaptiveInterval(t *testing.T) {
	f := &fakeList{items: map[string]string{"x": "ACTIVE"}}
	p := newTestPoller(f, 2*time.Millisecond, 16*time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	go func() { _, _, _ = p.Wait(ctx, "x", func(item, bool) bool { return false }) }()
	time.Sleep(60 * time.Millisecond)
	if got := p.Interval(); got != 16*time.Millisecond {
		t.Errorf("idle interval = %s, want max 16ms", got)
	}
	f.set("y", "BUILD")
	time.Sleep(40 * time.Millisecond)
	if got := p.Interval(); got != 2*time.Millisecond {
		t.Errorf("interval while something builds = %s, want min 2ms", got)
	}
}

func TestPollerRetriesListErrors(t *testing.T) {
	f := &fakeList{items: map[string]string{"x": "BUILD"}, err: errors.New("cloud down")}
	p := newTestPoller(f, 2*time.Millisecond, 4*time.Millisecond)
	go func() {
		time.Sleep(20 * time.Millisecond)
		f.mu.Lock()
		f.err = nil
		f.items["x"] = "ACTIVE"
		f.mu.Unlock()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	it, _, err := p.Wait(ctx, "x", func(it item, _ bool) bool { return it.status == "ACTIVE" })
	if err != nil || it.status != "ACTIVE" {
		t.Fatalf("after transient errors: %v %v", it, err)
	}
}

func TestPollerSubscribe(t *testing.T) {
	f := &fakeList{items: map[string]string{"x": "BUILD"}}
	p := newTestPoller(f, 5*time.Millisecond, 20*time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	a, b := p.Subscribe(ctx), p.Subscribe(ctx)
	for _, ch := range []<-chan Snapshot[item]{a, b} {
		s := <-ch
		if s.Err != nil || len(s.Items) != 1 {
			t.Fatalf("snapshot = %+v", s)
		}
	}
	f.set("x", "ACTIVE")
	for s := range a {
		if len(s.Items) == 1 && s.Items[0].status == "ACTIVE" {
			break
		}
	}
	if p.Subscribers() != 2 {
		t.Errorf("subscribers = %d", p.Subscribers())
	}
	cancel()
	for range b { // closed once the context ends
	}
	deadline := time.Now().Add(time.Second)
	for p.Subscribers() != 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if p.Subscribers() != 0 {
		t.Errorf("subscribers left after cancel: %d", p.Subscribers())
	}
}
