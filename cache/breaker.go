package cache

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/canopy-cloud/canopy/clock"
	"github.com/canopy-cloud/canopy/providers"
)

// Breaker is one cloud's circuit breaker: after Failures calls in a row
// fail as a dead or sick cloud fails (no answer in time, connection
// refused or reset, 5xx), it opens and canopy stops calling the cloud;
// calls are refused at once with providers.ErrUnavailable naming the cloud,
// so a list over several clouds answers with the others without waiting
// for the dead one. Every Cooldown one call goes through as a probe (half
// open): its success closes the breaker, its failure opens it for another
// Cooldown. A dead cloud therefore costs at most Failures calls, then one
// per Cooldown: 60s/Cooldown calls a minute (6 with the default 10s).
//
// Only answers count: a cloud that says "not found" or "invalid" is
// healthy, and a caller that cancels its own call says nothing about the
// cloud. A call past its deadline counts as a failure when it waited at
// least SlowCall: from that caller's side the cloud did not answer; a
// caller that allowed less says nothing (one client's 50 ms deadlines
// must not open the breaker for everyone).
type Breaker struct {
	cloud    string
	failures int           // consecutive failures that open it; 0: never opens
	cooldown time.Duration // open → next probe
	m        *Metrics
	now      func() time.Time // nil: time.Now (WithClock)

	mu       sync.Mutex
	state    BreakerState
	fails    int       // consecutive failures while closed
	openedAt time.Time // when it last opened (or a probe failed)
	probing  bool      // a half-open probe is in flight
	last     string    // the last failure, for the refusal message
}

// BreakerState is where a breaker is: closed (calls pass), open (calls are
// refused) or half-open (one probe is in flight; others are refused).
type BreakerState int

// The breaker states; their values are the canopy_breaker_state gauge.
const (
	BreakerClosed BreakerState = iota
	BreakerOpen
	BreakerHalfOpen
)

func (s BreakerState) String() string {
	return [...]string{"closed", "open", "half-open"}[s]
}

// Breaker defaults: 5 failures in a row open it, a probe every 10 s.
const (
	DefaultBreakerFailures = 5
	DefaultBreakerCooldown = 10 * time.Second
)

// SlowCall is how long a call must have waited for its deadline to count
// as a failure of the cloud.
const SlowCall = 500 * time.Millisecond

// NewBreaker makes a closed breaker; failures <= 0 makes one that never
// opens (it still counts nothing and refuses nothing).
func NewBreaker(cloud string, failures int, cooldown time.Duration, m *Metrics) *Breaker {
	if cooldown <= 0 {
		cooldown = DefaultBreakerCooldown
	}
	b := &Breaker{cloud: cloud, failures: failures, cooldown: cooldown, m: m}
	m.breakerState(cloud, BreakerClosed)
	return b
}

// WithClock makes the breaker read c (nil: the wall clock) for its
// cooldowns and for how long a call waited; it returns b.
func (b *Breaker) WithClock(c clock.Clock) *Breaker {
	if c != nil {
		b.now = c.Now
	}
	return b
}

func (b *Breaker) clock() time.Time {
	if b.now != nil {
		return b.now()
	}
	return time.Now()
}

// State is the breaker's state now (an open breaker whose cooldown has
// passed reports half-open: the next call is a probe).
func (b *Breaker) State() BreakerState {
	if b == nil {
		return BreakerClosed
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state == BreakerOpen && !b.probing && b.clock().Sub(b.openedAt) >= b.cooldown {
		return BreakerHalfOpen
	}
	return b.state
}

// Check refuses a call while the breaker is open or probing, without
// taking the probe: it is the gate of the calls whose outcome is not
// reported (Limiter.Wait).
func (b *Breaker) Check() error {
	if b == nil || b.failures <= 0 {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state == BreakerClosed || (!b.probing && b.clock().Sub(b.openedAt) >= b.cooldown) {
		return nil
	}
	return b.refuse()
}

// Allow admits one call whose outcome the caller reports with done. While
// open it refuses; once the cooldown has passed the first caller becomes
// the probe and the others are refused until its answer.
func (b *Breaker) Allow() (done func(error), err error) {
	if b == nil || b.failures <= 0 {
		return func(error) {}, nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.state == BreakerClosed:
		return b.record(false), nil
	case !b.probing && b.clock().Sub(b.openedAt) >= b.cooldown:
		b.probing = true
		b.setState(BreakerHalfOpen)
		return b.record(true), nil
	}
	return nil, b.refuse()
}

// refuse is the error of a refused call; b.mu is held.
func (b *Breaker) refuse() error {
	b.m.breakerRefused(b.cloud)
	wait := b.cooldown - b.clock().Sub(b.openedAt)
	next := "a probe is in flight"
	if !b.probing {
		next = fmt.Sprintf("next probe in %s", max(wait, 0).Round(100*time.Millisecond))
	}
	return fmt.Errorf("cloud %q is not answering (circuit breaker open after %d failed calls in a row, last: %s; %s): %w",
		b.cloud, b.failures, b.last, next, providers.ErrUnavailable)
}

// record returns the done func of an admitted call.
func (b *Breaker) record(probe bool) func(error) {
	var once sync.Once
	start := b.clock()
	return func(err error) {
		once.Do(func() { b.report(probe, start, err) })
	}
}

func (b *Breaker) report(probe bool, start time.Time, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	failed, counts := Failed(err)
	if failed && errors.Is(err, context.DeadlineExceeded) && b.clock().Sub(start) < SlowCall {
		failed, counts = false, false // the caller allowed too little to tell
	}
	if probe {
		b.probing = false
	}
	switch {
	case !counts:
		if probe { // no verdict: let the next call probe at once
			b.setState(BreakerOpen)
			b.openedAt = b.clock().Add(-b.cooldown)
		}
	case !failed:
		b.fails = 0
		b.setState(BreakerClosed)
	default:
		b.last = err.Error()
		if len(b.last) > 200 {
			b.last = b.last[:200] + "…"
		}
		b.fails++
		if probe || (b.state == BreakerClosed && b.fails >= b.failures) {
			b.openedAt = b.clock()
			b.setState(BreakerOpen)
		}
	}
}

// setState moves the breaker and reports it; b.mu is held.
func (b *Breaker) setState(s BreakerState) {
	if b.state != s {
		b.m.breakerTransition(b.cloud, s)
	}
	b.state = s
	b.m.breakerState(b.cloud, s)
}

// Failed says what a call's outcome tells about the cloud: counts is false
// when it tells nothing (the caller cancelled); failed is true when the
// cloud did not answer or answered that it cannot serve (unavailable, 5xx,
// a connection refused or reset, the deadline passed), and false for any
// answer, errors such as not found or invalid included.
func Failed(err error) (failed, counts bool) {
	switch {
	case err == nil:
		return false, true
	case errors.Is(err, context.Canceled):
		return false, false
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, providers.ErrUnavailable):
		return true, true
	}
	for _, answered := range []error{providers.ErrNotFound, providers.ErrAlreadyExists, providers.ErrInvalid,
		providers.ErrConflict, providers.ErrUnauthenticated, providers.ErrPermission, providers.ErrQuota,
		providers.ErrRateLimited, providers.ErrUnsupported, providers.ErrIntegrity} {
		if errors.Is(err, answered) {
			return false, true
		}
	}
	return true, true // an error no adapter classified: a transport failure
}
