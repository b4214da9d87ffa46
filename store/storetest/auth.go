package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/canopy-cloud/canopy/store"
)

// authTests cover the AuthStore half of the contract.
func (s *suite) authTests() []test {
	ctx := context.Background()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	client := func(id string) store.Client {
		return store.Client{ID: id, Name: "n-" + id, Project: "p1", Scopes: []string{"canopy.read", "canopy.write"},
			SecretHash: []byte("$2a$10$hash-" + id), Created: t0, SecretUpdated: t0}
	}
	return []test{
		{"ClientRoundTrip", func(t *testing.T) {
			st := s.newStore(t)
			if _, err := st.GetClient(ctx, "c1"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("get missing: %v", err)
			}
			if cs, err := st.ListClients(ctx); err != nil || len(cs) != 0 {
				t.Fatalf("empty list = %v, %v", cs, err)
			}
			for _, id := range []string{"c2", "c1", "c3"} {
				if err := st.PutClient(ctx, client(id)); err != nil {
					t.Fatal(err)
				}
			}
			got, err := st.GetClient(ctx, "c1")
			if err != nil || fmt.Sprint(got) != fmt.Sprint(client("c1")) {
				t.Errorf("get = %+v, %v", got, err)
			}
			cs, err := st.ListClients(ctx)
			if err != nil || len(cs) != 3 || cs[0].ID != "c1" || cs[2].ID != "c3" {
				t.Errorf("list = %v, %v; want c1,c2,c3", cs, err)
			}
			c := client("c1")
			c.SecretHash, c.SecretUpdated = []byte("new"), t0.Add(time.Hour)
			if err := st.PutClient(ctx, c); err != nil {
				t.Fatal(err)
			}
			if got, _ := st.GetClient(ctx, "c1"); string(got.SecretHash) != "new" {
				t.Errorf("replace did not take: %+v", got)
			}
			if err := st.DeleteClient(ctx, "c2"); err != nil {
				t.Fatal(err)
			}
			if err := st.DeleteClient(ctx, "c2"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("delete twice: %v", err)
			}
			if _, err := st.GetClient(ctx, "c2"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("get deleted: %v", err)
			}
			if err := st.PutClient(ctx, store.Client{}); err == nil {
				t.Errorf("client without id accepted")
			}
		}},
		{"SigningKeysNewestFirst", func(t *testing.T) {
			st := s.newStore(t)
			for i, id := range []string{"k1", "k3", "k2"} {
				k := store.SigningKey{ID: id, Algorithm: "ES256", PrivatePEM: []byte("pem-" + id), Created: t0.Add(time.Duration([]int{1, 3, 2}[i]) * time.Minute)}
				if err := st.PutSigningKey(ctx, k); err != nil {
					t.Fatal(err)
				}
			}
			ks, err := st.ListSigningKeys(ctx)
			if err != nil || len(ks) != 3 || ks[0].ID != "k3" || ks[1].ID != "k2" || ks[2].ID != "k1" || string(ks[0].PrivatePEM) != "pem-k3" {
				t.Fatalf("keys = %v, %v", ks, err)
			}
			if err := st.DeleteSigningKey(ctx, "k1"); err != nil {
				t.Fatal(err)
			}
			if err := st.DeleteSigningKey(ctx, "k1"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("delete twice: %v", err)
			}
		}},
		{"AuthSurvivesReopen", func(t *testing.T) {
			if s.reopen == nil {
				t.Skip("no WithReopen harness: durability not testable for this store")
			}
			st := s.newStore(t)
			if err := st.PutClient(ctx, client("c1")); err != nil {
				t.Fatal(err)
			}
			if err := st.PutSigningKey(ctx, store.SigningKey{ID: "k1", Created: t0}); err != nil {
				t.Fatal(err)
			}
			st = s.reopen(t, st)
			if _, err := st.GetClient(ctx, "c1"); err != nil {
				t.Errorf("client after reopen: %v", err)
			}
			if ks, _ := st.ListSigningKeys(ctx); len(ks) != 1 {
				t.Errorf("keys after reopen: %v", ks)
			}
		}},
		{"AuthContextAndClosed", func(t *testing.T) {
			st := s.newStore(t)
			cctx, cancel := context.WithCancel(ctx)
			cancel()
			if err := st.PutClient(cctx, client("c1")); !errors.Is(err, context.Canceled) {
				t.Errorf("put with cancelled context: %v", err)
			}
			st.Close()
			if _, err := st.ListClients(ctx); !errors.Is(err, store.ErrClosed) {
				t.Errorf("list after close: %v", err)
			}
		}},
	}
}
