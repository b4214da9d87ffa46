package cache

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/canopy-cloud/canopy/providers"
)

func dead(context.Context) error     { return fmt.Errorf("dial tcp: %w", providers.ErrUnavailable) }
func healthy(context.Context) error  { return nil }
func notFound(context.Context) error { return fmt.Errorf("server x: %w", providers.ErrNotFound) }
func callOnce(l *Limiter, fn func(context.Context) error) (called bool, err error) {
	err = l.Call(context.Background(), func(ctx context.Context) error { called = true; return fn(ctx) })
	return called, err
}

func newBroken(t *testing.T, failures int, cooldown time.Duration) (*Limiter, *Breaker, *fakeClock, *Metrics) {
	t.Helper()
	m := NewMetrics(prometheus.NewRegistry())
	clk := &fakeClock{t: time.Unix(1e9, 0)}
	b := NewBreaker("east", failures, cooldown, m)
	b.now = clk.now
	return NewLimiter("east", 0, 0, m).WithBreaker(b), b, clk, m
}

// A dead cloud gets Failures calls, then one probe per cooldown: the
// bound on the calls a minute the config documents.
func TestBreakerBoundsCallsToADeadCloud(t *testing.T) {
	l, b, clk, m := newBroken(t, 5, 10*time.Second)
	calls := 0
	for s := 0; s < 60; s++ { // one minute, 20 attempts a second
		for i := 0; i < 20; i++ {
			called, err := callOnce(l, dead)
			if called {
				calls++
			}
			if err == nil || !errors.Is(err, providers.ErrUnavailable) {
				t.Fatalf("second %d: err = %v, want unavailable", s, err)
			}
		}
		clk.advance(time.Second)
	}
	// 5 to open it, then a probe at 10 s, 20 s, ... 50 s after it opened.
	if want := 5 + 5; calls != want {
		t.Errorf("a dead cloud got %d calls in a minute, want %d", calls, want)
	}
	if b.State() == BreakerClosed {
		t.Error("breaker closed over a dead cloud")
	}
	if got := testutil.ToFloat64(m.refused.WithLabelValues("east")); got != float64(60*20-calls) {
		t.Errorf("canopy_breaker_refused_total = %v, want %d", got, 60*20-calls)
	}
	if got := testutil.ToFloat64(m.breaker.WithLabelValues("east")); got != float64(BreakerOpen) {
		t.Errorf("canopy_breaker_state = %v, want %d (open)", got, BreakerOpen)
	}
}

func TestBreakerRefusalNamesCloudAndCause(t *testing.T) {
	l, _, _, _ := newBroken(t, 2, 10*time.Second)
	for i := 0; i < 2; i++ {
		_, _ = callOnce(l, dead)
	}
	called, err := callOnce(l, healthy)
	if called {
		t.Fatal("an open breaker let a call through")
	}
	for _, want := range []string{`cloud "east"`, "circuit breaker open after 2 failed calls", "dial tcp", "next probe in 10s"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("refusal %v does not say %q", err, want)
		}
	}
	// Wait (the gate of calls that report nothing) refuses too.
	if err := l.Wait(context.Background()); !errors.Is(err, providers.ErrUnavailable) {
		t.Errorf("Wait on an open breaker = %v, want unavailable", err)
	}
}

func TestBreakerHalfOpenProbesOnceAndRecovers(t *testing.T) {
	l, b, clk, _ := newBroken(t, 3, time.Second)
	for i := 0; i < 3; i++ {
		_, _ = callOnce(l, dead)
	}
	if s := b.State(); s != BreakerOpen {
		t.Fatalf("after 3 failures: %v, want open", s)
	}
	clk.advance(time.Second)
	if s := b.State(); s != BreakerHalfOpen {
		t.Fatalf("after the cooldown: %v, want half-open", s)
	}
	// The probe is in flight: every other call is refused, Wait included.
	probing := make(chan struct{})
	release := make(chan struct{})
	done := make(chan error)
	go func() {
		done <- l.Call(context.Background(), func(context.Context) error { close(probing); <-release; return nil })
	}()
	<-probing
	if called, err := callOnce(l, healthy); called || !strings.Contains(fmt.Sprint(err), "a probe is in flight") {
		t.Errorf("second call during the probe: called %v, err %v", called, err)
	}
	if err := l.Wait(context.Background()); err == nil {
		t.Error("Wait passed during the probe")
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if s := b.State(); s != BreakerClosed {
		t.Fatalf("after a good probe: %v, want closed", s)
	}
	if called, err := callOnce(l, healthy); !called || err != nil {
		t.Errorf("after recovery: called %v, err %v", called, err)
	}
}

func TestBreakerFailedProbeReopens(t *testing.T) {
	l, b, clk, _ := newBroken(t, 1, time.Second)
	_, _ = callOnce(l, dead)
	clk.advance(time.Second)
	if called, _ := callOnce(l, dead); !called {
		t.Fatal("no probe after the cooldown")
	}
	if s := b.State(); s != BreakerOpen {
		t.Fatalf("after a failed probe: %v, want open", s)
	}
	clk.advance(999 * time.Millisecond)
	if called, _ := callOnce(l, healthy); called {
		t.Error("a call went through before the next cooldown ended")
	}
}

// Answers keep it closed, whatever they say; a caller that cancels says
// nothing; failures must come in a row.
func TestBreakerCountsOnlyFailuresInARow(t *testing.T) {
	l, b, fc, _ := newBroken(t, 3, time.Second)
	for i := 0; i < 10; i++ {
		_, _ = callOnce(l, dead)
		_, _ = callOnce(l, dead)
		_, _ = callOnce(l, notFound)
		_, _ = callOnce(l, func(context.Context) error { return context.Canceled })
	}
	if s := b.State(); s != BreakerClosed {
		t.Fatalf("2 failures between answers opened it: %v", s)
	}
	// A deadline counts when the call waited SlowCall; a caller that
	// allowed less tells nothing about the cloud.
	for i := 0; i < 10; i++ {
		_, _ = callOnce(l, func(context.Context) error { return fmt.Errorf("list: %w", context.DeadlineExceeded) })
	}
	if s := b.State(); s != BreakerClosed {
		t.Fatalf("10 deadlines of callers that allowed nothing opened it: %v", s)
	}
	for i := 0; i < 3; i++ {
		_, _ = callOnce(l, func(context.Context) error {
			fc.advance(SlowCall)
			return fmt.Errorf("list: %w", context.DeadlineExceeded)
		})
	}
	if s := b.State(); s != BreakerOpen {
		t.Fatalf("3 deadlines of %s in a row: %v, want open", SlowCall, s)
	}
}

func TestBreakerOff(t *testing.T) {
	l, b, _, _ := newBroken(t, -1, time.Second)
	for i := 0; i < 100; i++ {
		if called, _ := callOnce(l, dead); !called {
			t.Fatalf("call %d refused by a breaker that is off", i)
		}
	}
	if s := b.State(); s != BreakerClosed {
		t.Errorf("state %v", s)
	}
}

func TestFailed(t *testing.T) {
	for _, tc := range []struct {
		err            error
		failed, counts bool
	}{
		{nil, false, true},
		{context.Canceled, false, false},
		{fmt.Errorf("x: %w", context.DeadlineExceeded), true, true},
		{fmt.Errorf("HTTP 503: %w", providers.ErrUnavailable), true, true},
		{errors.New("read tcp: connection reset by peer"), true, true},
		{fmt.Errorf("x: %w", providers.ErrNotFound), false, true},
		{fmt.Errorf("x: %w", providers.ErrInvalid), false, true},
		{fmt.Errorf("x: %w", providers.ErrRateLimited), false, true},
		{fmt.Errorf("x: %w", providers.ErrUnauthenticated), false, true},
	} {
		if f, c := Failed(tc.err); f != tc.failed || c != tc.counts {
			t.Errorf("Failed(%v) = %v, %v; want %v, %v", tc.err, f, c, tc.failed, tc.counts)
		}
	}
}

// A driver layered over another of the same cloud (containers seen as
// servers) calls the limiter again inside its call: while that call is the
// probe, the inner calls are part of it, not refused as a second probe.
func TestBreakerProbeWithNestedCalls(t *testing.T) {
	l, b, clk, _ := newBroken(t, 1, time.Second)
	_, _ = callOnce(l, dead)
	clk.advance(time.Second)
	inner := 0
	err := l.Call(context.Background(), func(ctx context.Context) error {
		if err := l.Wait(ctx); err != nil {
			return err
		}
		return l.Call(ctx, func(context.Context) error { inner++; return nil })
	})
	if err != nil || inner != 1 {
		t.Fatalf("probe with nested calls: err %v, inner calls %d", err, inner)
	}
	if s := b.State(); s != BreakerClosed {
		t.Errorf("after a good probe with nested calls: %v, want closed", s)
	}
	// Outside a call, an open breaker still refuses Wait.
	_, _ = callOnce(l, dead)
	if err := l.Wait(context.Background()); err == nil {
		t.Error("Wait passed an open breaker")
	}
}
