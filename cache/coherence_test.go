package cache

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/providers/sim"
)

// testVersions is a Coherence whose versions are in the same order as
// the testRelay's revisions (as etcd's are: one revision counter).
type testVersions struct {
	r   *testRelay
	mu  sync.Mutex
	ver map[string]int64
}

func (v *testVersions) Written(_ context.Context, cloud string) error {
	v.r.mu.Lock()
	v.r.rev++
	rev := v.r.rev
	v.r.mu.Unlock()
	v.mu.Lock()
	defer v.mu.Unlock()
	v.ver[cloud] = rev
	return nil
}

func (v *testVersions) Current(_ context.Context, cloud string) (int64, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.ver[cloud], nil
}

// On a replica (a poller shared through a relay, coherent caches), a
// cached list read after a write, this replica's or another's, is a
// refill that cost the cloud a list of its own on top of the owner's
// polls (issue 19's extra lists). Answered from the poller (ServersFrom),
// the read shows the write (a list begun after it was announced) and the
// cloud sees only polls.
func TestPolledListsAnswerReadsAfterWrites(t *testing.T) {
	const interval = 100 * time.Millisecond
	s := sim.New(sim.Options{Servers: 2})
	m := NewMetrics(prometheus.NewRegistry())
	c := NewCompute("c1", s, NewLimiter("c1", 1e6, 1e6, m), m, Options{TTL: map[string]time.Duration{Servers: time.Minute}, Poll: interval})
	r := &testRelay{}
	r.setOwner(true)
	c.Coherent(&testVersions{r: r, ver: map[string]int64{}})
	p := NewPoller(c.ListServersFresh, serverKey, serverMoving, interval, interval)
	p.Share(r, "c1", Servers)
	c.ServersFrom(p)
	ctx, cancel := context.WithTimeout(context.Background(), testDeadline)
	defer cancel()

	has := func(what, id string) bool {
		t.Helper()
		list, err := c.ListServers(ctx)
		if err != nil {
			t.Fatalf("%s: list: %v", what, err)
		}
		for _, x := range list {
			if x.NativeID == id {
				return true
			}
		}
		return false
	}
	for i := range 3 {
		// A write through this replica.
		sv, err := c.CreateServer(ctx, providers.ServerSpec{Name: "own", FlavorID: "1", ImageID: "img-cirros"})
		if err != nil {
			t.Fatal(err)
		}
		if !has("after own create", sv.NativeID) {
			t.Fatalf("round %d: the list after this replica's create lacks %s", i, sv.NativeID)
		}
		// A write through another replica: the cloud changes, then the
		// write is announced, then that replica answers its client.
		other, err := s.CreateServer(ctx, providers.ServerSpec{Name: "other", FlavorID: "1", ImageID: "img-cirros"})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.coh.Written(ctx, "c1"); err != nil {
			t.Fatal(err)
		}
		if !has("after another replica's create", other.NativeID) {
			t.Fatalf("round %d: the list after another replica's create lacks %s", i, other.NativeID)
		}
	}
	for _, reason := range []string{ListRefillLocal, ListRefillRemote, ListCold, ListExpired} {
		if n := testutil.ToFloat64(m.lists.WithLabelValues("c1", Servers, reason)); n != 0 {
			t.Errorf("%v whole lists for %s reads: the reads were not answered by the poller", n, reason)
		}
	}
	polls := testutil.ToFloat64(m.lists.WithLabelValues("c1", Servers, ListPoll)) + testutil.ToFloat64(m.lists.WithLabelValues("c1", Servers, ListTakeover))
	if got := float64(s.Calls("ListServers")); got != polls {
		t.Errorf("the cloud saw %v server lists, the poller made %v", got, polls)
	}
}

// A failed poll is transient to a cached read answered by the poller, as
// to a waiter: the read gets the next list that works, and the list's
// error only if the lists still fail when the read gives up.
func TestPolledReadOutlastsAFailedList(t *testing.T) {
	const interval = 50 * time.Millisecond
	var mu sync.Mutex
	fails := 1
	failed := make(chan struct{}, 100) // a list failed while every list fails
	list := func(context.Context) ([]item, error) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case fails < 0:
			failed <- struct{}{}
		case fails == 0:
			return []item{{"x", "ACTIVE"}}, nil
		default:
			fails--
		}
		return nil, errors.New("the cloud timed out")
	}
	r := &testRelay{}
	r.setOwner(true)
	p := NewPoller(list, func(i item) string { return i.id }, func(item) bool { return false }, interval, interval)
	p.Share(r, "c1", Servers)
	ctx, cancel := context.WithTimeout(context.Background(), testDeadline)
	defer cancel()
	items, err := p.Latest(ctx, 0, time.Minute)
	if err != nil || len(items) != 1 {
		t.Fatalf("read after one failed list: %v, %v; want the next list's item", items, err)
	}
	mu.Lock()
	fails = -1 // from now on every list fails
	mu.Unlock()
	rev, _ := r.Revision(ctx)
	rctx, rcancel := context.WithCancel(ctx)
	defer rcancel()
	got := make(chan error, 1)
	go func() {
		_, err := p.Latest(rctx, rev, time.Minute)
		got <- err
	}()
	until(t, "the read waits", func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return len(p.readers) == 1
	})
	for len(failed) > 0 { // lists that failed before it waited
		<-failed
	}
	// Three failed lists: the second began after the read waited, and has
	// reached it once the third begins (the poller lists one at a time).
	// Then the read gives up.
	within(t, "a failed list", failed)
	within(t, "a second failed list", failed)
	within(t, "a third failed list", failed)
	rcancel()
	if err, _ := within(t, "the read's end", got); err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Errorf("read while every list fails: %v; want the lists' error", err)
	}
}
