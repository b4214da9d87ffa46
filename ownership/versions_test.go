//go:build etcd

package ownership_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/canopy-cloud/canopy/ownership"
)

// A write announced through one replica is in every later Current of
// another, also when many Currents share rounds.
func TestVersionsSeeEveryAnnouncedWrite(t *testing.T) {
	p := testPrefix(t)
	ca, cb := etcdClient(t), etcdClient(t)
	defer ca.Close()
	defer cb.Close()
	a := ownership.NewEtcd(ca, p+"/v1/", "a", 2).Versions()
	b := ownership.NewEtcd(cb, p+"/v1/", "b", 2).Versions()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if v, err := b.Current(ctx, "c1"); err != nil || v != 0 {
		t.Fatalf("version before any write: %d, %v; want 0", v, err)
	}
	last := int64(0)
	for i := range 20 {
		if err := a.Written(ctx, "c1"); err != nil {
			t.Fatal(err)
		}
		// Many concurrent readers on b: each sees the write.
		var wg sync.WaitGroup
		vers := make([]int64, 16)
		errs := make([]error, 16)
		for j := range vers {
			wg.Add(1)
			go func() { defer wg.Done(); vers[j], errs[j] = b.Current(ctx, "c1") }()
		}
		wg.Wait()
		for j := range vers {
			if errs[j] != nil {
				t.Fatal(errs[j])
			}
			if vers[j] <= last {
				t.Fatalf("round %d: reader %d saw version %d, not past %d: a write announced before it is missing", i, j, vers[j], last)
			}
		}
		last = vers[0]
		if v, _ := b.Current(ctx, "c2"); v != 0 {
			t.Fatalf("cloud c2 has version %d from c1's writes", v)
		}
	}
}
