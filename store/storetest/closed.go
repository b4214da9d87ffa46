package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/canopy-cloud/canopy/store"
)

// ---------------------------------------------------------------- Context and Closed

// op is one call of every IDMap method, against a store prepared by fixture,
// each with arguments that would succeed on an open store with a live
// context: so the error can only come from what the test changed.
type op struct {
	name string
	call func(ctx context.Context, st store.Store, f fixture) error
}

type fixture struct{ pending, bound store.Mapping }

func newFixture(t *testing.T, st store.Store) fixture {
	return fixture{pending: pending(t, st), bound: bind(t, st, pending(t, st).ID, "n1")}
}

var ops = []op{
	{"Reserve", func(ctx context.Context, st store.Store, f fixture) error {
		_, _, err := st.Reserve(ctx, store.Mapping{Cloud: cloud, Kind: kind, Project: project, RequestID: "new"})
		return err
	}},
	{"Bind", func(ctx context.Context, st store.Store, f fixture) error {
		_, err := st.Bind(ctx, f.pending.ID, "n2")
		return err
	}},
	{"Get", func(ctx context.Context, st store.Store, f fixture) error {
		_, err := st.Get(ctx, f.bound.ID)
		return err
	}},
	{"Lookup", func(ctx context.Context, st store.Store, f fixture) error {
		_, err := st.Lookup(ctx, cloud, kind, "n1")
		return err
	}},
	{"Adopt", func(ctx context.Context, st store.Store, f fixture) error {
		_, err := st.Adopt(ctx, cloud, kind, project, []string{"n3", "n4"})
		return err
	}},
	{"AdoptKnown", func(ctx context.Context, st store.Store, f fixture) error {
		_, err := st.Adopt(ctx, cloud, kind, project, []string{"n1"})
		return err
	}},
	{"List", func(ctx context.Context, st store.Store, f fixture) error {
		_, err := st.List(ctx, cloud, kind)
		return err
	}},
	{"Delete", func(ctx context.Context, st store.Store, f fixture) error {
		return st.Delete(ctx, f.bound.ID)
	}},
}

func (s *suite) contextTests() []test {
	var tests []test
	for _, o := range ops {
		tests = append(tests, test{"Cancelled" + o.name, func(t *testing.T) {
			st := s.newStore(t)
			f := newFixture(t, st)
			ctx, cancel := context.WithCancel(ctxOf(t))
			cancel()
			wantErr(t, o.name+" with a cancelled context", o.call(ctx, st, f), context.Canceled)
			// …and it changed nothing.
			wantSameList(t, "List", list(t, st, cloud, kind), sortedByID([]store.Mapping{f.pending, f.bound}))
			notLookedUp(t, st, cloud, kind, "n3")
			if err := o.call(ctxOf(t), st, f); err != nil {
				t.Errorf("%s with a live context: %v", o.name, err)
			}
		}})
	}
	tests = append(tests, test{"DeadlineExceeded", func(t *testing.T) {
		st := s.newStore(t)
		f := newFixture(t, st)
		ctx, cancel := context.WithDeadline(ctxOf(t), time.Now().Add(-time.Second))
		defer cancel()
		for _, o := range ops {
			wantErr(t, o.name+" past its deadline", o.call(ctx, st, f), context.DeadlineExceeded)
		}
	}})
	return tests
}

func (s *suite) closedTests() []test {
	var tests []test
	for _, o := range ops {
		tests = append(tests, test{o.name + "AfterClose", func(t *testing.T) {
			st := s.newStore(t)
			f := newFixture(t, st)
			if err := st.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			wantErr(t, o.name+" after Close", o.call(ctxOf(t), st, f), store.ErrClosed)
		}})
	}
	tests = append(tests, test{"CloseTwice", func(t *testing.T) {
		st := s.newStore(t)
		if err := st.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if err := st.Close(); err != nil && !errors.Is(err, store.ErrClosed) {
			t.Errorf("second Close: %v, want nil or ErrClosed", err)
		}
	}})
	tests = append(tests, test{"CloseDuringUse", func(t *testing.T) {
		// Calls racing Close either complete or fail with ErrClosed;
		// nothing panics or hangs.
		st := s.newStore(t)
		f := newFixture(t, st)
		errs := make([]error, workers)
		parallel(func(i int) {
			if i == workers/2 {
				errs[i] = st.Close()
				return
			}
			for range 20 {
				o := ops[i%len(ops)]
				if o.name == "Delete" || o.name == "Bind" {
					o = ops[2] // Get: repeatable
				}
				if err := o.call(ctxOf(t), st, f); err != nil {
					if !errors.Is(err, store.ErrClosed) {
						errs[i] = err
					}
					return
				}
			}
		})
		for i, err := range errs {
			if err != nil {
				t.Errorf("worker %d: %v", i, err)
			}
		}
	}})
	return tests
}
