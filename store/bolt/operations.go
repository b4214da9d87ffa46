package bolt

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"go.etcd.io/bbolt"

	"github.com/canopy-cloud/canopy/store"
)

// Operations and records live in buckets created on first write:
//
//	operations   id → operation (JSON)
//	op_requests  tuple(project, request id) → id      (CreateOperation idempotency)
//	records      namespace → (nested bucket) key → value
//
// Records sit in one nested bucket per namespace, so a prefix scan of keys
// is a cursor seek within it. Every write is one fsync'd transaction.
var (
	bucketOps        = []byte("operations")
	bucketOpRequests = []byte("op_requests")
	bucketRecords    = []byte("records")
)

func getOp(tx *bbolt.Tx, id string) (store.Operation, error) {
	b := tx.Bucket(bucketOps)
	if b == nil {
		return store.Operation{}, store.ErrNotFound
	}
	v := b.Get([]byte(id))
	if v == nil {
		return store.Operation{}, store.ErrNotFound
	}
	var op store.Operation
	if err := json.Unmarshal(v, &op); err != nil {
		return store.Operation{}, fmt.Errorf("corrupt operation %s: %w", id, err)
	}
	return op, nil
}

func putOp(tx *bbolt.Tx, op store.Operation) error {
	raw, err := json.Marshal(op)
	if err != nil {
		return err
	}
	b, err := tx.CreateBucketIfNotExists(bucketOps)
	if err != nil {
		return err
	}
	return b.Put([]byte(op.ID), raw)
}

// CreateOperation implements store.OperationStore.
func (s *Store) CreateOperation(ctx context.Context, op store.Operation) (store.Operation, bool, error) {
	if err := s.begin(ctx); err != nil {
		return store.Operation{}, false, fmt.Errorf("bolt: create operation: %w", err)
	}
	if op.Kind == "" {
		return store.Operation{}, false, errors.New("bolt: create operation: kind is required")
	}
	if op.ID == "" {
		op.ID = store.NewID()
	}
	now := normalize(s.now())
	op.Created, op.Updated = now, now
	got, created := op, true
	err := s.update(func(tx *bbolt.Tx) (bool, error) {
		if op.RequestID != "" {
			if rb := tx.Bucket(bucketOpRequests); rb != nil {
				if id := rb.Get(tuple(op.Project, op.RequestID)); id != nil {
					existing, err := getOp(tx, string(id))
					if err != nil {
						return false, fmt.Errorf("request id %q → %s: %w", op.RequestID, id, err)
					}
					got, created = existing, false
					return false, nil
				}
			}
		}
		if _, err := getOp(tx, op.ID); err == nil {
			return false, fmt.Errorf("operation id already in use: %w", store.ErrConflict)
		}
		if op.RequestID != "" {
			rb, err := tx.CreateBucketIfNotExists(bucketOpRequests)
			if err != nil {
				return false, err
			}
			if err := rb.Put(tuple(op.Project, op.RequestID), []byte(op.ID)); err != nil {
				return false, err
			}
		}
		return true, putOp(tx, op)
	})
	if err != nil {
		return store.Operation{}, false, fmt.Errorf("bolt: create operation %s: %w", op.ID, err)
	}
	return got, created, nil
}

// GetOperation implements store.OperationStore.
func (s *Store) GetOperation(ctx context.Context, id string) (store.Operation, error) {
	if err := s.begin(ctx); err != nil {
		return store.Operation{}, fmt.Errorf("bolt: get operation %s: %w", id, err)
	}
	var op store.Operation
	err := s.view(func(tx *bbolt.Tx) (err error) {
		op, err = getOp(tx, id)
		return err
	})
	if err != nil {
		return store.Operation{}, fmt.Errorf("bolt: get operation %s: %w", id, err)
	}
	return op, nil
}

// UpdateOperation implements store.OperationStore.
func (s *Store) UpdateOperation(ctx context.Context, op store.Operation) (store.Operation, error) {
	if err := s.begin(ctx); err != nil {
		return store.Operation{}, fmt.Errorf("bolt: update operation %s: %w", op.ID, err)
	}
	err := s.update(func(tx *bbolt.Tx) (bool, error) {
		old, err := getOp(tx, op.ID)
		if err != nil {
			return false, err
		}
		if old.Done {
			return false, fmt.Errorf("operation is done: %w", store.ErrConflict)
		}
		op.Project, op.Kind, op.RequestID, op.RequestHash, op.Created = old.Project, old.Kind, old.RequestID, old.RequestHash, old.Created
		op.CancelRequested = op.CancelRequested || old.CancelRequested
		op.Updated = normalize(s.now())
		return true, putOp(tx, op)
	})
	if err != nil {
		return store.Operation{}, fmt.Errorf("bolt: update operation %s: %w", op.ID, err)
	}
	return op, nil
}

// CancelOperation implements store.OperationStore.
func (s *Store) CancelOperation(ctx context.Context, id string) (store.Operation, error) {
	if err := s.begin(ctx); err != nil {
		return store.Operation{}, fmt.Errorf("bolt: cancel operation %s: %w", id, err)
	}
	var op store.Operation
	err := s.update(func(tx *bbolt.Tx) (bool, error) {
		var err error
		if op, err = getOp(tx, id); err != nil {
			return false, err
		}
		if op.Done || op.CancelRequested {
			return false, nil
		}
		op.CancelRequested, op.Updated = true, normalize(s.now())
		return true, putOp(tx, op)
	})
	if err != nil {
		return store.Operation{}, fmt.Errorf("bolt: cancel operation %s: %w", id, err)
	}
	return op, nil
}

// ListOperations implements store.OperationStore.
func (s *Store) ListOperations(ctx context.Context, f store.OperationFilter) ([]store.Operation, error) {
	if err := s.begin(ctx); err != nil {
		return nil, fmt.Errorf("bolt: list operations: %w", err)
	}
	var out []store.Operation
	err := s.view(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketOps)
		if b == nil {
			return nil
		}
		if f.Project != "" && f.RequestID != "" {
			// The request index names the one candidate.
			rb := tx.Bucket(bucketOpRequests)
			if rb == nil {
				return nil
			}
			id := rb.Get(tuple(f.Project, f.RequestID))
			if id == nil {
				return nil
			}
			op, err := getOp(tx, string(id))
			if err != nil {
				return err
			}
			if f.Match(op) {
				out = append(out, op)
			}
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			var op store.Operation
			if err := json.Unmarshal(v, &op); err != nil {
				return fmt.Errorf("corrupt operation %s: %w", k, err)
			}
			if f.Match(op) {
				out = append(out, op)
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("bolt: list operations: %w", err)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Created.Equal(out[j].Created) {
			return out[i].Created.Before(out[j].Created)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// DeleteOperation implements store.OperationStore.
func (s *Store) DeleteOperation(ctx context.Context, id string) error {
	if err := s.begin(ctx); err != nil {
		return fmt.Errorf("bolt: delete operation %s: %w", id, err)
	}
	err := s.update(func(tx *bbolt.Tx) (bool, error) {
		op, err := getOp(tx, id)
		if err != nil {
			return false, err
		}
		if op.RequestID != "" {
			if rb := tx.Bucket(bucketOpRequests); rb != nil {
				key := tuple(op.Project, op.RequestID)
				if string(rb.Get(key)) == id {
					if err := rb.Delete(key); err != nil {
						return false, err
					}
				}
			}
		}
		return true, tx.Bucket(bucketOps).Delete([]byte(id))
	})
	if err != nil {
		return fmt.Errorf("bolt: delete operation %s: %w", id, err)
	}
	return nil
}

// ---------------------------------------------------------------- records

func recordsOf(tx *bbolt.Tx, ns string) *bbolt.Bucket {
	b := tx.Bucket(bucketRecords)
	if b == nil {
		return nil
	}
	return b.Bucket([]byte(ns))
}

func checkRecordKey(ns, key string) error {
	if ns == "" || key == "" {
		return fmt.Errorf("namespace and key are required (got %q, %q)", ns, key)
	}
	return nil
}

// PutRecord implements store.RecordStore.
func (s *Store) PutRecord(ctx context.Context, ns, key string, value []byte) error {
	if err := s.begin(ctx); err != nil {
		return fmt.Errorf("bolt: put record %s/%s: %w", ns, key, err)
	}
	if err := checkRecordKey(ns, key); err != nil {
		return fmt.Errorf("bolt: put record: %w", err)
	}
	err := s.update(func(tx *bbolt.Tx) (bool, error) {
		root, err := tx.CreateBucketIfNotExists(bucketRecords)
		if err != nil {
			return false, err
		}
		b, err := root.CreateBucketIfNotExists([]byte(ns))
		if err != nil {
			return false, err
		}
		if value == nil {
			value = []byte{}
		}
		return true, b.Put([]byte(key), value)
	})
	if err != nil {
		return fmt.Errorf("bolt: put record %s/%s: %w", ns, key, err)
	}
	return nil
}

// CreateRecord implements store.RecordStore: the check and the write are
// one bbolt transaction.
func (s *Store) CreateRecord(ctx context.Context, ns, key string, value []byte) ([]byte, bool, error) {
	if err := s.begin(ctx); err != nil {
		return nil, false, fmt.Errorf("bolt: create record %s/%s: %w", ns, key, err)
	}
	if err := checkRecordKey(ns, key); err != nil {
		return nil, false, fmt.Errorf("bolt: create record: %w", err)
	}
	if value == nil {
		value = []byte{}
	}
	var cur []byte
	created := false
	err := s.update(func(tx *bbolt.Tx) (bool, error) {
		root, err := tx.CreateBucketIfNotExists(bucketRecords)
		if err != nil {
			return false, err
		}
		b, err := root.CreateBucketIfNotExists([]byte(ns))
		if err != nil {
			return false, err
		}
		if v := b.Get([]byte(key)); v != nil {
			cur = append([]byte{}, v...)
			return false, nil
		}
		created, cur = true, append([]byte{}, value...)
		return true, b.Put([]byte(key), value)
	})
	if err != nil {
		return nil, false, fmt.Errorf("bolt: create record %s/%s: %w", ns, key, err)
	}
	return cur, created, nil
}

// GetRecord implements store.RecordStore.
func (s *Store) GetRecord(ctx context.Context, ns, key string) ([]byte, error) {
	if err := s.begin(ctx); err != nil {
		return nil, fmt.Errorf("bolt: get record %s/%s: %w", ns, key, err)
	}
	var out []byte
	err := s.view(func(tx *bbolt.Tx) error {
		b := recordsOf(tx, ns)
		if b == nil {
			return store.ErrNotFound
		}
		v := b.Get([]byte(key))
		if v == nil {
			return store.ErrNotFound
		}
		out = append([]byte{}, v...) // v is only valid inside the transaction
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("bolt: get record %s/%s: %w", ns, key, err)
	}
	return out, nil
}

// ListRecords implements store.RecordStore.
func (s *Store) ListRecords(ctx context.Context, ns, prefix string) ([]store.Record, error) {
	if err := s.begin(ctx); err != nil {
		return nil, fmt.Errorf("bolt: list records %s: %w", ns, err)
	}
	var out []store.Record
	err := s.view(func(tx *bbolt.Tx) error {
		b := recordsOf(tx, ns)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		p := []byte(prefix)
		for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
			out = append(out, store.Record{Key: string(k), Value: append([]byte{}, v...)})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("bolt: list records %s: %w", ns, err)
	}
	return out, nil
}

// DeleteRecord implements store.RecordStore.
func (s *Store) DeleteRecord(ctx context.Context, ns, key string) error {
	if err := s.begin(ctx); err != nil {
		return fmt.Errorf("bolt: delete record %s/%s: %w", ns, key, err)
	}
	err := s.update(func(tx *bbolt.Tx) (bool, error) {
		b := recordsOf(tx, ns)
		if b == nil || b.Get([]byte(key)) == nil {
			return false, store.ErrNotFound
		}
		return true, b.Delete([]byte(key))
	})
	if err != nil {
		return fmt.Errorf("bolt: delete record %s/%s: %w", ns, key, err)
	}
	return nil
}
