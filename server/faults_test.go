package server

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/canopy-cloud/canopy/cache"
	"github.com/canopy-cloud/canopy/clock"

	"google.golang.org/grpc/codes"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
)

// threeSims are two quick sim clouds and a third, slow (2 s a call) or
// made dead by the test; reads are not cached, so every list asks each.
const threeSims = `
clouds:
  - name: east
    kind: sim
    zones: [e1]
    cache: {servers: 0s}
  - name: west
    kind: sim
    zones: [w1]
    cache: {servers: 0s}
  - name: third
    kind: sim
    zones: [t1]
    cache: {servers: 0s}
    breaker: {failures: 3, cooldown: 200ms}
    options: {latency: LATENCY}
`

// cloudNames is the clouds the servers of a list come from.
func cloudNames(servers []*canopyv1.Server) []string {
	var out []string
	for _, s := range servers {
		if c := s.GetLocation().GetCloud(); !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	slices.Sort(out)
	return out
}

func seedServers(t *testing.T, e *env, ctx context.Context, clouds ...string) {
	t.Helper()
	for _, cl := range clouds {
		if _, err := e.compute.CreateServer(ctx, &canopyv1.CreateServerRequest{Name: "on-" + cl, Flavor: "m1.tiny", Image: "cirros-0.6.2",
			Location: &canopyv1.Location{Cloud: cl}}); err != nil {
			t.Fatal(err)
		}
	}
}

// A caller's deadline over a cloud that does not answer: the caller gets
// what the other clouds answered, and the silent one named as unreachable,
// not DEADLINE_EXCEEDED and nothing. The third cloud's lists are held until
// the test ends, so no answer from it can come by the deadline however
// slow the machine; the deadline is long enough for the quick clouds to
// answer under load (the fan-out stops waiting 500 ms before it).
func TestSlowCloudGivesPartialListByTheDeadline(t *testing.T) {
	e := newEnv(t, strings.Replace(threeSims, "LATENCY", "0s", 1))
	ctx := ctxT(t)
	seedServers(t, e, ctx, "east", "west")
	release := e.sim("third").HoldCalls("ListServers")
	defer release()
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	resp, err := e.compute.ListServers(dctx, &canopyv1.ListServersRequest{})
	if err != nil {
		t.Fatalf("ListServers with one silent cloud: %v", err)
	}
	if got := cloudNames(resp.Servers); !slices.Equal(got, []string{"east", "west"}) {
		t.Errorf("servers from %v, want east and west", got)
	}
	if !slices.Equal(resp.Unreachable, []string{"third"}) {
		t.Errorf("unreachable = %v, want [third]", resp.Unreachable)
	}
	if len(resp.CloudErrors) != 1 || codes.Code(resp.CloudErrors[0].Code) != codes.DeadlineExceeded || resp.CloudErrors[0].Cloud != "third" {
		t.Errorf("cloud_errors = %v, want third: DEADLINE_EXCEEDED", resp.CloudErrors)
	}
}

// A dead cloud: partial answers naming it, the others unaffected; after
// failures calls its breaker opens and the cloud gets one probe per
// cooldown; when it comes back the next probe closes the breaker and its
// servers are listed again. The breakers read a fake clock, so the
// cooldown passes when the test moves the clock, not when the machine
// gets round to it.
func TestDeadCloudBreakerAndRecovery(t *testing.T) {
	clk := clock.NewFake(time.Now())
	e := newEnv(t, strings.Replace(threeSims, "LATENCY", "0s", 1), WithClock(clk))
	ctx := ctxT(t)
	seedServers(t, e, ctx, "east", "west", "third")
	third := e.sim("third")
	third.SetDown(true)
	before := third.Calls("ListServers")
	list := func(what string, wantMsg string) {
		t.Helper()
		resp, err := e.compute.ListServers(ctx, &canopyv1.ListServersRequest{})
		if err != nil {
			t.Fatalf("%s with a dead cloud: %v", what, err)
		}
		if got := cloudNames(resp.Servers); !slices.Equal(got, []string{"east", "west"}) {
			t.Fatalf("%s: servers from %v, want east and west", what, got)
		}
		if !slices.Equal(resp.Unreachable, []string{"third"}) || codes.Code(resp.CloudErrors[0].Code) != codes.Unavailable {
			t.Fatalf("%s: unreachable %v, errors %v", what, resp.Unreachable, resp.CloudErrors)
		}
		if !strings.Contains(resp.CloudErrors[0].Message, wantMsg) {
			t.Errorf("%s: the refusal %q does not say %q", what, resp.CloudErrors[0].Message, wantMsg)
		}
	}
	calls := func() int64 { return third.Calls("ListServers") - before }
	// 3 failures open it; while the clock stands still no probe goes.
	for i := 0; i < 3; i++ {
		list(fmt.Sprintf("list %d", i), "cloud is down")
	}
	for i := 3; i < 40; i++ {
		list(fmt.Sprintf("list %d", i), "circuit breaker open")
	}
	if n := calls(); n != 3 {
		t.Errorf("the dead cloud got %d lists out of 40 within one cooldown, want 3", n)
	}
	// A cooldown later one list probes it, fails and opens it again.
	clk.Advance(200 * time.Millisecond)
	list("the probe", "cloud is down")
	list("after the probe", "circuit breaker open")
	if n := calls(); n != 4 {
		t.Errorf("the dead cloud got %d lists after one cooldown, want 4", n)
	}
	// It comes back: the next probe, a cooldown later, closes the breaker.
	third.SetDown(false)
	list("back, within the cooldown", "circuit breaker open")
	clk.Advance(200 * time.Millisecond)
	resp, err := e.compute.ListServers(ctx, &canopyv1.ListServersRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Unreachable) != 0 || !slices.Equal(cloudNames(resp.Servers), []string{"east", "third", "west"}) {
		t.Fatalf("after recovery: servers from %v, errors %v", cloudNames(resp.Servers), resp.CloudErrors)
	}
	if cl, _ := e.srv.rt.Cloud("third"); cl.Limiter.Breaker().State() != cache.BreakerClosed {
		t.Errorf("breaker after recovery = %s, want closed", cl.Limiter.Breaker().State())
	}
}
