package bolt

import (
	"path/filepath"
	"testing"

	"go.etcd.io/bbolt"

	"github.com/canopy-cloud/canopy/store"
)

// commits is the id of the last committed write transaction; bbolt bumps it
// on every Commit and leaves it alone on Rollback.
func commits(t *testing.T, s *Store) int {
	t.Helper()
	var id int
	if err := s.db.View(func(tx *bbolt.Tx) error { id = tx.ID(); return nil }); err != nil {
		t.Fatal(err)
	}
	return id
}

// The contract says Adopt writes once for all new resources and not at all
// when nothing is new; idempotent retries of Reserve and Bind should not cost
// an fsync either. The suite cannot see transactions, so check them here.
func TestWritesOnlyWhenSomethingChanges(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "canopy.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := t.Context()
	natives := make([]string, 1000)
	for i := range natives {
		natives[i] = string(rune('a'+i%26)) + string(rune('0'+i/26%10)) + string(rune('A'+i/260))
	}

	step := func(name string, wantCommits int, fn func() error) {
		t.Helper()
		before := commits(t, s)
		if err := fn(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := commits(t, s) - before; got != wantCommits {
			t.Errorf("%s: %d commits, want %d", name, got, wantCommits)
		}
	}
	step("Adopt 1000 new", 1, func() error { _, err := s.Adopt(ctx, "c1", "server", "p1", natives); return err })
	step("Adopt 1000 known", 0, func() error { _, err := s.Adopt(ctx, "c1", "server", "p1", natives); return err })
	step("Adopt 1 new among known", 1, func() error {
		_, err := s.Adopt(ctx, "c1", "server", "p1", append(natives[:10:10], "new"))
		return err
	})
	step("Adopt empty", 0, func() error { _, err := s.Adopt(ctx, "c1", "server", "p1", nil); return err })
	var m store.Mapping
	step("Reserve", 1, func() (err error) {
		m, _, err = s.Reserve(ctx, store.Mapping{Cloud: "c1", Kind: "server", Project: "p1", RequestID: "r1"})
		return err
	})
	step("Reserve retry", 0, func() error {
		_, _, err := s.Reserve(ctx, store.Mapping{Cloud: "c1", Kind: "server", Project: "p1", RequestID: "r1"})
		return err
	})
	step("Bind", 1, func() error { _, err := s.Bind(ctx, m.ID, "n1"); return err })
	step("Bind again", 0, func() error { _, err := s.Bind(ctx, m.ID, "n1"); return err })
	step("Bind conflict", 0, func() error {
		if _, err := s.Bind(ctx, m.ID, "n2"); err == nil {
			t.Error("conflicting Bind succeeded")
		}
		return nil
	})
	step("Delete", 1, func() error { return s.Delete(ctx, m.ID) })
}
