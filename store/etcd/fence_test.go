//go:build etcd

package etcd_test

import (
	"context"
	"errors"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/canopy-cloud/canopy/store"
)

// A write under a fence commits while the fence's key has the fence's
// create revision; once the key is gone (the lease that held the claim
// expired) or was made again by someone else, the write is refused with
// ErrFenced and not applied.
func TestFencedWrites(t *testing.T) {
	p := freshPrefix(t)
	s := open(t, p)
	cli := s.Client()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	claim := p + "/fence-test-claim"
	put, err := cli.Put(ctx, claim, "a")
	if err != nil {
		t.Fatal(err)
	}
	fctx := store.WithFence(ctx, store.Fence{Key: claim, Rev: put.Header.Revision})
	op, _, err := s.CreateOperation(fctx, store.Operation{ID: "op1", Kind: "k", Project: "p"})
	if err != nil {
		t.Fatalf("create under a holding fence: %v", err)
	}
	op.Step = "two"
	if op, err = s.UpdateOperation(fctx, op); err != nil {
		t.Fatalf("update under a holding fence: %v", err)
	}

	// The claim goes and another replica's claim takes the key.
	if _, err := cli.Delete(ctx, claim); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Put(ctx, claim, "b"); err != nil {
		t.Fatal(err)
	}
	stale := op
	stale.Step = "stale"
	if _, err := s.UpdateOperation(fctx, stale); !errors.Is(err, store.ErrFenced) {
		t.Fatalf("update after the claim was lost: %v; want ErrFenced", err)
	}
	if _, _, err := s.Reserve(fctx, store.Mapping{ID: "m1", Cloud: "c", Kind: "server", NativeID: "n1", Project: "p"}); !errors.Is(err, store.ErrFenced) {
		t.Fatalf("mapping written after the claim was lost: %v; want ErrFenced", err)
	}
	got, err := s.GetOperation(ctx, "op1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Step != "two" {
		t.Fatalf("operation step %q after a fenced write; want two (the write must not apply)", got.Step)
	}
	// The same write without the fence (the new owner's) goes through.
	if _, err := s.UpdateOperation(ctx, stale); err != nil {
		t.Fatalf("unfenced update: %v", err)
	}
	if _, err := cli.Delete(ctx, claim, clientv3.WithPrefix()); err != nil {
		t.Fatal(err)
	}
}
