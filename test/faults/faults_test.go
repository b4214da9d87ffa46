//go:build faults

// Package faults holds canopy's fault tests (DESIGN R2, P6): a canopyd
// process over real engines, moto (AWS) and the OpenStack lab's Nova, with
// Shopify's toxiproxy between them adding latency, resets, blackholes and
// refused connections, and a small HTTP front (front_test.go) adding 5xx
// bursts. A sim cloud is the third, healthy cloud. test/faults/test.sh
// starts what they need and runs them: `make test-faults`.
package faults

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/internal/canopydtest"
)

// The breaker of the faulted clouds: 3 failures open it, a probe every 2 s.
const (
	breakerFailures = 3
	breakerCooldown = 2 * time.Second
)

// bed is canopyd over three clouds: aws (moto) and lab (the OpenStack
// lab, Nova through the proxy) each behind a toxiproxy proxy and a 5xx
// front, and local (a sim).
type bed struct {
	d                *canopydtest.Daemon
	awsP, labP       *proxy
	awsF, labF       *front
	base             map[string][]string // server ids of each cloud, all healthy
	healthySlowest   time.Duration       // the slowest healthy list (sets the deadlines)
	names            []string
	labName, awsName string
}

func env(t *testing.T, name, hint string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		t.Fatalf("%s is not set: %s (test/faults/test.sh sets it)", name, hint)
	}
	return v
}

func newBed(t *testing.T) *bed {
	t.Helper()
	x := &toxiproxy{api: strings.TrimRight(env(t, "CANOPY_TOXIPROXY", "start toxiproxy with test/faults/up.sh"), "/")}
	moto := strings.TrimRight(env(t, "CANOPY_MOTO_ENDPOINT", "start moto with test/moto/up.sh"), "/")
	cloudsYAML := env(t, "OS_CLIENT_CONFIG_FILE", "source /var/tmp/canopy-openstack/canopy-test.env (test/openstack/README.md)")
	osCloud := env(t, "OS_CLOUD", "source the lab's canopy-test.env")
	nova := os.Getenv("CANOPY_FAULTS_NOVA")
	if nova == "" {
		nova = "http://127.0.0.1:8774"
	}
	b := &bed{}
	b.awsF = newFront(t, moto, `<?xml version="1.0"?><Response><Errors><Error><Code>ServiceUnavailable</Code><Message>fault front: 503</Message></Error></Errors></Response>`)
	b.labF = newFront(t, nova, `{"computeFault": {"code": 503, "message": "fault front: 503"}}`)
	b.awsP = x.proxy(t, "canopy-faults-aws", b.awsF.addr)
	b.labP = x.proxy(t, "canopy-faults-lab", b.labF.addr)
	cfg := canopydtest.WriteConfig(t, fmt.Sprintf(`
clouds:
  - name: aws
    kind: aws
    regions: [us-east-1]
    cache: {servers: 0s}
    breaker: {failures: %[1]d, cooldown: %[2]s}
    options: {endpoint: "http://%[3]s", access_key_id: testing, secret_access_key: testing}
  - name: lab
    kind: openstack
    cache: {servers: 0s}
    breaker: {failures: %[1]d, cooldown: %[2]s}
    options:
      clouds_yaml: %[4]q
      cloud: %[5]q
      region: RegionOne
      endpoint_override: {compute: "http://%[6]s/v2.1"}
  - name: local
    kind: sim
    zones: [local-1a]
    cache: {servers: 0s}
`, breakerFailures, breakerCooldown, b.awsP.Listen, cloudsYAML, osCloud, b.labP.Listen))
	b.d = canopydtest.Start(t, t.TempDir(), "--config", cfg)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cl, err := b.d.Clouds.ListClouds(ctx, &canopyv1.ListCloudsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cl.Clouds {
		b.names = append(b.names, c.Name)
	}
	if !slices.Equal(b.names, []string{"aws", "lab", "local"}) {
		t.Fatalf("clouds %v, want aws, lab, local", b.names)
	}
	if _, err := b.d.Compute.CreateServer(ctx, &canopyv1.CreateServerRequest{Name: "faults-local", Flavor: "m1.tiny", Image: "cirros-0.6.2",
		Location: &canopyv1.Location{Cloud: "local"}}); err != nil {
		t.Fatal(err)
	}
	// The healthy picture: every cloud answers; the slowest sets how long
	// the deadlines below must at least be on this (shared) machine.
	for i := 0; i < 3; i++ {
		resp, took, err := b.list(0, "")
		if err != nil || len(resp.Unreachable) > 0 {
			t.Fatalf("healthy list: %v, unreachable %v %v", err, resp.GetUnreachable(), resp.GetCloudErrors())
		}
		b.base = byCloud(resp)
		b.healthySlowest = max(b.healthySlowest, took)
	}
	t.Logf("FAULTS healthy list over 3 clouds: %s (slowest of 3)", b.healthySlowest.Round(time.Millisecond))
	return b
}

// list lists servers with the given deadline (0: none), on one cloud or
// all ("").
func (b *bed) list(timeout time.Duration, cloud string) (*canopyv1.ListServersResponse, time.Duration, error) {
	ctx, cancel := context.Background(), context.CancelFunc(func() {})
	if timeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, timeout)
	} else {
		ctx, cancel = context.WithTimeout(ctx, 2*time.Minute)
	}
	defer cancel()
	var loc *canopyv1.Location
	if cloud != "" {
		loc = &canopyv1.Location{Cloud: cloud}
	}
	start := time.Now()
	resp, err := b.d.Compute.ListServers(ctx, &canopyv1.ListServersRequest{Location: loc, PageSize: 1000})
	return resp, time.Since(start), err
}

func byCloud(resp *canopyv1.ListServersResponse) map[string][]string {
	out := map[string][]string{}
	for _, s := range resp.GetServers() {
		c := s.GetLocation().GetCloud()
		out[c] = append(out[c], s.GetId())
	}
	for _, ids := range out {
		sort.Strings(ids)
	}
	return out
}

// partial checks a list that must hold every cloud but bad as when all
// was healthy (the lab is shared: its servers may change, it must answer),
// and name bad alone as unreachable with the given code.
func (b *bed) partial(t *testing.T, what string, resp *canopyv1.ListServersResponse, err error, bad string, code codes.Code) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: the list failed: %v", what, err)
	}
	if !slices.Equal(resp.Unreachable, []string{bad}) {
		t.Fatalf("%s: unreachable %v (%v), want [%s]", what, resp.Unreachable, resp.CloudErrors, bad)
	}
	if got := codes.Code(resp.CloudErrors[0].Code); got != code {
		t.Errorf("%s: %s's error is %v (%s), want %v", what, bad, got, resp.CloudErrors[0].Message, code)
	}
	got := byCloud(resp)
	for _, c := range b.names {
		if c != bad && c != "lab" && !slices.Equal(got[c], b.base[c]) {
			t.Errorf("%s: cloud %s listed %v, want %v as when all was healthy", what, c, got[c], b.base[c])
		}
	}
	if _, ok := got[bad]; ok {
		t.Errorf("%s: servers of the unreachable cloud %s listed", what, bad)
	}
}

// recover lists until every cloud answers again, and says how long it took.
func (b *bed) recover(t *testing.T, what string) time.Duration {
	t.Helper()
	start := time.Now()
	deadline := start.Add(breakerCooldown*3 + 30*time.Second)
	for {
		resp, _, err := b.list(0, "")
		if err == nil && len(resp.Unreachable) == 0 {
			return time.Since(start)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: healed, but still unreachable after %s: %v %v", what, time.Since(start), err, resp.GetCloudErrors())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// upstreamCalls is canopy_upstream_calls_total of a cloud, from /metrics.
func (b *bed) upstreamCalls(t *testing.T, cloud string) float64 {
	t.Helper()
	return b.metric(t, "canopy_upstream_calls_total", `cloud="`+cloud+`"`)
}

// metric sums the samples of a metric whose labels include match.
func (b *bed) metric(t *testing.T, name, match string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + b.d.RESTAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sum := 0.0
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+"{") || !strings.Contains(line, match) {
			continue
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err != nil {
			t.Fatalf("metric line %q: %v", line, err)
		}
		sum += v
	}
	return sum
}

func ms(d time.Duration) string { return d.Round(time.Millisecond).String() }

func TestFaults(t *testing.T) {
	b := newBed(t)

	// One slow cloud, no deadline: the list over three clouds takes as
	// long as the slow cloud alone, within 10 %.
	t.Run("slow", func(t *testing.T) {
		defer b.awsP.heal(t)
		b.awsP.toxic(t, "slow", "latency", "downstream", map[string]any{"latency": 1000})
		var all, alone []time.Duration
		for i := 0; i < 3; i++ {
			resp, took, err := b.list(0, "")
			if err != nil || len(resp.Unreachable) > 0 {
				t.Fatalf("list with a slow cloud and no deadline: %v, unreachable %v", err, resp.GetUnreachable())
			}
			all = append(all, took)
			_, took, err = b.list(0, "aws")
			if err != nil {
				t.Fatal(err)
			}
			alone = append(alone, took)
		}
		slices.Sort(all)
		slices.Sort(alone)
		ratio := float64(all[1]) / float64(alone[1])
		t.Logf("FAULTS slow cloud (+1 s a response), no deadline: all 3 clouds %s, the slow cloud alone %s (median of 3): %.3f× the slowest", ms(all[1]), ms(alone[1]), ratio)
		if ratio > 1.10 {
			t.Errorf("a list over 3 clouds took %.2f× the slow cloud alone, want ≤ 1.10×", ratio)
		}
	})

	// One slow cloud, a caller's deadline shorter than it: a partial
	// answer by the deadline naming the slow cloud.
	t.Run("slow-deadline", func(t *testing.T) {
		defer b.awsP.heal(t)
		deadline := max(500*time.Millisecond, 3*b.healthySlowest)
		b.awsP.toxic(t, "slow", "latency", "downstream", map[string]any{"latency": 4 * deadline.Milliseconds()})
		resp, took, err := b.list(deadline, "")
		b.partial(t, "slow cloud past the deadline", resp, err, "aws", codes.DeadlineExceeded)
		t.Logf("FAULTS slow cloud (+%s a response), deadline %s: partial answer in %s, unreachable %v", ms(4*deadline), ms(deadline), ms(took), resp.Unreachable)
		if took >= deadline {
			t.Errorf("the partial answer came after the deadline: %s ≥ %s", took, deadline)
		}
	})
	b.recover(t, "after slow")

	// 5xx: a short burst is absorbed by the SDK's retries; a long one
	// opens the breaker, which bounds the calls; recovery when it ends.
	t.Run("5xx", func(t *testing.T) {
		defer b.awsF.heal()
		before := b.awsF.requests.Load()
		b.awsF.fail(1)
		resp, _, err := b.list(0, "")
		if err != nil || len(resp.Unreachable) > 0 {
			t.Fatalf("one 503 (the SDK retries it): %v, unreachable %v", err, resp.GetUnreachable())
		}
		if n := b.awsF.requests.Load() - before; n < 2 {
			t.Errorf("the 503 was not retried: %d requests reached moto's front", n)
		}
		b.awsF.fail(-1)
		breakerBound(t, b, "aws", "HTTP 503 on every request", codes.Unavailable, 0)
		b.awsF.heal()
		t.Logf("FAULTS 5xx on every request, healed: every cloud answers again %s later (breaker cooldown %s)", ms(b.recover(t, "5xx")), breakerCooldown)
	})

	t.Run("lab-5xx", func(t *testing.T) {
		defer b.labF.heal()
		b.labF.fail(-1)
		resp, took, err := b.list(0, "")
		b.partial(t, "Nova answering 503", resp, err, "lab", codes.Unavailable)
		t.Logf("FAULTS lab Nova 503: partial in %s", ms(took))
		b.labF.heal()
		b.recover(t, "lab 5xx")
	})

	// Connections reset by the peer.
	t.Run("reset", func(t *testing.T) {
		defer b.labP.heal(t)
		b.labP.toxic(t, "reset", "reset_peer", "upstream", map[string]any{"timeout": 0})
		resp, took, err := b.list(0, "")
		b.partial(t, "Nova resetting connections", resp, err, "lab", codes.Unavailable)
		t.Logf("FAULTS lab Nova resets connections: partial in %s", ms(took))
		b.labP.heal(t)
		t.Logf("FAULTS resets healed: every cloud answers again %s later", ms(b.recover(t, "reset")))
	})

	// A blackhole: the cloud takes the request and never answers. The
	// first lists wait for the caller's deadline; once the breaker is
	// open they answer at once.
	t.Run("blackhole", func(t *testing.T) {
		defer b.awsP.heal(t)
		b.awsP.toxic(t, "blackhole", "timeout", "upstream", map[string]any{"timeout": 0})
		deadline := max(time.Second, 3*b.healthySlowest)
		breakerBound(t, b, "aws", "a blackhole", codes.Unavailable, deadline)
		b.awsP.heal(t)
		t.Logf("FAULTS blackhole healed: every cloud answers again %s later", ms(b.recover(t, "blackhole")))
	})

	// The lab's Nova blackholed: the same, over gophercloud.
	t.Run("lab-blackhole", func(t *testing.T) {
		defer b.labP.heal(t)
		b.labP.toxic(t, "blackhole", "timeout", "upstream", map[string]any{"timeout": 0})
		breakerBound(t, b, "lab", "the lab's Nova blackholed", codes.Unavailable, max(time.Second, 3*b.healthySlowest))
		b.labP.heal(t)
		t.Logf("FAULTS lab blackhole healed: every cloud answers again %s later", ms(b.recover(t, "lab blackhole")))
	})

	// A dead cloud: connections refused.
	t.Run("refused", func(t *testing.T) {
		defer b.awsP.enable(t, true)
		b.awsP.enable(t, false)
		breakerBound(t, b, "aws", "connections refused", codes.Unavailable, 0)
		b.awsP.enable(t, true)
		t.Logf("FAULTS refused healed: every cloud answers again %s later", ms(b.recover(t, "refused")))
	})
}

// breakerBound lists over a dead cloud until its breaker opens, then for
// three cooldowns, 10 lists a second: every answer is partial and names
// the cloud; the breaker opens after breakerFailures calls, and from then
// on the cloud gets at most one probe per cooldown.
func breakerBound(t *testing.T, b *bed, cloud, fault string, code codes.Code, deadline time.Duration) {
	t.Helper()
	check := func(i int) (refused bool, took time.Duration) {
		resp, took, err := b.list(deadline, "")
		if err != nil {
			t.Fatalf("%s: list %d failed: %v", fault, i, err)
		}
		if !slices.Equal(resp.Unreachable, []string{cloud}) {
			t.Fatalf("%s: list %d: unreachable %v, want [%s]", fault, i, resp.Unreachable, cloud)
		}
		if c := codes.Code(resp.CloudErrors[0].Code); c != code && (deadline == 0 || c != codes.DeadlineExceeded) {
			t.Errorf("%s: list %d: %s's error is %v (%s), want %v", fault, i, cloud, c, resp.CloudErrors[0].Message, code)
		}
		if deadline > 0 && took >= deadline {
			t.Errorf("%s: list %d answered after the caller's deadline: %s ≥ %s", fault, i, took, deadline)
		}
		return strings.Contains(resp.CloudErrors[0].Message, "circuit breaker open"), took
	}
	calls0 := b.upstreamCalls(t, cloud)
	var before []string
	for i := 0; ; i++ {
		refused, took := check(i)
		if refused {
			break
		}
		before = append(before, ms(took))
		if i > 2*breakerFailures {
			t.Fatalf("%s: the breaker did not open after %d lists", fault, i+1)
		}
	}
	if calls := b.upstreamCalls(t, cloud) - calls0; calls > breakerFailures {
		t.Errorf("%s: %.0f calls before the breaker opened, want %d", fault, calls, breakerFailures)
	}
	calls1 := b.upstreamCalls(t, cloud)
	start := time.Now()
	lists, open := 0, 0
	var fastest, slowest time.Duration
	for time.Since(start) < 3*breakerCooldown {
		refused, took := check(lists)
		lists++
		if refused {
			open++
			if fastest == 0 || took < fastest {
				fastest = took
			}
		}
		slowest = max(slowest, took)
		time.Sleep(100 * time.Millisecond)
	}
	elapsed := time.Since(start)
	calls := b.upstreamCalls(t, cloud) - calls1
	bound := float64(elapsed/breakerCooldown) + 1
	t.Logf("FAULTS %s: lists before the breaker opened took %v; then %d lists in %s, %d refused at once by the open breaker (fastest %s, slowest %s, a probe's); %s got %.0f calls (bound %.0f: one probe per %s, %.0f a minute)",
		fault, before, lists, ms(elapsed), open, ms(fastest), ms(slowest), cloud, calls, bound, breakerCooldown, 60/breakerCooldown.Seconds())
	if calls > bound {
		t.Errorf("%s: the dead cloud got %.0f calls in %s with its breaker open, want at most %.0f", fault, calls, elapsed, bound)
	}
	if st := b.metric(t, "canopy_breaker_state", `cloud="`+cloud+`"`); st == 0 {
		t.Errorf("%s: canopy_breaker_state{cloud=%q} = 0 (closed) over a dead cloud", fault, cloud)
	}
	if n := b.metric(t, "canopy_breaker_refused_total", `cloud="`+cloud+`"`); n < float64(open) {
		t.Errorf("%s: canopy_breaker_refused_total = %.0f, want ≥ %d", fault, n, open)
	}
}
