package store_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/canopy-cloud/canopy/store"
)

const (
	tCloud = "c1"
	tKind  = "server"
)

// clock is a fake clock the tests move by hand.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func cachedWithClock(t *testing.T) (*store.Cached, *clock) {
	t.Helper()
	c := openCached(t, filepath.Join(t.TempDir(), "c.db"))
	clk := &clock{time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	store.SetClock(c, clk.now)
	return c, clk
}

// created is a mapping canopy created: reserved, then bound to native.
func created(t *testing.T, c *store.Cached, native string) store.Mapping {
	t.Helper()
	ctx := context.Background()
	m, _, err := c.Reserve(ctx, store.Mapping{Cloud: tCloud, Kind: tKind, Project: "p"})
	if err != nil {
		t.Fatal(err)
	}
	if m, err = c.Bind(ctx, m.ID, native); err != nil {
		t.Fatal(err)
	}
	return m
}

func adoptListed(t *testing.T, c *store.Cached, natives ...string) []store.Mapping {
	t.Helper()
	ms, err := c.AdoptListed(context.Background(), tCloud, tKind, "p", natives)
	if err != nil {
		t.Fatalf("AdoptListed(%v): %v", natives, err)
	}
	if len(ms) != len(natives) {
		t.Fatalf("AdoptListed(%v) = %d mappings", natives, len(ms))
	}
	return ms
}

// The interleaving of a watch that converts a poll taken before a delete,
// after the delete forgot the mapping: the poll's native must keep the id
// it had, and no mapping may be stored for it (a ghost nothing deletes).
func TestAdoptListedAfterDelete(t *testing.T) {
	ctx := context.Background()
	c, _ := cachedWithClock(t)
	m := created(t, c, "n1")
	poll := []string{"n1"} // the poll ran here
	if err := c.Delete(ctx, m.ID); err != nil {
		t.Fatal(err)
	}
	// then its conversion
	got := adoptListed(t, c, poll...)[0]
	if got.ID != m.ID || got.NativeID != "n1" {
		t.Errorf("late conversion of n1 got %+v, want the deleted mapping %s", got, m.ID)
	}
	if _, err := c.Lookup(ctx, tCloud, tKind, "n1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Lookup n1 after the late conversion: %v, want ErrNotFound (nothing adopted)", err)
	}
	for _, id := range []string{m.ID, store.AdoptedID(tCloud, tKind, "n1")} {
		if _, err := c.Get(ctx, id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Get %s: %v, want ErrNotFound", id, err)
		}
	}
}

func TestAdoptListedMixedKeepsOrder(t *testing.T) {
	ctx := context.Background()
	c, _ := cachedWithClock(t)
	gone := created(t, c, "gone")
	live := created(t, c, "live")
	if err := c.Delete(ctx, gone.ID); err != nil {
		t.Fatal(err)
	}
	ms := adoptListed(t, c, "new", "gone", "live")
	want := []string{store.AdoptedID(tCloud, tKind, "new"), gone.ID, live.ID}
	for i, m := range ms {
		if m.ID != want[i] {
			t.Errorf("result[%d] = %s (%s), want %s", i, m.ID, m.NativeID, want[i])
		}
	}
	// Only the new native was stored.
	if m, err := c.Lookup(ctx, tCloud, tKind, "new"); err != nil || m.ID != want[0] {
		t.Errorf("Lookup new: %+v, %v", m, err)
	}
}

// A tombstone lasts TombstoneTTL: after it, a native the cloud still
// shows is adopted as usual.
func TestTombstoneExpires(t *testing.T) {
	ctx := context.Background()
	c, clk := cachedWithClock(t)
	m := created(t, c, "n1")
	if err := c.Delete(ctx, m.ID); err != nil {
		t.Fatal(err)
	}
	clk.t = clk.t.Add(store.TombstoneTTL - time.Second)
	if got := adoptListed(t, c, "n1")[0]; got.ID != m.ID {
		t.Fatalf("before the TTL: %s, want %s", got.ID, m.ID)
	}
	clk.t = clk.t.Add(2 * time.Second)
	if got := adoptListed(t, c, "n1")[0]; got.ID != store.AdoptedID(tCloud, tKind, "n1") {
		t.Errorf("after the TTL: %s, want the AdoptedID", got.ID)
	}
	if _, err := c.Lookup(ctx, tCloud, tKind, "n1"); err != nil {
		t.Errorf("Lookup after adoption: %v", err)
	}
}

// A native bound again (a live mapping) answers with the live one; plain
// Adopt keeps the store contract (re-adoption after a delete).
func TestTombstoneDugUp(t *testing.T) {
	ctx := context.Background()
	c, _ := cachedWithClock(t)
	m := created(t, c, "n1")
	if err := c.Delete(ctx, m.ID); err != nil {
		t.Fatal(err)
	}
	again, err := c.Adopt(ctx, tCloud, tKind, "p", []string{"n1"})
	if err != nil {
		t.Fatal(err)
	}
	if again[0].ID != store.AdoptedID(tCloud, tKind, "n1") {
		t.Fatalf("Adopt after Delete: %s, want the AdoptedID", again[0].ID)
	}
	if got := adoptListed(t, c, "n1")[0]; got.ID != again[0].ID {
		t.Errorf("AdoptListed of a re-adopted native: %s, want the live %s", got.ID, again[0].ID)
	}
	// Deleted again, it is buried again.
	if err := c.Delete(ctx, again[0].ID); err != nil {
		t.Fatal(err)
	}
	if got := adoptListed(t, c, "n1")[0]; got.ID != again[0].ID {
		t.Errorf("after the second delete: %s, want %s", got.ID, again[0].ID)
	}
}

// A cache that never read a mapping still leaves its tombstone when it
// deletes it (a delete resumed after a restart).
func TestTombstoneOfUncachedMapping(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "c.db")
	first := openCached(t, path)
	m := created(t, first, "n1")
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	c := openCached(t, path)
	if err := c.Delete(ctx, m.ID); err != nil {
		t.Fatal(err)
	}
	if got := adoptListed(t, c, "n1")[0]; got.ID != m.ID {
		t.Errorf("late conversion after an uncached delete: %s, want %s", got.ID, m.ID)
	}
}

// Tombstones are bounded: the oldest goes first.
func TestTombstonesBounded(t *testing.T) {
	ctx := context.Background()
	c, clk := cachedWithClock(t)
	const n = 4
	store.SetMaxTombstones(c, n-1)
	natives := make([]string, n)
	ms := make([]store.Mapping, n)
	for i := range natives {
		natives[i] = fmt.Sprintf("n%d", i)
	}
	adopted, err := c.Adopt(ctx, tCloud, tKind, "p", natives)
	if err != nil {
		t.Fatal(err)
	}
	copy(ms, adopted)
	for _, m := range ms {
		clk.t = clk.t.Add(time.Millisecond)
		if err := c.Delete(ctx, m.ID); err != nil {
			t.Fatal(err)
		}
	}
	got := adoptListed(t, c, natives[0], natives[1], natives[n-1])
	// n0 lost its tombstone and is adopted afresh (its AdoptedID is the id
	// it had, so the store is what tells): n1 and the last keep theirs.
	if _, err := c.Lookup(ctx, tCloud, tKind, natives[0]); err != nil {
		t.Errorf("oldest tombstone kept: n0 not adopted again (%v)", err)
	}
	for _, i := range []int{1, n - 1} {
		if _, err := c.Lookup(ctx, tCloud, tKind, natives[i]); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s re-adopted (%v): its tombstone was dropped", natives[i], err)
		}
	}
	if got[2].ID != ms[n-1].ID {
		t.Errorf("last: %s, want %s", got[2].ID, ms[n-1].ID)
	}
}

// adoptHook is a store that runs a hook as an Adopt begins.
type adoptHook struct {
	store.Store
	before func(natives []string)
}

func (h *adoptHook) Adopt(ctx context.Context, cloud, kind, project string, natives []string) ([]store.Mapping, error) {
	if h.before != nil {
		h.before(natives)
	}
	return h.Store.Adopt(ctx, cloud, kind, project, natives)
}

// The delete lands while the store adopts the poll's natives (the mapping
// was not cached, so AdoptListed asked the store): the store adopts the
// native it no longer maps, and AdoptListed must undo that ghost.
func TestAdoptListedRacingADelete(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "c.db")
	first := openCached(t, path)
	m := created(t, first, "n1")
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	inner := openCached(t, path) // the store the hook wraps
	h := &adoptHook{Store: inner.Store}
	c := store.NewCached(h)
	h.before = func([]string) {
		h.before = nil
		if err := c.Delete(ctx, m.ID); err != nil {
			t.Errorf("Delete during the adoption: %v", err)
		}
	}
	got := adoptListed(t, c, "n1")[0]
	if got.ID != m.ID {
		t.Errorf("adoption racing the delete: %s, want the deleted %s", got.ID, m.ID)
	}
	if g, err := h.Store.Lookup(ctx, tCloud, tKind, "n1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the store keeps %+v (%v) for n1: a ghost", g, err)
	}
}
