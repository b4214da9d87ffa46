//go:build etcd

package ownership_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/canopy-cloud/canopy/ownership"
)

func etcdClient(t *testing.T) *clientv3.Client {
	t.Helper()
	v := os.Getenv("CANOPY_ETCD_ENDPOINTS")
	if v == "" {
		t.Skip("CANOPY_ETCD_ENDPOINTS is not set: run test/etcd/test.sh")
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: strings.Split(v, ","), DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return cli
}

func testPrefix(t *testing.T) string {
	p := fmt.Sprintf("/canopy-test/owner-%s-%x", t.Name(), time.Now().UnixNano())
	t.Cleanup(func() {
		cli := etcdClient(t)
		defer cli.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, _ = cli.Delete(ctx, p+"/", clientv3.WithPrefix())
	})
	return p
}

type acquired struct {
	t   ownership.Term
	err error
	at  time.Time
}

func acquire(ctx context.Context, o ownership.Owner, cloud string) <-chan acquired {
	ch := make(chan acquired, 1)
	go func() {
		t, err := o.Acquire(ctx, cloud)
		ch <- acquired{t, err, time.Now()}
	}()
	return ch
}

// One owner per cloud; a graceful stop (Close revokes the lease) hands
// the cloud over at once; the new term's token is higher, and the old
// term's fenced write is refused.
func TestOneOwnerAndFencing(t *testing.T) {
	p := testPrefix(t)
	ca, cb := etcdClient(t), etcdClient(t)
	defer ca.Close()
	defer cb.Close()
	a := ownership.NewEtcd(ca, p+"/v1/", "a", 2)
	b := ownership.NewEtcd(cb, p+"/v1/", "b", 2)
	defer b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	ta, err := a.Acquire(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}
	// Another cloud is independent: b gets it while a holds c1.
	if _, err := b.Acquire(ctx, "c2"); err != nil {
		t.Fatal(err)
	}
	if who, err := a.Leader(ctx, "c1"); err != nil || who != "a" {
		t.Fatalf("leader of c1: %q, %v; want a", who, err)
	}
	wb := acquire(ctx, b, "c1")
	select {
	case r := <-wb:
		t.Fatalf("b acquired c1 while a owns it: %+v", r)
	case <-time.After(3 * time.Second): // longer than the TTL: a keeps it alive
	}
	txn, err := ownership.Fenced(ctx, ta)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := txn.Then(clientv3.OpPut(p+"/status", "a")).Commit(); err != nil || !r.Succeeded {
		t.Fatalf("owner's fenced write: %v, %v", r, err)
	}
	closed := time.Now()
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	var rb acquired
	select {
	case rb = <-wb:
	case <-ctx.Done():
		t.Fatal("b never acquired c1 after a closed")
	}
	if rb.err != nil {
		t.Fatal(rb.err)
	}
	t.Logf("handover after a graceful stop: %v", rb.at.Sub(closed))
	select {
	case <-ta.Done():
	case <-ctx.Done():
		t.Fatal("a's term did not end")
	}
	if rb.t.Token() <= ta.Token() {
		t.Fatalf("tokens a %d, b %d: the new term's must be higher", ta.Token(), rb.t.Token())
	}
	txn, _ = ownership.Fenced(ctx, ta)
	if r, err := txn.Then(clientv3.OpPut(p+"/status", "a-stale")).Commit(); err != nil || r.Succeeded {
		t.Fatalf("deposed owner's fenced write: succeeded=%v, %v; want refused", r != nil && r.Succeeded, err)
	}
}

// A replica that dies (its client gone, no revoke: the lease just stops
// being kept alive) loses its cloud within the TTL, and another takes it
// within TTL + 1 s.
func TestTakeoverAfterDeath(t *testing.T) {
	p := testPrefix(t)
	const ttl = 2
	ca, cb := etcdClient(t), etcdClient(t)
	defer cb.Close()
	a := ownership.NewEtcd(ca, p+"/v1/", "a", ttl)
	b := ownership.NewEtcd(cb, p+"/v1/", "b", ttl)
	defer b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := a.Acquire(ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	wb := acquire(ctx, b, "c1")
	died := time.Now()
	ca.Close() // the process is gone: no keepalive, no revoke
	select {
	case r := <-wb:
		if r.err != nil {
			t.Fatal(r.err)
		}
		took := r.at.Sub(died)
		t.Logf("takeover after death: %v (ttl %ds)", took, ttl)
		if took > ttl*time.Second+time.Second {
			t.Fatalf("takeover took %v, want <= TTL + 1 s", took)
		}
	case <-ctx.Done():
		t.Fatal("b never took c1 over")
	}
}

// Held tracks ownership across replicas: exactly one of two holds each
// cloud, and when it stops the other holds it.
func TestHeld(t *testing.T) {
	p := testPrefix(t)
	ca, cb := etcdClient(t), etcdClient(t)
	defer ca.Close()
	defer cb.Close()
	a := ownership.NewEtcd(ca, p+"/v1/", "a", 2)
	b := ownership.NewEtcd(cb, p+"/v1/", "b", 2)
	defer b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	actx, stopA := context.WithCancel(ctx)
	clouds := []string{"c1", "c2", "c3"}
	ha := ownership.Hold(actx, a, clouds, func(err error) { t.Log(err) })
	hb := ownership.Hold(ctx, b, clouds, func(err error) { t.Log(err) })
	defer hb.Wait()
	defer cancel()
	eventually := func(what string, ok func() bool) {
		t.Helper()
		for !ok() {
			if ctx.Err() != nil {
				t.Fatalf("never: %s", what)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	eventually("every cloud owned by exactly one", func() bool {
		for _, c := range clouds {
			_, x := ha.Owns(c)
			_, y := hb.Owns(c)
			if x == y {
				return false
			}
		}
		return true
	})
	stopA()
	ha.Wait()
	_ = a.Close()
	eventually("b owns every cloud after a stopped", func() bool {
		for _, c := range clouds {
			if _, ok := hb.Owns(c); !ok {
				return false
			}
		}
		return true
	})
}
