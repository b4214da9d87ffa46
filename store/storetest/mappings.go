package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/canopy-cloud/canopy/store"
)

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
