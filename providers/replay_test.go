package providers

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

func TestReplayGuardDeadline(t *testing.T) {
	g := NewReplayGuard(10 * time.Second)
	now := g.start.Add(3 * time.Second)
	g.now = func() time.Time { return now }
	if d := g.Deadline("t", false); !d.IsZero() {
		t.Errorf("first attempt: deadline %v, want none", d)
	}
	if d := g.Deadline("t", true); !d.Equal(g.start.Add(10 * time.Second)) {
		t.Errorf("replay after a restart: deadline %v, want the window after the guard's start", d.Sub(g.start))
	}
	g.Sending("t") // this process sent one, unanswered
	if d := g.Deadline("t", false); !d.Equal(now.Add(10 * time.Second)) {
		t.Errorf("after an unanswered attempt: deadline %v, want the window after it", d.Sub(g.start))
	}
	g.Sent("t")
	if d := g.Deadline("t", false); !d.IsZero() {
		t.Errorf("after an answered attempt: deadline %v, want none", d)
	}
}

func TestFindOrCreate(t *testing.T) {
	errBoom := errors.New("boom")
	for _, tc := range []struct {
		name      string
		replay    bool
		foundAt   int // find call (1-based) that finds it; 0: never
		createErr error
		wantErr   error
		wantFind  int
		wantMake  int
		wantFound bool
		wantWait  bool
	}{
		{name: "first attempt creates at once", wantFind: 1, wantMake: 1},
		{name: "a retry finds the earlier one", replay: true, foundAt: 1, wantFind: 1, wantFound: true},
		{name: "a replay waits out the window, then finds it", replay: true, foundAt: 2, wantFind: 2, wantFound: true, wantWait: true},
		{name: "a replay that never finds it creates after the window", replay: true, wantFind: 2, wantMake: 1, wantWait: true},
		{name: "a failed create is returned", createErr: errBoom, wantErr: errBoom, wantFind: 2, wantMake: 1},
		{name: "a failed create that took effect returns what it made", createErr: errBoom, foundAt: 2, wantFind: 2, wantMake: 1, wantFound: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A case that must not wait gets an hour's window and a 10s
			// context: waiting would fail it with the context's error, not
			// by a wall-clock bound a loaded machine could pass. One that
			// waits is checked to have waited the window (a lower bound).
			window := time.Hour
			if tc.wantWait {
				window = 80 * time.Millisecond
			}
			start := time.Now() // the window runs from the guard's making
			g := NewReplayGuard(window)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var finds, makes atomic.Int32
			find := func(context.Context) (string, bool, error) {
				n := finds.Add(1)
				if tc.foundAt != 0 && int(n) >= tc.foundAt {
					return "earlier", true, nil
				}
				return "", false, nil
			}
			create := func(context.Context) (string, error) {
				makes.Add(1)
				return "new", tc.createErr
			}
			got, found, err := FindOrCreate(ctx, g, "tok", tc.replay, find, create)
			elapsed := time.Since(start)
			if !errors.Is(err, tc.wantErr) || found != tc.wantFound || int(finds.Load()) != tc.wantFind || int(makes.Load()) != tc.wantMake || (tc.wantWait && elapsed < 80*time.Millisecond) {
				t.Errorf("got %q found=%v err=%v finds=%d creates=%d after %s", got, found, err, finds.Load(), makes.Load(), elapsed)
			}
		})
	}
	t.Run("an unavailable create that did not take effect is sent again after the window", func(t *testing.T) {
		g := NewReplayGuard(80 * time.Millisecond)
		var finds, makes atomic.Int32
		start := time.Now()
		got, found, err := FindOrCreate(context.Background(), g, "tok", false,
			func(context.Context) (string, bool, error) { finds.Add(1); return "", false, nil },
			func(context.Context) (string, error) {
				if makes.Add(1) == 1 {
					return "", fmt.Errorf("connection reset: %w", ErrUnavailable)
				}
				return "new", nil
			})
		if got != "new" || found || err != nil || makes.Load() != 2 || finds.Load() != 3 || time.Since(start) < 80*time.Millisecond {
			t.Errorf("got %q found=%v err=%v finds=%d creates=%d after %s; want the second create's, after the window",
				got, found, err, finds.Load(), makes.Load(), time.Since(start))
		}
	})
	t.Run("an unavailable create is sent at most createSends times", func(t *testing.T) {
		g := NewReplayGuard(time.Millisecond)
		var makes atomic.Int32
		_, _, err := FindOrCreate(context.Background(), g, "tok", false,
			func(context.Context) (string, bool, error) { return "", false, nil },
			func(context.Context) (string, error) { makes.Add(1); return "", ErrUnavailable })
		if !errors.Is(err, ErrUnavailable) || makes.Load() != createSends {
			t.Errorf("err=%v after %d creates; want ErrUnavailable after %d", err, makes.Load(), createSends)
		}
	})
	t.Run("a cancelled wait is an error, and creates nothing", func(t *testing.T) {
		g := NewReplayGuard(time.Hour)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		_, _, err := FindOrCreate(ctx, g, "tok", true,
			func(context.Context) (int, bool, error) { return 0, false, nil },
			func(context.Context) (int, error) { t.Error("created"); return 1, nil })
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v, want the context's", err)
		}
	})
	t.Run("one token's creates run one at a time", func(t *testing.T) {
		g := NewReplayGuard(0)
		var made atomic.Int32
		var live atomic.Int32
		done := make(chan struct{})
		for i := 0; i < 8; i++ {
			go func() {
				_, _, _ = FindOrCreate(context.Background(), g, "tok", true,
					func(context.Context) (int, bool, error) { return 1, made.Load() > 0, nil },
					func(context.Context) (int, error) {
						if live.Add(1) > 1 {
							t.Error("two creates at once")
						}
						time.Sleep(5 * time.Millisecond)
						made.Add(1)
						live.Add(-1)
						return 1, nil
					})
				done <- struct{}{}
			}()
		}
		for i := 0; i < 8; i++ {
			<-done
		}
		if made.Load() != 1 {
			t.Errorf("%d creates for one token, want 1", made.Load())
		}
	})
}
