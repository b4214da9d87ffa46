package ownership

import (
	"context"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Members keeps this replica registered at <root>member/<replica> under
// its lease and reports how many replicas are registered (itself
// included) each time that number may have changed, until ctx ends. A
// replica that dies leaves the count when its lease expires. It is what
// divides a cloud's rate-limit budget among the live replicas.
func (e *Etcd) Members(ctx context.Context) <-chan int {
	out := make(chan int, 1)
	prefix := e.root + "member/"
	send := func(n int) {
		select { // only the latest count matters
		case <-out:
		default:
		}
		out <- n
	}
	go func() {
		defer close(out)
		for ctx.Err() == nil {
			if err := e.members(ctx, prefix, send); err != nil && ctx.Err() == nil {
				select {
				case <-ctx.Done():
				case <-time.After(200 * time.Millisecond):
				}
			}
		}
	}()
	return out
}

// members registers and counts until the watch or the session breaks.
func (e *Etcd) members(ctx context.Context, prefix string, send func(int)) error {
	s, err := e.session(ctx)
	if err != nil {
		return err
	}
	if _, err := e.cli.Put(ctx, prefix+e.replica, "", clientv3.WithLease(s.Lease())); err != nil {
		return err
	}
	count := func() (int64, error) {
		resp, err := e.cli.Get(ctx, prefix, clientv3.WithPrefix(), clientv3.WithCountOnly())
		if err != nil {
			return 0, err
		}
		send(int(resp.Count))
		return resp.Header.Revision, nil
	}
	rev, err := count()
	if err != nil {
		return err
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wch := e.cli.Watch(clientv3.WithRequireLeader(wctx), prefix, clientv3.WithPrefix(), clientv3.WithRev(rev+1))
	for {
		select {
		case <-s.Done():
			return context.Canceled // a new session registers again
		case wr, ok := <-wch:
			if !ok {
				return ctx.Err()
			}
			if err := wr.Err(); err != nil {
				return err
			}
			if _, err := count(); err != nil {
				return err
			}
		}
	}
}
