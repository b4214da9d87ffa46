package jobs

import (
	"context"
	"time"

	"github.com/canopy-cloud/canopy/store"
)

// Claims gives each operation to one process at a time when several
// canopyd replicas share a store: an operation belongs to the replica that
// runs it, under that replica's lease, and when the replica dies (its
// lease expires) the claim goes with it and another replica takes the
// operation over at the step it reached. Steps are idempotent (package
// doc), so the step the dead replica may have half-done runs again
// without making a second cloud resource.
//
// Without Claims (Options.Claims nil, the embedded single-process mode)
// the runner claims every operation it runs.
type Claims interface {
	// Claim takes operation id for this process. ok is false when a live
	// process holds it. held ends when the claim is lost (the lease
	// expired: another process may take the operation now); release gives
	// the claim up.
	Claim(ctx context.Context, id string) (held context.Context, release func(), ok bool, err error)
	// Freed reports the ids of operations whose claim went (released, or
	// its holder's lease expired) until ctx ends; then it is closed.
	Freed(ctx context.Context) <-chan string
}

// DefaultSweep is how often a runner with Claims looks for unfinished
// operations nobody claims (their creator died between creating the
// operation and claiming it, so no claim could be freed).
const DefaultSweep = 5 * time.Second

// adopt runs until the runner stops: every freed claim and, every sweep,
// every unfinished operation is submitted; Submit's claim lets exactly
// one replica run each.
func (r *Runner) adopt(sweep time.Duration) {
	defer r.wg.Done()
	freed := r.opts.Claims.Freed(r.ctx)
	t := time.NewTicker(sweep)
	defer t.Stop()
	for {
		select {
		case <-r.ctx.Done():
			return
		case id, ok := <-freed:
			if !ok {
				return
			}
			// A claim is freed when its operation finished, too: only an
			// unfinished one is taken over.
			if op, err := r.st.GetOperation(r.ctx, id); err == nil && !op.Done {
				r.Submit(id)
			}
		case <-t.C:
			ops, err := r.st.ListOperations(r.ctx, store.OperationFilter{Unfinished: true})
			if err != nil {
				if r.ctx.Err() == nil {
					r.opts.Log.Warn("operations: sweep for unclaimed", "err", err)
				}
				continue
			}
			for _, op := range ops {
				r.Submit(op.ID)
			}
		}
	}
}

// follow wakes this process's waiters on operations other replicas run:
// every write to an operation in a shared store (a store.Watcher) wakes
// the waiters of that operation, who read it again.
func (r *Runner) follow() {
	defer r.wg.Done()
	w, ok := r.st.(store.Watcher)
	if !ok {
		return
	}
	for c := range w.Watch(r.ctx, store.SectionOperations) {
		if c.ID == "" {
			r.notifyAll()
			continue
		}
		r.notify(c.ID)
	}
}

// notifyAll wakes every waiter (a watch lost its place).
func (r *Runner) notifyAll() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for id, ch := range r.waiters {
		close(ch)
		delete(r.waiters, id)
	}
}
