package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/canopy-cloud/canopy/store"
)

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
