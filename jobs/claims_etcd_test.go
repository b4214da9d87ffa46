//go:build etcd

package jobs_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/canopy-cloud/canopy/jobs"
	"github.com/canopy-cloud/canopy/ownership"
	"github.com/canopy-cloud/canopy/store"
	"github.com/canopy-cloud/canopy/store/etcd"
)

// fakeCloud is the cloud the operations create in: idempotent by the
// canopy id (the token every real adapter passes), counting what it made.
type fakeCloud struct {
	mu      sync.Mutex
	made    map[string]int    // id → resources made for it
	by      map[string]string // id → replica that finished it
	running map[string]string // id → replica in a step now
	overlap []string
}

func (c *fakeCloud) kind(replica string, hang bool) jobs.Kind {
	enter := func(id string) func() {
		c.mu.Lock()
		if who, ok := c.running[id]; ok && who != replica {
			c.overlap = append(c.overlap, fmt.Sprintf("%s on %s and %s", id, who, replica))
		}
		c.running[id] = replica
		c.mu.Unlock()
		return func() { c.mu.Lock(); delete(c.running, id); c.mu.Unlock() }
	}
	return jobs.Kind{First: "create", Steps: map[string]jobs.Step{
		"create": func(ctx context.Context, op *store.Operation) (jobs.Result, error) {
			defer enter(op.ID)()
			c.mu.Lock()
			if c.made[op.ID] == 0 { // the token: a replay makes nothing new
				c.made[op.ID]++
			}
			c.mu.Unlock()
			return jobs.Result{Next: "wait"}, nil
		},
		"wait": func(ctx context.Context, op *store.Operation) (jobs.Result, error) {
			defer enter(op.ID)()
			if hang { // the replica dies in this step
				<-ctx.Done()
				return jobs.Result{}, ctx.Err()
			}
			c.mu.Lock()
			c.by[op.ID] = replica
			c.mu.Unlock()
			return jobs.Result{Done: true}, nil
		},
	}}
}

type etcdReplica struct {
	cli    *clientv3.Client
	st     *etcd.Store
	owner  *ownership.Etcd
	runner *jobs.Runner
}

func startReplica(t *testing.T, eps []string, prefix, name string, cloud *fakeCloud, hang bool, ttl int) *etcdReplica {
	t.Helper()
	ctx := context.Background()
	st, err := etcd.Open(ctx, eps, etcd.WithPrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: eps, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	r := &etcdReplica{cli: cli, st: st, owner: ownership.NewEtcd(cli, st.Prefix(), name, ttl)}
	r.runner = jobs.New(st, jobs.Options{Claims: r.owner, Sweep: time.Second, MinBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond})
	r.runner.Register("make", cloud.kind(name, hang))
	if _, err := r.runner.Start(ctx); err != nil {
		t.Fatal(err)
	}
	return r
}

// Operations run by a replica that dies (its etcd client gone: no
// keepalive, no revoke, as after SIGKILL) are taken over by another
// replica within the lease TTL + 1 s and finished there, each making its
// cloud resource once; a wait through the survivor sees them done; no
// operation ever runs a step on two replicas at once.
func TestOperationsTakenOverAfterDeath(t *testing.T) {
	v := os.Getenv("CANOPY_ETCD_ENDPOINTS")
	if v == "" {
		t.Skip("CANOPY_ETCD_ENDPOINTS is not set: run test/etcd/test.sh")
	}
	eps := strings.Split(v, ",")
	prefix := fmt.Sprintf("/canopy-test/claims-%x", time.Now().UnixNano())
	t.Cleanup(func() {
		cli, err := clientv3.New(clientv3.Config{Endpoints: eps, DialTimeout: 5 * time.Second})
		if err != nil {
			return
		}
		defer cli.Close()
		_, _ = cli.Delete(context.Background(), prefix+"/", clientv3.WithPrefix())
	})
	const ttl, n = 2, 20
	cloud := &fakeCloud{made: map[string]int{}, by: map[string]string{}, running: map[string]string{}}
	a := startReplica(t, eps, prefix, "a", cloud, true, ttl)
	b := startReplica(t, eps, prefix, "b", cloud, false, ttl)
	defer func() { b.runner.Stop(); _ = b.owner.Close(); b.cli.Close(); _ = b.st.Close() }()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var ids []string
	for i := range n {
		op, _, err := a.st.CreateOperation(ctx, store.Operation{Project: "p", Kind: "make", Cloud: "sim", TargetID: fmt.Sprint(i)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, op.ID)
		a.runner.Submit(op.ID)
	}
	// Every operation reached A's hanging step: A holds them all.
	for {
		cloud.mu.Lock()
		k := len(cloud.running)
		cloud.mu.Unlock()
		if k == n {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("only %d of %d operations reached the wait step on A", k, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	// B's own Start and sweeps must not have taken any.
	cloud.mu.Lock()
	for id, who := range cloud.running {
		if who != "a" {
			t.Fatalf("%s runs on %s while A holds it", id, who)
		}
	}
	cloud.mu.Unlock()

	died := time.Now()
	a.cli.Close() // A's lease is no longer kept alive
	var last time.Time
	for _, id := range ids {
		op, err := b.runner.Wait(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if !op.Done || op.ErrorCode != 0 {
			t.Fatalf("operation %s after the takeover: done=%v error=%q", id, op.Done, op.ErrorMessage)
		}
		last = time.Now()
	}
	took := last.Sub(died)
	t.Logf("%d operations taken over and finished %v after A died (ttl %ds)", n, took, ttl)
	if took > ttl*time.Second+time.Second {
		t.Errorf("takeover took %v, want <= TTL + 1 s", took)
	}
	a.runner.Stop()
	_ = a.st.Close()
	cloud.mu.Lock()
	defer cloud.mu.Unlock()
	for _, id := range ids {
		if cloud.made[id] != 1 || cloud.by[id] != "b" {
			t.Errorf("operation %s: %d resources, finished by %q; want 1, by b", id, cloud.made[id], cloud.by[id])
		}
	}
	if len(cloud.overlap) > 0 {
		t.Errorf("steps ran on two replicas at once: %v", cloud.overlap)
	}
}
