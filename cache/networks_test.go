package cache

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/providers/sim"
)

func newNet(t *testing.T, p providers.Provider) *Net {
	t.Helper()
	m := NewMetrics(prometheus.NewRegistry())
	ttl := map[string]time.Duration{}
	for _, k := range NetworkKinds {
		ttl[k] = time.Minute
	}
	n := NewNet("c1", p, NewLimiter("c1", 0, 1, m), Options{TTL: ttl, Poll: 50 * time.Millisecond})
	if n == nil {
		t.Fatal("NewNet: nil over an adapter with networks")
	}
	return n
}

// The Watch pollers' lists: each goes to the cloud (a change made there
// behind canopy's back is seen), concurrent ones cost one call, and what
// they read refreshes the cache the other reads answer from.
func TestFreshNetworkListsSeeTheCloud(t *testing.T) {
	s := sim.New(sim.Options{Latency: 20 * time.Millisecond})
	n := newNet(t, s)
	ctx := context.Background()
	kinds := []struct {
		method        string
		cached, fresh func() (int, error)
		change        func() error
	}{
		{"ListNetworks",
			func() (int, error) { x, err := n.ListNetworks(ctx); return len(x), err },
			func() (int, error) { x, err := n.ListNetworksFresh(ctx); return len(x), err },
			func() error { _, err := s.CreateNetwork(ctx, providers.NetworkSpec{Name: "behind"}); return err }},
		{"ListFloatingIPs",
			func() (int, error) { x, err := n.ListFloatingIPs(ctx); return len(x), err },
			func() (int, error) { x, err := n.ListFloatingIPsFresh(ctx); return len(x), err },
			func() error { _, err := s.AllocateFloatingIP(ctx, providers.FloatingIPSpec{}); return err }},
		{"ListSecurityGroups",
			func() (int, error) { x, err := n.ListSecurityGroups(ctx); return len(x), err },
			func() (int, error) { x, err := n.ListSecurityGroupsFresh(ctx); return len(x), err },
			func() error {
				_, err := s.CreateSecurityGroup(ctx, providers.SecurityGroupSpec{Name: "behind"})
				return err
			}},
	}
	for _, k := range kinds {
		before, err := k.cached()
		if err != nil {
			t.Fatalf("%s: %v", k.method, err)
		}
		if _, err := k.cached(); err != nil {
			t.Fatal(err)
		}
		if got := s.Calls(k.method); got != 1 {
			t.Fatalf("%s: two cached lists cost %d calls, want 1", k.method, got)
		}
		if err := k.change(); err != nil {
			t.Fatalf("%s: change at the cloud: %v", k.method, err)
		}
		if got, _ := k.cached(); got != before {
			t.Fatalf("%s: the cached list already shows the change (%d, was %d): the test proves nothing", k.method, got, before)
		}
		var wg sync.WaitGroup
		counts, errs := make([]int, 20), make([]error, 20)
		for i := range counts {
			wg.Add(1)
			go func() {
				defer wg.Done()
				counts[i], errs[i] = k.fresh()
			}()
		}
		wg.Wait()
		for i, c := range counts {
			if errs[i] != nil || c != before+1 {
				t.Errorf("%s: fresh list %d has %d items (%v), want %d", k.method, i, c, errs[i], before+1)
			}
		}
		if got := s.Calls(k.method); got != 2 {
			t.Errorf("%s: 20 concurrent fresh lists cost %d calls (with the first), want 2", k.method, got)
		}
		if got, _ := k.cached(); got != before+1 {
			t.Errorf("%s: the cache after a fresh list has %d items, want %d", k.method, got, before+1)
		}
		if got := s.Calls(k.method); got != 2 {
			t.Errorf("%s: the cached list after a fresh one went to the cloud (%d calls)", k.method, got)
		}
	}
}

// limited hides a capability of the simulator.
type limited struct {
	*sim.Cloud
	without string
}

func (l limited) Has(capability string) bool {
	return capability != l.without && l.Cloud.Has(capability)
}

func TestFreshListsOfAMissingCapability(t *testing.T) {
	for _, c := range []struct {
		without string
		list    func(*Net) error
	}{
		{providers.CapFloatingIPs, func(n *Net) error { _, err := n.ListFloatingIPsFresh(context.Background()); return err }},
		{providers.CapSecurityGroups, func(n *Net) error { _, err := n.ListSecurityGroupsFresh(context.Background()); return err }},
	} {
		s := sim.New(sim.Options{})
		n := newNet(t, limited{s, c.without})
		if n.Has(c.without) {
			t.Fatalf("Has(%s) over an adapter without it", c.without)
		}
		if err := c.list(n); !errors.Is(err, providers.ErrUnsupported) {
			t.Errorf("without %s: %v, want ErrUnsupported", c.without, err)
		}
		if s.Calls("") != 0 {
			t.Errorf("without %s: %d calls reached the cloud", c.without, s.Calls(""))
		}
	}
}
