package cache

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// The spacing of a poller's lists as the cloud sees them: one min
// interval apart at least, whatever lies between the poller's decision and
// the cloud (the shared store's record of a list, the way out), whatever
// asks for a list (a kick), and across owners (a handover).

// arrivals is a cloud that notes when each list reaches it, after a
// way out the test sets per list.
type arrivals struct {
	mu   sync.Mutex
	at   []time.Time
	path func(n int) time.Duration // the way out of list n (0-based)
	got  chan struct{}
}

func newArrivals(path func(int) time.Duration) *arrivals {
	return &arrivals{path: path, got: make(chan struct{}, 100)}
}

func (a *arrivals) list(ctx context.Context) ([]item, error) {
	a.mu.Lock()
	n := len(a.at)
	a.mu.Unlock()
	if a.path != nil {
		time.Sleep(a.path(n))
	}
	a.mu.Lock()
	a.at = append(a.at, time.Now())
	a.mu.Unlock()
	select {
	case a.got <- struct{}{}:
	default:
	}
	return []item{{"x", "BUILD"}}, nil
}

func (a *arrivals) times() []time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]time.Time(nil), a.at...)
}

// waitLists waits until the cloud has seen n lists.
func (a *arrivals) waitLists(t *testing.T, n int) []time.Time {
	t.Helper()
	until(t, "lists", func() bool { return len(a.times()) >= n })
	return a.times()
}

// checkSpacing fails for every two lists closer than interval.
func checkSpacing(t *testing.T, at []time.Time, interval time.Duration) {
	t.Helper()
	for i := 1; i < len(at); i++ {
		if gap := at[i].Sub(at[i-1]); gap < interval {
			t.Errorf("lists %d and %d reached the cloud %v apart (interval %v)", i-1, i, gap, interval)
		}
	}
}

// testRelay is a Relay of one replica whose ownership the test switches;
// its Lead's store calls take as long as the test says.
type testRelay struct {
	mu    sync.Mutex
	owner bool
	term  int64
	done  chan struct{}
	last  time.Time // the last list recorded, by any owner
	rev   int64
	begin func(n int) time.Duration // how long Begin n takes
	n     int
	wakes []func()
}

func (r *testRelay) setOwner(owner bool) {
	r.mu.Lock()
	if owner && !r.owner {
		r.term++
		r.done = make(chan struct{})
	}
	if !owner && r.owner {
		close(r.done)
	}
	r.owner = owner
	wakes := append([]func(){}, r.wakes...)
	r.mu.Unlock()
	for _, w := range wakes {
		w()
	}
}

func (r *testRelay) Lead(cloud, kind string) (Lead, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.owner {
		return nil, false
	}
	return &testLead{r: r, term: r.term, done: r.done}, true
}

func (r *testRelay) Follow(ctx context.Context, cloud, kind string) <-chan []byte {
	ch := make(chan []byte)
	go func() { <-ctx.Done(); close(ch) }()
	return ch
}

func (r *testRelay) Wanted(cloud, kind string) bool { return false }

func (r *testRelay) Notify(cloud, kind string, wake func()) {
	r.mu.Lock()
	r.wakes = append(r.wakes, wake)
	r.mu.Unlock()
}

func (r *testRelay) Revision(context.Context) (int64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rev, nil
}

type testLead struct {
	r    *testRelay
	term int64
	done chan struct{}
}

func (l *testLead) Term() int64           { return l.term }
func (l *testLead) Done() <-chan struct{} { return l.done }

func (l *testLead) Last(context.Context) (time.Time, error) {
	l.r.mu.Lock()
	defer l.r.mu.Unlock()
	return l.r.last, nil
}

func (l *testLead) Begin(ctx context.Context, at time.Time) (int64, error) {
	l.r.mu.Lock()
	n := l.r.n
	l.r.n++
	l.r.mu.Unlock()
	if l.r.begin != nil {
		time.Sleep(l.r.begin(n))
	}
	l.r.mu.Lock()
	defer l.r.mu.Unlock()
	l.r.last = at
	l.r.rev++
	return l.r.rev, nil
}

func (l *testLead) Publish(context.Context, []byte) error { return nil }

// waitForever keeps p listing until the test ends.
func waitForever(t *testing.T, p *Poller[item]) {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() { _, _, _ = p.Wait(ctx, "x", func(item, bool) bool { return false }) }()
}

// The owner's cadence is counted from when each list was sent, not from
// before the store recorded it: a slow record (a store that answers late
// once, as etcd does while a member is down) does not bring the next list
// closer to the last, and neither does a way out that is slow one time
// and quick the next.
func TestPollerSpacingSlowRecord(t *testing.T) {
	const interval = 200 * time.Millisecond
	a := newArrivals(func(n int) time.Duration {
		if n%2 == 0 {
			// then quick: the way out differs per list (well within the
			// tenth of the interval the poller allows for it)
			return time.Millisecond
		}
		return 0
	})
	r := &testRelay{begin: func(n int) time.Duration {
		if n%2 == 0 {
			return 120 * time.Millisecond // the store answers late every other time
		}
		return 0
	}}
	r.setOwner(true)
	p := NewPoller(a.list, func(i item) string { return i.id }, func(i item) bool { return true }, interval, interval)
	p.Share(r, "c", "k")
	waitForever(t, p)
	checkSpacing(t, a.waitLists(t, 8), interval)
}

// A kick (a lost feed, an announcement to describe) lists at once only
// when the last list is an interval old: a kick right after a list waits.
func TestPollerSpacingKick(t *testing.T) {
	const interval = 200 * time.Millisecond
	a := newArrivals(nil)
	p := NewPoller(a.list, func(i item) string { return i.id }, func(i item) bool { return true }, interval, interval)
	waitForever(t, p)
	a.waitLists(t, 1)
	p.Kick()
	checkSpacing(t, a.waitLists(t, 3), interval)
}

// A replica that becomes the owner right after the previous owner listed
// (a handover: the old owner stopped gracefully, or lost its term to a
// store hiccup) makes its first list an interval after that one at the
// earliest, even when something asks it to list at once.
func TestPollerSpacingTakeover(t *testing.T) {
	const interval = 200 * time.Millisecond
	a := newArrivals(nil)
	r := &testRelay{}
	p := NewPoller(a.list, func(i item) string { return i.id }, func(i item) bool { return true }, interval, interval)
	p.Share(r, "c", "k")
	waitForever(t, p)
	until(t, "the follower's loop runs", func() bool { return p.Waiters() == 1 })
	previous := time.Now() // the previous owner's last list, recorded as it began
	r.mu.Lock()
	r.last = previous
	r.mu.Unlock()
	r.setOwner(true)
	p.Kick()
	at := a.waitLists(t, 2)
	if gap := at[0].Sub(previous); gap < interval {
		t.Errorf("the new owner's first list came %v after the previous owner's (interval %v)", gap, interval)
	}
	checkSpacing(t, at, interval)
}

// An adapter over HTTP spends time of its own between the call and the
// wire (signing, dialing, a goroutine that waits for a CPU), more one time
// than the next: the cadence is timed from when each request was written,
// so the cloud still sees its lists an interval apart. (The poller timed
// them from the adapter's call, and a 41 ms way out once brought two lists
// 489 ms apart at moto with a 500 ms interval.)
func TestPollerSpacingSlowAdapter(t *testing.T) {
	const interval = 200 * time.Millisecond
	a := newArrivals(nil)
	cloud := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = a.list(r.Context())
	}))
	t.Cleanup(cloud.Close)
	var mu sync.Mutex
	n := 0
	list := func(ctx context.Context) ([]item, error) {
		mu.Lock()
		slow := n%2 == 0
		n++
		mu.Unlock()
		if slow {
			time.Sleep(interval / 4) // the adapter's own work, before the wire
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, cloud.URL, nil)
		if err != nil {
			return nil, err
		}
		resp, err := cloud.Client().Do(req)
		if err != nil {
			return nil, err
		}
		resp.Body.Close()
		return []item{{"x", "BUILD"}}, nil
	}
	p := NewPoller(list, func(i item) string { return i.id }, func(i item) bool { return true }, interval, interval)
	waitForever(t, p)
	checkSpacing(t, a.waitLists(t, 6), interval)
}
