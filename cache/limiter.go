package cache

import (
	"context"
	"fmt"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/canopy-cloud/canopy/providers"
)

// Limiter spaces the calls to one cloud: a token bucket (FIFO-fair: each
// caller reserves the next slot in arrival order) plus any pause the cloud
// asked for with Retry-After. A caller whose deadline would pass before its
// slot gets providers.ErrRateLimited at once instead of waiting in vain.
// It also holds the cloud's circuit breaker (WithBreaker): every call
// passes it, and the calls made through Call report their outcome to it.
type Limiter struct {
	cloud   string
	lim     *rate.Limiter // nil: unlimited
	m       *Metrics
	breaker *Breaker // nil: none

	// rps and burst are the cloud's whole budget; Share divides them
	// among replicas.
	rps   float64
	burst int

	mu    sync.Mutex
	until time.Time // no calls before this (the cloud's Retry-After)
}

// NewLimiter makes a limiter of rps calls per second with the given burst;
// rps <= 0 disables the token bucket (Retry-After is still honored).
func NewLimiter(cloud string, rps float64, burst int, m *Metrics) *Limiter {
	l := &Limiter{cloud: cloud, m: m}
	if rps > 0 {
		if burst < 1 {
			burst = 1
		}
		l.rps, l.burst = rps, burst
		l.lim = rate.NewLimiter(rate.Limit(rps), burst)
	}
	return l
}

// Share gives this process 1/n of the cloud's budget: n canopyd replicas
// call the same cloud, each with its own limiter, and together they stay
// within the rate and burst the cloud was configured with (the burst is
// at least 1 each). n < 1 counts as 1. A limiter without a token bucket
// stays unlimited.
func (l *Limiter) Share(n int) {
	if l.lim == nil {
		return
	}
	if n < 1 {
		n = 1
	}
	burst := l.burst / n
	if burst < 1 {
		burst = 1
	}
	l.lim.SetLimit(rate.Limit(l.rps / float64(n)))
	l.lim.SetBurst(burst)
}

// Rate returns the calls per second this process may make now (0:
// unlimited) and its burst.
func (l *Limiter) Rate() (float64, int) {
	if l.lim == nil {
		return 0, 0
	}
	return float64(l.lim.Limit()), l.lim.Burst()
}

// WithBreaker puts b in front of every call through l; it returns l.
func (l *Limiter) WithBreaker(b *Breaker) *Limiter {
	l.breaker = b
	return l
}

// Breaker is the cloud's circuit breaker (nil without one).
func (l *Limiter) Breaker() *Breaker { return l.breaker }

// Wait blocks until the caller may call the cloud. It is the gate of the
// calls that do not report their outcome (byte streams, container
// runtimes): an open breaker refuses them, but they never probe it.
func (l *Limiter) Wait(ctx context.Context) error {
	if !l.inCall(ctx) {
		if err := l.breaker.Check(); err != nil {
			return err
		}
	}
	return l.wait(ctx)
}

// Call makes one call to the cloud: it waits for its turn, passes the
// breaker (as its probe when it is half open) and reports fn's outcome
// to it.
//
// A call made inside another (a driver layered over another of the same
// cloud: containers seen as servers) waits its turn but is part of the
// outer call for the breaker: it is not refused while the outer one
// probes, and only the outer one reports.
func (l *Limiter) Call(ctx context.Context, fn func(context.Context) error) error {
	if l.breaker == nil || l.inCall(ctx) {
		if err := l.wait(ctx); err != nil {
			return err
		}
		return fn(ctx)
	}
	if err := l.breaker.Check(); err != nil {
		return err
	}
	if err := l.wait(ctx); err != nil {
		return err
	}
	done, err := l.breaker.Allow()
	if err != nil {
		return err
	}
	err = fn(context.WithValue(ctx, inCallKey{}, l))
	done(err)
	return err
}

// inCallKey marks the context of a call made through Call: its value is
// the Limiter.
type inCallKey struct{}

// inCall reports whether ctx is that of a call through l already.
func (l *Limiter) inCall(ctx context.Context) bool {
	v, _ := ctx.Value(inCallKey{}).(*Limiter)
	return v == l
}

// wait is the token bucket and the cloud's Retry-After.
func (l *Limiter) wait(ctx context.Context) error {
	l.mu.Lock()
	pause := time.Until(l.until)
	l.mu.Unlock()
	if pause > 0 {
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < pause {
			l.m.limit(l.cloud, "retry_after_past_deadline")
			return fmt.Errorf("cloud %q asked canopy to wait %s (Retry-After), past the call's deadline: %w", l.cloud, pause.Round(time.Millisecond), providers.ErrRateLimited)
		}
		t := time.NewTimer(pause)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
	if l.lim == nil {
		return nil
	}
	if err := l.lim.Wait(ctx); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		l.m.limit(l.cloud, "deadline")
		return fmt.Errorf("rate limit of cloud %q (%.3g calls/s) would delay the call past its deadline: %w", l.cloud, float64(l.lim.Limit()), providers.ErrRateLimited)
	}
	return nil
}

// Pause stops calls for d, as the cloud asked with Retry-After.
func (l *Limiter) Pause(d time.Duration) {
	l.m.limit(l.cloud, "retry_after")
	l.mu.Lock()
	defer l.mu.Unlock()
	if t := time.Now().Add(d); t.After(l.until) {
		l.until = t
	}
}
