// Package ttllru is an LRU cache whose entries expire a fixed time after
// they were added, checked when read: an expired entry is a miss, and is
// dropped when read or evicted by size. It starts no goroutine.
//
// It replaces golang-lru's expirable.LRU, which starts a goroutine per
// cache ticking every ttl/100 that can never be stopped (its Close is
// commented out upstream): every cache of every stack a process built kept
// ticking — thousands of them in a -count=20 test run, each ticking every
// 100 µs for the tests' 10 ms TTLs — until the tests starved.
package ttllru

import (
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// LRU is safe for concurrent use.
type LRU[K comparable, V any] struct {
	ttl time.Duration

	mu  sync.Mutex
	lru *simplelru.LRU[K, item[V]]
}

type item[V any] struct {
	v       V
	expires time.Time
}

// New is an LRU of at most size entries (size > 0), each kept ttl.
func New[K comparable, V any](size int, ttl time.Duration) *LRU[K, V] {
	l, err := simplelru.NewLRU[K, item[V]](size, nil)
	if err != nil { // size <= 0: every caller gives a size
		panic(err)
	}
	return &LRU[K, V]{ttl: ttl, lru: l}
}

// Get is the entry under key unless it is absent or expired.
func (c *LRU[K, V]) Get(key K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	it, ok := c.lru.Get(key)
	if ok && time.Now().After(it.expires) {
		c.lru.Remove(key)
		ok = false
	}
	if !ok {
		var zero V
		return zero, false
	}
	return it.v, true
}

// Add stores v under key for ttl from now.
func (c *LRU[K, V]) Add(key K, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lru.Add(key, item[V]{v: v, expires: time.Now().Add(c.ttl)})
}

// Purge forgets every entry.
func (c *LRU[K, V]) Purge() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lru.Purge()
}
