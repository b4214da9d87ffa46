package router_test

import (
	"context"
	"testing"

	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/providers/sim"
)

// withoutFIPs is the simulator without floating IPs (a cloud with no
// external network to take them from, as an adapter may say).
type withoutFIPs struct{ *sim.Cloud }

func (w withoutFIPs) Has(capability string) bool {
	return capability != providers.CapFloatingIPs && w.Cloud.Has(capability)
}

// noNetworks is an adapter with nothing but health.
type noNetworks struct{}

func (noNetworks) Info(context.Context) (providers.Info, error) { return providers.Info{}, nil }
func (noNetworks) Close() error                                 { return nil }

func init() {
	providers.Register("router-test-nofip", func(ctx context.Context, cfg providers.Config) (providers.Provider, error) {
		p, err := providers.Open(ctx, "sim", cfg)
		if err != nil {
			return nil, err
		}
		return withoutFIPs{p.(*sim.Cloud)}, nil
	})
	providers.Register("router-test-nonet", func(context.Context, providers.Config) (providers.Provider, error) { return noNetworks{}, nil })
}

// A cloud gets the Watch poller of each networking kind it has, and none
// of a kind it lacks.
func TestNetworkPollersFollowCapabilities(t *testing.T) {
	r, _ := openRouter(t, `
clouds:
  - {name: full, kind: sim}
  - {name: nofip, kind: router-test-nofip}
  - {name: nonet, kind: router-test-nonet}
`)
	for _, tc := range []struct {
		cloud                      string
		networks, ports, sgs, fips bool
	}{
		{"full", true, true, true, true},
		{"nofip", true, true, true, false},
		{"nonet", false, false, false, false},
	} {
		cl, ok := r.Cloud(tc.cloud)
		if !ok {
			t.Fatalf("no cloud %q", tc.cloud)
		}
		got := [4]bool{cl.Networks != nil, cl.Ports != nil, cl.SecurityGroups != nil, cl.FloatingIPs != nil}
		if want := [4]bool{tc.networks, tc.ports, tc.sgs, tc.fips}; got != want {
			t.Errorf("%s: pollers (networks, ports, groups, floating IPs) = %v, want %v", tc.cloud, got, want)
		}
	}
	// The pollers list through the cached driver: a watcher's poll is one
	// ListSecurityGroups at the cloud.
	cl, _ := r.Cloud("full")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	snap := <-cl.SecurityGroups.Subscribe(ctx)
	if snap.Err != nil || len(snap.Items) == 0 {
		t.Fatalf("first poll: %v, %d groups", snap.Err, len(snap.Items))
	}
	cancel()
	if calls, polls := cl.Provider.(*sim.Cloud).Calls("ListSecurityGroups"), cl.SecurityGroups.Polls(); calls < 1 || calls > polls {
		t.Errorf("%d polls made %d ListSecurityGroups calls", polls, calls)
	}
}
