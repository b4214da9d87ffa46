package cache

import (
	"context"
	"net/http/httptrace"
	"time"
)

// How a poller spaces its lists at the cloud: each list as the owner is
// recorded (fenced) before it is sent, the next is timed from the send
// (the moment its request was written, for an adapter over HTTP),
// and a new owner waits for the previous owner's last list.

// listed is one list listOnce made.
type listed[T any] struct {
	items          []T
	err            error
	rev            int64 // Lead.Begin's
	sent, answered time.Time
	// wrote is when the list's last HTTP request went on the wire (sent
	// when the adapter has none): what the cloud's spacing is timed from.
	// Between sent and wrote lie the adapter's own work (signing, a new
	// connection, a CPU-starved goroutine): 41 ms once on a loaded CI
	// machine, enough to bring two lists closer than an interval.
	wrote time.Time
}

// listOnce makes one list for reason. As the owner (lead) it records the
// list first, fenced by the term (Lead.Begin: ok is false when that
// failed, and nothing was listed), and a list not sent yet when the term
// ends is not sent. sent is when the list went to the cloud, answered
// when it came back.
func (p *Poller[T]) listOnce(lead Lead, reason string) (l listed[T], ok bool) {
	ctx, cancel := context.WithTimeout(context.Background(), p.max*4)
	defer cancel()
	if lead != nil {
		go func() {
			select {
			case <-lead.Done():
				cancel()
			case <-ctx.Done():
			}
		}()
		var err error
		if l.rev, err = lead.Begin(ctx, time.Now()); err != nil {
			return l, false
		}
	}
	lc := &listCall{reason: reason}
	traced := httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(httptrace.WroteRequestInfo) { lc.wroteRequest() },
	})
	called := time.Now()
	l.items, l.err = p.list(withListCall(traced, lc))
	l.answered = time.Now()
	l.sent = lc.sentAt(called)
	l.wrote = lc.wroteAt(l.sent)
	return l, true
}

// lastList asks the store when the last list of the poller's (cloud,
// kind) began, whichever owner made it.
func (p *Poller[T]) lastList(lead Lead) (time.Time, error) {
	ctx, cancel := context.WithTimeout(context.Background(), p.max)
	defer cancel()
	return lead.Last(ctx)
}

// handoverAfter is when a new owner may send its first list after the
// previous owner's last began at last. The record is made before that
// list was sent (the rate limiter and the store's answer lie between),
// so a whole min interval more covers the way out: a handover costs at
// most one interval of staleness.
func (p *Poller[T]) handoverAfter(last time.Time) time.Time {
	if last.IsZero() {
		return time.Time{}
	}
	return last.Add(2 * p.min)
}
