package cache

import (
	"context"
	"testing"
	"time"
)

// Share divides the budget among replicas and gives it back when they go.
func TestLimiterShare(t *testing.T) {
	l := NewLimiter("c", 30, 9, nil)
	for _, tc := range []struct {
		n     int
		rps   float64
		burst int
	}{{1, 30, 9}, {3, 10, 3}, {0, 30, 9}, {20, 1.5, 1}, {2, 15, 4}} {
		l.Share(tc.n)
		if rps, burst := l.Rate(); rps != tc.rps || burst != tc.burst {
			t.Errorf("Share(%d): %v calls/s, burst %d; want %v, %d", tc.n, rps, burst, tc.rps, tc.burst)
		}
	}
	// The shared budget is what calls get: a third of a burst of 9 is 3
	// calls at once, the 4th waits for a token (1/10 s at 10 calls/s).
	l.Share(3)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	for range 4 {
		if err := l.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Errorf("4 calls under a share of burst 3 at 10/s took %v: the 4th did not wait", d)
	}
	unlimited := NewLimiter("c", 0, 0, nil)
	unlimited.Share(3)
	if rps, _ := unlimited.Rate(); rps != 0 {
		t.Errorf("unlimited limiter shared: %v calls/s", rps)
	}
}
