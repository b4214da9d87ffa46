package etcd

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/canopy-cloud/canopy/store"
)

// record is the stored form of a store.Mapping: the same JSON the bbolt
// store writes, so a mapping reads the same whichever store holds it.
type record struct {
	ID        string    `json:"id"`
	Cloud     string    `json:"cloud"`
	Kind      string    `json:"kind"`
	NativeID  string    `json:"native,omitempty"`
	Project   string    `json:"project,omitempty"`
	RequestID string    `json:"request,omitempty"`
	Created   time.Time `json:"created"`
}

func encode(m store.Mapping) ([]byte, error) { return json.Marshal(record(m)) }

func decode(b []byte) (store.Mapping, error) {
	var r record
	if err := json.Unmarshal(b, &r); err != nil {
		return store.Mapping{}, fmt.Errorf("corrupt mapping: %w", err)
	}
	return store.Mapping(r), nil
}

// mapping reads a mapping through sn; a missing one is store.ErrNotFound.
func (sn *snap) mapping(ctx context.Context, id string) (store.Mapping, []byte, error) {
	raw, ok, err := sn.get(ctx, sn.s.k.mapping(id))
	if err != nil {
		return store.Mapping{}, nil, err
	}
	if !ok {
		return store.Mapping{}, nil, store.ErrNotFound
	}
	m, err := decode(raw)
	return m, raw, err
}

// putMapping writes m, its copy in the list index and its index entries.
func (s *Store) putMapping(w *writes, m store.Mapping) error {
	raw, err := encode(m)
	if err != nil {
		return err
	}
	w.put(s.k.mapping(m.ID), raw)
	w.put(s.k.list(m.Cloud, m.Kind)+m.ID, raw)
	if m.NativeID != "" {
		w.put(s.k.native(m.Cloud, m.Kind, m.NativeID), []byte(m.ID))
	}
	if m.RequestID != "" {
		w.put(s.k.mreq(m.Project, m.Kind, m.RequestID), []byte(m.ID))
	}
	return nil
}

// removeMapping deletes m and every index entry that still points at it
// (read through sn, so the write is guarded on them).
func (sn *snap) removeMapping(ctx context.Context, w *writes, m store.Mapping) error {
	k := sn.s.k
	var idx []string
	if m.NativeID != "" {
		idx = append(idx, k.native(m.Cloud, m.Kind, m.NativeID))
	}
	if m.RequestID != "" {
		idx = append(idx, k.mreq(m.Project, m.Kind, m.RequestID))
	}
	kvs, err := sn.getMany(ctx, idx)
	if err != nil {
		return err
	}
	for i, kv := range kvs {
		if kv != nil && string(kv.Value) == m.ID {
			w.del(idx[i])
		}
	}
	w.del(k.mapping(m.ID))
	w.del(k.list(m.Cloud, m.Kind) + m.ID)
	return nil
}

// Reserve implements store.IDMap. A mapping given with a NativeID is bound at
// once (and conflicts like Bind); a given ID that is already taken is
// ErrConflict rather than an overwrite, which would lose the other mapping.
func (s *Store) Reserve(ctx context.Context, m store.Mapping) (store.Mapping, bool, error) {
	if err := s.begin(ctx); err != nil {
		return store.Mapping{}, false, fmt.Errorf("etcd: reserve: %w", err)
	}
	if m.Cloud == "" || m.Kind == "" {
		return store.Mapping{}, false, fmt.Errorf("etcd: reserve: cloud and kind are required (got %q, %q)", m.Cloud, m.Kind)
	}
	if m.ID == "" {
		m.ID = store.NewID()
	}
	if m.Created.IsZero() {
		m.Created = s.now()
	}
	m.Created = normalize(m.Created)
	mine, err := encode(m)
	if err != nil {
		return store.Mapping{}, false, fmt.Errorf("etcd: reserve %s: %w", m.ID, err)
	}

	var got store.Mapping
	var created bool
	err = s.update(ctx, func(ctx context.Context, sn *snap, ambiguous bool) ([]clientv3.Op, error) {
		if m.RequestID != "" {
			id, ok, err := sn.get(ctx, s.k.mreq(m.Project, m.Kind, m.RequestID))
			if err != nil {
				return nil, err
			}
			if ok {
				existing, _, err := sn.mapping(ctx, string(id))
				if err != nil {
					return nil, fmt.Errorf("request id %q → %s: %w", m.RequestID, id, err)
				}
				// After a lost answer, the mapping under our own id is
				// the one this call wrote.
				got, created = existing, ambiguous && existing.ID == m.ID
				return nil, nil
			}
		}
		raw, ok, err := sn.get(ctx, s.k.mapping(m.ID))
		if err != nil {
			return nil, err
		}
		if ok {
			if ambiguous && bytes.Equal(raw, mine) {
				got, created = m, true
				return nil, nil
			}
			return nil, fmt.Errorf("id already in use: %w", store.ErrConflict)
		}
		if m.NativeID != "" {
			other, ok, err := sn.get(ctx, s.k.native(m.Cloud, m.Kind, m.NativeID))
			if err != nil {
				return nil, err
			}
			if ok {
				return nil, fmt.Errorf("%s %s %q is already mapped to %s: %w", m.Cloud, m.Kind, m.NativeID, other, store.ErrConflict)
			}
		}
		w := newWrites()
		if err := s.putMapping(w, m); err != nil {
			return nil, err
		}
		got, created = m, true
		return w.ops(), nil
	})
	if err != nil {
		return store.Mapping{}, false, fmt.Errorf("etcd: reserve %s: %w", m.ID, err)
	}
	return got, created, nil
}

// Bind implements store.IDMap.
func (s *Store) Bind(ctx context.Context, id, nativeID string) (store.Mapping, error) {
	if err := s.begin(ctx); err != nil {
		return store.Mapping{}, fmt.Errorf("etcd: bind %s: %w", id, err)
	}
	if nativeID == "" {
		return store.Mapping{}, fmt.Errorf("etcd: bind %s: empty native id", id)
	}
	var m store.Mapping
	err := s.update(ctx, func(ctx context.Context, sn *snap, _ bool) ([]clientv3.Op, error) {
		var err error
		if m, _, err = sn.mapping(ctx, id); err != nil {
			return nil, err
		}
		switch m.NativeID {
		case nativeID:
			return nil, nil // already bound to it: idempotent (also after a lost answer)
		case "":
		default:
			return nil, fmt.Errorf("already bound to %q, not %q: %w", m.NativeID, nativeID, store.ErrConflict)
		}
		w := newWrites()
		other, ok, err := sn.get(ctx, s.k.native(m.Cloud, m.Kind, nativeID))
		if err != nil {
			return nil, err
		}
		if ok && string(other) == store.AdoptedID(m.Cloud, m.Kind, nativeID) {
			// A list adopted the resource between the cloud's answer and
			// this bind: the id canopy already handed out wins.
			adopted, _, err := sn.mapping(ctx, string(other))
			if err != nil {
				return nil, fmt.Errorf("adopted %s: %w", other, err)
			}
			if err := sn.removeMapping(ctx, w, adopted); err != nil {
				return nil, err
			}
		} else if ok {
			return nil, fmt.Errorf("%s %s %q is already mapped to %s: %w", m.Cloud, m.Kind, nativeID, other, store.ErrConflict)
		}
		m.NativeID = nativeID
		if err := s.putMapping(w, m); err != nil {
			return nil, err
		}
		return w.ops(), nil
	})
	if err != nil {
		return store.Mapping{}, fmt.Errorf("etcd: bind %s: %w", id, err)
	}
	return m, nil
}

// Get implements store.IDMap.
func (s *Store) Get(ctx context.Context, id string) (store.Mapping, error) {
	if err := s.begin(ctx); err != nil {
		return store.Mapping{}, fmt.Errorf("etcd: get %s: %w", id, err)
	}
	var m store.Mapping
	err := s.read(ctx, func(ctx context.Context, sn *snap) (err error) {
		m, _, err = sn.mapping(ctx, id)
		return err
	})
	if err != nil {
		return store.Mapping{}, fmt.Errorf("etcd: get %s: %w", id, err)
	}
	return m, nil
}

// Lookup implements store.IDMap: the native index and the mapping it names,
// read at one revision.
func (s *Store) Lookup(ctx context.Context, cloud, kind, nativeID string) (store.Mapping, error) {
	if err := s.begin(ctx); err != nil {
		return store.Mapping{}, fmt.Errorf("etcd: lookup %s/%s/%s: %w", cloud, kind, nativeID, err)
	}
	var m store.Mapping
	err := s.read(ctx, func(ctx context.Context, sn *snap) error {
		if nativeID == "" {
			return store.ErrNotFound
		}
		id, ok, err := sn.get(ctx, s.k.native(cloud, kind, nativeID))
		if err != nil {
			return err
		}
		if !ok {
			return store.ErrNotFound
		}
		m, _, err = sn.mapping(ctx, string(id))
		return err
	})
	if err != nil {
		return store.Mapping{}, fmt.Errorf("etcd: lookup %s/%s/%s: %w", cloud, kind, nativeID, err)
	}
	return m, nil
}

// List implements store.IDMap: a range read of the list index, whose keys end
// in the canopy id and whose values are the mappings.
func (s *Store) List(ctx context.Context, cloud, kind string) ([]store.Mapping, error) {
	if err := s.begin(ctx); err != nil {
		return nil, fmt.Errorf("etcd: list %s/%s: %w", cloud, kind, err)
	}
	var out []store.Mapping
	err := s.read(ctx, func(ctx context.Context, sn *snap) error {
		out = out[:0]
		return sn.scan(ctx, s.k.list(cloud, kind), func(kv *mvccpb.KeyValue) error {
			m, err := decode(kv.Value)
			if err != nil {
				return fmt.Errorf("%s: %w", kv.Key, err)
			}
			out = append(out, m)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("etcd: list %s/%s: %w", cloud, kind, err)
	}
	return out, nil
}

// Delete implements store.IDMap. Index entries are removed only when they
// still point at this id. After a lost answer, finding the mapping gone
// means the earlier try deleted it.
func (s *Store) Delete(ctx context.Context, id string) error {
	if err := s.begin(ctx); err != nil {
		return fmt.Errorf("etcd: delete %s: %w", id, err)
	}
	err := s.update(ctx, func(ctx context.Context, sn *snap, ambiguous bool) ([]clientv3.Op, error) {
		m, _, err := sn.mapping(ctx, id)
		if ambiguous && isNotFound(err) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		w := newWrites()
		if err := sn.removeMapping(ctx, w, m); err != nil {
			return nil, err
		}
		return w.ops(), nil
	})
	if err != nil {
		return fmt.Errorf("etcd: delete %s: %w", id, err)
	}
	return nil
}
