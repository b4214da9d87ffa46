package store_test

import (
	"path/filepath"
	"testing"

	"github.com/canopy-cloud/canopy/store"
	"github.com/canopy-cloud/canopy/store/bolt"
	"github.com/canopy-cloud/canopy/store/storetest"
)

func openCached(t *testing.T, path string) *store.Cached {
	t.Helper()
	st, err := bolt.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	c := store.NewCached(st)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// The cache must keep every promise of the contract, the durability ones
// too: it wraps bbolt, and a restarted canopyd builds a new, empty cache
// over the same file.
func TestCachedConformance(t *testing.T) {
	storetest.RunConformanceTests(t, func(t *testing.T) store.Store {
		return openCached(t, filepath.Join(t.TempDir(), "c.db"))
	}, storetest.WithReopen(func(t *testing.T, old store.Store) store.Store {
		c := old.(*store.Cached)
		b := c.Store.(*bolt.Store)
		if err := c.Close(); err != nil {
			t.Fatalf("close before reopen: %v", err)
		}
		return openCached(t, b.Path())
	}))
}
