package ttllru

import (
	"runtime"
	"testing"
	"time"
)

func TestLRU(t *testing.T) {
	long := New[string, int](2, time.Hour)
	long.Add("a", 1)
	long.Add("b", 2)
	if v, ok := long.Get("a"); !ok || v != 1 {
		t.Errorf("a fresh entry: %v, %v", v, ok)
	}
	long.Add("c", 3) // evicts b, the least recently used
	if _, ok := long.Get("b"); ok {
		t.Error("b not evicted by size")
	}
	long.Purge()
	if _, ok := long.Get("a"); ok {
		t.Error("a survived Purge")
	}
	gone := New[string, int](2, time.Nanosecond)
	gone.Add("a", 1)
	for deadline := time.Now().Add(time.Nanosecond); !time.Now().After(deadline); { // the clock's resolution
	}
	if _, ok := gone.Get("a"); ok {
		t.Error("an expired entry was returned")
	}
}

// Making caches starts no goroutine (expirable.LRU started one per cache
// that never stopped).
func TestNoGoroutine(t *testing.T) {
	before := runtime.NumGoroutine()
	keep := make([]*LRU[string, int], 0, 50)
	for range 50 {
		keep = append(keep, New[string, int](10, 10*time.Millisecond))
	}
	if after := runtime.NumGoroutine(); after > before {
		t.Errorf("%d caches left %d goroutines running", len(keep), after-before)
	}
}
