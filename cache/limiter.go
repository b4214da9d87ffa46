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
type Limiter struct {
	cloud string
	lim   *rate.Limiter // nil: unlimited
	m     *Metrics

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
		l.lim = rate.NewLimiter(rate.Limit(rps), burst)
	}
	return l
}

// Wait blocks until the caller may call the cloud.
func (l *Limiter) Wait(ctx context.Context) error {
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
