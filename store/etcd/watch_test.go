//go:build etcd

package etcd_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/canopy-cloud/canopy/store"
)

// Two stores on one prefix are two replicas: a signing key one of them
// puts and deletes is reported to the other's watch, in order.
func TestWatchSigningKeys(t *testing.T) {
	p := freshPrefix(t)
	a, b := open(t, p), open(t, p)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ch := b.Watch(ctx, store.SectionSigningKeys)
	if err := a.PutSigningKey(ctx, store.SigningKey{ID: "k1", Algorithm: "ES256"}); err != nil {
		t.Fatal(err)
	}
	if err := a.DeleteSigningKey(ctx, "k1"); err != nil {
		t.Fatal(err)
	}
	var got []store.Change
	for len(got) < 2 {
		select {
		case c, ok := <-ch:
			if !ok {
				t.Fatalf("watch closed after %v", got)
			}
			got = append(got, c)
		case <-ctx.Done():
			t.Fatalf("watch reported %v, want put and delete of k1", got)
		}
	}
	if got[0].ID != "k1" || got[0].Deleted || got[1].ID != "k1" || !got[1].Deleted || got[1].Revision <= got[0].Revision {
		t.Fatalf("changes %+v, want put then delete of k1 in revision order", got)
	}
	// A write elsewhere (a client) is not a signing-key change.
	if err := a.PutClient(ctx, store.Client{ID: "c1"}); err != nil {
		t.Fatal(err)
	}
	if err := a.PutSigningKey(ctx, store.SigningKey{ID: "k2"}); err != nil {
		t.Fatal(err)
	}
	select {
	case c := <-ch:
		if c.ID != "k2" {
			t.Fatalf("next change %+v, want k2 (the client is another section)", c)
		}
	case <-ctx.Done():
		t.Fatal("no change for k2")
	}
	cancel()
	for range ch { //nolint:revive // drain until Watch closes the channel
	}
}

// A mapping deleted through replica A is forgotten by replica B's cache:
// B's next Get goes to the store and finds nothing, although B had the
// mapping cached (store.Cached answers from memory without a Follow).
func TestCachedFollowsDeletes(t *testing.T) {
	p := freshPrefix(t)
	a := store.NewCached(open(t, p))
	b := store.NewCached(open(t, p))
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	fctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); b.Follow(fctx) }()
	defer func() { stop(); <-done }()

	m, _, err := a.Reserve(ctx, store.Mapping{Cloud: "c", Kind: "server", Project: "p"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Bind(ctx, m.ID, "n1"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Get(ctx, m.ID); err != nil { // now cached in b
		t.Fatal(err)
	}
	// Another watcher on B's prefix tells when the delete's event exists.
	seen := b.Watch(ctx, store.SectionMappings)
	if err := a.Delete(ctx, m.ID); err != nil {
		t.Fatal(err)
	}
	for c := range seen {
		if c.ID == m.ID && c.Deleted {
			break
		}
	}
	// B's Follow got the same event; give it until the deadline to apply.
	deadline := time.Now().Add(2 * time.Second)
	for {
		_, err := b.Get(ctx, m.ID)
		if errors.Is(err, store.ErrNotFound) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("B still answers the deleted mapping 2 s after A's delete (err %v)", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := b.Lookup(ctx, "c", "server", "n1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Lookup of the deleted native on B: %v, want ErrNotFound", err)
	}
}
