// Package jobs runs canopy's operations: durable state machines whose
// every step is recorded in the store before it acts.
//
// An operation kind is a set of named steps. The runner executes an
// operation one step at a time:
//
//  1. it records that the step begins (State["began"]), durably;
//  2. it runs the step, which may call a cloud and note what it learned in
//     the operation's State (a native id, a job id);
//  3. it records the step's outcome and the next step, durably.
//
// A crash anywhere leaves the operation at a step that either has not begun
// or may have half-acted, so steps are idempotent: a create passes the
// canopy id as the cloud's idempotency token, a delete of what is gone
// succeeds, a wait waits again. Start resumes every unfinished operation.
//
// A step that fails transiently (the classifier says so: cloud unavailable,
// rate limited) is retried with exponential backoff, and the attempt is
// recorded; any other failure ends the operation with that error. A cancel
// (store.OperationStore.CancelOperation) is honored at the next step
// boundary while the kind says the work can still be undone, by running the
// kind's Undo; the operation then ends CANCELLED.
//
// Failpoints (internal/failpoint) named "<kind>/<step>:before" and
// "<kind>/<step>:after" sit just before a step acts and just after it acted
// but before its outcome is recorded: the two places a crash matters.
package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/canopy-cloud/canopy/internal/failpoint"
	"github.com/canopy-cloud/canopy/store"
)

// Result is what a step reports.
type Result struct {
	// Next is the step to run next; ignored when Done.
	Next string
	// Done ends the operation successfully with Response as its result.
	Done     bool
	Response []byte
	// Progress, when not zero, replaces the operation's progress (0-100).
	Progress int32
}

// Step runs one step of an operation. It may change op.State (recorded
// with the outcome). It must be idempotent.
type Step func(ctx context.Context, op *store.Operation) (Result, error)

// Kind is one kind of operation.
type Kind struct {
	// First is the first step.
	First string
	// Steps by name.
	Steps map[string]Step
	// Undoable reports whether a cancel is still honored before step (nil:
	// only before the first step has begun).
	Undoable func(op store.Operation, step string) bool
	// Undo rolls back what the steps so far did (nil: nothing to undo). It
	// must be idempotent too; a transient failure is retried.
	Undo func(ctx context.Context, op *store.Operation) error
	// Fail, when set, runs before an operation ends with a permanent
	// error, to release what it holds (a pending id); best effort.
	Fail func(ctx context.Context, op *store.Operation)
}

// Failure is a permanent error as the operation records it.
type Failure struct {
	Code    codes.Code
	Message string
	Reason  string
	Details map[string]string
}

// Options configure a Runner.
type Options struct {
	// Transient says whether an error is worth retrying.
	Transient func(error) bool
	// Failure converts a step's permanent error for the record.
	Failure func(error) Failure
	// MinBackoff and MaxBackoff bound the delay between retries (defaults
	// 100ms and 5s); MaxAttempts bounds the tries of one step (default 30).
	MinBackoff, MaxBackoff time.Duration
	MaxAttempts            int32
	// Workers bounds how many operations run at once (default 64).
	Workers int
	Log     *slog.Logger
	// Claims, when set, gives each operation to one of several processes
	// sharing the store (claims.go); Sweep is how often unclaimed
	// unfinished operations are looked for (default DefaultSweep).
	Claims Claims
	Sweep  time.Duration
}

// Runner executes operations.
type Runner struct {
	st    store.OperationStore
	opts  Options
	kinds map[string]Kind
	sem   chan struct{}

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	running map[string]bool
	// lostClaim marks operations whose write was fenced (store.ErrFenced):
	// their run loop stops.
	lostClaim map[string]bool
	steps     map[string]func() // id → interrupts the step in flight (undoable steps only)
	waiters   map[string]chan struct{}
	started   bool
}

// New makes a runner over st. Register kinds, then Start it.
func New(st store.OperationStore, opts Options) *Runner {
	if opts.Transient == nil {
		opts.Transient = func(error) bool { return false }
	}
	if opts.Failure == nil {
		opts.Failure = func(err error) Failure { return Failure{Code: codes.Unknown, Message: err.Error()} }
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = 100 * time.Millisecond
	}
	if opts.MaxBackoff < opts.MinBackoff {
		opts.MaxBackoff = 5 * time.Second
		if opts.MaxBackoff < opts.MinBackoff {
			opts.MaxBackoff = opts.MinBackoff
		}
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 30
	}
	if opts.Workers <= 0 {
		opts.Workers = 64
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Runner{st: st, opts: opts, kinds: map[string]Kind{}, sem: make(chan struct{}, opts.Workers),
		ctx: ctx, cancel: cancel, running: map[string]bool{}, lostClaim: map[string]bool{}, steps: map[string]func(){}, waiters: map[string]chan struct{}{}}
}

// Register adds an operation kind. It panics on a duplicate or a kind
// without its first step: programming errors.
func (r *Runner) Register(name string, k Kind) {
	if _, dup := r.kinds[name]; dup {
		panic("jobs: duplicate kind " + name)
	}
	if k.Steps[k.First] == nil {
		panic("jobs: kind " + name + " has no step " + k.First)
	}
	r.kinds[name] = k
}

// Start resumes every unfinished operation in the store and returns how
// many it resumed.
func (r *Runner) Start(ctx context.Context) (int, error) {
	ops, err := r.st.ListOperations(ctx, store.OperationFilter{Unfinished: true})
	if err != nil {
		return 0, fmt.Errorf("jobs: resume: %w", err)
	}
	r.mu.Lock()
	r.started = true
	r.mu.Unlock()
	r.wg.Add(1)
	go r.follow()
	if r.opts.Claims != nil {
		sweep := r.opts.Sweep
		if sweep <= 0 {
			sweep = DefaultSweep
		}
		r.wg.Add(1)
		go r.adopt(sweep)
	}
	for _, op := range ops {
		r.opts.Log.Info("resuming operation", "id", op.ID, "kind", op.Kind, "step", op.Step, "target", op.TargetID)
		r.Submit(op.ID)
	}
	return len(ops), nil
}

// Stop cancels the steps in flight and waits for every operation goroutine
// to return. Unfinished operations stay in the store at their step, to be
// resumed by the next Start.
func (r *Runner) Stop() {
	r.cancel()
	r.wg.Wait()
}

// Submit starts running an operation that is in the store (a no-op if it
// already runs here).
func (r *Runner) Submit(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.running[id] || r.ctx.Err() != nil {
		return
	}
	r.running[id] = true
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		defer func() {
			r.mu.Lock()
			delete(r.running, id)
			r.mu.Unlock()
		}()
		select {
		case r.sem <- struct{}{}:
		case <-r.ctx.Done():
			return
		}
		defer func() { <-r.sem }()
		ctx := r.ctx
		if r.opts.Claims != nil {
			held, release, ok, err := r.opts.Claims.Claim(r.ctx, id)
			if err != nil {
				if r.ctx.Err() == nil {
					r.opts.Log.Warn("operation: claim", "id", id, "err", err)
				}
				return // the sweep tries again
			}
			if !ok {
				return // a live replica runs it
			}
			defer release()
			var cancel context.CancelFunc
			ctx, cancel = context.WithCancel(r.ctx)
			// The claim's fence goes with every store write of the
			// operation: once the claim is lost they are refused, so a
			// replica that has not noticed yet cannot overwrite the
			// progress of the one that took the operation over.
			if f, ok := store.FenceOf(held); ok {
				ctx = store.WithFence(ctx, f)
			}
			defer cancel()
			go func() {
				select {
				case <-held.Done():
					cancel()
				case <-ctx.Done():
				}
			}()
		}
		r.run(ctx, id)
	}()
}

// Interrupt stops the step an operation is running, if a cancel would be
// honored before it (the step runs again, or the operation is rolled back,
// at the boundary): a cancel need not wait out a long wait. Call it after
// the store recorded the cancel.
func (r *Runner) Interrupt(id string) {
	r.mu.Lock()
	stop := r.steps[id]
	r.mu.Unlock()
	if stop != nil {
		stop()
	}
}

// Running reports whether an operation runs in this process now.
func (r *Runner) Running(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.running[id]
}

// Wait returns the operation once it is done, or as it is when ctx ends
// (with no error: the caller decides what a timeout means).
//
// It is woken when this process finishes the operation and, on a store
// several replicas share, when any replica writes it (follow, claims.go),
// so a wait through one replica ends when another finishes the work.
func (r *Runner) Wait(ctx context.Context, id string) (store.Operation, error) {
	for {
		r.mu.Lock()
		ch, ok := r.waiters[id]
		if !ok {
			ch = make(chan struct{})
			r.waiters[id] = ch
		}
		r.mu.Unlock()
		op, err := r.st.GetOperation(ctx, id)
		if err != nil || op.Done {
			return op, err
		}
		select {
		case <-ch:
			continue
		case <-ctx.Done():
		case <-r.ctx.Done():
		}
		return r.st.GetOperation(context.WithoutCancel(ctx), id)
	}
}

// notify wakes the waiters of a finished operation.
func (r *Runner) notify(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ch, ok := r.waiters[id]; ok {
		close(ch)
		delete(r.waiters, id)
	}
}

// run drives one operation until it is done, the runner stops or ctx
// ends (this process lost its claim on it).
func (r *Runner) run(ctx context.Context, id string) {
	for ctx.Err() == nil && !r.fenced(ctx, id) {
		op, err := r.st.GetOperation(ctx, id)
		if err != nil {
			if errors.Is(err, store.ErrNotFound) || ctx.Err() != nil {
				return
			}
			r.opts.Log.Error("operation: cannot read", "id", id, "err", err)
			if !r.sleep(r.opts.MaxBackoff) {
				return
			}
			continue
		}
		if op.Done {
			r.notify(id)
			return
		}
		k, ok := r.kinds[op.Kind]
		if !ok {
			r.finish(ctx, op, Failure{Code: codes.Internal, Message: fmt.Sprintf("unknown operation kind %q", op.Kind)})
			return
		}
		step := op.Step
		if step == "" {
			step = k.First
		}
		if op.CancelRequested && r.undoable(k, op, step) {
			r.undo(ctx, k, op)
			return
		}
		fn := k.Steps[step]
		if fn == nil {
			r.finish(ctx, op, Failure{Code: codes.Internal, Message: fmt.Sprintf("operation kind %q has no step %q", op.Kind, step)})
			return
		}
		// 1. Record that the step begins, before it acts. A step recorded
		// as begun already runs again: after a failure or a restart, so
		// what it asked the cloud for may exist (Repeated).
		repeated := op.Step == step && op.State["began"] == step
		if !repeated {
			op.Step = step
			op = withState(op, "began", step)
			if op, err = r.st.UpdateOperation(ctx, op); err != nil {
				r.storeTrouble(id, op, err)
				continue
			}
		}
		// 2. Act.
		sctx, interrupt := context.WithCancel(context.WithValue(ctx, repeatedKey{}, repeated))
		if k.Undoable != nil && k.Undoable(op, step) {
			r.mu.Lock()
			r.steps[id] = interrupt
			r.mu.Unlock()
			// A cancel recorded after this loop read the operation but
			// before the line above found no step to interrupt: read it
			// again now. (A cancel recorded later finds the step.)
			if cur, err := r.st.GetOperation(ctx, id); err == nil && cur.CancelRequested {
				interrupt()
			}
		}
		failpoint.Hit(op.Kind + "/" + step + ":before")
		res, err := fn(sctx, &op)
		failpoint.Hit(op.Kind + "/" + step + ":after")
		r.mu.Lock()
		delete(r.steps, id)
		r.mu.Unlock()
		interrupted := sctx.Err() != nil
		interrupt()
		if ctx.Err() != nil {
			return // stopping: the step runs again after the restart
		}
		if interrupted && err != nil {
			continue // a cancel stopped the step: the loop rolls back
		}
		// 3. Record the outcome.
		if err != nil {
			if r.opts.Transient(err) && op.Attempts+1 < r.opts.MaxAttempts {
				op.Attempts++
				op.LastError = err.Error()
				r.opts.Log.Warn("operation step failed; retrying", "id", id, "kind", op.Kind, "step", step, "attempt", op.Attempts, "err", err)
				if _, uerr := r.st.UpdateOperation(ctx, op); uerr != nil {
					r.storeTrouble(id, op, uerr)
					continue
				}
				if !r.sleep(r.backoff(op.Attempts)) {
					return
				}
				continue
			}
			if k.Fail != nil {
				k.Fail(ctx, &op)
			}
			r.finish(ctx, op, r.opts.Failure(err))
			return
		}
		op.Attempts, op.LastError = 0, ""
		if res.Progress != 0 {
			op.Progress = res.Progress
		}
		if res.Done {
			op.Done, op.Result, op.Progress = true, res.Response, 100
		} else {
			if k.Steps[res.Next] == nil {
				r.finish(ctx, op, Failure{Code: codes.Internal, Message: fmt.Sprintf("step %q of %q went to unknown step %q", step, op.Kind, res.Next)})
				return
			}
			op.Step = res.Next
		}
		if _, err := r.st.UpdateOperation(ctx, op); err != nil {
			r.storeTrouble(id, op, err)
			continue
		}
		if res.Done {
			r.opts.Log.Info("operation done", "id", id, "kind", op.Kind, "target", op.TargetID)
			r.notify(id)
			return
		}
	}
}

// undoable says whether a cancel is honored before step.
func (r *Runner) undoable(k Kind, op store.Operation, step string) bool {
	if k.Undoable != nil {
		return k.Undoable(op, step)
	}
	return step == k.First && op.State["began"] == ""
}

// undo rolls an operation back and ends it CANCELLED.
func (r *Runner) undo(ctx context.Context, k Kind, op store.Operation) {
	failpoint.Hit(op.Kind + "/undo:before")
	for attempt := int32(1); k.Undo != nil; attempt++ {
		err := k.Undo(ctx, &op)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return
		}
		if !r.opts.Transient(err) || attempt >= r.opts.MaxAttempts {
			r.finish(ctx, op, r.opts.Failure(fmt.Errorf("cancel: rolling back failed: %w", err)))
			return
		}
		if !r.sleep(r.backoff(attempt)) {
			return
		}
	}
	failpoint.Hit(op.Kind + "/undo:after")
	r.finish(ctx, op, Failure{Code: codes.Canceled, Message: "operation cancelled; what it had made was rolled back", Reason: "CANCELLED"})
}

// finish ends an operation with a failure. It is recorded under the
// runner's context (not the operation's, which may be ending) with the
// operation's fence, if any.
func (r *Runner) finish(ctx context.Context, op store.Operation, f Failure) {
	op.Done = true
	op.ErrorCode, op.ErrorMessage, op.ErrorReason, op.ErrorDetails = int32(f.Code), f.Message, f.Reason, f.Details
	if op.ErrorCode == 0 {
		op.ErrorCode = int32(codes.Unknown)
	}
	wctx := r.ctx
	if fence, ok := store.FenceOf(ctx); ok {
		wctx = store.WithFence(wctx, fence)
	}
	if _, err := r.st.UpdateOperation(wctx, op); err != nil {
		r.opts.Log.Error("operation: cannot record its failure", "id", op.ID, "err", err)
		return
	}
	r.opts.Log.Info("operation failed", "id", op.ID, "kind", op.Kind, "step", op.Step, "code", f.Code, "err", f.Message)
	r.notify(op.ID)
}

// storeTrouble logs a failed write of the operation and pauses before the
// loop re-reads it. A fenced write means the claim is lost: the loop
// stops (fenced).
func (r *Runner) storeTrouble(id string, op store.Operation, err error) {
	if r.ctx.Err() != nil {
		return
	}
	if errors.Is(err, store.ErrFenced) {
		r.mu.Lock()
		r.lostClaim[id] = true
		r.mu.Unlock()
		r.opts.Log.Warn("operation: claim lost; another replica takes it over", "id", id, "step", op.Step)
		return
	}
	r.opts.Log.Error("operation: cannot record a step", "id", id, "step", op.Step, "err", err)
	r.sleep(r.opts.MinBackoff)
}

func (r *Runner) backoff(attempt int32) time.Duration {
	d := r.opts.MinBackoff
	for i := int32(1); i < attempt && d < r.opts.MaxBackoff; i++ {
		d *= 2
	}
	if d > r.opts.MaxBackoff {
		d = r.opts.MaxBackoff
	}
	return d
}

// sleep waits d or until the runner stops (then false).
func (r *Runner) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.ctx.Done():
		return false
	}
}

func withState(op store.Operation, k, v string) store.Operation {
	st := make(map[string]string, len(op.State)+1)
	for kk, vv := range op.State {
		st[kk] = vv
	}
	st[k] = v
	op.State = st
	return op
}

type repeatedKey struct{}

// Repeated reports whether the step running with ctx ran before in this
// operation (it failed and is retried, or canopyd stopped or crashed while
// it ran): a create it makes may already have reached the cloud, so the
// step passes Replay to the adapter (providers.ReplayGuard).
func Repeated(ctx context.Context) bool {
	r, _ := ctx.Value(repeatedKey{}).(bool)
	return r
}

// fenced reports (once) whether a write of operation id was refused by
// its fence: this replica lost the claim, and must stop running it.
func (r *Runner) fenced(ctx context.Context, id string) bool {
	if _, ok := store.FenceOf(ctx); !ok {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	lost := r.lostClaim[id]
	delete(r.lostClaim, id)
	return lost
}
