package storetest

import (
	"testing"
	"time"

	"github.com/canopy-cloud/canopy/store"
)

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
