package etcd

import (
	"bytes"
	"context"
	"fmt"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/canopy-cloud/canopy/store"
)

// Records are v1/rec/<namespace>/<key> → value (see the package doc): the
// key is the last component, unescaped, so etcd's key order is the records'
// key order and a prefix of keys is a prefix of etcd keys.

func checkRecordKey(ns, key string) error {
	if ns == "" || key == "" {
		return fmt.Errorf("namespace and key are required (got %q, %q)", ns, key)
	}
	return nil
}

// putKey writes one key unconditionally (a retry after a lost answer
// writes the same bytes again).
func (s *Store) putKey(ctx context.Context, key string, value []byte) error {
	return s.update(ctx, func(context.Context, *snap, bool) ([]clientv3.Op, error) {
		return []clientv3.Op{clientv3.OpPut(key, string(value))}, nil
	})
}

// getKey reads one key; a missing one is store.ErrNotFound.
func (s *Store) getKey(ctx context.Context, key string) ([]byte, error) {
	var out []byte
	err := s.read(ctx, func(ctx context.Context, sn *snap) error {
		v, ok, err := sn.get(ctx, key)
		if err != nil {
			return err
		}
		if !ok {
			return store.ErrNotFound
		}
		out = v
		return nil
	})
	return out, err
}

// deleteKey removes one key; a missing one is store.ErrNotFound, except
// after a lost answer, when the earlier try removed it.
func (s *Store) deleteKey(ctx context.Context, key string) error {
	return s.update(ctx, func(ctx context.Context, sn *snap, ambiguous bool) ([]clientv3.Op, error) {
		_, ok, err := sn.get(ctx, key)
		switch {
		case err != nil:
			return nil, err
		case !ok && ambiguous:
			return nil, nil
		case !ok:
			return nil, store.ErrNotFound
		}
		return []clientv3.Op{clientv3.OpDelete(key)}, nil
	})
}

// scanKeys returns every key under prefix, in key order, at one revision.
func (s *Store) scanKeys(ctx context.Context, prefix string) ([]*mvccpb.KeyValue, error) {
	var out []*mvccpb.KeyValue
	err := s.read(ctx, func(ctx context.Context, sn *snap) error {
		out = out[:0] // a retry starts over
		return sn.scan(ctx, prefix, func(kv *mvccpb.KeyValue) error {
			out = append(out, kv)
			return nil
		})
	})
	return out, err
}

// PutRecord implements store.RecordStore.
func (s *Store) PutRecord(ctx context.Context, ns, key string, value []byte) error {
	if err := s.begin(ctx); err != nil {
		return fmt.Errorf("etcd: put record %s/%s: %w", ns, key, err)
	}
	if err := checkRecordKey(ns, key); err != nil {
		return fmt.Errorf("etcd: put record: %w", err)
	}
	if err := s.putKey(ctx, s.k.record(ns, key), value); err != nil {
		return fmt.Errorf("etcd: put record %s/%s: %w", ns, key, err)
	}
	return nil
}

// CreateRecord implements store.RecordStore: one transaction guarded on the
// key being absent, so of N racing callers (in this process or in other
// replicas) exactly one commits; the others read the winner's value. After
// a lost answer, finding the key holding this call's very value counts as
// this call's win: racers for a claim write values that name themselves.
func (s *Store) CreateRecord(ctx context.Context, ns, key string, value []byte) ([]byte, bool, error) {
	if err := s.begin(ctx); err != nil {
		return nil, false, fmt.Errorf("etcd: create record %s/%s: %w", ns, key, err)
	}
	if err := checkRecordKey(ns, key); err != nil {
		return nil, false, fmt.Errorf("etcd: create record: %w", err)
	}
	var cur []byte
	var created bool
	err := s.update(ctx, func(ctx context.Context, sn *snap, ambiguous bool) ([]clientv3.Op, error) {
		v, ok, err := sn.get(ctx, s.k.record(ns, key))
		if err != nil {
			return nil, err
		}
		if ok {
			cur, created = v, ambiguous && bytes.Equal(v, value)
			return nil, nil
		}
		cur, created = append([]byte{}, value...), true
		return []clientv3.Op{clientv3.OpPut(s.k.record(ns, key), string(value))}, nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("etcd: create record %s/%s: %w", ns, key, err)
	}
	if cur == nil {
		cur = []byte{}
	}
	return cur, created, nil
}

// GetRecord implements store.RecordStore.
func (s *Store) GetRecord(ctx context.Context, ns, key string) ([]byte, error) {
	if err := s.begin(ctx); err != nil {
		return nil, fmt.Errorf("etcd: get record %s/%s: %w", ns, key, err)
	}
	v, err := s.getKey(ctx, s.k.record(ns, key))
	if err != nil {
		return nil, fmt.Errorf("etcd: get record %s/%s: %w", ns, key, err)
	}
	if v == nil {
		v = []byte{}
	}
	return v, nil
}

// ListRecords implements store.RecordStore.
func (s *Store) ListRecords(ctx context.Context, ns, prefix string) ([]store.Record, error) {
	if err := s.begin(ctx); err != nil {
		return nil, fmt.Errorf("etcd: list records %s: %w", ns, err)
	}
	base := s.k.records(ns)
	kvs, err := s.scanKeys(ctx, base+prefix)
	if err != nil {
		return nil, fmt.Errorf("etcd: list records %s: %w", ns, err)
	}
	var out []store.Record
	for _, kv := range kvs {
		v := kv.Value
		if v == nil {
			v = []byte{}
		}
		out = append(out, store.Record{Key: string(kv.Key[len(base):]), Value: v})
	}
	return out, nil
}

// DeleteRecord implements store.RecordStore.
func (s *Store) DeleteRecord(ctx context.Context, ns, key string) error {
	if err := s.begin(ctx); err != nil {
		return fmt.Errorf("etcd: delete record %s/%s: %w", ns, key, err)
	}
	if err := s.deleteKey(ctx, s.k.record(ns, key)); err != nil {
		return fmt.Errorf("etcd: delete record %s/%s: %w", ns, key, err)
	}
	return nil
}
