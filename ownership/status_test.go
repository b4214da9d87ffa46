//go:build etcd

package ownership_test

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/canopy-cloud/canopy/cache"
	"github.com/canopy-cloud/canopy/ownership"
)

// countingCloud is one cloud every replica's poller lists: it counts the
// lists (when each started) and holds each resource's status.
type countingCloud struct {
	mu     sync.Mutex
	status map[string]string
	lists  []time.Time
}

type item struct{ ID, Status string }

func (c *countingCloud) list(context.Context) ([]item, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lists = append(c.lists, time.Now())
	out := make([]item, 0, len(c.status))
	for id, s := range c.status {
		out = append(out, item{id, s})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID }) // a cloud's order is stable
	return out, nil
}

func (c *countingCloud) set(id, s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.status[id] = s
}

func (c *countingCloud) listTimes() []time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Time(nil), c.lists...)
}

// replica is one canopyd's share of the test: its owner, held clouds,
// relay and poller.
type replica struct {
	name   string
	e      *ownership.Etcd
	cancel context.CancelFunc
	held   *ownership.Held
	p      *cache.Poller[item]
}

// Three replicas with waiters on the same cloud: the cloud sees one list
// per interval (only the owner lists, also for the other replicas'
// waiters, which it has none of itself), every waiter wakes soon after the
// change, and after the owner dies a survivor lists in its place.
func TestStatusRelayOneListPerInterval(t *testing.T) {
	const interval = 200 * time.Millisecond
	p := testPrefix(t)
	cloud := &countingCloud{status: map[string]string{"x": "building", "y": "building"}}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	reps := make([]*replica, 3)
	for i := range reps {
		cli := etcdClient(t)
		defer cli.Close()
		r := &replica{name: fmt.Sprintf("r%d", i)}
		r.e = ownership.NewEtcd(cli, p+"/v1/", r.name, 2)
		defer r.e.Close()
		var rctx context.Context
		rctx, r.cancel = context.WithCancel(ctx)
		defer r.cancel()
		r.held = ownership.Hold(rctx, r.e, []string{"c1"}, func(err error) { t.Log(err) })
		relay := ownership.NewStatusRelay(rctx, r.e, r.held)
		r.p = cache.NewPoller(cloud.list, func(it item) string { return it.ID },
			func(it item) bool { return it.Status == "building" }, interval, interval)
		r.p.Share(relay, "c1", "servers")
		reps[i] = r
	}
	var owner *replica
	for owner == nil {
		for _, r := range reps {
			if _, ok := r.held.Owns("c1"); ok {
				owner = r
			}
		}
		select {
		case <-ctx.Done():
			t.Fatal("no replica owns c1")
		case <-time.After(20 * time.Millisecond):
		}
	}
	var followers []*replica
	for _, r := range reps {
		if r != owner {
			followers = append(followers, r)
		}
	}

	// wait starts n waiters for id on r and reports when each is ready.
	type woken struct {
		at  time.Time
		err error
	}
	wait := func(r *replica, id string, n int) <-chan woken {
		ch := make(chan woken, n)
		for range n {
			go func() {
				_, _, err := r.p.Wait(ctx, id, func(it item, ok bool) bool { return ok && it.Status == "ready" })
				ch <- woken{time.Now(), err}
			}()
		}
		return ch
	}
	collect := func(what string, chs []<-chan woken, n int, changed time.Time) {
		t.Helper()
		var worst time.Duration
		for _, ch := range chs {
			for range n {
				select {
				case w := <-ch:
					if w.err != nil {
						t.Fatalf("%s: waiter: %v", what, w.err)
					}
					if d := w.at.Sub(changed); d > worst {
						worst = d
					}
				case <-ctx.Done():
					t.Fatalf("%s: waiters not woken", what)
				}
			}
		}
		t.Logf("%s: every waiter woken %v after the change (interval %v)", what, worst, interval)
		if worst > interval+time.Second { // the bound of the issue is interval + 100 ms; a loaded test machine gets slack
			t.Errorf("%s: a waiter woke %v after the change", what, worst)
		}
	}

	// Only the followers wait: the owner lists for them.
	const n = 5
	chs := []<-chan woken{wait(followers[0], "x", n), wait(followers[1], "x", n)}
	start := time.Now()
	deadline := time.After(8 * interval)
	for waiting := false; !waiting; {
		select {
		case <-deadline:
			waiting = true
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		}
	}
	changed := time.Now()
	cloud.set("x", "ready")
	collect("followers' waiters", chs, n, changed)
	if owner.p.Polls() == 0 || followers[0].p.Polls() != 0 || followers[1].p.Polls() != 0 {
		t.Errorf("lists: owner %d, followers %d and %d; want only the owner's", owner.p.Polls(), followers[0].p.Polls(), followers[1].p.Polls())
	}
	if followers[0].p.Relayed() == 0 || followers[1].p.Relayed() == 0 {
		t.Errorf("relayed lists: %d and %d; want some on each follower", followers[0].p.Relayed(), followers[1].p.Relayed())
	}
	lists := cloud.listTimes()
	elapsed := time.Since(start)
	if max := int(elapsed/interval) + 2; len(lists) > max {
		t.Errorf("%d lists in %v: more than one per interval of %v (max %d)", len(lists), elapsed, interval, max)
	}
	for i := 1; i < len(lists); i++ {
		if gap := lists[i].Sub(lists[i-1]); gap < interval/2 {
			t.Errorf("lists %d and %d only %v apart (interval %v)", i-1, i, gap, interval)
		}
	}
	t.Logf("%d lists at the cloud in %v with waiters on 2 of 3 replicas", len(lists), elapsed)

	// A waiter that comes after the change, for a state the owner's lists
	// already hold: the next list the owner begins after it answers it.
	// (A waiter for something that never comes keeps the follower's
	// poller running, so it does not start afresh with a new read.)
	wait(followers[0], "never", 1)
	pollsBefore := owner.p.Polls()
	time.Sleep(3 * interval) // the follower settles on the unchanged list
	if owner.p.Polls() == pollsBefore {
		t.Error("the owner stopped listing while a follower waits")
	}
	collect("a late waiter, nothing changing", []<-chan woken{wait(followers[0], "x", 1)}, 1, time.Now())

	// The owner dies: a survivor owns the cloud and lists for both.
	owner.cancel()
	if err := owner.e.Close(); err != nil {
		t.Fatal(err)
	}
	before := len(cloud.listTimes())
	chs = []<-chan woken{wait(followers[0], "y", n), wait(followers[1], "y", n)}
	for len(cloud.listTimes()) < before+3 {
		select {
		case <-ctx.Done():
			t.Fatal("nobody lists after the owner died")
		case <-time.After(interval / 4):
		}
	}
	changed = time.Now()
	cloud.set("y", "ready")
	collect("after the owner died", chs, n, changed)
	if followers[0].p.Polls()+followers[1].p.Polls() == 0 {
		t.Error("no survivor listed after the owner died")
	}
}

// Members counts the live replicas: a new one is counted by all, a
// closed one (its lease revoked) leaves the count.
func TestMembers(t *testing.T) {
	p := testPrefix(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var es []*ownership.Etcd
	var stops []context.CancelFunc
	var counts []<-chan int
	for i := range 3 {
		cli := etcdClient(t)
		defer cli.Close()
		e := ownership.NewEtcd(cli, p+"/v1/", fmt.Sprintf("m%d", i), 2)
		defer e.Close()
		es = append(es, e)
		mctx, stop := context.WithCancel(ctx)
		defer stop()
		stops = append(stops, stop)
		counts = append(counts, e.Members(mctx))
	}
	until := func(ch <-chan int, want int) {
		t.Helper()
		for {
			select {
			case n := <-ch:
				if n == want {
					return
				}
			case <-ctx.Done():
				t.Fatalf("member count never reached %d", want)
			}
		}
	}
	for _, ch := range counts {
		until(ch, 3)
	}
	stops[2]() // the replica stops: no more registering, then its lease goes
	for range counts[2] {
	}
	if err := es[2].Close(); err != nil {
		t.Fatal(err)
	}
	until(counts[0], 2)
	until(counts[1], 2)
}

// A graceful handover (the owner stops and revokes its lease, so the next
// replica owns the cloud at once) right after the owner listed: the new
// owner's first list comes an interval after the old owner's last at the
// earliest (the owner records each list in etcd, fenced, before it sends
// it), so the cloud never sees two lists closer than the interval.
func TestStatusRelayHandoverSpacing(t *testing.T) {
	const interval = 300 * time.Millisecond
	p := testPrefix(t)
	cloud := &countingCloud{status: map[string]string{"x": "building"}}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	reps := make([]*replica, 3)
	for i := range reps {
		cli := etcdClient(t)
		defer cli.Close()
		r := &replica{name: fmt.Sprintf("h%d", i)}
		r.e = ownership.NewEtcd(cli, p+"/v1/", r.name, 2)
		defer r.e.Close()
		var rctx context.Context
		rctx, r.cancel = context.WithCancel(ctx)
		defer r.cancel()
		r.held = ownership.Hold(rctx, r.e, []string{"c1"}, func(err error) { t.Log(err) })
		r.p = cache.NewPoller(cloud.list, func(it item) string { return it.ID },
			func(it item) bool { return it.Status == "building" }, interval, interval)
		r.p.Share(ownership.NewStatusRelay(rctx, r.e, r.held), "c1", "servers")
		go func() { _, _, _ = r.p.Wait(rctx, "x", func(item, bool) bool { return false }) }()
		reps[i] = r
	}
	waitLists := func(n int) {
		t.Helper()
		for len(cloud.listTimes()) < n {
			select {
			case <-ctx.Done():
				t.Fatalf("fewer than %d lists", n)
			case <-time.After(time.Millisecond):
			}
		}
	}
	live := reps
	for round := range 2 {
		waitLists(len(cloud.listTimes()) + 2)
		// Right after a list, its maker hands over.
		n := len(cloud.listTimes())
		waitLists(n + 1)
		var owner *replica
		for _, r := range live {
			if _, ok := r.held.Owns("c1"); ok {
				owner = r
			}
		}
		if owner == nil {
			t.Fatalf("round %d: no live replica owns c1 right after a list", round)
		}
		owner.cancel()
		if err := owner.e.Close(); err != nil {
			t.Fatal(err)
		}
		var rest []*replica
		for _, r := range live {
			if r != owner {
				rest = append(rest, r)
			}
		}
		live = rest
	}
	waitLists(len(cloud.listTimes()) + 3)
	lists := cloud.listTimes()
	for i := 1; i < len(lists); i++ {
		if gap := lists[i].Sub(lists[i-1]); gap < interval {
			t.Errorf("lists %d and %d only %v apart (interval %v)", i-1, i, gap, interval)
		}
	}
	t.Logf("%d lists over two handovers (interval %v)", len(lists), interval)
}
