package etcd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/canopy-cloud/canopy/store"
)

// OAuth clients are v1/client/<id> and signing keys v1/key/<id>, values
// JSON (see the package doc). A put replaces the whole record in one write,
// so every replica reads either the old client or the new one, and a key
// rotation (put the new key, retire the old) is visible to all replicas as
// soon as each write returns.

func (s *Store) putJSON(ctx context.Context, key string, v any, op string) error {
	if err := s.begin(ctx); err != nil {
		return fmt.Errorf("etcd: %s: %w", op, err)
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("etcd: %s: %w", op, err)
	}
	if err := s.putKey(ctx, key, raw); err != nil {
		return fmt.Errorf("etcd: %s: %w", op, err)
	}
	return nil
}

func (s *Store) scanJSON(ctx context.Context, prefix, op string, fn func(raw []byte) error) error {
	if err := s.begin(ctx); err != nil {
		return fmt.Errorf("etcd: %s: %w", op, err)
	}
	kvs, err := s.scanKeys(ctx, prefix)
	if err != nil {
		return fmt.Errorf("etcd: %s: %w", op, err)
	}
	for _, kv := range kvs {
		if err := fn(kv.Value); err != nil {
			return fmt.Errorf("etcd: %s: %s: %w", op, kv.Key, err)
		}
	}
	return nil
}

func (s *Store) deleteJSON(ctx context.Context, key, op string) error {
	if err := s.begin(ctx); err != nil {
		return fmt.Errorf("etcd: %s: %w", op, err)
	}
	if err := s.deleteKey(ctx, key); err != nil {
		return fmt.Errorf("etcd: %s: %w", op, err)
	}
	return nil
}

// PutClient implements store.AuthStore.
func (s *Store) PutClient(ctx context.Context, c store.Client) error {
	if c.ID == "" {
		return errors.New("etcd: put client: empty id")
	}
	return s.putJSON(ctx, s.k.client(c.ID), c, "put client "+c.ID)
}

// GetClient implements store.AuthStore.
func (s *Store) GetClient(ctx context.Context, id string) (store.Client, error) {
	if err := s.begin(ctx); err != nil {
		return store.Client{}, fmt.Errorf("etcd: get client %s: %w", id, err)
	}
	raw, err := s.getKey(ctx, s.k.client(id))
	var c store.Client
	if err == nil {
		err = json.Unmarshal(raw, &c)
	}
	if err != nil {
		return store.Client{}, fmt.Errorf("etcd: get client %s: %w", id, err)
	}
	return c, nil
}

// ListClients implements store.AuthStore: in key order, which is id order.
func (s *Store) ListClients(ctx context.Context) ([]store.Client, error) {
	var out []store.Client
	err := s.scanJSON(ctx, s.k.clients(), "list clients", func(raw []byte) error {
		var c store.Client
		if err := json.Unmarshal(raw, &c); err != nil {
			return err
		}
		out = append(out, c)
		return nil
	})
	return out, err
}

// DeleteClient implements store.AuthStore.
func (s *Store) DeleteClient(ctx context.Context, id string) error {
	return s.deleteJSON(ctx, s.k.client(id), "delete client "+id)
}

// PutSigningKey implements store.AuthStore.
func (s *Store) PutSigningKey(ctx context.Context, k store.SigningKey) error {
	if k.ID == "" {
		return errors.New("etcd: put signing key: empty id")
	}
	return s.putJSON(ctx, s.k.signingKey(k.ID), k, "put signing key "+k.ID)
}

// ListSigningKeys implements store.AuthStore: newest first (ties in id
// order).
func (s *Store) ListSigningKeys(ctx context.Context) ([]store.SigningKey, error) {
	var out []store.SigningKey
	err := s.scanJSON(ctx, s.k.signingKeys(), "list signing keys", func(raw []byte) error {
		var k store.SigningKey
		if err := json.Unmarshal(raw, &k); err != nil {
			return err
		}
		out = append(out, k)
		return nil
	})
	sort.SliceStable(out, func(i, j int) bool { return out[i].Created.After(out[j].Created) })
	return out, err
}

// DeleteSigningKey implements store.AuthStore.
func (s *Store) DeleteSigningKey(ctx context.Context, id string) error {
	return s.deleteJSON(ctx, s.k.signingKey(id), "delete signing key "+id)
}
