package jobs_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/canopy-cloud/canopy/internal/failpoint"
	"github.com/canopy-cloud/canopy/jobs"
	"github.com/canopy-cloud/canopy/store"
	"github.com/canopy-cloud/canopy/store/bolt"
)

var errFlaky = errors.New("flaky")

func newStore(t *testing.T, path string) *bolt.Store {
	t.Helper()
	st, err := bolt.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

func newRunner(st store.OperationStore) *jobs.Runner {
	return jobs.New(st, jobs.Options{
		Transient: func(err error) bool { return errors.Is(err, errFlaky) },
		Failure: func(err error) jobs.Failure {
			return jobs.Failure{Code: codes.FailedPrecondition, Message: err.Error(), Reason: "TEST"}
		},
		MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, MaxAttempts: 5,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
}

// counter is a three-step kind whose steps count their runs and record
// what they saw.
type counter struct {
	mu    sync.Mutex
	runs  map[string]int
	fail  map[string]error // step → error to return (consumed)
	block chan struct{}    // "b" blocks on it when set
	inB   chan struct{}    // "b" says on it when it blocks (newCounter makes it)
	undos atomic.Int32
	fails atomic.Int32
	late  atomic.Bool // a cancel is honored before c too
}

func (c *counter) kind() jobs.Kind {
	step := func(name, next string) jobs.Step {
		return func(ctx context.Context, op *store.Operation) (jobs.Result, error) {
			c.mu.Lock()
			c.runs[name]++
			err := c.fail[name]
			delete(c.fail, name)
			block := c.block
			c.mu.Unlock()
			if name == "b" && block != nil {
				select {
				case c.inB <- struct{}{}:
				default:
				}
				select {
				case <-block:
				case <-ctx.Done():
					return jobs.Result{}, ctx.Err()
				}
			}
			if err != nil {
				return jobs.Result{}, err
			}
			op.State[name] = "done"
			if next == "" {
				return jobs.Result{Done: true, Response: []byte("result:" + op.State["a"] + op.State["b"])}, nil
			}
			return jobs.Result{Next: next, Progress: 50}, nil
		}
	}
	return jobs.Kind{First: "a", Steps: map[string]jobs.Step{"a": step("a", "b"), "b": step("b", "c"), "c": step("c", "")},
		Undoable: func(op store.Operation, step string) bool { return step != "c" || c.late.Load() },
		Undo:     func(context.Context, *store.Operation) error { c.undos.Add(1); return nil },
		Fail:     func(context.Context, *store.Operation) { c.fails.Add(1) },
	}
}

func newCounter() *counter {
	return &counter{runs: map[string]int{}, fail: map[string]error{}, inB: make(chan struct{}, 1)}
}

// blockedInB returns once step "b" runs and blocks (the runner recorded
// that it began, and can interrupt it), or fails the test after 5s.
func (c *counter) blockedInB(t *testing.T) {
	t.Helper()
	select {
	case <-c.inB:
	case <-time.After(5 * time.Second):
		t.Fatal("step b did not begin within 5s")
	}
}

func submit(t *testing.T, st store.OperationStore, r *jobs.Runner) store.Operation {
	t.Helper()
	op, _, err := st.CreateOperation(t.Context(), store.Operation{Project: "p", Kind: "count", TargetID: "x"})
	if err != nil {
		t.Fatal(err)
	}
	r.Submit(op.ID)
	return op
}

func wait(t *testing.T, r *jobs.Runner, id string) store.Operation {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	op, err := r.Wait(ctx, id)
	if err != nil || !op.Done {
		t.Fatalf("operation %s not done: %+v, %v", id, op, err)
	}
	return op
}

func TestStepsRunInOrderAndRecord(t *testing.T) {
	st := newStore(t, filepath.Join(t.TempDir(), "db"))
	c := newCounter()
	r := newRunner(st)
	r.Register("count", c.kind())
	defer r.Stop()
	op := wait(t, r, submit(t, st, r).ID)
	if op.ErrorCode != 0 || string(op.Result) != "result:donedone" || op.Progress != 100 || op.Step != "c" {
		t.Fatalf("op = %+v", op)
	}
	if c.runs["a"] != 1 || c.runs["b"] != 1 || c.runs["c"] != 1 {
		t.Errorf("runs = %v, want each step once", c.runs)
	}
}

func TestTransientRetriedPermanentFails(t *testing.T) {
	st := newStore(t, filepath.Join(t.TempDir(), "db"))
	c := newCounter()
	c.fail["b"] = errFlaky
	r := newRunner(st)
	r.Register("count", c.kind())
	defer r.Stop()
	op := wait(t, r, submit(t, st, r).ID)
	if op.ErrorCode != 0 || c.runs["b"] != 2 {
		t.Fatalf("after one flaky failure: op %+v, runs %v", op, c.runs)
	}

	c.fail["b"] = errors.New("no such thing")
	op = wait(t, r, submit(t, st, r).ID)
	if op.ErrorCode != int32(codes.FailedPrecondition) || op.ErrorReason != "TEST" || !strings.Contains(op.ErrorMessage, "no such thing") || op.Step != "b" {
		t.Fatalf("permanent failure: %+v", op)
	}
	if c.fails.Load() != 1 {
		t.Errorf("Fail hook ran %d times, want 1", c.fails.Load())
	}
}

func TestGivesUpAfterMaxAttempts(t *testing.T) {
	st := newStore(t, filepath.Join(t.TempDir(), "db"))
	r := newRunner(st)
	var n atomic.Int32
	r.Register("count", jobs.Kind{First: "a", Steps: map[string]jobs.Step{"a": func(context.Context, *store.Operation) (jobs.Result, error) {
		n.Add(1)
		return jobs.Result{}, errFlaky
	}}})
	defer r.Stop()
	op := wait(t, r, submit(t, st, r).ID)
	if op.ErrorCode == 0 || n.Load() != 5 {
		t.Errorf("op %+v after %d tries, want a failure after 5", op, n.Load())
	}
}

// A runner stopped mid-step (as a crash would) leaves the operation at that
// step; the next runner's Start resumes it there and finishes it.
func TestResumeAfterStop(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	st := newStore(t, path)
	c := newCounter()
	c.block = make(chan struct{})
	r := newRunner(st)
	r.Register("count", c.kind())
	op := submit(t, st, r)
	c.blockedInB(t)
	r.Stop()
	got, _ := st.GetOperation(t.Context(), op.ID)
	if got.Done || got.Step != "b" || got.State["a"] != "done" {
		t.Fatalf("after stop: %+v", got)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	st2 := newStore(t, path)
	c2 := newCounter()
	r2 := newRunner(st2)
	r2.Register("count", c2.kind())
	defer r2.Stop()
	n, err := r2.Start(t.Context())
	if err != nil || n != 1 {
		t.Fatalf("Start resumed %d, %v", n, err)
	}
	done := wait(t, r2, op.ID)
	if done.ErrorCode != 0 || c2.runs["a"] != 0 || c2.runs["b"] != 1 || c2.runs["c"] != 1 {
		t.Errorf("resumed: op %+v, runs %v; want a skipped, b and c once", done, c2.runs)
	}
}

func TestCancel(t *testing.T) {
	for _, late := range []bool{true, false} {
		st := newStore(t, filepath.Join(t.TempDir(), "db"))
		c := newCounter()
		c.block = make(chan struct{})
		c.late.Store(late)
		r := newRunner(st)
		r.Register("count", c.kind())
		op := submit(t, st, r)
		c.blockedInB(t)
		if _, err := st.CancelOperation(t.Context(), op.ID); err != nil {
			t.Fatal(err)
		}
		close(c.block)
		got := wait(t, r, op.ID)
		r.Stop()
		if late && (got.ErrorCode != int32(codes.Canceled) || c.undos.Load() != 1 || c.runsOf("c") != 0) {
			t.Errorf("cancel honored before c: %+v, undos %d, runs %v", got, c.undos.Load(), c.runs)
		}
		if !late && (got.ErrorCode != 0 || c.undos.Load() != 0 || c.runsOf("c") != 1 || !got.CancelRequested) {
			t.Errorf("cancel too late to honor: %+v, undos %d, runs %v; want it completed", got, c.undos.Load(), c.runs)
		}
	}
}

func (c *counter) runsOf(step string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.runs[step]
}

func TestWaitTimesOutWithTheOperationAsItIs(t *testing.T) {
	st := newStore(t, filepath.Join(t.TempDir(), "db"))
	c := newCounter()
	c.block = make(chan struct{})
	r := newRunner(st)
	r.Register("count", c.kind())
	defer func() { close(c.block); r.Stop() }()
	op := submit(t, st, r)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Millisecond)
	defer cancel()
	got, err := r.Wait(ctx, op.ID)
	if err != nil || got.Done || got.ID != op.ID {
		t.Errorf("Wait past its deadline = %+v, %v; want the unfinished operation", got, err)
	}
}

func TestFailpointLogNamesEveryStep(t *testing.T) {
	logPath := filepath.Join(t.TempDir(), "fp.log")
	failpoint.Configure("", logPath)
	defer failpoint.Configure("", "")
	st := newStore(t, filepath.Join(t.TempDir(), "db"))
	c := newCounter()
	r := newRunner(st)
	r.Register("count", c.kind())
	defer r.Stop()
	wait(t, r, submit(t, st, r).ID)
	raw, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	want := "count/a:before\ncount/a:after\ncount/b:before\ncount/b:after\ncount/c:before\ncount/c:after\n"
	if string(raw) != want {
		t.Errorf("failpoints hit:\n%s\nwant:\n%s", raw, want)
	}
}

// Interrupt stops an undoable step in flight, so a cancel does not wait
// for it to finish.
func TestInterruptHonorsCancelMidStep(t *testing.T) {
	st := newStore(t, filepath.Join(t.TempDir(), "db"))
	c := newCounter()
	c.block = make(chan struct{}) // never closed: only an interrupt ends step b
	r := newRunner(st)
	r.Register("count", c.kind())
	defer r.Stop()
	op := submit(t, st, r)
	c.blockedInB(t)
	if _, err := st.CancelOperation(t.Context(), op.ID); err != nil {
		t.Fatal(err)
	}
	r.Interrupt(op.ID)
	got := wait(t, r, op.ID)
	if got.ErrorCode != int32(codes.Canceled) || c.undos.Load() != 1 || c.runsOf("c") != 0 {
		t.Errorf("interrupted: %+v, undos %d, runs %v", got, c.undos.Load(), c.runs)
	}
}
