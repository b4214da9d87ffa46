package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"

	"github.com/canopy-cloud/canopy/store"
)

// operationTests cover the OperationStore half of the contract.
func (s *suite) operationTests() []test {
	newOp := func(kind, req string) store.Operation {
		return store.Operation{Project: project, Kind: kind, Cloud: cloud, TargetID: store.NewID(), RequestID: req, RequestHash: "h-" + req,
			Spec: []byte(`{"size":1}`), State: map[string]string{"a": "1"}}
	}
	create := func(t *testing.T, st store.Store, op store.Operation) store.Operation {
		t.Helper()
		got, created, err := st.CreateOperation(ctxOf(t), op)
		if err != nil || !created {
			t.Fatalf("CreateOperation(%+v) = created %v, %v", op, created, err)
		}
		return got
	}
	getOp := func(t *testing.T, st store.Store, id string) store.Operation {
		t.Helper()
		got, err := st.GetOperation(ctxOf(t), id)
		if err != nil {
			t.Fatalf("GetOperation(%s): %v", id, err)
		}
		return got
	}
	sameOp := func(t *testing.T, what string, got, want store.Operation) {
		t.Helper()
		if !got.Created.Equal(want.Created) || !got.Updated.Equal(want.Updated) {
			t.Errorf("%s: times %v/%v, want %v/%v", what, got.Created, got.Updated, want.Created, want.Updated)
		}
		got.Created, got.Updated = want.Created, want.Updated
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
		}
	}
	return []test{
		{"RoundTrip", func(t *testing.T) {
			st := s.newStore(t)
			op := create(t, st, newOp("volume.create", "r1"))
			if op.ID == "" || op.Created.IsZero() || !op.Updated.Equal(op.Created) {
				t.Fatalf("created = %+v: want an id and Created = Updated", op)
			}
			sameOp(t, "get", getOp(t, st, op.ID), op)
			if _, err := st.GetOperation(ctxOf(t), store.NewID()); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("get missing: %v, want ErrNotFound", err)
			}
		}},
		{"RequestIDIsIdempotent", func(t *testing.T) {
			st := s.newStore(t)
			first := create(t, st, newOp("volume.create", "same"))
			again, created, err := st.CreateOperation(ctxOf(t), newOp("volume.create", "same"))
			if err != nil || created || again.ID != first.ID || again.TargetID != first.TargetID {
				t.Fatalf("second create = %s (target %s) created %v, %v; want %s again", again.ID, again.TargetID, created, err, first.ID)
			}
			other := newOp("volume.create", "same")
			other.Project = "p2"
			if o := create(t, st, other); o.ID == first.ID {
				t.Errorf("another project's request id returned the first project's operation")
			}
			if all, _ := st.ListOperations(ctxOf(t), store.OperationFilter{}); len(all) != 2 {
				t.Errorf("%d operations, want 2", len(all))
			}
			// Without a request id, every create is new.
			a, b := create(t, st, newOp("volume.create", "")), create(t, st, newOp("volume.create", ""))
			if a.ID == b.ID {
				t.Errorf("two creates without request id share id %s", a.ID)
			}
			// Deleting the operation frees its request id.
			if err := st.DeleteOperation(ctxOf(t), first.ID); err != nil {
				t.Fatal(err)
			}
			if o := create(t, st, newOp("volume.create", "same")); o.ID == first.ID {
				t.Errorf("request id still maps to the deleted operation")
			}
		}},
		{"GivenIDTakenIsConflict", func(t *testing.T) {
			st := s.newStore(t)
			op := create(t, st, newOp("volume.create", ""))
			dup := newOp("volume.delete", "")
			dup.ID = op.ID
			if _, _, err := st.CreateOperation(ctxOf(t), dup); !errors.Is(err, store.ErrConflict) {
				t.Errorf("create with a taken id: %v, want ErrConflict", err)
			}
			if got := getOp(t, st, op.ID); got.Kind != "volume.create" {
				t.Errorf("taken id overwritten: %+v", got)
			}
		}},
		{"Update", func(t *testing.T) {
			st := s.newStore(t)
			op := create(t, st, newOp("volume.create", "u"))
			next := op
			next.Step, next.State, next.Progress, next.Attempts, next.LastError = "bind", map[string]string{"native": "vol-1"}, 50, 2, "cloud down"
			next.Project, next.Kind, next.RequestID = "intruder", "other.kind", "other" // immutable: kept as stored
			upd, err := st.UpdateOperation(ctxOf(t), next)
			if err != nil {
				t.Fatal(err)
			}
			if upd.Updated.Before(op.Updated) || !upd.Created.Equal(op.Created) {
				t.Errorf("times after update: created %v updated %v (were %v/%v)", upd.Created, upd.Updated, op.Created, op.Updated)
			}
			want := op
			want.Step, want.State, want.Progress, want.Attempts, want.LastError, want.Updated = "bind", map[string]string{"native": "vol-1"}, 50, 2, "cloud down", upd.Updated
			sameOp(t, "after update", getOp(t, st, op.ID), want)
			sameOp(t, "returned", upd, want)

			done := upd
			done.Done, done.Result, done.Progress = true, []byte(`{"id":"x"}`), 100
			if _, err := st.UpdateOperation(ctxOf(t), done); err != nil {
				t.Fatal(err)
			}
			done.Step = "again"
			if _, err := st.UpdateOperation(ctxOf(t), done); !errors.Is(err, store.ErrConflict) {
				t.Errorf("update of a done operation: %v, want ErrConflict", err)
			}
			if got := getOp(t, st, op.ID); !got.Done || string(got.Result) != `{"id":"x"}` || got.Step != "bind" {
				t.Errorf("done operation changed: %+v", got)
			}
			missing := newOp("x", "")
			missing.ID = store.NewID()
			if _, err := st.UpdateOperation(ctxOf(t), missing); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("update missing: %v, want ErrNotFound", err)
			}
		}},
		{"CancelSticks", func(t *testing.T) {
			st := s.newStore(t)
			op := create(t, st, newOp("volume.create", ""))
			c, err := st.CancelOperation(ctxOf(t), op.ID)
			if err != nil || !c.CancelRequested {
				t.Fatalf("cancel = %+v, %v", c, err)
			}
			// A runner that read the operation before the cancel writes
			// its step without the flag: the flag survives.
			stale := op
			stale.Step = "provision"
			upd, err := st.UpdateOperation(ctxOf(t), stale)
			if err != nil || !upd.CancelRequested || !getOp(t, st, op.ID).CancelRequested {
				t.Errorf("cancel lost by a stale update: %+v, %v", upd, err)
			}
			done := getOp(t, st, op.ID)
			done.Done, done.ErrorCode, done.ErrorMessage = true, 1, "cancelled"
			if _, err := st.UpdateOperation(ctxOf(t), done); err != nil {
				t.Fatal(err)
			}
			if again, err := st.CancelOperation(ctxOf(t), op.ID); err != nil || !again.Done || again.ErrorCode != 1 {
				t.Errorf("cancel of a done operation = %+v, %v; want it unchanged", again, err)
			}
			if _, err := st.CancelOperation(ctxOf(t), store.NewID()); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("cancel missing: %v, want ErrNotFound", err)
			}
		}},
		{"ListFiltersAndOrder", func(t *testing.T) {
			st := s.newStore(t)
			if all, err := st.ListOperations(ctxOf(t), store.OperationFilter{}); err != nil || len(all) != 0 {
				t.Fatalf("empty store lists %d, %v", len(all), err)
			}
			var made []store.Operation
			for i := 0; i < 5; i++ {
				op := newOp(fmt.Sprintf("k%d", i), "")
				if i%2 == 1 {
					op.Project = "p2"
				}
				made = append(made, create(t, st, op))
			}
			d := made[0]
			d.Done = true
			if _, err := st.UpdateOperation(ctxOf(t), d); err != nil {
				t.Fatal(err)
			}
			all, err := st.ListOperations(ctxOf(t), store.OperationFilter{})
			if err != nil || len(all) != 5 {
				t.Fatalf("list all = %d, %v", len(all), err)
			}
			for i := range all {
				if all[i].ID != made[i].ID {
					t.Errorf("list order: #%d is %s (%s), want %s: oldest first", i, all[i].ID, all[i].Kind, made[i].ID)
				}
			}
			mine, _ := st.ListOperations(ctxOf(t), store.OperationFilter{Project: project})
			if len(mine) != 3 {
				t.Errorf("project filter: %d, want 3", len(mine))
			}
			open, _ := st.ListOperations(ctxOf(t), store.OperationFilter{Project: project, Unfinished: true})
			if len(open) != 2 {
				t.Errorf("project+unfinished filter: %d, want 2", len(open))
			}
			one, _ := st.ListOperations(ctxOf(t), store.OperationFilter{TargetID: made[3].TargetID})
			if len(one) != 1 || one[0].ID != made[3].ID {
				t.Errorf("target filter = %v", one)
			}
			withReq := newOp("k", "req-x")
			r := create(t, st, withReq)
			for _, f := range []store.OperationFilter{{Project: project, RequestID: "req-x"}, {RequestID: "req-x"}} {
				got, err := st.ListOperations(ctxOf(t), f)
				if err != nil || len(got) != 1 || got[0].ID != r.ID {
					t.Errorf("request filter %+v = %v, %v", f, got, err)
				}
			}
			for _, f := range []store.OperationFilter{{Project: "p2", RequestID: "req-x"}, {Project: project, RequestID: "nope"}, {Project: project, RequestID: "req-x", Unfinished: true, TargetID: "other"}} {
				if got, err := st.ListOperations(ctxOf(t), f); err != nil || len(got) != 0 {
					t.Errorf("request filter %+v = %v, %v; want none", f, got, err)
				}
			}
		}},
		{"Delete", func(t *testing.T) {
			st := s.newStore(t)
			op := create(t, st, newOp("k", ""))
			if err := st.DeleteOperation(ctxOf(t), op.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := st.GetOperation(ctxOf(t), op.ID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("get after delete: %v", err)
			}
			if err := st.DeleteOperation(ctxOf(t), op.ID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("delete twice: %v, want ErrNotFound", err)
			}
		}},
		{"Durable", func(t *testing.T) {
			if s.reopen == nil {
				t.Skip("no reopen function given (storetest.WithReopen): durability not checked")
			}
			st := s.newStore(t)
			op := create(t, st, newOp("volume.create", "dur"))
			op.Step, op.State = "wait", map[string]string{"native": "vol-9"}
			op, err := st.UpdateOperation(ctxOf(t), op)
			if err != nil {
				t.Fatal(err)
			}
			if op, err = st.CancelOperation(ctxOf(t), op.ID); err != nil {
				t.Fatal(err)
			}
			st = s.reopen(t, st)
			sameOp(t, "after reopen", getOp(t, st, op.ID), op)
			if again, created, err := st.CreateOperation(ctxOf(t), newOp("volume.create", "dur")); err != nil || created || again.ID != op.ID {
				t.Errorf("request id forgotten across reopen: %s created %v, %v", again.ID, created, err)
			}
		}},
		{"ConcurrentSameRequestID", func(t *testing.T) {
			st := s.newStore(t)
			const n = 16
			ids := make([]string, n)
			created := make([]bool, n)
			errs := make([]error, n)
			parallel(func(i int) {
				if i >= n {
					return
				}
				var op store.Operation
				op, created[i], errs[i] = st.CreateOperation(ctxOf(t), newOp("volume.create", "race"))
				ids[i] = op.ID
			})
			count := 0
			for i := 0; i < n; i++ {
				if errs[i] != nil {
					t.Fatalf("create %d: %v", i, errs[i])
				}
				if ids[i] != ids[0] {
					t.Errorf("create %d got %s, create 0 got %s", i, ids[i], ids[0])
				}
				if created[i] {
					count++
				}
			}
			if count != 1 {
				t.Errorf("%d creates reported created, want exactly 1", count)
			}
		}},
		{"ConcurrentCancelAndSteps", func(t *testing.T) {
			st := s.newStore(t)
			op := create(t, st, newOp("volume.create", ""))
			var wg sync.WaitGroup
			wg.Add(2)
			go func() {
				defer wg.Done()
				cur := op
				for i := 0; i < 20; i++ {
					cur.Step = fmt.Sprintf("s%d", i)
					if _, err := st.UpdateOperation(ctxOf(t), cur); err != nil {
						t.Error(err)
						return
					}
				}
			}()
			go func() {
				defer wg.Done()
				if _, err := st.CancelOperation(ctxOf(t), op.ID); err != nil {
					t.Error(err)
				}
			}()
			wg.Wait()
			if got := getOp(t, st, op.ID); !got.CancelRequested || got.Step != "s19" {
				t.Errorf("after racing steps and a cancel: %+v", got)
			}
		}},
		{"ContextAndClosed", func(t *testing.T) {
			st := s.newStore(t)
			ctx, cancel := context.WithCancel(ctxOf(t))
			cancel()
			if _, _, err := st.CreateOperation(ctx, newOp("k", "")); !errors.Is(err, context.Canceled) {
				t.Errorf("create with a done context: %v", err)
			}
			_ = st.Close()
			if _, err := st.GetOperation(ctxOf(t), store.NewID()); !errors.Is(err, store.ErrClosed) {
				t.Errorf("get on a closed store: %v, want ErrClosed", err)
			}
			if err := st.PutRecord(ctxOf(t), "ns", "k", nil); !errors.Is(err, store.ErrClosed) {
				t.Errorf("put record on a closed store: %v, want ErrClosed", err)
			}
		}},
	}
}

// recordTests cover the RecordStore half of the contract.
func (s *suite) recordTests() []test {
	return []test{
		{"CreateIsAClaim", func(t *testing.T) {
			st := s.newStore(t)
			ctx := ctxOf(t)
			// 16 racers for one key: exactly one wins, all see its value.
			var wg sync.WaitGroup
			wins := make(chan string, 16)
			for i := range 16 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					me := fmt.Sprintf("racer-%d", i)
					cur, created, err := st.CreateRecord(ctx, "claims", "10.0.1.0/24", []byte(me))
					if err != nil {
						t.Error(err)
						return
					}
					if created != (string(cur) == me) {
						t.Errorf("%s: created=%v but the value is %q", me, created, cur)
					}
					if created {
						wins <- me
					}
				}()
			}
			wg.Wait()
			close(wins)
			var won []string
			for w := range wins {
				won = append(won, w)
			}
			if len(won) != 1 {
				t.Fatalf("winners = %v, want exactly one", won)
			}
			if v, err := st.GetRecord(ctx, "claims", "10.0.1.0/24"); err != nil || string(v) != won[0] {
				t.Errorf("record = %q, %v; want %q", v, err, won[0])
			}
			if _, _, err := st.CreateRecord(ctx, "", "k", nil); err == nil {
				t.Error("an empty namespace was accepted")
			}
		}},
		{"RoundTrip", func(t *testing.T) {
			st := s.newStore(t)
			ctx := ctxOf(t)
			if _, err := st.GetRecord(ctx, "emu", "a"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("get missing: %v", err)
			}
			for _, kv := range [][2]string{{"b/2", "two"}, {"a/1", "one"}, {"b/1", "uno"}, {"c", ""}} {
				if err := st.PutRecord(ctx, "emu", kv[0], []byte(kv[1])); err != nil {
					t.Fatal(err)
				}
			}
			if err := st.PutRecord(ctx, "other", "b/9", []byte("x")); err != nil {
				t.Fatal(err)
			}
			if err := st.PutRecord(ctx, "emu", "b/2", []byte("deux")); err != nil {
				t.Fatal(err)
			}
			if v, err := st.GetRecord(ctx, "emu", "b/2"); err != nil || string(v) != "deux" {
				t.Errorf("get after overwrite = %q, %v", v, err)
			}
			if v, err := st.GetRecord(ctx, "emu", "c"); err != nil || len(v) != 0 {
				t.Errorf("empty value = %q, %v", v, err)
			}
			rs, err := st.ListRecords(ctx, "emu", "b/")
			if err != nil || len(rs) != 2 || rs[0].Key != "b/1" || string(rs[1].Value) != "deux" {
				t.Errorf("list prefix b/ = %+v, %v", rs, err)
			}
			all, _ := st.ListRecords(ctx, "emu", "")
			if len(all) != 4 || all[0].Key != "a/1" || all[3].Key != "c" {
				t.Errorf("list all = %+v: want 4 in key order", all)
			}
			if none, err := st.ListRecords(ctx, "nothing-here", ""); err != nil || len(none) != 0 {
				t.Errorf("list an empty namespace = %v, %v", none, err)
			}
			// Values handed out are copies.
			all[0].Value[0] = 'X'
			if v, _ := st.GetRecord(ctx, "emu", "a/1"); !bytes.Equal(v, []byte("one")) {
				t.Errorf("mutating a listed value changed the store: %q", v)
			}
			if err := st.DeleteRecord(ctx, "emu", "a/1"); err != nil {
				t.Fatal(err)
			}
			if err := st.DeleteRecord(ctx, "emu", "a/1"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("delete twice: %v", err)
			}
			if _, err := st.GetRecord(ctx, "other", "b/2"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("namespaces leak: %v", err)
			}
			if err := st.PutRecord(ctx, "", "k", nil); err == nil {
				t.Errorf("empty namespace accepted")
			}
			if err := st.PutRecord(ctx, "ns", "", nil); err == nil {
				t.Errorf("empty key accepted")
			}
		}},
		{"Durable", func(t *testing.T) {
			if s.reopen == nil {
				t.Skip("no reopen function given (storetest.WithReopen): durability not checked")
			}
			st := s.newStore(t)
			blob := bytes.Repeat([]byte{0, 1, 2, 255}, 64<<10)
			if err := st.PutRecord(ctxOf(t), "blobs", "k", blob); err != nil {
				t.Fatal(err)
			}
			st = s.reopen(t, st)
			if v, err := st.GetRecord(ctxOf(t), "blobs", "k"); err != nil || !bytes.Equal(v, blob) {
				t.Errorf("after reopen: %d bytes, %v", len(v), err)
			}
		}},
	}
}
