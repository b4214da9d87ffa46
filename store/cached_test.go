package store_test

import (
	"testing"

	"github.com/canopy-cloud/canopy/store"
	"github.com/canopy-cloud/canopy/store/bolt"
	"github.com/canopy-cloud/canopy/store/storetest"
)

// The cache must keep every promise of the contract.
func TestCachedConformance(t *testing.T) {
	storetest.RunConformanceTests(t, func(t *testing.T) store.Store {
		st, err := bolt.Open(t.TempDir() + "/c.db")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return store.NewCached(st)
	})
}
