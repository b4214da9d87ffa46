package bolt

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	"go.etcd.io/bbolt"

	"github.com/canopy-cloud/canopy/store"
)

// Auth records live in their own buckets, created on first write, keyed by
// client id and key id, values JSON.
var (
	bucketClients = []byte("auth_clients")
	bucketKeys    = []byte("auth_signing_keys")
)

// putJSON writes one record in its own transaction (fsync'd).
func (s *Store) putJSON(ctx context.Context, bucket []byte, key string, v any, op string) error {
	if err := s.begin(ctx); err != nil {
		return fmt.Errorf("bolt: %s: %w", op, err)
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("bolt: %s: %w", op, err)
	}
	err = s.update(func(tx *bbolt.Tx) (bool, error) {
		b, err := tx.CreateBucketIfNotExists(bucket)
		if err != nil {
			return false, err
		}
		return true, b.Put([]byte(key), raw)
	})
	if err != nil {
		return fmt.Errorf("bolt: %s: %w", op, err)
	}
	return nil
}

// scanJSON calls fn with every record of a bucket, in key order.
func (s *Store) scanJSON(ctx context.Context, bucket []byte, op string, fn func(raw []byte) error) error {
	if err := s.begin(ctx); err != nil {
		return fmt.Errorf("bolt: %s: %w", op, err)
	}
	err := s.view(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucket)
		if b == nil {
			return nil
		}
		return b.ForEach(func(_, v []byte) error { return fn(v) })
	})
	if err != nil {
		return fmt.Errorf("bolt: %s: %w", op, err)
	}
	return nil
}

func (s *Store) deleteKey(ctx context.Context, bucket []byte, key, op string) error {
	if err := s.begin(ctx); err != nil {
		return fmt.Errorf("bolt: %s: %w", op, err)
	}
	err := s.update(func(tx *bbolt.Tx) (bool, error) {
		b := tx.Bucket(bucket)
		if b == nil || b.Get([]byte(key)) == nil {
			return false, store.ErrNotFound
		}
		return true, b.Delete([]byte(key))
	})
	if err != nil {
		return fmt.Errorf("bolt: %s: %w", op, err)
	}
	return nil
}

// PutClient implements store.AuthStore.
func (s *Store) PutClient(ctx context.Context, c store.Client) error {
	if c.ID == "" {
		return fmt.Errorf("bolt: put client: empty id")
	}
	return s.putJSON(ctx, bucketClients, c.ID, c, "put client "+c.ID)
}

// GetClient implements store.AuthStore.
func (s *Store) GetClient(ctx context.Context, id string) (store.Client, error) {
	var c store.Client
	if err := s.begin(ctx); err != nil {
		return c, fmt.Errorf("bolt: get client %s: %w", id, err)
	}
	err := s.view(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketClients)
		var raw []byte
		if b != nil {
			raw = b.Get([]byte(id))
		}
		if raw == nil {
			return store.ErrNotFound
		}
		return json.Unmarshal(raw, &c)
	})
	if err != nil {
		return store.Client{}, fmt.Errorf("bolt: get client %s: %w", id, err)
	}
	return c, nil
}

// ListClients implements store.AuthStore.
func (s *Store) ListClients(ctx context.Context) ([]store.Client, error) {
	var out []store.Client
	err := s.scanJSON(ctx, bucketClients, "list clients", func(raw []byte) error {
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
	return s.deleteKey(ctx, bucketClients, id, "delete client "+id)
}

// PutSigningKey implements store.AuthStore.
func (s *Store) PutSigningKey(ctx context.Context, k store.SigningKey) error {
	if k.ID == "" {
		return fmt.Errorf("bolt: put signing key: empty id")
	}
	return s.putJSON(ctx, bucketKeys, k.ID, k, "put signing key "+k.ID)
}

// ListSigningKeys implements store.AuthStore.
func (s *Store) ListSigningKeys(ctx context.Context) ([]store.SigningKey, error) {
	var out []store.SigningKey
	err := s.scanJSON(ctx, bucketKeys, "list signing keys", func(raw []byte) error {
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
	return s.deleteKey(ctx, bucketKeys, id, "delete signing key "+id)
}
