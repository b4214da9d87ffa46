package providers

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Replays.
//
// canopy repeats a create after a crash (the operation resumes, the client
// retries with the same request id) or after an attempt that failed without
// an answer. The repeat carries the same idempotency token, and the adapter
// must return what the earlier attempt made instead of making a second one.
// A cloud with a server-side token (EC2's ClientToken) does that by itself.
// Elsewhere the adapter looks for a resource carrying the token (a tag, a
// metadata key) — and a look-up that finds nothing is conclusive only once
// the earlier attempt's request can no longer be on its way: a POST a dead
// process sent may still sit in the API's queue, or be half-way through
// it, for a while after the process died (measured on the lab's Nova:
// seconds under load; see docs/idempotency.md). ReplayGuard waits that
// window out, for repeats only, so first attempts never wait.

// ReplayGuard tells an adapter when a look-up for an earlier attempt's
// resource is conclusive. One guard serves one adapter instance; it is safe
// for concurrent use.
type ReplayGuard struct {
	// window bounds how long after an attempt was sent its resource may
	// still be invisible to the adapter's look-up.
	window time.Duration
	// start is when the guard was made: an attempt by an earlier process
	// was sent before it.
	start time.Time
	now   func() time.Time

	mu   sync.Mutex
	sent map[string]time.Time // token → when this process last sent a create with it
	held map[string]*tokenLock
}

type tokenLock struct {
	mu   sync.Mutex
	refs int
}

// NewReplayGuard returns a guard for an adapter opened now whose cloud
// makes an accepted create visible to the look-up within window.
func NewReplayGuard(window time.Duration) *ReplayGuard {
	return &ReplayGuard{window: window, start: time.Now(), now: time.Now, sent: map[string]time.Time{}, held: map[string]*tokenLock{}}
}

// Window returns the guard's window.
func (g *ReplayGuard) Window() time.Duration { return g.window }

// Lock serializes creates with the same token inside this process (two
// RPCs replaying one request at once); the returned function unlocks.
func (g *ReplayGuard) Lock(token string) func() {
	if token == "" {
		return func() {}
	}
	g.mu.Lock()
	l := g.held[token]
	if l == nil {
		l = &tokenLock{}
		g.held[token] = l
	}
	l.refs++
	g.mu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		g.mu.Lock()
		if l.refs--; l.refs == 0 {
			delete(g.held, token)
		}
		g.mu.Unlock()
	}
}

// Sending records that a create carrying token is about to be sent.
func (g *ReplayGuard) Sending(token string) {
	if token == "" {
		return
	}
	g.mu.Lock()
	g.sent[token] = g.now()
	g.mu.Unlock()
}

// Sent forgets the token once its create was answered (the answer says
// what was made, so no later look-up depends on the window for it).
func (g *ReplayGuard) Sent(token string) {
	g.mu.Lock()
	delete(g.sent, token)
	g.mu.Unlock()
}

// Deadline returns when a look-up for token's earlier attempt becomes
// conclusive: the zero time for a first attempt (replay false, and this
// process never sent one without an answer), else window after the latest
// moment an earlier attempt can have been sent.
func (g *ReplayGuard) Deadline(token string, replay bool) time.Time {
	g.mu.Lock()
	last, sentHere := g.sent[token]
	g.mu.Unlock()
	var since time.Time
	switch {
	case sentHere:
		since = last
	case replay:
		since = g.start
	default:
		return time.Time{}
	}
	if replay && g.start.After(since) {
		since = g.start
	}
	return since.Add(g.window)
}

// Settle waits until Deadline(token, replay). It returns the context's
// error if the context ends first.
func (g *ReplayGuard) Settle(ctx context.Context, token string, replay bool) error {
	d := g.Deadline(token, replay)
	wait := d.Sub(g.now())
	if d.IsZero() || wait <= 0 {
		return nil
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting %s for an earlier create with token %s to show: %w", wait.Round(time.Millisecond), token, ctx.Err())
	}
}

// FindOrCreate is the replay-safe create every adapter without a
// server-side token shares: find looks for a resource carrying the token;
// when it finds none and the create may be a repeat, the guard waits out
// the window and find runs again; only then create runs. When it fails,
// find runs once more (a create can take effect and still answer an
// error); an unavailable create that find does not find is sent again
// after the window (createSends in all). found reports whether the
// result came from find.
func FindOrCreate[T any](ctx context.Context, g *ReplayGuard, token string, replay bool, find func(context.Context) (T, bool, error), create func(context.Context) (T, error)) (res T, found bool, err error) {
	if token == "" {
		res, err = create(ctx)
		return res, false, err
	}
	defer g.Lock(token)()
	if res, ok, err := find(ctx); err != nil || ok {
		return res, ok, err
	}
	if !g.Deadline(token, replay).IsZero() {
		if err := g.Settle(ctx, token, replay); err != nil {
			return res, false, err
		}
		if res, ok, err := find(ctx); err != nil || ok {
			return res, ok, err
		}
	}
	for sent := 1; ; sent++ {
		g.Sending(token)
		res, err = create(ctx)
		if err == nil {
			g.Sent(token)
			return res, false, nil
		}
		if ctx.Err() != nil {
			return res, false, err
		}
		// The create may have taken effect although it answered an error:
		// a request whose answer was lost (an SDK that retried it meets
		// its own first attempt: EC2's InvalidSubnet.Conflict for the CIDR
		// the first attempt took). The token says whether it did.
		if made, ok, ferr := find(ctx); ferr == nil && ok {
			g.Sent(token)
			return made, true, nil
		}
		if !errors.Is(err, ErrUnavailable) || sent == createSends {
			return res, false, err
		}
		// Unavailable: the cloud or the way to it failed, and the request
		// may still have gone out (adapters keep their SDKs from resending
		// a create themselves). Once the window is out and the token still
		// finds nothing, it is sent again.
		if serr := g.Settle(ctx, token, true); serr != nil {
			return res, false, err
		}
		if made, ok, ferr := find(ctx); ferr == nil && ok {
			g.Sent(token)
			return made, true, nil
		}
	}
}

// createSends is how many times FindOrCreate sends a create that the
// cloud answered unavailable.
const createSends = 3
