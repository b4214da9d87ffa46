package etcd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/canopy-cloud/canopy/store"
)

// Operations are JSON under v1/op/<id>, their request ids under
// v1/opreq/<project>/<request id> (see the package doc). Every change is one
// transaction guarded on the operation as it was read, so a step and a
// cancel racing each other both land, one after the other.

func decodeOp(raw []byte, id string) (store.Operation, error) {
	var op store.Operation
	if err := json.Unmarshal(raw, &op); err != nil {
		return store.Operation{}, fmt.Errorf("corrupt operation %s: %w", id, err)
	}
	return op, nil
}

// operation reads an operation through sn; a missing one is ErrNotFound.
func (sn *snap) operation(ctx context.Context, id string) (store.Operation, []byte, error) {
	raw, ok, err := sn.get(ctx, sn.s.k.op(id))
	if err != nil {
		return store.Operation{}, nil, err
	}
	if !ok {
		return store.Operation{}, nil, store.ErrNotFound
	}
	op, err := decodeOp(raw, id)
	return op, raw, err
}

// CreateOperation implements store.OperationStore.
func (s *Store) CreateOperation(ctx context.Context, op store.Operation) (store.Operation, bool, error) {
	if err := s.begin(ctx); err != nil {
		return store.Operation{}, false, fmt.Errorf("etcd: create operation: %w", err)
	}
	if op.Kind == "" {
		return store.Operation{}, false, errors.New("etcd: create operation: kind is required")
	}
	if op.ID == "" {
		op.ID = store.NewID()
	}
	now := normalize(s.now())
	op.Created, op.Updated = now, now
	mine, err := json.Marshal(op)
	if err != nil {
		return store.Operation{}, false, fmt.Errorf("etcd: create operation %s: %w", op.ID, err)
	}
	var got store.Operation
	var created bool
	err = s.update(ctx, func(ctx context.Context, sn *snap, ambiguous bool) ([]clientv3.Op, error) {
		if op.RequestID != "" {
			id, ok, err := sn.get(ctx, s.k.opreq(op.Project, op.RequestID))
			if err != nil {
				return nil, err
			}
			if ok {
				existing, _, err := sn.operation(ctx, string(id))
				if err != nil {
					return nil, fmt.Errorf("request id %q → %s: %w", op.RequestID, id, err)
				}
				got, created = existing, ambiguous && existing.ID == op.ID
				return nil, nil
			}
		}
		raw, ok, err := sn.get(ctx, s.k.op(op.ID))
		if err != nil {
			return nil, err
		}
		if ok {
			if ambiguous && bytes.Equal(raw, mine) {
				got, created = op, true // our own write, whose answer was lost
				return nil, nil
			}
			return nil, fmt.Errorf("operation id already in use: %w", store.ErrConflict)
		}
		w := newWrites()
		w.put(s.k.op(op.ID), mine)
		if op.RequestID != "" {
			w.put(s.k.opreq(op.Project, op.RequestID), []byte(op.ID))
		}
		got, created = op, true
		return w.ops(), nil
	})
	if err != nil {
		return store.Operation{}, false, fmt.Errorf("etcd: create operation %s: %w", op.ID, err)
	}
	return got, created, nil
}

// GetOperation implements store.OperationStore.
func (s *Store) GetOperation(ctx context.Context, id string) (store.Operation, error) {
	if err := s.begin(ctx); err != nil {
		return store.Operation{}, fmt.Errorf("etcd: get operation %s: %w", id, err)
	}
	var op store.Operation
	err := s.read(ctx, func(ctx context.Context, sn *snap) (err error) {
		op, _, err = sn.operation(ctx, id)
		return err
	})
	if err != nil {
		return store.Operation{}, fmt.Errorf("etcd: get operation %s: %w", id, err)
	}
	return op, nil
}

// UpdateOperation implements store.OperationStore. After a lost answer, an
// operation that already reads as this update would leave it is this
// update's own write (even when that write made it done).
func (s *Store) UpdateOperation(ctx context.Context, op store.Operation) (store.Operation, error) {
	if err := s.begin(ctx); err != nil {
		return store.Operation{}, fmt.Errorf("etcd: update operation %s: %w", op.ID, err)
	}
	updated := normalize(s.now())
	var out store.Operation
	err := s.update(ctx, func(ctx context.Context, sn *snap, ambiguous bool) ([]clientv3.Op, error) {
		old, raw, err := sn.operation(ctx, op.ID)
		if err != nil {
			return nil, err
		}
		next := op
		next.Project, next.Kind, next.RequestID, next.RequestHash, next.Created = old.Project, old.Kind, old.RequestID, old.RequestHash, old.Created
		next.CancelRequested = op.CancelRequested || old.CancelRequested
		next.Updated = updated
		enc, err := json.Marshal(next)
		if err != nil {
			return nil, err
		}
		if ambiguous && bytes.Equal(raw, enc) {
			out = next
			return nil, nil
		}
		if old.Done {
			return nil, fmt.Errorf("operation is done: %w", store.ErrConflict)
		}
		out = next
		w := newWrites()
		w.put(s.k.op(op.ID), enc)
		return w.ops(), nil
	})
	if err != nil {
		return store.Operation{}, fmt.Errorf("etcd: update operation %s: %w", op.ID, err)
	}
	return out, nil
}

// CancelOperation implements store.OperationStore.
func (s *Store) CancelOperation(ctx context.Context, id string) (store.Operation, error) {
	if err := s.begin(ctx); err != nil {
		return store.Operation{}, fmt.Errorf("etcd: cancel operation %s: %w", id, err)
	}
	var op store.Operation
	err := s.update(ctx, func(ctx context.Context, sn *snap, _ bool) ([]clientv3.Op, error) {
		var err error
		if op, _, err = sn.operation(ctx, id); err != nil {
			return nil, err
		}
		if op.Done || op.CancelRequested {
			return nil, nil
		}
		op.CancelRequested, op.Updated = true, normalize(s.now())
		raw, err := json.Marshal(op)
		if err != nil {
			return nil, err
		}
		w := newWrites()
		w.put(s.k.op(id), raw)
		return w.ops(), nil
	})
	if err != nil {
		return store.Operation{}, fmt.Errorf("etcd: cancel operation %s: %w", id, err)
	}
	return op, nil
}

// ListOperations implements store.OperationStore. With a project and a
// request id the request index names the one candidate; otherwise every
// operation is read (a range scan) and filtered.
func (s *Store) ListOperations(ctx context.Context, f store.OperationFilter) ([]store.Operation, error) {
	if err := s.begin(ctx); err != nil {
		return nil, fmt.Errorf("etcd: list operations: %w", err)
	}
	var out []store.Operation
	err := s.read(ctx, func(ctx context.Context, sn *snap) error {
		out = out[:0]
		if f.Project != "" && f.RequestID != "" {
			id, ok, err := sn.get(ctx, s.k.opreq(f.Project, f.RequestID))
			if err != nil || !ok {
				return err
			}
			op, _, err := sn.operation(ctx, string(id))
			if err != nil {
				return fmt.Errorf("request id %q → %s: %w", f.RequestID, id, err)
			}
			if f.Match(op) {
				out = append(out, op)
			}
			return nil
		}
		return sn.scan(ctx, s.k.ops(), func(kv *mvccpb.KeyValue) error {
			op, err := decodeOp(kv.Value, string(kv.Key))
			if err != nil {
				return err
			}
			if f.Match(op) {
				out = append(out, op)
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("etcd: list operations: %w", err)
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
		return fmt.Errorf("etcd: delete operation %s: %w", id, err)
	}
	err := s.update(ctx, func(ctx context.Context, sn *snap, ambiguous bool) ([]clientv3.Op, error) {
		op, _, err := sn.operation(ctx, id)
		if ambiguous && isNotFound(err) {
			return nil, nil // the earlier try deleted it
		}
		if err != nil {
			return nil, err
		}
		w := newWrites()
		if op.RequestID != "" {
			key := s.k.opreq(op.Project, op.RequestID)
			cur, ok, err := sn.get(ctx, key)
			if err != nil {
				return nil, err
			}
			if ok && string(cur) == id {
				w.del(key)
			}
		}
		w.del(s.k.op(id))
		return w.ops(), nil
	})
	if err != nil {
		return fmt.Errorf("etcd: delete operation %s: %w", id, err)
	}
	return nil
}
