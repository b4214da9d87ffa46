package cache

import (
	"runtime"
	"testing"
	"time"
)

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
