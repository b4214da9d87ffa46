// Package ownership decides which canopyd replica does a cloud's shared
// work: the batched status polls, the reconcilers, the rate-limit budget.
// Any replica answers any RPC, but a cloud should see one list per
// interval however many replicas run, so that work has one owner per
// cloud at a time.
//
// Owner is the small interface the rest of canopyd uses. Local is the
// embedded (bbolt, one process) mode: the one process owns every cloud,
// always. Etcd (etcd.go) is the replicated mode: an etcd election per
// cloud (go.etcd.io/etcd/client/v3/concurrency) under the replica's lease,
// so a replica that dies loses its clouds within the lease TTL and another
// takes them over; each term carries a fencing token (the revision of the
// leader key) that guards the owner's writes, so a deposed owner that has
// not noticed yet cannot overwrite its successor's.
//
// It is not a lock for single operations (package jobs owns those) and
// not a membership service.
package ownership

import (
	"context"
	"sync"
)

// Owner grants terms of ownership of clouds to this replica.
type Owner interface {
	// Acquire blocks until this replica owns cloud, or ctx ends (then it
	// returns ctx's error). The term lasts until its Done channel closes:
	// the replica's lease expired, the term was resigned, or ctx ended.
	Acquire(ctx context.Context, cloud string) (Term, error)
}

// Term is one period in which this replica owns a cloud.
type Term interface {
	// Cloud is the cloud owned.
	Cloud() string
	// Done is closed when the term ends; work done for it must stop.
	Done() <-chan struct{}
	// Token is the fencing token: it grows with every new term of the
	// cloud, whichever replica holds it, so a store can refuse a write
	// carrying an older one.
	Token() int64
	// Resign ends the term early and lets another replica take the cloud.
	Resign(ctx context.Context) error
}

// Run calls fn for cloud during every term this replica holds, until ctx
// ends: it acquires the cloud, runs fn with a context that ends with the
// term, and when fn returns or the term ends, acquires it again. fn must
// return soon after its context ends. An Acquire error other than ctx's
// ending is retried after wait.
func Run(ctx context.Context, o Owner, cloud string, fn func(ctx context.Context, t Term), onErr func(error)) {
	for ctx.Err() == nil {
		t, err := o.Acquire(ctx, cloud)
		if err != nil {
			if ctx.Err() == nil && onErr != nil {
				onErr(err)
			}
			select {
			case <-ctx.Done():
			case <-afterRetry():
			}
			continue
		}
		tctx, cancel := context.WithCancel(ctx)
		go func() {
			select {
			case <-t.Done():
			case <-tctx.Done():
			}
			cancel()
		}()
		fn(tctx, t)
		early := tctx.Err() == nil
		cancel()
		// fn returned on its own (or the term ended): give the cloud up so
		// that a replica that can do the work takes it.
		_ = t.Resign(context.WithoutCancel(ctx))
		if early {
			select { // fn gave up by itself: not in a tight loop
			case <-ctx.Done():
			case <-afterRetry():
			}
		}
	}
}

// Held tracks which of a set of clouds this replica owns now, for work
// that runs everywhere but must only touch owned clouds (a reconcile pass
// over many clouds skips the ones another replica owns).
type Held struct {
	mu     sync.RWMutex
	terms  map[string]Term
	onGain []func(cloud string)
	wg     sync.WaitGroup
}

// OnGain registers fn, called (outside h's lock) each time this replica
// gains a cloud, after Owns reports it.
func (h *Held) OnGain(fn func(cloud string)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.onGain = append(h.onGain, fn)
}

// Hold campaigns for every cloud until ctx ends. Wait returns when all
// campaigns have stopped.
func Hold(ctx context.Context, o Owner, clouds []string, onErr func(error)) *Held {
	h := &Held{terms: map[string]Term{}}
	for _, c := range clouds {
		h.wg.Add(1)
		go func() {
			defer h.wg.Done()
			Run(ctx, o, c, func(tctx context.Context, t Term) {
				h.mu.Lock()
				h.terms[c] = t
				gain := append([]func(string){}, h.onGain...)
				h.mu.Unlock()
				for _, fn := range gain {
					fn(c)
				}
				<-tctx.Done()
				h.mu.Lock()
				delete(h.terms, c)
				h.mu.Unlock()
			}, onErr)
		}()
	}
	return h
}

// Owns reports whether this replica holds cloud now, and the term.
func (h *Held) Owns(cloud string) (Term, bool) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	t, ok := h.terms[cloud]
	return t, ok
}

// Wait blocks until every campaign Hold started has stopped.
func (h *Held) Wait() { h.wg.Wait() }
