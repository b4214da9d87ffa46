package etcd

import (
	"context"
	"fmt"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/canopy-cloud/canopy/store"
)

// Adopt implements store.IDMap.
//
// The common case, a page of resources canopy has seen before, is served by
// reads alone: the native index and the mappings it names, at one revision,
// as many keys per round trip as a transaction may hold. Nothing is written.
//
// New resources are written in transactions of at most maxOps/3 mappings
// (three keys each: the mapping, its list entry, its native index entry),
// because etcd caps the operations of one transaction (--max-txn-ops, 128 by
// default): a page of 1000 new resources is 24 transactions, not one. Each
// is guarded on its native ids still being unmapped and their adopted ids
// still free, and re-reads its chunk when a racing Adopt, Reserve or Bind got
// there first. A failure part-way leaves the chunks already committed
// adopted, each mapping whole; the caller's retry finds them.
func (s *Store) Adopt(ctx context.Context, cloud, kind, project string, nativeIDs []string) ([]store.Mapping, error) {
	if err := s.begin(ctx); err != nil {
		return nil, fmt.Errorf("etcd: adopt %s/%s: %w", cloud, kind, err)
	}
	if cloud == "" || kind == "" {
		return nil, fmt.Errorf("etcd: adopt: cloud and kind are required (got %q, %q)", cloud, kind)
	}
	for i, n := range nativeIDs {
		if n == "" {
			return nil, fmt.Errorf("etcd: adopt %s/%s: native id #%d is empty", cloud, kind, i)
		}
	}
	out := make([]store.Mapping, len(nativeIDs))
	if len(nativeIDs) == 0 {
		return out, nil
	}
	var uniq []string
	dup := map[string]bool{}
	for _, n := range nativeIDs {
		if !dup[n] {
			dup[n] = true
			uniq = append(uniq, n)
		}
	}

	found := map[string]store.Mapping{}
	err := s.read(ctx, func(ctx context.Context, sn *snap) error {
		clear(found)
		return s.resolve(ctx, sn, cloud, kind, uniq, found)
	})
	if err != nil {
		return nil, fmt.Errorf("etcd: adopt %s/%s: %w", cloud, kind, err)
	}
	var missing []string
	for _, n := range uniq {
		if _, ok := found[n]; !ok {
			missing = append(missing, n)
		}
	}
	per := s.maxOps / 3
	for len(missing) > 0 {
		chunk := missing[:min(per, len(missing))]
		missing = missing[len(chunk):]
		got, err := s.adoptChunk(ctx, cloud, kind, project, chunk)
		if err != nil {
			return nil, fmt.Errorf("etcd: adopt %s/%s: %w", cloud, kind, err)
		}
		for n, m := range got {
			found[n] = m
		}
	}
	for i, n := range nativeIDs {
		out[i] = found[n]
	}
	return out, nil
}

// adoptChunk maps the natives of one chunk in one transaction: those that a
// racer mapped meanwhile are returned as they are, the others get a new
// mapping under their AdoptedID.
func (s *Store) adoptChunk(ctx context.Context, cloud, kind, project string, chunk []string) (map[string]store.Mapping, error) {
	got := map[string]store.Mapping{}
	err := s.update(ctx, func(ctx context.Context, sn *snap, _ bool) ([]clientv3.Op, error) {
		clear(got)
		if err := ctx.Err(); err != nil {
			return nil, err // the last cheap chance before writing
		}
		if err := s.resolve(ctx, sn, cloud, kind, chunk, got); err != nil {
			return nil, err
		}
		var fresh, ids []string
		for _, n := range chunk {
			if _, ok := got[n]; !ok {
				fresh = append(fresh, n)
				ids = append(ids, s.k.mapping(store.AdoptedID(cloud, kind, n)))
			}
		}
		// A mapping under the adopted id whose native id is not this one
		// (a Reserve that chose the id): refuse rather than overwrite.
		kvs, err := sn.getMany(ctx, ids)
		if err != nil {
			return nil, err
		}
		for i, kv := range kvs {
			if kv != nil {
				return nil, fmt.Errorf("%q: adopted id %s is taken by another mapping: %w", fresh[i], store.AdoptedID(cloud, kind, fresh[i]), store.ErrConflict)
			}
		}
		now := normalize(s.now())
		w := newWrites()
		for _, n := range fresh {
			m := store.Mapping{ID: store.AdoptedID(cloud, kind, n), Cloud: cloud, Kind: kind, NativeID: n, Project: project, Created: now}
			if err := s.putMapping(w, m); err != nil {
				return nil, err
			}
			got[n] = m
		}
		return w.ops(), nil
	})
	return got, err
}

// resolve adds to found the mapping of each native id that has one: the
// native index, then the mappings it names, read through sn.
func (s *Store) resolve(ctx context.Context, sn *snap, cloud, kind string, natives []string, found map[string]store.Mapping) error {
	idx := make([]string, len(natives))
	for i, n := range natives {
		idx[i] = s.k.native(cloud, kind, n)
	}
	kvs, err := sn.getMany(ctx, idx)
	if err != nil {
		return err
	}
	var ids, which []string
	for i, kv := range kvs {
		if kv != nil {
			ids = append(ids, s.k.mapping(string(kv.Value)))
			which = append(which, natives[i])
		}
	}
	mkvs, err := sn.getMany(ctx, ids)
	if err != nil {
		return err
	}
	for i, kv := range mkvs {
		if kv == nil {
			return fmt.Errorf("corrupt index: %q names %s, which is missing", which[i], ids[i])
		}
		m, err := decode(kv.Value)
		if err != nil {
			return fmt.Errorf("%s: %w", ids[i], err)
		}
		found[which[i]] = m
	}
	return nil
}
