// Package storetest is the one conformance suite every store.Store
// implementation must pass, in the manner of gocloud.dev's drivertest: an
// implementation's test calls RunConformanceTests with a constructor, and the
// suite checks every clause of the contract documented in package store.
//
//	func TestConformance(t *testing.T) {
//		storetest.RunConformanceTests(t, newStore, storetest.WithReopen(reopen))
//	}
//
// The suite only uses the store.Store interface, so what it checks is what
// callers may rely on; implementation details (file layout, transactions,
// fsync) are for each implementation's own tests.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/canopy-cloud/canopy/store"
)

// Option configures RunConformanceTests.
type Option func(*suite)

// WithReopen supplies the function the durability tests use: it must close
// old and return a new Store over the same data (same file, same etcd
// prefix), as a restarted canopyd would see it, and register the new store's
// Close with t.Cleanup. Without it the durability subtests are skipped (with
// a message saying so); every persistent implementation should provide it.
func WithReopen(reopen func(t *testing.T, old store.Store) store.Store) Option {
	return func(s *suite) { s.reopen = reopen }
}

// RunConformanceTests runs the suite. newStore must return a new, empty
// store isolated from every other one it returned, and register its Close
// with t.Cleanup (the suite closes some stores itself, so a second Close must
// not fail the test: it may return nil or store.ErrClosed). Subtests run in
// parallel, so newStore is called concurrently.
//
// Run it under -race: the concurrency subtests are only half a test without.
func RunConformanceTests(t *testing.T, newStore func(t *testing.T) store.Store, opts ...Option) {
	s := &suite{newStore: newStore}
	for _, o := range opts {
		o(s)
	}
	groups := []struct {
		name  string
		tests []test
	}{
		{"Reserve", s.reserveTests()},
		{"Bind", s.bindTests()},
		{"Get", s.getTests()},
		{"Lookup", s.lookupTests()},
		{"List", s.listTests()},
		{"Adopt", s.adoptTests()},
		{"Delete", s.deleteTests()},
		{"Durability", s.durabilityTests()},
		{"Concurrency", s.concurrencyTests()},
		{"Context", s.contextTests()},
		{"Closed", s.closedTests()},
		{"Auth", s.authTests()},
		{"Operations", s.operationTests()}, // operations.go
		{"Records", s.recordTests()},       // operations.go
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					tc.fn(t)
				})
			}
		})
	}
}

type suite struct {
	newStore func(t *testing.T) store.Store
	reopen   func(t *testing.T, old store.Store) store.Store
}

type test struct {
	name string
	fn   func(t *testing.T)
}

// Names used throughout. The clouds and kinds are chosen so that a naive key
// encoding (cloud+kind concatenated, or a prefix scan without a delimiter)
// mixes them up: "c1"+"server" is a prefix of "c1"+"servers", "c1"+"0server"
// equals "c10"+"server".
const (
	cloud   = "c1"
	kind    = "server"
	project = "p1"
)

// ---------------------------------------------------------------- helpers

func ctxOf(t *testing.T) context.Context { return t.Context() }

func reserve(t *testing.T, s store.Store, m store.Mapping) store.Mapping {
	t.Helper()
	got, created, err := s.Reserve(ctxOf(t), m)
	if err != nil {
		t.Fatalf("Reserve(%+v): %v", m, err)
	}
	if !created {
		t.Fatalf("Reserve(%+v): created=false, want true", m)
	}
	return got
}

func pending(t *testing.T, s store.Store) store.Mapping {
	t.Helper()
	return reserve(t, s, store.Mapping{Cloud: cloud, Kind: kind, Project: project})
}

func bind(t *testing.T, s store.Store, id, native string) store.Mapping {
	t.Helper()
	m, err := s.Bind(ctxOf(t), id, native)
	if err != nil {
		t.Fatalf("Bind(%s, %q): %v", id, native, err)
	}
	return m
}

func get(t *testing.T, s store.Store, id string) store.Mapping {
	t.Helper()
	m, err := s.Get(ctxOf(t), id)
	if err != nil {
		t.Fatalf("Get(%s): %v", id, err)
	}
	return m
}

func lookup(t *testing.T, s store.Store, c, k, native string) store.Mapping {
	t.Helper()
	m, err := s.Lookup(ctxOf(t), c, k, native)
	if err != nil {
		t.Fatalf("Lookup(%s, %s, %q): %v", c, k, native, err)
	}
	return m
}

func list(t *testing.T, s store.Store, c, k string) []store.Mapping {
	t.Helper()
	ms, err := s.List(ctxOf(t), c, k)
	if err != nil {
		t.Fatalf("List(%s, %s): %v", c, k, err)
	}
	return ms
}

func adopt(t *testing.T, s store.Store, c, k, p string, natives ...string) []store.Mapping {
	t.Helper()
	ms, err := s.Adopt(ctxOf(t), c, k, p, natives)
	if err != nil {
		t.Fatalf("Adopt(%s, %s, %s, %q): %v", c, k, p, natives, err)
	}
	if len(ms) != len(natives) {
		t.Fatalf("Adopt(%q) returned %d mappings, want %d", natives, len(ms), len(natives))
	}
	return ms
}

// same compares mappings field by field, times with Equal (an
// implementation may decode a time into another location).
func same(a, b store.Mapping) bool {
	return a.ID == b.ID && a.Cloud == b.Cloud && a.Kind == b.Kind && a.NativeID == b.NativeID &&
		a.Project == b.Project && a.RequestID == b.RequestID && a.Created.Equal(b.Created)
}

func wantSame(t *testing.T, what string, got, want store.Mapping) {
	t.Helper()
	if !same(got, want) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

func wantSameList(t *testing.T, what string, got, want []store.Mapping) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: got %d mappings, want %d\n got %v\nwant %v", what, len(got), len(want), ids(got), ids(want))
		return
	}
	for i := range got {
		if !same(got[i], want[i]) {
			t.Errorf("%s[%d]:\n got %+v\nwant %+v", what, i, got[i], want[i])
		}
	}
}

func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: err = %v, want errors.Is(err, %v)", what, err, target)
	}
}

func notFound(t *testing.T, s store.Store, id string) {
	t.Helper()
	_, err := s.Get(ctxOf(t), id)
	wantErr(t, fmt.Sprintf("Get(%s)", id), err, store.ErrNotFound)
}

func notLookedUp(t *testing.T, s store.Store, c, k, native string) {
	t.Helper()
	_, err := s.Lookup(ctxOf(t), c, k, native)
	wantErr(t, fmt.Sprintf("Lookup(%s, %s, %q)", c, k, native), err, store.ErrNotFound)
}

func ids(ms []store.Mapping) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}

func sortedByID(ms []store.Mapping) []store.Mapping {
	out := slices.Clone(ms)
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func natives(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%03d", prefix, i)
	}
	return out
}

// ---------------------------------------------------------------- Reserve

func (s *suite) reserveTests() []test {
	return []test{
		{"FillsIDAndCreated", func(t *testing.T) {
			st := s.newStore(t)
			before := time.Now()
			m := reserve(t, st, store.Mapping{Cloud: cloud, Kind: kind, Project: project})
			after := time.Now()
			if m.ID == "" {
				t.Fatal("ID not filled")
			}
			if m.Created.IsZero() || m.Created.Before(before.Add(-time.Second)) || m.Created.After(after.Add(time.Second)) {
				t.Errorf("Created = %v, want about %v", m.Created, before)
			}
			if m.Cloud != cloud || m.Kind != kind || m.Project != project {
				t.Errorf("Reserve changed the given fields: %+v", m)
			}
			wantSame(t, "Get after Reserve", get(t, st, m.ID), m)
			if m2 := pending(t, st); m2.ID == m.ID {
				t.Errorf("two Reserves got the same id %s", m.ID)
			}
		}},
		{"KeepsGivenIDAndCreated", func(t *testing.T) {
			st := s.newStore(t)
			want := store.Mapping{ID: store.NewID(), Cloud: cloud, Kind: kind, Project: project, RequestID: "r1",
				Created: time.Date(2024, 2, 3, 4, 5, 6, 789, time.UTC)}
			got := reserve(t, st, want)
			wantSame(t, "Reserve", got, want)
			wantSame(t, "Get", get(t, st, want.ID), want)
		}},
		{"Pending", func(t *testing.T) {
			st := s.newStore(t)
			m := pending(t, st)
			if !m.Pending() || !get(t, st, m.ID).Pending() {
				t.Errorf("mapping reserved without a native id is not pending: %+v", m)
			}
			notLookedUp(t, st, cloud, kind, "")
		}},
		{"WithNativeID", func(t *testing.T) {
			st := s.newStore(t)
			m := reserve(t, st, store.Mapping{Cloud: cloud, Kind: kind, NativeID: "n1", Project: project})
			if m.Pending() {
				t.Errorf("mapping reserved with a native id is pending: %+v", m)
			}
			wantSame(t, "Lookup", lookup(t, st, cloud, kind, "n1"), m)
		}},
		{"NativeAlreadyMapped", func(t *testing.T) {
			st := s.newStore(t)
			first := reserve(t, st, store.Mapping{Cloud: cloud, Kind: kind, NativeID: "n1", Project: project})
			_, _, err := st.Reserve(ctxOf(t), store.Mapping{Cloud: cloud, Kind: kind, NativeID: "n1", Project: project})
			wantErr(t, "second Reserve of the same native id", err, store.ErrConflict)
			adopted := adopt(t, st, cloud, kind, project, "n2")[0]
			_, _, err = st.Reserve(ctxOf(t), store.Mapping{Cloud: cloud, Kind: kind, NativeID: "n2", Project: project})
			wantErr(t, "Reserve of an adopted native id", err, store.ErrConflict)
			wantSameList(t, "List", list(t, st, cloud, kind), sortedByID([]store.Mapping{first, adopted}))
		}},
		{"DuplicateIDConflicts", func(t *testing.T) {
			// Not spelled out by the contract, but the only safe answer:
			// overwriting would lose a mapping a client already holds.
			st := s.newStore(t)
			m := pending(t, st)
			_, _, err := st.Reserve(ctxOf(t), store.Mapping{ID: m.ID, Cloud: "c2", Kind: "volume", Project: "p2"})
			wantErr(t, "Reserve of a taken id", err, store.ErrConflict)
			wantSame(t, "Get", get(t, st, m.ID), m)
		}},
		{"RequestID", s.reserveRequestID},
		{"RequestIDReturnsStoredMapping", func(t *testing.T) {
			// The retry returns the stored mapping, not its own argument,
			// and changes nothing: not the native id, not the timestamps.
			st := s.newStore(t)
			first := reserve(t, st, store.Mapping{Cloud: cloud, Kind: kind, Project: project, RequestID: "r1"})
			first = bind(t, st, first.ID, "n1")
			got, created, err := st.Reserve(ctxOf(t), store.Mapping{ID: store.NewID(), Cloud: cloud, Kind: kind, NativeID: "n2",
				Project: project, RequestID: "r1", Created: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)})
			if err != nil || created {
				t.Fatalf("retry: created=%v err=%v, want false, nil", created, err)
			}
			wantSame(t, "retry", got, first)
			wantSameList(t, "List", list(t, st, cloud, kind), []store.Mapping{first})
			notLookedUp(t, st, cloud, kind, "n2")
		}},
	}
}

func (s *suite) reserveRequestID(t *testing.T) {
	base := store.Mapping{Cloud: cloud, Kind: kind, Project: project, RequestID: "req-1"}
	cases := []struct {
		name     string
		change   func(m *store.Mapping)
		existing bool // the retry returns the first mapping
	}{
		{"SameProjectKindRequest", func(m *store.Mapping) {}, true},
		// The key is (project, kind, request id): the cloud is not part of
		// it, so the same request aimed at another cloud is still a retry.
		{"OtherCloud", func(m *store.Mapping) { m.Cloud = "c2" }, true},
		{"OtherProject", func(m *store.Mapping) { m.Project = "p2" }, false},
		{"OtherKind", func(m *store.Mapping) { m.Kind = "volume" }, false},
		{"OtherRequest", func(m *store.Mapping) { m.RequestID = "req-2" }, false},
		{"NoRequest", func(m *store.Mapping) { m.RequestID = "" }, false},
		{"PrefixOfRequest", func(m *store.Mapping) { m.RequestID = "req-" }, false},
		{"ProjectKindShift", func(m *store.Mapping) { m.Project, m.Kind = project+"s", "erver" }, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st := s.newStore(t)
			first := reserve(t, st, base)
			again := base
			tc.change(&again)
			got, created, err := st.Reserve(ctxOf(t), again)
			if err != nil {
				t.Fatalf("second Reserve: %v", err)
			}
			if tc.existing {
				if created {
					t.Errorf("second Reserve: created=true, want the existing mapping")
				}
				wantSame(t, "second Reserve", got, first)
				if n := len(list(t, st, again.Cloud, again.Kind)); again.Cloud != cloud && n != 0 {
					t.Errorf("retry wrote a mapping in %s: List has %d", again.Cloud, n)
				}
			} else {
				if !created || got.ID == first.ID {
					t.Errorf("second Reserve: created=%v id=%s, want a new mapping (first %s)", created, got.ID, first.ID)
				}
				wantSame(t, "Get new", get(t, st, got.ID), got)
			}
			wantSame(t, "Get first", get(t, st, first.ID), first)
			// Retrying either one again still finds it.
			for _, m := range []store.Mapping{base, again} {
				if m.RequestID == "" {
					continue
				}
				r, created, err := st.Reserve(ctxOf(t), m)
				if err != nil || created {
					t.Errorf("third Reserve(%+v): created=%v err=%v", m, created, err)
				}
				if tc.existing || m == base {
					wantSame(t, "third Reserve", r, first)
				} else {
					wantSame(t, "third Reserve", r, got)
				}
			}
		})
	}
}

// ---------------------------------------------------------------- Bind

func (s *suite) bindTests() []test {
	return []test{
		{"PendingToBound", func(t *testing.T) {
			st := s.newStore(t)
			p := reserve(t, st, store.Mapping{Cloud: cloud, Kind: kind, Project: project, RequestID: "r1"})
			m := bind(t, st, p.ID, "n1")
			want := p
			want.NativeID = "n1"
			wantSame(t, "Bind", m, want)
			wantSame(t, "Get", get(t, st, p.ID), want)
			wantSame(t, "Lookup", lookup(t, st, cloud, kind, "n1"), want)
			wantSameList(t, "List", list(t, st, cloud, kind), []store.Mapping{want})
		}},
		{"SameNativeIsNoop", func(t *testing.T) {
			st := s.newStore(t)
			p := pending(t, st)
			first := bind(t, st, p.ID, "n1")
			again := bind(t, st, p.ID, "n1")
			wantSame(t, "second Bind", again, first)
			wantSame(t, "Get", get(t, st, p.ID), first)
		}},
		{"TakesOverAdopted", func(t *testing.T) {
			// A list adopted the native id between the cloud's answer and
			// the bind: the reserved id (the one the client holds) wins.
			st := s.newStore(t)
			adopted := adopt(t, st, cloud, kind, project, "n1")[0]
			p := pending(t, st)
			m := bind(t, st, p.ID, "n1")
			want := p
			want.NativeID = "n1"
			wantSame(t, "Bind", m, want)
			wantSame(t, "Lookup", lookup(t, st, cloud, kind, "n1"), want)
			notFound(t, st, adopted.ID)
			wantSameList(t, "List", list(t, st, cloud, kind), []store.Mapping{want})
			again := adopt(t, st, cloud, kind, project, "n1")[0]
			wantSame(t, "Adopt after takeover", again, want)
		}},
		{"Errors", s.bindErrors},
		{"NativeScopedByCloudAndKind", func(t *testing.T) {
			st := s.newStore(t)
			a := bind(t, st, pending(t, st).ID, "n1")
			b := bind(t, st, reserve(t, st, store.Mapping{Cloud: "c2", Kind: kind}).ID, "n1")
			c := bind(t, st, reserve(t, st, store.Mapping{Cloud: cloud, Kind: "volume"}).ID, "n1")
			wantSame(t, "Lookup c1/server", lookup(t, st, cloud, kind, "n1"), a)
			wantSame(t, "Lookup c2/server", lookup(t, st, "c2", kind, "n1"), b)
			wantSame(t, "Lookup c1/volume", lookup(t, st, cloud, "volume", "n1"), c)
		}},
	}
}

func (s *suite) bindErrors(t *testing.T) {
	cases := []struct {
		name   string
		setup  func(t *testing.T, st store.Store) (id string, unchanged []store.Mapping)
		native string
		want   error
		// free: the native id must still be unmapped afterwards.
		free bool
	}{
		{"UnknownID", func(t *testing.T, st store.Store) (string, []store.Mapping) {
			return store.NewID(), nil
		}, "n1", store.ErrNotFound, true},
		{"DeletedID", func(t *testing.T, st store.Store) (string, []store.Mapping) {
			p := pending(t, st)
			if err := st.Delete(ctxOf(t), p.ID); err != nil {
				t.Fatal(err)
			}
			return p.ID, nil
		}, "n1", store.ErrNotFound, true},
		{"BoundToAnother", func(t *testing.T, st store.Store) (string, []store.Mapping) {
			m := bind(t, st, pending(t, st).ID, "n1")
			return m.ID, []store.Mapping{m}
		}, "n2", store.ErrConflict, true},
		{"ReservedWithAnother", func(t *testing.T, st store.Store) (string, []store.Mapping) {
			m := reserve(t, st, store.Mapping{Cloud: cloud, Kind: kind, NativeID: "n1"})
			return m.ID, []store.Mapping{m}
		}, "n2", store.ErrConflict, true},
		{"NativeMappedToOtherID", func(t *testing.T, st store.Store) (string, []store.Mapping) {
			other := bind(t, st, pending(t, st).ID, "n1")
			p := pending(t, st)
			return p.ID, []store.Mapping{other, p}
		}, "n1", store.ErrConflict, false},
		{"AdoptedToAnother", func(t *testing.T, st store.Store) (string, []store.Mapping) {
			adopted := adopt(t, st, cloud, kind, project, "n1")[0]
			return adopted.ID, []store.Mapping{adopted}
		}, "n2", store.ErrConflict, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st := s.newStore(t)
			id, unchanged := tc.setup(t, st)
			_, err := st.Bind(ctxOf(t), id, tc.native)
			wantErr(t, fmt.Sprintf("Bind(%s, %q)", id, tc.native), err, tc.want)
			for _, m := range unchanged {
				wantSame(t, "Get after failed Bind", get(t, st, m.ID), m)
			}
			if tc.free {
				notLookedUp(t, st, cloud, kind, tc.native)
			}
			if len(unchanged) == 0 {
				notFound(t, st, id)
			}
		})
	}
}

// ---------------------------------------------------------------- Get

func (s *suite) getTests() []test {
	return []test{
		{"NotFound", func(t *testing.T) {
			st := s.newStore(t)
			pending(t, st)
			notFound(t, st, store.NewID())
			notFound(t, st, "")
		}},
		{"AllFieldsRoundTrip", func(t *testing.T) {
			st := s.newStore(t)
			want := store.Mapping{ID: store.NewID(), Cloud: "cloud/with/slashes", Kind: "kind with spaces",
				NativeID: "arn:aws:ec2:eu-west-1:123:instance/i-0abc", Project: "prøject", RequestID: "req/1?x=y",
				Created: time.Date(2025, 12, 31, 23, 59, 59, 999999999, time.FixedZone("X", 3600))}
			reserve(t, st, want)
			wantSame(t, "Get", get(t, st, want.ID), want)
			wantSame(t, "Lookup", lookup(t, st, want.Cloud, want.Kind, want.NativeID), want)
		}},
	}
}

// ---------------------------------------------------------------- Lookup

func (s *suite) lookupTests() []test {
	return []test{
		{"NotFound", func(t *testing.T) {
			st := s.newStore(t)
			bind(t, st, pending(t, st).ID, "n1")
			for _, q := range [][3]string{
				{cloud, kind, "n2"}, {cloud, kind, "n"}, {cloud, kind, "n10"},
				{"c2", kind, "n1"}, {cloud, "volume", "n1"}, {cloud, kind, ""},
			} {
				notLookedUp(t, st, q[0], q[1], q[2])
			}
		}},
		{"PendingIsNotFound", func(t *testing.T) {
			st := s.newStore(t)
			pending(t, st)
			notLookedUp(t, st, cloud, kind, "")
		}},
		{"Found", func(t *testing.T) {
			st := s.newStore(t)
			a := bind(t, st, pending(t, st).ID, "n1")
			b := adopt(t, st, cloud, kind, project, "n2")[0]
			wantSame(t, "Lookup bound", lookup(t, st, cloud, kind, "n1"), a)
			wantSame(t, "Lookup adopted", lookup(t, st, cloud, kind, "n2"), b)
		}},
	}
}

// ---------------------------------------------------------------- List

func (s *suite) listTests() []test {
	return []test{
		{"Empty", func(t *testing.T) {
			st := s.newStore(t)
			if ms := list(t, st, cloud, kind); len(ms) != 0 {
				t.Errorf("List of an empty store: %v", ids(ms))
			}
		}},
		{"OrderedByIDPendingIncluded", func(t *testing.T) {
			st := s.newStore(t)
			var want []store.Mapping
			for i := range 20 {
				var m store.Mapping
				switch i % 3 {
				case 0:
					m = pending(t, st)
				case 1:
					m = bind(t, st, pending(t, st).ID, fmt.Sprintf("n%02d", 20-i))
				case 2:
					m = reserve(t, st, store.Mapping{Cloud: cloud, Kind: kind, NativeID: fmt.Sprintf("r%02d", i)})
				}
				want = append(want, m)
			}
			want = append(want, adopt(t, st, cloud, kind, project, "z", "a", "m")...)
			got := list(t, st, cloud, kind)
			wantSameList(t, "List", got, sortedByID(want))
			var n int
			for _, m := range got {
				if m.Pending() {
					n++
				}
			}
			if n == 0 {
				t.Error("List has no pending mapping")
			}
		}},
		{"OnlyThatCloudAndKind", s.listIsolation},
		{"ReflectsBindAndDelete", func(t *testing.T) {
			st := s.newStore(t)
			a, b := pending(t, st), pending(t, st)
			a = bind(t, st, a.ID, "n1")
			if err := st.Delete(ctxOf(t), b.ID); err != nil {
				t.Fatal(err)
			}
			wantSameList(t, "List", list(t, st, cloud, kind), []store.Mapping{a})
		}},
	}
}

func (s *suite) listIsolation(t *testing.T) {
	// Pairs that share a prefix or concatenate to the same bytes.
	places := [][2]string{
		{cloud, kind}, {cloud, kind + "s"}, {cloud, "serve"}, {cloud + "0", kind}, {cloud, "0" + kind},
		{"c", "1" + kind}, {cloud + "/", kind}, {cloud, "/" + kind}, {"c2", kind}, {cloud, "volume"},
	}
	st := s.newStore(t)
	want := map[[2]string][]store.Mapping{}
	for i, p := range places {
		for j := range 3 {
			var m store.Mapping
			switch j {
			case 0:
				m = reserve(t, st, store.Mapping{Cloud: p[0], Kind: p[1], Project: project})
			case 1:
				m = reserve(t, st, store.Mapping{Cloud: p[0], Kind: p[1], NativeID: fmt.Sprintf("n%d", i)})
			case 2:
				m = adopt(t, st, p[0], p[1], project, "shared")[0]
			}
			want[p] = append(want[p], m)
		}
	}
	for p, ms := range want {
		wantSameList(t, fmt.Sprintf("List(%q, %q)", p[0], p[1]), list(t, st, p[0], p[1]), sortedByID(ms))
	}
	for _, p := range [][2]string{{"c", kind}, {cloud, "serv"}, {"c3", kind}, {cloud, ""}, {"", ""}, {"", cloud + kind}} {
		if ms := list(t, st, p[0], p[1]); len(ms) != 0 {
			t.Errorf("List(%q, %q) = %v, want none", p[0], p[1], ids(ms))
		}
	}
}

// ---------------------------------------------------------------- Adopt

func (s *suite) adoptTests() []test {
	return []test{
		{"StableIDs", func(t *testing.T) {
			st := s.newStore(t)
			before := time.Now()
			ms := adopt(t, st, cloud, kind, project, "n1", "n2")
			for i, n := range []string{"n1", "n2"} {
				m := ms[i]
				want := store.Mapping{ID: store.AdoptedID(cloud, kind, n), Cloud: cloud, Kind: kind, NativeID: n, Project: project, Created: m.Created}
				wantSame(t, "Adopt "+n, m, want)
				if m.Created.Before(before.Add(-time.Second)) || m.Created.After(time.Now().Add(time.Second)) {
					t.Errorf("Created = %v, want about %v", m.Created, before)
				}
				wantSame(t, "Get "+n, get(t, st, m.ID), m)
				wantSame(t, "Lookup "+n, lookup(t, st, cloud, kind, n), m)
			}
			// A second store computes the same ids without sharing data.
			other := adopt(t, s.newStore(t), cloud, kind, "p2", "n2", "n1")
			if other[0].ID != ms[1].ID || other[1].ID != ms[0].ID {
				t.Errorf("another store adopted other ids: %v vs %v", ids(other), ids(ms))
			}
		}},
		{"InputOrder", func(t *testing.T) {
			st := s.newStore(t)
			in := []string{"z", "a", "m", "b", "y"}
			adopt(t, st, cloud, kind, project, "m") // one known already
			ms := adopt(t, st, cloud, kind, project, in...)
			for i, n := range in {
				if ms[i].NativeID != n || ms[i].ID != store.AdoptedID(cloud, kind, n) {
					t.Errorf("result[%d] = %+v, want native %q", i, ms[i], n)
				}
			}
		}},
		{"Duplicates", func(t *testing.T) {
			st := s.newStore(t)
			ms := adopt(t, st, cloud, kind, project, "n1", "n2", "n1", "n1")
			if ms[0].ID != ms[2].ID || ms[0].ID != ms[3].ID || ms[0].ID == ms[1].ID {
				t.Errorf("ids %v, want 0, 2 and 3 equal and 1 different", ids(ms))
			}
			wantSame(t, "duplicate", ms[2], ms[0])
			if n := len(list(t, st, cloud, kind)); n != 2 {
				t.Errorf("List has %d mappings, want 2", n)
			}
		}},
		{"Empty", func(t *testing.T) {
			st := s.newStore(t)
			for _, in := range [][]string{nil, {}} {
				ms, err := st.Adopt(ctxOf(t), cloud, kind, project, in)
				if err != nil || len(ms) != 0 {
					t.Errorf("Adopt(%#v) = %v, %v; want none, nil", in, ms, err)
				}
			}
			if n := len(list(t, st, cloud, kind)); n != 0 {
				t.Errorf("List has %d mappings, want 0", n)
			}
		}},
		{"ReturnsCanopyMapping", func(t *testing.T) {
			// A resource canopy created (and bound) is not adopted again
			// under its AdoptedID: Adopt returns the id the client has.
			st := s.newStore(t)
			created := bind(t, st, reserve(t, st, store.Mapping{Cloud: cloud, Kind: kind, Project: "owner", RequestID: "r1"}).ID, "n1")
			reservedBound := reserve(t, st, store.Mapping{Cloud: cloud, Kind: kind, NativeID: "n3", Project: "owner"})
			ms := adopt(t, st, cloud, kind, project, "n0", "n1", "n2", "n3")
			wantSame(t, "n1", ms[1], created)
			wantSame(t, "n3", ms[3], reservedBound)
			for _, i := range []int{0, 2} {
				if want := store.AdoptedID(cloud, kind, ms[i].NativeID); ms[i].ID != want {
					t.Errorf("%s: id %s, want %s", ms[i].NativeID, ms[i].ID, want)
				}
			}
			notFound(t, st, store.AdoptedID(cloud, kind, "n1"))
			wantSameList(t, "List", list(t, st, cloud, kind), sortedByID(ms))
		}},
		{"KnownAreNotRewritten", func(t *testing.T) {
			// Nothing new → nothing written: a later Adopt by another
			// project does not take the resources over or touch Created.
			st := s.newStore(t)
			first := adopt(t, st, cloud, kind, project, "n1", "n2")
			time.Sleep(2 * time.Millisecond)
			again := adopt(t, st, cloud, kind, "p2", "n2", "n1")
			wantSame(t, "again n2", again[0], first[1])
			wantSame(t, "again n1", again[1], first[0])
			for _, m := range first {
				wantSame(t, "Lookup "+m.NativeID, lookup(t, st, cloud, kind, m.NativeID), m)
			}
		}},
		{"MixedNewAndKnown", func(t *testing.T) {
			st := s.newStore(t)
			first := adopt(t, st, cloud, kind, project, "n1", "n3")
			ms := adopt(t, st, cloud, kind, "p2", "n1", "n2", "n3", "n4")
			wantSame(t, "n1", ms[0], first[0])
			wantSame(t, "n3", ms[2], first[1])
			for _, m := range []store.Mapping{ms[1], ms[3]} {
				if m.Project != "p2" || m.ID != store.AdoptedID(cloud, kind, m.NativeID) {
					t.Errorf("new mapping %+v", m)
				}
				wantSame(t, "Lookup "+m.NativeID, lookup(t, st, cloud, kind, m.NativeID), m)
			}
			wantSameList(t, "List", list(t, st, cloud, kind), sortedByID(ms))
		}},
		{"ScopedByCloudAndKind", func(t *testing.T) {
			st := s.newStore(t)
			a := adopt(t, st, cloud, kind, project, "n1")[0]
			b := adopt(t, st, "c2", kind, project, "n1")[0]
			c := adopt(t, st, cloud, "volume", project, "n1")[0]
			if a.ID == b.ID || a.ID == c.ID || b.ID == c.ID {
				t.Errorf("same native in other clouds/kinds shares an id: %s %s %s", a.ID, b.ID, c.ID)
			}
			for _, m := range []store.Mapping{a, b, c} {
				wantSame(t, "Lookup", lookup(t, st, m.Cloud, m.Kind, "n1"), m)
			}
		}},
		{"ManyAtOnce", func(t *testing.T) {
			st := s.newStore(t)
			in := natives("n", 1000)
			ms := adopt(t, st, cloud, kind, project, in...)
			got := list(t, st, cloud, kind)
			wantSameList(t, "List", got, sortedByID(ms))
		}},
	}
}

// ---------------------------------------------------------------- Delete

func (s *suite) deleteTests() []test {
	return []test{
		{"ThenNotFound", func(t *testing.T) {
			st := s.newStore(t)
			keep := bind(t, st, pending(t, st).ID, "keep")
			for _, m := range []store.Mapping{
				pending(t, st),
				bind(t, st, pending(t, st).ID, "n1"),
				adopt(t, st, cloud, kind, project, "n2")[0],
			} {
				if err := st.Delete(ctxOf(t), m.ID); err != nil {
					t.Fatalf("Delete(%s): %v", m.ID, err)
				}
				notFound(t, st, m.ID)
				if !m.Pending() {
					notLookedUp(t, st, cloud, kind, m.NativeID)
				}
			}
			wantSameList(t, "List", list(t, st, cloud, kind), []store.Mapping{keep})
		}},
		{"Missing", func(t *testing.T) {
			st := s.newStore(t)
			m := pending(t, st)
			wantErr(t, "Delete(unknown)", st.Delete(ctxOf(t), store.NewID()), store.ErrNotFound)
			if err := st.Delete(ctxOf(t), m.ID); err != nil {
				t.Fatal(err)
			}
			wantErr(t, "second Delete", st.Delete(ctxOf(t), m.ID), store.ErrNotFound)
		}},
		{"ReadoptSameID", func(t *testing.T) {
			st := s.newStore(t)
			first := adopt(t, st, cloud, kind, project, "n1")[0]
			if err := st.Delete(ctxOf(t), first.ID); err != nil {
				t.Fatal(err)
			}
			again := adopt(t, st, cloud, kind, project, "n1")[0]
			if again.ID != first.ID || again.ID != store.AdoptedID(cloud, kind, "n1") {
				t.Errorf("re-adopted id %s, want %s", again.ID, first.ID)
			}
			wantSame(t, "Lookup", lookup(t, st, cloud, kind, "n1"), again)
		}},
		{"ReadoptAfterCanopyMapping", func(t *testing.T) {
			st := s.newStore(t)
			m := bind(t, st, pending(t, st).ID, "n1")
			if err := st.Delete(ctxOf(t), m.ID); err != nil {
				t.Fatal(err)
			}
			if got := adopt(t, st, cloud, kind, project, "n1")[0]; got.ID != store.AdoptedID(cloud, kind, "n1") {
				t.Errorf("adopted id %s, want AdoptedID", got.ID)
			}
		}},
		{"FreesNativeID", func(t *testing.T) {
			st := s.newStore(t)
			m := bind(t, st, pending(t, st).ID, "n1")
			if err := st.Delete(ctxOf(t), m.ID); err != nil {
				t.Fatal(err)
			}
			p := bind(t, st, pending(t, st).ID, "n1")
			wantSame(t, "Lookup", lookup(t, st, cloud, kind, "n1"), p)
		}},
		{"FreesRequestID", func(t *testing.T) {
			// A deleted mapping is not resurrected by a retry: the
			// request id now starts a new mapping.
			st := s.newStore(t)
			req := store.Mapping{Cloud: cloud, Kind: kind, Project: project, RequestID: "r1"}
			m := reserve(t, st, req)
			if err := st.Delete(ctxOf(t), m.ID); err != nil {
				t.Fatal(err)
			}
			again := reserve(t, st, req)
			if again.ID == m.ID {
				t.Errorf("Reserve after Delete returned the deleted mapping %s", m.ID)
			}
		}},
		{"LeavesOthers", func(t *testing.T) {
			st := s.newStore(t)
			a := reserve(t, st, store.Mapping{Cloud: cloud, Kind: kind, Project: project, RequestID: "r1"})
			b := reserve(t, st, store.Mapping{Cloud: cloud, Kind: "volume", Project: project, RequestID: "r1", NativeID: "n1"})
			c := reserve(t, st, store.Mapping{Cloud: "c2", Kind: kind, NativeID: "n1"})
			if err := st.Delete(ctxOf(t), a.ID); err != nil {
				t.Fatal(err)
			}
			wantSame(t, "Get b", get(t, st, b.ID), b)
			wantSame(t, "Lookup b", lookup(t, st, cloud, "volume", "n1"), b)
			wantSame(t, "Lookup c", lookup(t, st, "c2", kind, "n1"), c)
			r, created, err := st.Reserve(ctxOf(t), store.Mapping{Cloud: cloud, Kind: "volume", Project: project, RequestID: "r1"})
			if err != nil || created || r.ID != b.ID {
				t.Errorf("retry of b's request: %s created=%v err=%v, want %s", r.ID, created, err, b.ID)
			}
		}},
	}
}

// ---------------------------------------------------------------- Durability

func (s *suite) durabilityTests() []test {
	return []test{
		{"SurvivesReopen", func(t *testing.T) {
			if s.reopen == nil {
				t.Skip("storetest: no WithReopen given; durability across restarts is not tested")
			}
			st := s.newStore(t)
			withReq := reserve(t, st, store.Mapping{Cloud: cloud, Kind: kind, Project: project, RequestID: "r1"})
			stillPending := pending(t, st)
			bound := bind(t, st, pending(t, st).ID, "n1")
			reservedBound := reserve(t, st, store.Mapping{Cloud: "c2", Kind: "volume", NativeID: "v1", Project: project})
			adopted := adopt(t, st, cloud, kind, project, "n2", "n3", "n1")
			gone := adopt(t, st, cloud, kind, project, "n4")[0]
			if err := st.Delete(ctxOf(t), gone.ID); err != nil {
				t.Fatal(err)
			}
			all := []store.Mapping{withReq, stillPending, bound, reservedBound, adopted[0], adopted[1]}
			before := list(t, st, cloud, kind)

			st = s.reopen(t, st)
			for _, m := range all {
				wantSame(t, "Get after reopen", get(t, st, m.ID), m)
				if !m.Pending() {
					wantSame(t, "Lookup after reopen", lookup(t, st, m.Cloud, m.Kind, m.NativeID), m)
				}
			}
			wantSameList(t, "List after reopen", list(t, st, cloud, kind), before)
			wantSameList(t, "List c2 after reopen", list(t, st, "c2", "volume"), []store.Mapping{reservedBound})
			notFound(t, st, gone.ID)
			notLookedUp(t, st, cloud, kind, "n4")
			r, created, err := st.Reserve(ctxOf(t), store.Mapping{Cloud: cloud, Kind: kind, Project: project, RequestID: "r1"})
			if err != nil || created {
				t.Fatalf("retry after reopen: created=%v err=%v", created, err)
			}
			wantSame(t, "retry after reopen", r, withReq)
			wantSameList(t, "Adopt after reopen", adopt(t, st, cloud, kind, "p2", "n2", "n3", "n1"), adopted)
			_, err = st.Bind(ctxOf(t), bound.ID, "other")
			wantErr(t, "Bind bound after reopen", err, store.ErrConflict)

			// Writes after a reopen are durable too.
			bound2 := bind(t, st, stillPending.ID, "n5")
			if err := st.Delete(ctxOf(t), withReq.ID); err != nil {
				t.Fatal(err)
			}
			st = s.reopen(t, st)
			wantSame(t, "Get after second reopen", get(t, st, bound2.ID), bound2)
			wantSame(t, "Lookup after second reopen", lookup(t, st, cloud, kind, "n5"), bound2)
			notFound(t, st, withReq.ID)
		}},
		{"EmptyReopen", func(t *testing.T) {
			if s.reopen == nil {
				t.Skip("storetest: no WithReopen given")
			}
			st := s.reopen(t, s.newStore(t))
			if ms := list(t, st, cloud, kind); len(ms) != 0 {
				t.Errorf("List = %v, want none", ids(ms))
			}
			pending(t, st)
		}},
	}
}

// ---------------------------------------------------------------- Concurrency

const workers = 16

// parallel runs fn(i) for i in [0, workers) at once and waits.
func parallel(fn func(i int)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			fn(i)
		}()
	}
	close(start)
	wg.Wait()
}

func (s *suite) concurrencyTests() []test {
	return []test{
		{"AdoptSameNatives", func(t *testing.T) {
			st := s.newStore(t)
			in := natives("n", 50)
			results := make([][]store.Mapping, workers)
			errs := make([]error, workers)
			parallel(func(i int) {
				mine := slices.Clone(in)
				if i%2 == 1 {
					slices.Reverse(mine)
				}
				mine = mine[i%5:] // overlapping, not identical, sets
				ms, err := st.Adopt(ctxOf(t), cloud, kind, project, mine)
				for j := range ms {
					if ms[j].NativeID != mine[j] {
						err = fmt.Errorf("result[%d] native %q, want %q", j, ms[j].NativeID, mine[j])
					}
				}
				results[i], errs[i] = ms, err
			})
			seen := map[string]store.Mapping{}
			for i, ms := range results {
				if errs[i] != nil {
					t.Fatalf("worker %d: %v", i, errs[i])
				}
				for _, m := range ms {
					if prev, ok := seen[m.NativeID]; ok && !same(prev, m) {
						t.Errorf("%s adopted twice: %+v and %+v", m.NativeID, prev, m)
					}
					seen[m.NativeID] = m
				}
			}
			got := list(t, st, cloud, kind)
			if len(got) != len(in) {
				t.Errorf("List has %d mappings, want exactly %d", len(got), len(in))
			}
			for _, m := range got {
				wantSame(t, "List entry", m, seen[m.NativeID])
			}
		}},
		{"AdoptAndReserveSameNatives", func(t *testing.T) {
			// Canopy creating a resource (Reserve with its native id)
			// races a list adopting it: one of them wins, each native
			// ends with exactly one mapping, and Adopt returns it.
			st := s.newStore(t)
			in := natives("n", 30)
			reserved := make([]map[string]string, workers)
			adopted := make([][]store.Mapping, workers)
			errs := make([]error, workers)
			parallel(func(i int) {
				if i%2 == 0 {
					adopted[i], errs[i] = st.Adopt(ctxOf(t), cloud, kind, project, in)
					return
				}
				reserved[i] = map[string]string{}
				for _, n := range in {
					m, _, err := st.Reserve(ctxOf(t), store.Mapping{Cloud: cloud, Kind: kind, NativeID: n, Project: project})
					switch {
					case err == nil:
						reserved[i][n] = m.ID
					case !errors.Is(err, store.ErrConflict):
						errs[i] = err
						return
					}
				}
			})
			winner := map[string]string{}
			for i := range workers {
				if errs[i] != nil {
					t.Fatalf("worker %d: %v", i, errs[i])
				}
				for n, id := range reserved[i] {
					if prev, ok := winner[n]; ok {
						t.Errorf("%s reserved twice: %s and %s", n, prev, id)
					}
					winner[n] = id
				}
			}
			final := adopt(t, st, cloud, kind, project, in...)
			for i, m := range final {
				if id, ok := winner[in[i]]; ok && m.ID != id {
					t.Errorf("%s: Adopt returns %s, but Reserve won with %s", in[i], m.ID, id)
				}
				if _, ok := winner[in[i]]; !ok && m.ID != store.AdoptedID(cloud, kind, in[i]) {
					t.Errorf("%s: id %s, want AdoptedID", in[i], m.ID)
				}
			}
			for i := 0; i < workers; i += 2 {
				wantSameList(t, fmt.Sprintf("worker %d's Adopt", i), adopted[i], final)
			}
			if got := list(t, st, cloud, kind); len(got) != len(in) {
				t.Errorf("List has %d mappings, want exactly %d", len(got), len(in))
			}
		}},
		{"ReserveSameRequestID", func(t *testing.T) {
			st := s.newStore(t)
			got := make([]store.Mapping, workers)
			created := make([]bool, workers)
			errs := make([]error, workers)
			parallel(func(i int) {
				got[i], created[i], errs[i] = st.Reserve(ctxOf(t), store.Mapping{Cloud: cloud, Kind: kind, Project: project, RequestID: "r1"})
			})
			n := 0
			for i := range workers {
				if errs[i] != nil {
					t.Fatalf("worker %d: %v", i, errs[i])
				}
				if created[i] {
					n++
				}
				wantSame(t, fmt.Sprintf("worker %d", i), got[i], got[0])
			}
			if n != 1 {
				t.Errorf("%d Reserves reported created, want exactly 1", n)
			}
			if ms := list(t, st, cloud, kind); len(ms) != 1 {
				t.Errorf("List has %d mappings, want 1", len(ms))
			}
		}},
		{"BindSameNative", func(t *testing.T) {
			st := s.newStore(t)
			ps := make([]store.Mapping, workers)
			for i := range ps {
				ps[i] = pending(t, st)
			}
			errs := make([]error, workers)
			parallel(func(i int) { _, errs[i] = st.Bind(ctxOf(t), ps[i].ID, "n1") })
			won := -1
			for i, err := range errs {
				switch {
				case err == nil && won >= 0:
					t.Errorf("workers %d and %d both bound n1", won, i)
				case err == nil:
					won = i
				case !errors.Is(err, store.ErrConflict):
					t.Errorf("worker %d: %v, want ErrConflict", i, err)
				}
			}
			if won < 0 {
				t.Fatal("no Bind succeeded")
			}
			if m := lookup(t, st, cloud, kind, "n1"); m.ID != ps[won].ID {
				t.Errorf("Lookup = %s, want the winner %s", m.ID, ps[won].ID)
			}
		}},
		{"Mixed", func(t *testing.T) {
			// Everything at once, for the race detector; afterwards the
			// indexes agree with the mappings.
			st := s.newStore(t)
			errs := make([]error, workers)
			parallel(func(i int) {
				ctx := ctxOf(t)
				for j := range 10 {
					m, _, err := st.Reserve(ctx, store.Mapping{Cloud: cloud, Kind: kind, Project: project, RequestID: fmt.Sprintf("r%d", j)})
					if err == nil {
						_, err = st.Bind(ctx, m.ID, fmt.Sprintf("b%d", j))
					}
					if err == nil {
						_, err = st.Adopt(ctx, cloud, kind, project, []string{fmt.Sprintf("a%d", j), fmt.Sprintf("a%d", i)})
					}
					if err == nil {
						_, err = st.List(ctx, cloud, kind)
					}
					if err == nil {
						_, err = st.Get(ctx, m.ID)
					}
					if err == nil && j%3 == 0 {
						if m, err2 := st.Lookup(ctx, cloud, kind, fmt.Sprintf("a%d", i)); err2 == nil {
							err = st.Delete(ctx, m.ID)
							if errors.Is(err, store.ErrNotFound) {
								err = nil // another worker deleted it first
							}
						} else if !errors.Is(err2, store.ErrNotFound) {
							err = err2
						}
					}
					if err != nil {
						errs[i] = err
						return
					}
				}
			})
			for i, err := range errs {
				if err != nil {
					t.Errorf("worker %d: %v", i, err)
				}
			}
			for _, m := range list(t, st, cloud, kind) {
				wantSame(t, "Get", get(t, st, m.ID), m)
				if !m.Pending() {
					wantSame(t, "Lookup", lookup(t, st, cloud, kind, m.NativeID), m)
				}
			}
		}},
	}
}

// ---------------------------------------------------------------- Context and Closed

// op is one call of every IDMap method, against a store prepared by fixture,
// each with arguments that would succeed on an open store with a live
// context: so the error can only come from what the test changed.
type op struct {
	name string
	call func(ctx context.Context, st store.Store, f fixture) error
}

type fixture struct{ pending, bound store.Mapping }

func newFixture(t *testing.T, st store.Store) fixture {
	return fixture{pending: pending(t, st), bound: bind(t, st, pending(t, st).ID, "n1")}
}

var ops = []op{
	{"Reserve", func(ctx context.Context, st store.Store, f fixture) error {
		_, _, err := st.Reserve(ctx, store.Mapping{Cloud: cloud, Kind: kind, Project: project, RequestID: "new"})
		return err
	}},
	{"Bind", func(ctx context.Context, st store.Store, f fixture) error {
		_, err := st.Bind(ctx, f.pending.ID, "n2")
		return err
	}},
	{"Get", func(ctx context.Context, st store.Store, f fixture) error {
		_, err := st.Get(ctx, f.bound.ID)
		return err
	}},
	{"Lookup", func(ctx context.Context, st store.Store, f fixture) error {
		_, err := st.Lookup(ctx, cloud, kind, "n1")
		return err
	}},
	{"Adopt", func(ctx context.Context, st store.Store, f fixture) error {
		_, err := st.Adopt(ctx, cloud, kind, project, []string{"n3", "n4"})
		return err
	}},
	{"AdoptKnown", func(ctx context.Context, st store.Store, f fixture) error {
		_, err := st.Adopt(ctx, cloud, kind, project, []string{"n1"})
		return err
	}},
	{"List", func(ctx context.Context, st store.Store, f fixture) error {
		_, err := st.List(ctx, cloud, kind)
		return err
	}},
	{"Delete", func(ctx context.Context, st store.Store, f fixture) error {
		return st.Delete(ctx, f.bound.ID)
	}},
}

func (s *suite) contextTests() []test {
	var tests []test
	for _, o := range ops {
		tests = append(tests, test{"Cancelled" + o.name, func(t *testing.T) {
			st := s.newStore(t)
			f := newFixture(t, st)
			ctx, cancel := context.WithCancel(ctxOf(t))
			cancel()
			wantErr(t, o.name+" with a cancelled context", o.call(ctx, st, f), context.Canceled)
			// …and it changed nothing.
			wantSameList(t, "List", list(t, st, cloud, kind), sortedByID([]store.Mapping{f.pending, f.bound}))
			notLookedUp(t, st, cloud, kind, "n3")
			if err := o.call(ctxOf(t), st, f); err != nil {
				t.Errorf("%s with a live context: %v", o.name, err)
			}
		}})
	}
	tests = append(tests, test{"DeadlineExceeded", func(t *testing.T) {
		st := s.newStore(t)
		f := newFixture(t, st)
		ctx, cancel := context.WithDeadline(ctxOf(t), time.Now().Add(-time.Second))
		defer cancel()
		for _, o := range ops {
			wantErr(t, o.name+" past its deadline", o.call(ctx, st, f), context.DeadlineExceeded)
		}
	}})
	return tests
}

func (s *suite) closedTests() []test {
	var tests []test
	for _, o := range ops {
		tests = append(tests, test{o.name + "AfterClose", func(t *testing.T) {
			st := s.newStore(t)
			f := newFixture(t, st)
			if err := st.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			wantErr(t, o.name+" after Close", o.call(ctxOf(t), st, f), store.ErrClosed)
		}})
	}
	tests = append(tests, test{"CloseTwice", func(t *testing.T) {
		st := s.newStore(t)
		if err := st.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if err := st.Close(); err != nil && !errors.Is(err, store.ErrClosed) {
			t.Errorf("second Close: %v, want nil or ErrClosed", err)
		}
	}})
	tests = append(tests, test{"CloseDuringUse", func(t *testing.T) {
		// Calls racing Close either complete or fail with ErrClosed;
		// nothing panics or hangs.
		st := s.newStore(t)
		f := newFixture(t, st)
		errs := make([]error, workers)
		parallel(func(i int) {
			if i == workers/2 {
				errs[i] = st.Close()
				return
			}
			for range 20 {
				o := ops[i%len(ops)]
				if o.name == "Delete" || o.name == "Bind" {
					o = ops[2] // Get: repeatable
				}
				if err := o.call(ctxOf(t), st, f); err != nil {
					if !errors.Is(err, store.ErrClosed) {
						errs[i] = err
					}
					return
				}
			}
		})
		for i, err := range errs {
			if err != nil {
				t.Errorf("worker %d: %v", i, err)
			}
		}
	}})
	return tests
}
