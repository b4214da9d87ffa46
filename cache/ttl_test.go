package cache

import (
	"runtime"
	"testing"
	"time"
)

func TestTTLLRU(t *testing.T) {
	long := newTTLLRU[int](2, time.Hour)
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
	gone := newTTLLRU[int](2, time.Nanosecond)
	gone.Add("a", 1)
	deadline := time.Now().Add(time.Nanosecond)
	for !time.Now().After(deadline) { // the clock's resolution
	}
	if _, ok := gone.Get("a"); ok {
		t.Error("an expired entry was returned")
	}
}

// Building caches starts no goroutine (expirable.LRU started one per
// cache that never stopped).
func TestCachesStartNoGoroutine(t *testing.T) {
	before := runtime.NumGoroutine()
	for range 50 {
		NewCompute("c", nil, nil, nil, Options{TTL: map[string]time.Duration{Servers: 10 * time.Millisecond, Flavors: time.Minute}})
	}
	if after := runtime.NumGoroutine(); after > before {
		t.Errorf("50 caches left %d goroutines running", after-before)
	}
}
