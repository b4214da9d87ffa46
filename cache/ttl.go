package cache

import (
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// ttlLRU is an LRU whose entries expire ttl after they were added: an
// expired entry is a miss, and is dropped when read or evicted by size.
// It replaces golang-lru's expirable.LRU, which starts a goroutine per
// cache that ticks every ttl/100 and can never be stopped (its Close is
// commented out upstream): every cache of every stack a process ever
// built kept ticking, thousands of them in a -count=20 test run, with
// 10 ms TTLs (a tick every 100 µs each), until the tests starved.
type ttlLRU[V any] struct {
	ttl time.Duration

	mu  sync.Mutex
	lru *simplelru.LRU[string, ttlItem[V]]
}

type ttlItem[V any] struct {
	v       V
	expires time.Time
}

func newTTLLRU[V any](size int, ttl time.Duration) *ttlLRU[V] {
	l, err := simplelru.NewLRU[string, ttlItem[V]](size, nil)
	if err != nil { // size <= 0; callers default it
		panic(err)
	}
	return &ttlLRU[V]{ttl: ttl, lru: l}
}

// Get is the entry under key unless it is absent or expired.
func (c *ttlLRU[V]) Get(key string) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	it, ok := c.lru.Get(key)
	if !ok {
		var zero V
		return zero, false
	}
	if time.Now().After(it.expires) {
		c.lru.Remove(key)
		var zero V
		return zero, false
	}
	return it.v, true
}

// Add stores v under key for ttl from now.
func (c *ttlLRU[V]) Add(key string, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lru.Add(key, ttlItem[V]{v: v, expires: time.Now().Add(c.ttl)})
}

// Purge forgets every entry.
func (c *ttlLRU[V]) Purge() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lru.Purge()
}
