//go:build etcd

package jobs_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/canopy-cloud/canopy/jobs"
	"github.com/canopy-cloud/canopy/ownership"
	"github.com/canopy-cloud/canopy/store"
	"github.com/canopy-cloud/canopy/store/etcd"
)

// A replica whose claim on an operation went (here: deleted under it, as
// when its lease expired while it was cut off) but which has not noticed
// finishes its step; its write of the outcome is fenced, so it cannot
// record the operation as its own while the replica that took it over
// is still running it. The successor's outcome is the one recorded.
func TestDeposedReplicaWritesAreFenced(t *testing.T) {
	v := os.Getenv("CANOPY_ETCD_ENDPOINTS")
	if v == "" {
		t.Skip("CANOPY_ETCD_ENDPOINTS is not set: run test/etcd/test.sh")
	}
	eps := strings.Split(v, ",")
	prefix := fmt.Sprintf("/canopy-test/fence-%x", time.Now().UnixNano())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	entered := make(chan string, 4)
	gates := map[string]chan struct{}{"a": make(chan struct{}), "b": make(chan struct{})}
	kind := func(replica string) jobs.Kind {
		return jobs.Kind{First: "work", Steps: map[string]jobs.Step{
			"work": func(ctx context.Context, op *store.Operation) (jobs.Result, error) {
				entered <- replica
				select {
				case <-gates[replica]:
				case <-ctx.Done():
					return jobs.Result{}, ctx.Err()
				}
				op.State = map[string]string{"by": replica}
				return jobs.Result{Done: true}, nil
			},
		}}
	}
	start := func(name string) (*etcd.Store, *jobs.Runner, *clientv3.Client) {
		st, err := etcd.Open(ctx, eps, etcd.WithPrefix(prefix))
		if err != nil {
			t.Fatal(err)
		}
		cli, err := clientv3.New(clientv3.Config{Endpoints: eps, DialTimeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		owner := ownership.NewEtcd(cli, st.Prefix(), name, 5)
		r := jobs.New(st, jobs.Options{Claims: owner, Sweep: 200 * time.Millisecond, MinBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond})
		r.Register("work", kind(name))
		if _, err := r.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Stop(); _ = owner.Close(); cli.Close(); _ = st.Close() })
		return st, r, cli
	}
	stA, ra, cli := start("a")
	t.Cleanup(func() { _, _ = cli.Delete(context.Background(), prefix+"/", clientv3.WithPrefix()) })
	op, _, err := stA.CreateOperation(ctx, store.Operation{Project: "p", Kind: "work", Cloud: "sim"})
	if err != nil {
		t.Fatal(err)
	}
	ra.Submit(op.ID)
	if who := <-entered; who != "a" {
		t.Fatalf("step entered on %s, want a", who)
	}
	_, rb, _ := start("b")
	// A's claim goes without A's lease going: A does not notice.
	if _, err := cli.Delete(ctx, stA.Prefix()+"claim/"+op.ID); err != nil {
		t.Fatal(err)
	}
	select { // B takes the operation over
	case who := <-entered:
		if who != "b" {
			t.Fatalf("step entered on %s, want b", who)
		}
	case <-ctx.Done():
		t.Fatal("B never took the operation over")
	}
	// A finishes its step first: its outcome must not be recorded.
	close(gates["a"])
	deadline := time.Now().Add(2 * time.Second)
	for ra.Running(op.ID) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if ra.Running(op.ID) {
		t.Fatal("A still runs the operation after its write was fenced")
	}
	if got, err := stA.GetOperation(ctx, op.ID); err != nil || got.Done {
		t.Fatalf("after A's fenced write: done=%v by %q, %v; want not done", got.Done, got.State["by"], err)
	}
	close(gates["b"])
	got, err := rb.Wait(ctx, op.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Done || got.ErrorCode != 0 || got.State["by"] != "b" {
		t.Fatalf("operation: done=%v error=%q by %q; want done by b", got.Done, got.ErrorMessage, got.State["by"])
	}
}
