package etcd

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/canopy-cloud/canopy/store"
)

// maxConflicts bounds how often one write reads again because racing
// writers changed what it read. Each conflict means another write
// committed, so this is only reached under a storm of writers on the very
// same keys.
const maxConflicts = 1000

// scanPage is how many keys one range read of a scan returns.
const scanPage = 1000

// snap is one attempt's view of the cluster. Every read after the first is
// at the first one's revision, so the reads agree with each other (a
// request index and the mapping it names, say); every key read is
// remembered with its mod revision so the attempt's write can be guarded on
// none of them having changed.
type snap struct {
	s    *Store
	rev  int64
	seen map[string]int64
}

func (sn *snap) at(opts ...clientv3.OpOption) []clientv3.OpOption {
	if sn.rev > 0 {
		opts = append(opts, clientv3.WithRev(sn.rev))
	}
	return opts
}

func (sn *snap) pin(h int64) {
	if sn.rev == 0 {
		sn.rev = h
	}
}

// get returns key's value and whether the key exists.
func (sn *snap) get(ctx context.Context, key string) ([]byte, bool, error) {
	kvs, err := sn.getMany(ctx, []string{key})
	if err != nil || kvs[0] == nil {
		return nil, false, err
	}
	return kvs[0].Value, true, nil
}

// getMany reads keys (nil for an absent one), as many per round trip as one
// transaction may hold.
func (sn *snap) getMany(ctx context.Context, keys []string) ([]*mvccpb.KeyValue, error) {
	out := make([]*mvccpb.KeyValue, 0, len(keys))
	for len(keys) > 0 {
		n := min(len(keys), sn.s.maxOps)
		ops := make([]clientv3.Op, n)
		for i, k := range keys[:n] {
			ops[i] = clientv3.OpGet(k, sn.at()...)
		}
		resp, err := sn.s.cli.Txn(ctx).Then(ops...).Commit()
		if err != nil {
			return nil, err
		}
		sn.pin(resp.Header.Revision)
		for i, r := range resp.Responses {
			var kv *mvccpb.KeyValue
			if kvs := r.GetResponseRange().Kvs; len(kvs) > 0 {
				kv = kvs[0]
				sn.seen[keys[i]] = kv.ModRevision
			} else {
				sn.seen[keys[i]] = 0
			}
			out = append(out, kv)
		}
		keys = keys[n:]
	}
	return out, nil
}

// scan calls fn with every key under prefix, in key order, a page at a time.
// Scanned keys are not remembered for the guard: a write that depends on a
// whole range guards on the keys it acts on.
func (sn *snap) scan(ctx context.Context, prefix string, fn func(kv *mvccpb.KeyValue) error) error {
	end := clientv3.GetPrefixRangeEnd(prefix)
	from := prefix
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		resp, err := sn.s.cli.Get(ctx, from, sn.at(clientv3.WithRange(end), clientv3.WithLimit(scanPage),
			clientv3.WithSort(clientv3.SortByKey, clientv3.SortAscend))...)
		if err != nil {
			return err
		}
		sn.pin(resp.Header.Revision)
		for _, kv := range resp.Kvs {
			if err := fn(kv); err != nil {
				return err
			}
		}
		if !resp.More || len(resp.Kvs) == 0 {
			return nil
		}
		from = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
}

// guard is the comparisons of a write that depends on everything sn read:
// each key still at the mod revision it was read at (0: still absent).
func (sn *snap) guard() []clientv3.Cmp {
	keys := make([]string, 0, len(sn.seen))
	for k := range sn.seen {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	cmps := make([]clientv3.Cmp, len(keys))
	for i, k := range keys {
		cmps[i] = clientv3.Compare(clientv3.ModRevision(k), "=", sn.seen[k])
	}
	return cmps
}

// writes collects an attempt's puts and deletes. A key both deleted and put
// is put (etcd refuses a transaction that names a key twice).
type writes struct {
	puts map[string]string
	dels map[string]bool
}

func newWrites() *writes { return &writes{puts: map[string]string{}, dels: map[string]bool{}} }

func (w *writes) put(key string, value []byte) {
	w.puts[key] = string(value)
	delete(w.dels, key)
}

func (w *writes) del(key string) {
	if _, ok := w.puts[key]; !ok {
		w.dels[key] = true
	}
}

func (w *writes) ops() []clientv3.Op {
	ops := make([]clientv3.Op, 0, len(w.puts)+len(w.dels))
	for k, v := range w.puts {
		ops = append(ops, clientv3.OpPut(k, v))
	}
	for k := range w.dels {
		ops = append(ops, clientv3.OpDelete(k))
	}
	return ops
}

// attempt is one try of a method: it reads through sn and returns the
// writes to commit, or none when there is nothing to write (a read, an
// idempotent retry, an error). ambiguous is true when an earlier try's
// transaction failed in a way that leaves unknown whether it was applied: the
// attempt may then find its own write and must treat it as done.
type attempt func(ctx context.Context, sn *snap, ambiguous bool) ([]clientv3.Op, error)

// update runs fn until its transaction commits, fn writes nothing, or fails.
// A guard that fails means a racing writer changed what fn read: it reads
// again at once. A transient error (see transient) is retried with backoff,
// at most s.retries times; any other error is final.
func (s *Store) update(ctx context.Context, fn attempt) error {
	ambiguous := false
	conflicts, fails := 0, 0
	for {
		if s.closed.Load() {
			return store.ErrClosed
		}
		committed, err := s.try(ctx, fn, ambiguous)
		switch {
		case err == nil && committed:
			return nil
		case err == nil:
			if conflicts++; conflicts > maxConflicts {
				return fmt.Errorf("gave up after %d racing writes to the same keys", conflicts)
			}
			continue
		case errors.Is(err, errMaybeCommitted):
			ambiguous = true
		case !transient(err) && !errors.Is(err, rpctypes.ErrCompacted):
			return s.mapErr(ctx, err)
		}
		if fails >= s.retries {
			return s.mapErr(ctx, fmt.Errorf("after %d tries: %w", fails+1, err))
		}
		if berr := backoff(ctx, fails); berr != nil {
			return s.mapErr(ctx, err)
		}
		fails++
	}
}

// errMaybeCommitted marks a transient failure of a commit: the write may
// have been applied.
var errMaybeCommitted = errors.New("the outcome of the write is unknown")

// try runs one attempt under s.attemptTimeout. committed is false with a nil
// error when the guard failed (or, for an attempt that writes nothing,
// always: it is done). An attempt cut short by its own timeout while the
// caller's context is alive is transient: the cluster may be electing a
// leader.
func (s *Store) try(ctx context.Context, fn attempt, ambiguous bool) (committed bool, err error) {
	actx, cancel := context.WithTimeout(ctx, s.attemptTimeout)
	defer cancel()
	timedOut := func(err error) bool {
		return ctx.Err() == nil && actx.Err() != nil && errors.Is(err, context.DeadlineExceeded)
	}
	sn := &snap{s: s, seen: map[string]int64{}}
	ops, err := fn(actx, sn, ambiguous)
	if err != nil {
		if timedOut(err) {
			err = fmt.Errorf("attempt timed out after %s: %w", s.attemptTimeout, rpctypes.ErrTimeout)
		}
		return false, err
	}
	if len(ops) == 0 {
		return true, nil
	}
	guard := sn.guard()
	fence, fenced := store.FenceOf(ctx)
	if fenced {
		guard = append(guard, clientv3.Compare(clientv3.CreateRevision(fence.Key), "=", fence.Rev))
	}
	resp, err := s.cli.Txn(actx).If(guard...).Then(ops...).Commit()
	switch {
	case err == nil && !resp.Succeeded && fenced:
		// The guard failed: a racing writer, or the fence gone.
		if held, ferr := s.fenceHolds(actx, fence); ferr != nil {
			return false, ferr
		} else if !held {
			return false, fmt.Errorf("claim %s: %w", fence.Key, store.ErrFenced)
		}
		return false, nil
	case err == nil:
		return resp.Succeeded, nil
	case timedOut(err):
		return false, fmt.Errorf("%w (commit timed out after %s)", errMaybeCommitted, s.attemptTimeout)
	case transient(err):
		return false, fmt.Errorf("%w: %w", errMaybeCommitted, err)
	}
	return false, err
}

// read runs fn (which writes nothing) with update's retries.
func (s *Store) read(ctx context.Context, fn func(ctx context.Context, sn *snap) error) error {
	return s.update(ctx, func(ctx context.Context, sn *snap, _ bool) ([]clientv3.Op, error) {
		return nil, fn(ctx, sn)
	})
}

// fenceHolds reports whether the fence's key still has its create
// revision.
func (s *Store) fenceHolds(ctx context.Context, f store.Fence) (bool, error) {
	resp, err := s.cli.Get(ctx, f.Key, clientv3.WithKeysOnly())
	if err != nil {
		return false, err
	}
	return len(resp.Kvs) == 1 && resp.Kvs[0].CreateRevision == f.Rev, nil
}
