package server

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

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

// A 500 ms deadline over a cloud that answers in 2 s: the caller gets what
// the other clouds answered, and the slow one named as unreachable, not
// DEADLINE_EXCEEDED and nothing.
func TestSlowCloudGivesPartialListByTheDeadline(t *testing.T) {
	e := newEnv(t, strings.Replace(threeSims, "LATENCY", "2s", 1))
	ctx := ctxT(t)
	seedServers(t, e, ctx, "east", "west")
	dctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	resp, err := e.compute.ListServers(dctx, &canopyv1.ListServersRequest{})
	if err != nil {
		t.Fatalf("ListServers with one slow cloud: %v", err)
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
// servers are listed again.
func TestDeadCloudBreakerAndRecovery(t *testing.T) {
	e := newEnv(t, strings.Replace(threeSims, "LATENCY", "0s", 1))
	ctx := ctxT(t)
	seedServers(t, e, ctx, "east", "west", "third")
	third := e.sim("third")
	third.SetDown(true)
	before := third.Calls("ListServers")
	start := time.Now()
	const lists = 40
	for i := 0; i < lists; i++ {
		resp, err := e.compute.ListServers(ctx, &canopyv1.ListServersRequest{})
		if err != nil {
			t.Fatalf("list %d with a dead cloud: %v", i, err)
		}
		if got := cloudNames(resp.Servers); !slices.Equal(got, []string{"east", "west"}) {
			t.Fatalf("list %d: servers from %v, want east and west", i, got)
		}
		if !slices.Equal(resp.Unreachable, []string{"third"}) || codes.Code(resp.CloudErrors[0].Code) != codes.Unavailable {
			t.Fatalf("list %d: unreachable %v, errors %v", i, resp.Unreachable, resp.CloudErrors)
		}
		if i == lists-1 && !strings.Contains(resp.CloudErrors[0].Message, "circuit breaker open") {
			t.Errorf("the last refusal does not say the breaker is open: %s", resp.CloudErrors[0].Message)
		}
	}
	// 3 failures open it, then at most one probe per 200 ms cooldown.
	calls := third.Calls("ListServers") - before
	if bound := 3 + int64(time.Since(start)/(200*time.Millisecond)) + 1; calls > bound {
		t.Errorf("the dead cloud got %d lists out of %d, want at most %d", calls, lists, bound)
	}
	third.SetDown(false)
	deadline := time.Now().Add(testDeadline)
	for {
		resp, err := e.compute.ListServers(ctx, &canopyv1.ListServersRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Unreachable) == 0 {
			if got := cloudNames(resp.Servers); !slices.Equal(got, []string{"east", "third", "west"}) {
				t.Fatalf("after recovery: servers from %v", got)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the cloud came back but is still unreachable: %v", resp.CloudErrors)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
