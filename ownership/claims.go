package ownership

import (
	"context"
	"fmt"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/canopy-cloud/canopy/store"
)

// Claim takes one item of work (an operation: it implements jobs.Claims
// with Freed) for this replica under the replica's lease, the lease its
// cloud terms use: <root>claim/<id> holds the replica's name and
// goes when the lease does. ok is false when another live replica holds
// it. held ends when the lease is lost, and carries the claim as a
// store.Fence; release deletes the claim if it is still this one.
func (e *Etcd) Claim(ctx context.Context, id string) (held context.Context, release func(), ok bool, err error) {
	s, err := e.session(ctx)
	if err != nil {
		return nil, nil, false, err
	}
	key := e.root + "claim/" + id
	resp, err := e.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
		Then(clientv3.OpPut(key, e.replica, clientv3.WithLease(s.Lease()))).
		Else(clientv3.OpGet(key)).Commit()
	if err != nil {
		return nil, nil, false, fmt.Errorf("ownership: claim %s: %w", id, err)
	}
	rev := resp.Header.Revision
	if !resp.Succeeded {
		kvs := resp.Responses[0].GetResponseRange().Kvs
		if len(kvs) == 0 || clientv3.LeaseID(kvs[0].Lease) != s.Lease() {
			return nil, nil, false, nil
		}
		rev = kvs[0].CreateRevision // ours already (claimed before, not yet released)
	}
	// held carries the claim as a store fence: the operation's writes
	// under it commit only while this claim is the key's (store/etcd
	// checks it in the write's transaction).
	hctx, cancel := context.WithCancel(store.WithFence(context.WithoutCancel(ctx), store.Fence{Key: key, Rev: rev}))
	go func() {
		select {
		case <-s.Done():
		case <-hctx.Done():
		}
		cancel()
	}()
	release = func() {
		defer cancel()
		rctx, rcancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer rcancel()
		_, _ = e.cli.Txn(rctx).If(clientv3.Compare(clientv3.CreateRevision(key), "=", rev)).
			Then(clientv3.OpDelete(key)).Commit()
	}
	return hctx, release, true, nil
}

// Freed reports the id of every claim deleted (released, or its
// replica's lease expired) after the call, until ctx ends.
func (e *Etcd) Freed(ctx context.Context) <-chan string {
	out := make(chan string, 256)
	prefix := e.root + "claim/"
	go func() {
		defer close(out)
		var rev int64
		for ctx.Err() == nil {
			opts := []clientv3.OpOption{clientv3.WithPrefix(), clientv3.WithFilterPut()}
			if rev > 0 {
				opts = append(opts, clientv3.WithRev(rev))
			}
			for resp := range e.cli.Watch(clientv3.WithRequireLeader(ctx), prefix, opts...) {
				if resp.Err() != nil {
					break
				}
				for _, ev := range resp.Events {
					if ev.Type != mvccpb.DELETE {
						continue
					}
					select {
					case out <- strings.TrimPrefix(string(ev.Kv.Key), prefix):
					case <-ctx.Done():
						return
					}
					rev = ev.Kv.ModRevision + 1
				}
			}
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	return out
}
