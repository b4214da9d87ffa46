//go:build etcd

package ownership_test

import (
	"context"
	"testing"
	"time"

	"github.com/canopy-cloud/canopy/ownership"
)

// TestLock: one replica holds a lock at a time; a waiter gets it when the
// holder unlocks, and when the holder's lease ends (a replica gone); a
// waiter whose context ends gives up with its error.
func TestLock(t *testing.T) {
	cli := etcdClient(t)
	defer cli.Close()
	root := testPrefix(t)
	a, b, c := ownership.NewEtcd(cli, root, "ra", 2), ownership.NewEtcd(cli, root, "rb", 2), ownership.NewEtcd(cli, root, "rc", 2)
	defer b.Close()
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	unlockA, err := a.Lock(ctx, "sched/pool")
	if err != nil {
		t.Fatal(err)
	}
	short, cancelShort := context.WithTimeout(ctx, 300*time.Millisecond)
	if _, err := b.Lock(short, "sched/pool"); err == nil {
		t.Fatal("b took the lock a holds")
	}
	cancelShort()

	got := make(chan func(), 1)
	go func() {
		u, err := b.Lock(ctx, "sched/pool")
		if err != nil {
			t.Errorf("b.Lock: %v", err)
			u = func() {}
		}
		got <- u
	}()
	select {
	case <-got:
		t.Fatal("b took the lock before a unlocked")
	case <-time.After(200 * time.Millisecond): // b is waiting
	}
	start := time.Now()
	unlockA()
	unlockB := <-got
	t.Logf("b took the lock %v after a unlocked", time.Since(start))

	// b's replica goes away holding it (its lease revoked, as when it is
	// stopped; a killed one's lease ends within the TTL): c takes it.
	go func() {
		u, err := c.Lock(ctx, "sched/pool")
		if err != nil {
			t.Errorf("c.Lock: %v", err)
			u = func() {}
		}
		got <- u
	}()
	start = time.Now()
	_ = b.Close()
	unlockC := <-got
	t.Logf("c took the lock %v after b's lease ended", time.Since(start))
	unlockC()
	unlockB() // b's claim is gone already: a no-op
	_ = a.Close()
}
