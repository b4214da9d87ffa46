//go:build etcd

// Tests against a real etcd cluster: test/etcd/test.sh starts one (three
// members on loopback) and sets CANOPY_ETCD_ENDPOINTS. Each store a test
// opens lives under a key prefix of its own, removed when the test ends, so
// runs and parallel subtests never see each other's keys.
package etcd_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/canopy-cloud/canopy/store"
	"github.com/canopy-cloud/canopy/store/etcd"
	"github.com/canopy-cloud/canopy/store/storetest"
)

// run tells this process's prefixes from an earlier run's leftovers.
var (
	run  = fmt.Sprintf("%x", time.Now().UnixNano())
	seq  atomic.Int64
	safe = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)
)

func endpoints(t testing.TB) []string {
	t.Helper()
	v := os.Getenv("CANOPY_ETCD_ENDPOINTS")
	if v == "" {
		t.Skip("CANOPY_ETCD_ENDPOINTS is not set: run test/etcd/test.sh")
	}
	return strings.Split(v, ",")
}

// freshPrefix returns a key root no other test uses and removes everything
// under it when the test ends (after the stores on it are closed).
func freshPrefix(t testing.TB) string {
	t.Helper()
	p := fmt.Sprintf("/canopy-test/%s-%s-%d", safe.ReplaceAllString(t.Name(), "_"), run, seq.Add(1))
	eps := endpoints(t)
	t.Cleanup(func() {
		cli, err := clientv3.New(clientv3.Config{Endpoints: eps, DialTimeout: 5 * time.Second})
		if err != nil {
			t.Errorf("cleanup %s: %v", p, err)
			return
		}
		defer cli.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := cli.Delete(ctx, p+"/", clientv3.WithPrefix()); err != nil {
			t.Errorf("cleanup %s: %v", p, err)
		}
	})
	return p
}

func open(t testing.TB, prefix string, opts ...etcd.Option) *etcd.Store {
	t.Helper()
	s, err := etcd.Open(context.Background(), endpoints(t), append([]etcd.Option{etcd.WithPrefix(prefix)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func newStore(t *testing.T) store.Store { return open(t, freshPrefix(t)) }

func reopen(t *testing.T, old store.Store) store.Store {
	s := old.(*etcd.Store)
	if err := s.Close(); err != nil {
		t.Fatalf("close before reopen: %v", err)
	}
	return open(t, strings.TrimSuffix(s.Prefix(), "/v1/"))
}

func TestConformance(t *testing.T) {
	storetest.RunConformanceTests(t, newStore, storetest.WithReopen(reopen))
}

// Mappings are stored as the bbolt store stores them, under the documented
// keys, with the list index carrying the same bytes.
func TestLayout(t *testing.T) {
	p := freshPrefix(t)
	s := open(t, p, etcd.WithClock(func() time.Time { return time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC) }))
	ctx := t.Context()
	m, _, err := s.Reserve(ctx, store.Mapping{Cloud: "c/1", Kind: "server", Project: "p1", RequestID: "r1", NativeID: "i-1"})
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf(`{"id":%q,"cloud":"c/1","kind":"server","native":"i-1","project":"p1","request":"r1","created":"2025-01-02T03:04:05.000000006Z"}`, m.ID)
	for key, val := range map[string]string{
		p + "/v1/map/" + m.ID:               want,
		p + "/v1/list/c%2F1/server/" + m.ID: want,
		p + "/v1/native/c%2F1/server/i-1":   m.ID,
		p + "/v1/mreq/p1/server/r1":         m.ID,
	} {
		resp, err := s.Client().Get(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != val {
			t.Errorf("%s = %v, want %s", key, resp.Kvs, val)
		}
	}
	resp, err := s.Client().Get(ctx, p+"/", clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil || resp.Count != 4 {
		t.Errorf("%d keys under %s (%v), want 4", resp.Count, p, err)
	}
}

// revisions returns how many distinct mod revisions above since the keys
// under a store's prefix have, and the highest: a transaction gives every
// key it writes one revision, so that is the number of transactions that
// wrote since (as long as no transaction overwrites another's keys).
func revisions(t *testing.T, s *etcd.Store, since int64) (txns int, last int64) {
	t.Helper()
	resp, err := s.Client().Get(t.Context(), s.Prefix(), clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int64]bool{}
	for _, kv := range resp.Kvs {
		if kv.ModRevision > since {
			seen[kv.ModRevision] = true
		}
		last = max(last, kv.ModRevision)
	}
	return len(seen), last
}

// The contract says Adopt writes only when something is new, and idempotent
// retries of Reserve and Bind write nothing. A page of new resources is
// split into transactions of at most 128 writes (etcd's default
// --max-txn-ops, which test/etcd/up.sh keeps): 1000 adoptions are 24.
func TestWritesOnlyWhenSomethingChanges(t *testing.T) {
	s := open(t, freshPrefix(t))
	ctx := t.Context()
	natives := make([]string, 1000)
	for i := range natives {
		natives[i] = fmt.Sprintf("n-%04d", i)
	}
	step := func(name string, wantTxns int, fn func() error) {
		t.Helper()
		_, l0 := revisions(t, s, 0)
		if err := fn(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if n, _ := revisions(t, s, l0); n != wantTxns {
			t.Errorf("%s: %d transactions, want %d", name, n, wantTxns)
		}
	}
	step("Adopt 1000 new", 24, func() error { _, err := s.Adopt(ctx, "c1", "server", "p1", natives); return err })
	step("Adopt 1000 known", 0, func() error { _, err := s.Adopt(ctx, "c1", "server", "p1", natives); return err })
	step("Adopt 1 new among known", 1, func() error {
		_, err := s.Adopt(ctx, "c1", "server", "p1", append(natives[:10:10], "new"))
		return err
	})
	var m store.Mapping
	step("Reserve", 1, func() (err error) {
		m, _, err = s.Reserve(ctx, store.Mapping{Cloud: "c1", Kind: "server", Project: "p1", RequestID: "r1"})
		return err
	})
	step("Reserve retry", 0, func() error {
		_, created, err := s.Reserve(ctx, store.Mapping{Cloud: "c1", Kind: "server", Project: "p1", RequestID: "r1"})
		if created {
			t.Error("retry reported created")
		}
		return err
	})
	step("Bind", 1, func() error { _, err := s.Bind(ctx, m.ID, "b1"); return err })
	step("Bind again", 0, func() error { _, err := s.Bind(ctx, m.ID, "b1"); return err })
	step("Bind conflict", 0, func() error {
		if _, err := s.Bind(ctx, m.ID, "b2"); !errors.Is(err, store.ErrConflict) {
			t.Errorf("conflicting Bind: %v, want ErrConflict", err)
		}
		return nil
	})
}

// A store opened with a larger --max-txn-ops (the cluster's must be at
// least as large) packs more mappings per transaction; one too large for
// the cluster is refused by etcd, and the error says so.
func TestMaxTxnOpsTooLargeForCluster(t *testing.T) {
	s := open(t, freshPrefix(t), etcd.WithMaxTxnOps(3000))
	natives := make([]string, 200)
	for i := range natives {
		natives[i] = fmt.Sprintf("n-%d", i)
	}
	_, err := s.Adopt(t.Context(), "c1", "server", "p1", natives)
	if err == nil || !strings.Contains(err.Error(), "too many operations") {
		t.Errorf("Adopt of 200 in one transaction on a cluster allowing 128 ops: %v", err)
	}
}

func TestErrorsNameOperationAndID(t *testing.T) {
	s := newStore(t)
	id := store.NewID()
	_, err := s.Bind(t.Context(), id, "n1")
	if !errors.Is(err, store.ErrNotFound) || !strings.Contains(err.Error(), "etcd: bind "+id) {
		t.Errorf("Bind of unknown id: %v", err)
	}
	_, err = s.Adopt(t.Context(), "c1", "server", "p1", []string{"n1", ""})
	if err == nil || !strings.Contains(err.Error(), "native id #1 is empty") {
		t.Errorf("Adopt with an empty native id: %v", err)
	}
	if ms, _ := s.List(t.Context(), "c1", "server"); len(ms) != 0 {
		t.Errorf("failed Adopt wrote %d mappings", len(ms))
	}
}

// Two stores on one prefix are two replicas: what one writes the other
// reads at once, and a claim both race for has one winner.
func TestTwoReplicasOnOnePrefix(t *testing.T) {
	p := freshPrefix(t)
	a, b := open(t, p), open(t, p)
	ctx := t.Context()
	m, _, err := a.Reserve(ctx, store.Mapping{Cloud: "c1", Kind: "server", Project: "p1", RequestID: "r1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Bind(ctx, m.ID, "n1"); err != nil {
		t.Fatal(err)
	}
	if got, err := b.Lookup(ctx, "c1", "server", "n1"); err != nil || got.ID != m.ID {
		t.Errorf("replica b Lookup = %+v, %v; want %s", got, err, m.ID)
	}
	if got, created, err := b.Reserve(ctx, store.Mapping{Cloud: "c1", Kind: "server", Project: "p1", RequestID: "r1"}); err != nil || created || got.ID != m.ID {
		t.Errorf("replica b retry = %s created %v, %v; want %s", got.ID, created, err, m.ID)
	}
	var wins atomic.Int32
	done := make(chan error, 2)
	for i, s := range []*etcd.Store{a, b} {
		go func() {
			_, created, err := s.CreateRecord(ctx, "claims", "10.0.0.0/24", []byte(fmt.Sprint("replica-", i)))
			if created {
				wins.Add(1)
			}
			done <- err
		}()
	}
	for range 2 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if wins.Load() != 1 {
		t.Errorf("%d replicas won the claim, want 1", wins.Load())
	}
}
