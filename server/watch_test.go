package server

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc/codes"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
)

const watchCloud = `
clouds:
  - name: local
    kind: sim
    options: {servers: 2, boot_delay: 60ms, action_delay: 40ms, delete_delay: 40ms}
`

type evt struct {
	typ    canopyv1.WatchServersResponse_EventType
	name   string
	status canopyv1.Status
}

func recv(t *testing.T, stream canopyv1.ComputeService_WatchServersClient) evt {
	t.Helper()
	r, err := stream.Recv()
	if err != nil {
		t.Fatalf("recv: %v", err)
	}
	return evt{r.Type, r.GetServer().GetName(), r.GetServer().GetStatus()}
}

func TestWatchServersOrder(t *testing.T) {
	// Transitions last an hour unless the test ends them (FinishTransition)
	// once the watch has shown them: every state is seen whatever the
	// machine's load.
	e := newEnv(t, `
clouds:
  - name: local
    kind: sim
    options: {servers: 2, boot_delay: 1h, action_delay: 1h, delete_delay: 1h}
`)
	ctx, cancel := context.WithTimeout(context.Background(), testDeadline)
	defer cancel()
	stream, err := e.compute.WatchServers(ctx, &canopyv1.WatchServersRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []evt{
		{canopyv1.WatchServersResponse_EVENT_TYPE_ADDED, "preexisting-0", canopyv1.Status_STATUS_ACTIVE},
		{canopyv1.WatchServersResponse_EVENT_TYPE_ADDED, "preexisting-1", canopyv1.Status_STATUS_ACTIVE},
		{canopyv1.WatchServersResponse_EVENT_TYPE_SYNCED, "", 0},
	} {
		if got := recv(t, stream); got != want {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	sv, err := e.compute.CreateServer(ctx, &canopyv1.CreateServerRequest{Name: "new", Flavor: "m1.tiny", Image: "cirros-0.6.2"})
	if err != nil {
		t.Fatal(err)
	}
	// The new server appears, becomes ACTIVE; then it is deleted and goes.
	var seen []evt
	deleted := false
	for !deleted {
		ev := recv(t, stream)
		if ev.name != "new" {
			t.Fatalf("event for another server: %v", ev)
		}
		seen = append(seen, ev)
		switch ev.status {
		case canopyv1.Status_STATUS_PENDING, canopyv1.Status_STATUS_DELETING:
			e.sim("local").FinishTransition(sv.NativeId) // seen: let it end
		case canopyv1.Status_STATUS_ACTIVE:
			if ev.typ == canopyv1.WatchServersResponse_EVENT_TYPE_MODIFIED {
				if _, err := e.compute.DeleteServer(ctx, &canopyv1.DeleteServerRequest{Id: sv.Id}); err != nil {
					t.Fatal(err)
				}
			}
		}
		deleted = ev.typ == canopyv1.WatchServersResponse_EVENT_TYPE_DELETED
	}
	order := []canopyv1.Status{}
	for _, ev := range seen {
		if len(order) == 0 || order[len(order)-1] != ev.status {
			order = append(order, ev.status)
		}
	}
	want := []canopyv1.Status{canopyv1.Status_STATUS_PENDING, canopyv1.Status_STATUS_ACTIVE, canopyv1.Status_STATUS_DELETING, canopyv1.Status_STATUS_DELETED}
	if len(order) != len(want) {
		t.Fatalf("status order %v (events %v), want %v", order, seen, want)
	}
	for i := range want {
		if order[i] != want[i] {
			t.Fatalf("status order %v, want %v", order, want)
		}
	}
	if seen[0].typ != canopyv1.WatchServersResponse_EVENT_TYPE_ADDED {
		t.Errorf("first event for a new server is %v, want ADDED", seen[0].typ)
	}
}

func TestWatchersShareThePoller(t *testing.T) {
	e := newEnv(t, watchCloud)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const n = 10
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		stream, err := e.compute.WatchServers(ctx, &canopyv1.WatchServersRequest{})
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				if _, err := stream.Recv(); err != nil {
					return
				}
			}
		}()
	}
	// Every watcher subscribed, and the poller has listed a few times.
	eventually(t, "every watcher subscribed", func() bool { return e.srv.cloudNamed("local").Servers.Subscribers() == n })
	start := e.srv.cloudNamed("local").Servers.Polls()
	eventually(t, "three polls with every watcher subscribed", func() bool { return e.srv.cloudNamed("local").Servers.Polls() >= start+3 })
	lists := e.sim("local").Calls("ListServers")
	polls := e.srv.cloudNamed("local").Servers.Polls()
	// One list per poll (plus at most one initial list per watcher, which the
	// cache coalesces); never one list per watcher per interval.
	if lists > polls+n {
		t.Errorf("%d watchers over %d polls made %d list calls", n, polls, lists)
	}
	if subs := e.srv.cloudNamed("local").Servers.Subscribers(); subs != n {
		t.Errorf("subscribers = %d, want %d", subs, n)
	}
	cancel()
	wg.Wait()
}

func TestWatchErrorsAndFilters(t *testing.T) {
	e := newEnv(t, watchCloud)
	ctx := ctxT(t)
	for _, tc := range []struct {
		req   *canopyv1.WatchServersRequest
		field string
	}{
		{&canopyv1.WatchServersRequest{Ids: []string{"not-an-id"}}, "ids"},
		{&canopyv1.WatchServersRequest{Location: &canopyv1.Location{Cloud: "nope"}}, "location.cloud"},
		{&canopyv1.WatchServersRequest{Labels: map[string]string{"BAD": "x"}}, "labels[BAD]"},
	} {
		stream, err := e.compute.WatchServers(ctx, tc.req)
		if err == nil {
			_, err = stream.Recv()
		}
		wantErr(t, err, codes.InvalidArgument, tc.field)
	}
	list, _ := e.compute.ListServers(ctx, &canopyv1.ListServersRequest{Name: "preexisting-1"})
	stream, err := e.compute.WatchServers(ctx, &canopyv1.WatchServersRequest{Ids: []string{list.Servers[0].Id}})
	if err != nil {
		t.Fatal(err)
	}
	if ev := recv(t, stream); ev.name != "preexisting-1" {
		t.Errorf("watch by id sent %v", ev)
	}
	if ev := recv(t, stream); ev.typ != canopyv1.WatchServersResponse_EVENT_TYPE_SYNCED {
		t.Errorf("then %v, want SYNCED", ev)
	}
}

func TestWatchOverREST(t *testing.T) {
	e := newEnv(t, watchCloud)
	ctx, cancel := context.WithTimeout(context.Background(), testDeadline)
	defer cancel()
	resp, err := e.get(ctx, "/v1/servers:watch")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	var types []string
	for len(types) < 3 && sc.Scan() {
		var line struct {
			Result struct {
				Type string `json:"type"`
			} `json:"result"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("not a JSON line: %q", sc.Text())
		}
		types = append(types, line.Result.Type)
	}
	if strings.Join(types, ",") != "EVENT_TYPE_ADDED,EVENT_TYPE_ADDED,EVENT_TYPE_SYNCED" {
		t.Errorf("REST watch sent %v", types)
	}
}

func TestCoalescingAndMetricsThroughGRPC(t *testing.T) {
	e := newEnv(t, `
clouds:
  - name: local
    kind: sim
    options: {servers: 20, latency: 50ms}
    cache: {servers: 1h}
`)
	// The list stays cached for the whole test, so however the machine
	// spreads the 200 calls they share one upstream list: coalesced with
	// it while it runs, answered from the cache after.
	ctx := ctxT(t)
	const n = 200
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := e.compute.ListServers(ctx, &canopyv1.ListServersRequest{}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if got := e.sim("local").Calls("ListServers"); got != 1 {
		t.Errorf("%d concurrent ListServers cost %d upstream calls, want 1", n, got)
	}
	// Our own create is visible on the next list (no stale read of a write).
	sv, err := e.compute.CreateServer(ctx, &canopyv1.CreateServerRequest{Name: "mine", Flavor: "m1.tiny", Image: "cirros-0.6.2"})
	if err != nil {
		t.Fatal(err)
	}
	list, err := e.compute.ListServers(ctx, &canopyv1.ListServersRequest{Name: "mine"})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Servers) != 1 || list.Servers[0].Id != sv.Id {
		t.Errorf("own create not visible: %v", list.Servers)
	}
	resp, err := http.Get(e.rest + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`canopy_upstream_calls_total{cloud="local",kind="servers",method="ListServers"}`,
		`canopy_rpc_duration_seconds_bucket{code="OK",method="/canopy.v1.ComputeService/ListServers"`,
		`canopy_poll_interval_seconds{cloud="local",kind="servers"}`,
		`canopy_waiters{cloud="local",kind="servers"}`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	// Every list but the first shared its upstream call: coalesced with it
	// or, after it, answered from the cache.
	shared := 0.0
	for _, result := range []string{"hit", "coalesced"} {
		shared += metricValue(string(body), `canopy_cache_reads_total{cloud="local",kind="servers",result="`+result+`"}`)
	}
	if shared < n-1 {
		t.Errorf("%v reads shared the upstream list, want at least %d", shared, n-1)
	}
}

// metricValue is the value of one series in a /metrics text, 0 if absent.
func metricValue(text, series string) float64 {
	for _, line := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err == nil {
				return f
			}
		}
	}
	return 0
}

// A call the rate limit would delay past its deadline is refused at once
// (RESOURCE_EXHAUSTED), not left to run out: the next token is 1000s away,
// the call's deadline (testDeadline) sooner, so the refusal depends on no
// timing of the machine.
func TestRateLimitIsResourceExhausted(t *testing.T) {
	e := newEnv(t, `
clouds:
  - name: slowcloud
    kind: sim
    rate_limit: {rate: 0.001, burst: 1}
    cache: {servers: 0s}
`)
	ctx := ctxT(t)
	if _, err := e.compute.ListServers(ctx, &canopyv1.ListServersRequest{}); err != nil {
		t.Fatal(err)
	}
	_, err := e.compute.CreateServer(ctx, &canopyv1.CreateServerRequest{Name: "x", Flavor: "m1.tiny", Image: "cirros-0.6.2"})
	wantErr(t, err, codes.ResourceExhausted, "", `cloud "slowcloud"`)
}
