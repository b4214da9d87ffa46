package bolt_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/canopy-cloud/canopy/store"
	"github.com/canopy-cloud/canopy/store/bolt"
	"github.com/canopy-cloud/canopy/store/storetest"
)

func open(tb testing.TB, path string, opts ...bolt.Option) *bolt.Store {
	tb.Helper()
	s, err := bolt.Open(path, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

func newStore(t *testing.T) store.Store {
	return open(t, filepath.Join(t.TempDir(), "canopy.db"))
}

func reopen(t *testing.T, old store.Store) store.Store {
	b := old.(*bolt.Store)
	if err := b.Close(); err != nil {
		t.Fatalf("close before reopen: %v", err)
	}
	return open(t, b.Path())
}

func TestConformance(t *testing.T) {
	storetest.RunConformanceTests(t, newStore, storetest.WithReopen(reopen))
}

func TestOpenCreatesDirsAndPrivateFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "b", "canopy.db")
	open(t, path)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("file mode %o, want 600", perm)
	}
	di, err := os.Stat(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if perm := di.Mode().Perm(); perm&0o077 != 0 {
		t.Errorf("dir mode %o, want no group/other access", perm)
	}
}

// A second holder of the file (flock is per open file, so a second Open in
// this process stands in for a second canopyd) fails fast with the path.
func TestOpenLockedFileFailsWithPath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "canopy.db")
	open(t, path)
	start := time.Now()
	_, err := bolt.Open(path, bolt.WithOpenTimeout(200*time.Millisecond))
	if err == nil {
		t.Fatal("second Open of a locked file succeeded")
	}
	if !errors.Is(err, bolt.ErrLocked) || !strings.Contains(err.Error(), path) {
		t.Errorf("err = %v, want ErrLocked naming %s", err, path)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("gave up after %s, want about 200ms", d)
	}
}

func TestOpenAfterCloseSucceeds(t *testing.T) {
	path := filepath.Join(t.TempDir(), "canopy.db")
	s := open(t, path)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	open(t, path, bolt.WithOpenTimeout(100*time.Millisecond))
}

func TestOpenRejectsOtherFormatVersion(t *testing.T) {
	path := filepath.Join(t.TempDir(), "canopy.db")
	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		b, err := tx.CreateBucket([]byte("meta"))
		if err != nil {
			return err
		}
		return b.Put([]byte("version"), []byte("99"))
	})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := bolt.Open(path); err == nil || !strings.Contains(err.Error(), "99") {
		t.Errorf("Open of a version 99 file: %v, want an error naming the version", err)
	}
}

func TestOpenNotADatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "canopy.db")
	if err := os.WriteFile(path, []byte(strings.Repeat("not bolt ", 1000)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := bolt.Open(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("Open of garbage: %v, want an error naming the path", err)
	}
}

// Records are JSON so the file can be inspected with `bbolt get`.
func TestRecordsAreJSON(t *testing.T) {
	path := filepath.Join(t.TempDir(), "canopy.db")
	s := open(t, path, bolt.WithClock(func() time.Time { return time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC) }))
	m, _, err := s.Reserve(t.Context(), store.Mapping{Cloud: "c1", Kind: "server", Project: "p1", RequestID: "r1"})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var got string
	db.View(func(tx *bbolt.Tx) error {
		got = string(tx.Bucket([]byte("ids")).Get([]byte(m.ID)))
		return nil
	})
	want := fmt.Sprintf(`{"id":%q,"cloud":"c1","kind":"server","project":"p1","request":"r1","created":"2025-01-02T03:04:05.000000006Z"}`, m.ID)
	if got != want {
		t.Errorf("stored record\n got %s\nwant %s", got, want)
	}
}

func TestErrorsNameOperationAndID(t *testing.T) {
	s := newStore(t)
	id := store.NewID()
	_, err := s.Bind(t.Context(), id, "n1")
	if !errors.Is(err, store.ErrNotFound) || !strings.Contains(err.Error(), "bolt: bind "+id) {
		t.Errorf("Bind of unknown id: %v", err)
	}
}

func TestAdoptRejectsEmptyNativeID(t *testing.T) {
	s := newStore(t)
	if _, err := s.Adopt(t.Context(), "c1", "server", "p1", []string{"n1", ""}); err == nil {
		t.Error("Adopt with an empty native id succeeded")
	}
	if ms, _ := s.List(t.Context(), "c1", "server"); len(ms) != 0 {
		t.Errorf("failed Adopt wrote %d mappings", len(ms))
	}
}

// ---------------------------------------------------------------- benchmarks

func benchStore(b *testing.B) *bolt.Store {
	return open(b, filepath.Join(b.TempDir(), "canopy.db"))
}

func natives(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%06d", prefix, i)
	}
	return out
}

// BenchmarkAdopt measures adopting one list page of 1000 resources: "first"
// is a page never seen (one write transaction, one fsync; the store grows by
// 1000 mappings per iteration, and adopted ids are spread evenly over the id
// space, so each commit rewrites many pages), "steady" the same page seen
// again (read transaction only), which is what every list after the first
// costs.
func BenchmarkAdopt(b *testing.B) {
	const n = 1000
	ctx := context.Background()
	b.Run("first", func(b *testing.B) {
		s := benchStore(b)
		pages := make([][]string, b.N)
		for i := range pages {
			pages[i] = natives(fmt.Sprintf("i%d", i), n)
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := s.Adopt(ctx, "c1", "server", "p1", pages[i]); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/native")
		if fi, err := os.Stat(s.Path()); err == nil {
			b.ReportMetric(float64(fi.Size())/float64(b.N*n), "file-B/mapping")
		}
	})
	b.Run("steady", func(b *testing.B) {
		s := benchStore(b)
		page := natives("i", n)
		if _, err := s.Adopt(ctx, "c1", "server", "p1", page); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for b.Loop() {
			if _, err := s.Adopt(ctx, "c1", "server", "p1", page); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/native")
	})
}

// BenchmarkGet measures the router's hot path, canopy id → mapping, in a
// store of 10 000 mappings, from one goroutine and from GOMAXPROCS.
func BenchmarkGet(b *testing.B) {
	ctx := context.Background()
	s := benchStore(b)
	ms, err := s.Adopt(ctx, "c1", "server", "p1", natives("n", 10000))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("serial", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if _, err := s.Get(ctx, ms[i%len(ms)].ID); err != nil {
				b.Fatal(err)
			}
			i += 7919
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if _, err := s.Get(ctx, ms[i%len(ms)].ID); err != nil {
					b.Error(err)
					return
				}
				i += 7919
			}
		})
	})
}

// BenchmarkReserve is the cost of one durable write (one fsync).
func BenchmarkReserve(b *testing.B) {
	ctx := context.Background()
	s := benchStore(b)
	for b.Loop() {
		if _, _, err := s.Reserve(ctx, store.Mapping{Cloud: "c1", Kind: "server", Project: "p1"}); err != nil {
			b.Fatal(err)
		}
	}
}
