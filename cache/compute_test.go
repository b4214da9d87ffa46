package cache

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/providers/sim"
)

func newCached(t *testing.T, opts sim.Options, rps float64) (*Compute, *sim.Cloud, *Metrics) {
	t.Helper()
	s := sim.New(opts)
	m := NewMetrics(prometheus.NewRegistry())
	ttl := map[string]time.Duration{Servers: time.Minute, Flavors: time.Minute, Images: time.Minute, Keypairs: time.Minute}
	return NewCompute("c1", s, NewLimiter("c1", rps, 1, m), m, Options{TTL: ttl, Poll: 50 * time.Millisecond}), s, m
}

func TestConcurrentListsCostOneCall(t *testing.T) {
	c, s, m := newCached(t, sim.Options{Latency: 50 * time.Millisecond, Servers: 10}, 0)
	const n = 500
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			list, err := c.ListServers(context.Background())
			if err != nil || len(list) != 10 {
				t.Errorf("list: %d, %v", len(list), err)
			}
		}()
	}
	wg.Wait()
	if got := s.Calls("ListServers"); got != 1 {
		t.Errorf("%d concurrent identical lists made %d upstream calls, want 1", n, got)
	}
	hits := testutil.ToFloat64(m.reads.WithLabelValues("c1", Servers, "hit"))
	co := testutil.ToFloat64(m.reads.WithLabelValues("c1", Servers, "coalesced"))
	if hits+co != n-1 {
		t.Errorf("hits %v + coalesced %v != %d", hits, co, n-1)
	}
	if got := testutil.ToFloat64(m.upstream.WithLabelValues("c1", Servers, "ListServers")); got != 1 {
		t.Errorf("upstream metric = %v", got)
	}
}

func TestGetIsAnsweredFromTheList(t *testing.T) {
	c, s, _ := newCached(t, sim.Options{Latency: 20 * time.Millisecond, Servers: 5}, 0)
	ctx := context.Background()
	list, err := c.ListServers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for _, sv := range list {
		for i := 0; i < 20; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got, err := c.GetServer(ctx, sv.NativeID)
				if err != nil || got.NativeID != sv.NativeID {
					t.Errorf("get %s: %v", sv.NativeID, err)
				}
			}()
		}
	}
	wg.Wait()
	if got := s.Calls("GetServer"); got != 0 {
		t.Errorf("gets answered by a fresh list still made %d GetServer calls", got)
	}
	if _, err := c.GetServer(ctx, "srv-missing"); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("missing: %v", err)
	}
}

// gated is a sim whose ListServers the test holds: it reads the cloud,
// says so on entered, then answers only once release is closed.
type gated struct {
	*sim.Cloud
	entered chan struct{}
	release chan struct{}
}

func (g *gated) ListServers(ctx context.Context) ([]providers.Server, error) {
	list, err := g.Cloud.ListServers(ctx)
	g.entered <- struct{}{}
	select {
	case <-g.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return list, err
}

func newGated(t *testing.T, opts sim.Options) (*Compute, *gated) {
	t.Helper()
	g := &gated{Cloud: sim.New(opts), entered: make(chan struct{}, 8), release: make(chan struct{})}
	m := NewMetrics(prometheus.NewRegistry())
	ttl := map[string]time.Duration{Servers: time.Minute, Flavors: time.Minute, Images: time.Minute, Keypairs: time.Minute}
	return NewCompute("c1", g, NewLimiter("c1", 0, 1, m), m, Options{TTL: ttl, Poll: 50 * time.Millisecond}), g
}

func TestGetJoinsListInFlight(t *testing.T) {
	c, g := newGated(t, sim.Options{Servers: 3})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	all, _ := g.Cloud.ListServers(ctx) // direct, to learn the ids
	go func() { _, _ = c.ListServers(ctx) }()
	within(t, "the cached list reaching the cloud", g.entered) // the list is in flight
	type got struct {
		s   providers.Server
		err error
	}
	answer := make(chan got, 1)
	go func() {
		s, err := c.GetServer(ctx, all[1].NativeID)
		answer <- got{s, err}
	}()
	close(g.release)
	r, _ := within(t, "the get answered", answer)
	if r.err != nil || r.s.NativeID != all[1].NativeID {
		t.Fatal(r.s, r.err)
	}
	if gets := g.Calls("GetServer"); gets != 0 {
		t.Errorf("get during an in-flight list made %d GetServer calls", gets)
	}
	if lists := g.Calls("ListServers"); lists != 2 { // ours above + the cached one
		t.Errorf("lists = %d, want 2", lists)
	}
}

func TestWritesInvalidate(t *testing.T) {
	c, s, _ := newCached(t, sim.Options{}, 0)
	ctx := context.Background()
	if list, _ := c.ListServers(ctx); len(list) != 0 {
		t.Fatal("not empty")
	}
	sv, err := c.CreateServer(ctx, providers.ServerSpec{Name: "a", FlavorID: "1", ImageID: "img-cirros"})
	if err != nil {
		t.Fatal(err)
	}
	list, _ := c.ListServers(ctx)
	if len(list) != 1 || list[0].NativeID != sv.NativeID {
		t.Fatalf("list after own create = %v: stale read of one's own write", list)
	}
	if err := c.ServerAction(ctx, sv.NativeID, providers.ActionStop); err != nil {
		t.Fatal(err)
	}
	got, _ := c.GetServer(ctx, sv.NativeID)
	if got.Status != providers.StatusStopped {
		t.Errorf("get after own stop = %v", got.Status)
	}
	if err := c.DeleteServer(ctx, sv.NativeID); err != nil {
		t.Fatal(err)
	}
	if list, _ := c.ListServers(ctx); len(list) != 0 {
		t.Errorf("list after own delete = %v", list)
	}
	if _, err := c.CreateKeypair(ctx, "k", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"); err != nil {
		t.Fatal(err)
	}
	if ks, _ := c.ListKeypairs(ctx); len(ks) != 1 {
		t.Errorf("keypairs after own create = %v", ks)
	}
	_ = s
}

// A list that read the cloud before a create and answers after it is not
// cached over the create (the gate holds it between the two).
func TestListInFlightDuringWriteIsNotStored(t *testing.T) {
	c, g := newGated(t, sim.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan struct{})
	go func() { _, _ = c.ListServers(ctx); close(done) }() // reads before the create, answers after
	within(t, "the list reading the cloud", g.entered)
	if _, err := c.CreateServer(ctx, providers.ServerSpec{Name: "a", FlavorID: "1", ImageID: "img-cirros"}); err != nil {
		t.Fatal(err)
	}
	close(g.release)
	within(t, "the list answered", done)
	if list, _ := c.ListServers(ctx); len(list) != 1 {
		t.Errorf("a list begun before the create was cached over it: %v", list)
	}
}

// fakeClock is the clock a Compute measures Poll on, moved by the test.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (f *fakeClock) now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.t
}

func (f *fakeClock) advance(d time.Duration) {
	f.mu.Lock()
	f.t = f.t.Add(d)
	f.mu.Unlock()
}

func TestTransitionalListsExpireAtPollInterval(t *testing.T) {
	c, s, _ := newCached(t, sim.Options{BootDelay: time.Hour}, 0)
	clock := &fakeClock{t: time.Unix(1e9, 0)}
	c.now = clock.now
	ctx := context.Background()
	if _, err := s.CreateServer(ctx, providers.ServerSpec{Name: "a", FlavorID: "1", ImageID: "img-cirros"}); err != nil {
		t.Fatal(err)
	}
	_, _ = c.ListServers(ctx)
	clock.advance(50 * time.Millisecond) // = Poll: still trusted
	_, _ = c.ListServers(ctx)
	if got := s.Calls("ListServers"); got != 1 {
		t.Fatalf("second list within the poll interval: %d calls", got)
	}
	clock.advance(time.Millisecond) // > Poll (50ms), << TTL (1m)
	_, _ = c.ListServers(ctx)
	if got := s.Calls("ListServers"); got != 2 {
		t.Errorf("a list with a BUILD server was trusted past the poll interval (%d calls)", got)
	}
}

func TestRateLimitDeadline(t *testing.T) {
	c, _, m := newCached(t, sim.Options{}, 0.01) // a call per 100s, burst 1: no token comes back during the test
	c.opts.TTL = nil
	ctx := context.Background()
	if _, err := c.inner.ListFlavors(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.lim.Wait(ctx); err != nil { // takes the one token
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	_, err := c.CreateServer(short, providers.ServerSpec{Name: "a", FlavorID: "1", ImageID: "img-cirros"})
	if !errors.Is(err, providers.ErrRateLimited) || !contains(err.Error(), `cloud "c1"`) {
		t.Fatalf("err = %v, want ErrRateLimited naming the cloud", err)
	}
	if got := testutil.ToFloat64(m.limited.WithLabelValues("c1", "deadline")); got != 1 {
		t.Errorf("limited metric = %v", got)
	}
}

// The limiter is FIFO-fair: each caller reserves the next slot in arrival
// order. Arrivals are sequenced (each waiter holds its reservation before
// the next one starts), and each is checked to return no earlier than its
// slot: waiter i's is the (i+1)th token after the bucket was emptied, 20ms
// apart at 50/s. (The order the goroutines run in once woken is the
// scheduler's, so it is not what is checked.)
//
// A reservation is seen as the bucket holding at least half a token less
// than it would without it; the bucket holds 50 tokens, emptied at the
// start, so that difference lasts until it has refilled (a second), not
// only until the next slot (20ms): a waiter's reservation is seen however
// late the test looks on a loaded machine. (A waiter that came after its
// slot had passed takes a token at once, and is still no earlier than its
// slot.)
func TestRateLimitIsFIFO(t *testing.T) {
	const rps, burst = 50, 50
	lim := NewLimiter("c1", rps, burst, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	t0 := time.Now() // no token is added before t0 that the emptying below does not take
	for i := 0; i < burst; i++ {
		if err := lim.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// Without a new reservation the bucket would hold before +
	// elapsed×rate tokens (at most the burst); a reservation takes one.
	reserved := func(at time.Time, before float64) bool {
		now := time.Now()
		unreserved := min(burst, before+now.Sub(at).Seconds()*rps)
		return lim.lim.TokensAt(now) <= unreserved-0.5
	}
	const n = 5
	var returned [n]time.Time
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		at := time.Now()
		before := lim.lim.TokensAt(at)
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = lim.Wait(ctx)
			returned[i] = time.Now()
		}()
		until(t, fmt.Sprintf("waiter %d reserved its slot", i), func() bool { return reserved(at, before) })
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	within(t, "every waiter served", done)
	for i, r := range returned {
		if slot := t0.Add(time.Duration(i+1) * time.Second / rps); r.Before(slot.Add(-time.Millisecond)) {
			t.Errorf("waiter %d (arrival order) served %s after the start, before its slot at %s: not FIFO", i, r.Sub(t0), slot.Sub(t0))
		}
	}
}

func TestRetryAfterIsHonored(t *testing.T) {
	c, s, m := newCached(t, sim.Options{}, 0)
	ctx := context.Background()
	s.InjectFault("ListFlavors", &providers.RetryAfterError{After: 150 * time.Millisecond, Err: providers.ErrRateLimited}, 1)
	start := time.Now()
	list, err := c.ListFlavors(ctx)
	if err != nil || len(list) == 0 {
		t.Fatalf("after Retry-After: %v", err)
	}
	if el := time.Since(start); el < 150*time.Millisecond {
		t.Errorf("retried after %s, before the cloud's Retry-After of 150ms", el)
	}
	if got := s.Calls("ListFlavors"); got != 2 {
		t.Errorf("calls = %d, want 2 (refused, then retried)", got)
	}
	// A caller whose deadline ends before the pause does gets RESOURCE_EXHAUSTED-worthy ErrRateLimited at once.
	c.lim.Pause(time.Hour)
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	c.invalidate(Flavors)
	if _, err := c.ListFlavors(short); !errors.Is(err, providers.ErrRateLimited) {
		t.Errorf("during a pause past the deadline: %v", err)
	}
	if got := testutil.ToFloat64(m.limited.WithLabelValues("c1", "retry_after")); got < 1 {
		t.Errorf("retry_after metric = %v", got)
	}
}

func contains(s, sub string) bool {
	return strings.Contains(s, sub)
}
