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
	"testing"

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
