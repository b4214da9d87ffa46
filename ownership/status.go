package ownership

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/canopy-cloud/canopy/cache"
)

// StatusRelay is cache.Relay on etcd: the owner of a cloud publishes each
// status list of a kind at <root>status/<cloud>/<kind> with the revision
// read before the list began (a fenced put: a deposed owner's list is
// refused), and a replica whose waiters or Watch streams need that kind
// puts <root>want/<cloud>/<kind>/<replica> under its lease and watches the
// status key. The owner lists while it has local waiters or any want key
// exists; a follower that dies withdraws its want with its lease.
//
// A list is one etcd value, so it must stay under etcd's request limit
// (1.5 MiB by default): some thousands of resources per cloud and kind.
type StatusRelay struct {
	e *Etcd
	h *Held

	mu     sync.Mutex
	wanted map[string]map[string]bool // cloud/kind → replicas (not this one) that follow it
	wakes  map[string][]func()
}

// NewStatusRelay makes the relay of this replica (e) for the clouds it
// holds (h) and follows the other replicas' wants until ctx ends.
func NewStatusRelay(ctx context.Context, e *Etcd, h *Held) *StatusRelay {
	r := &StatusRelay{e: e, h: h, wanted: map[string]map[string]bool{}, wakes: map[string][]func(){}}
	h.OnGain(func(cloud string) { r.wake(func(k string) bool { return strings.HasPrefix(k, escape(cloud)+"/") }) })
	go r.watchWants(ctx)
	return r
}

func escape(cloud string) string { return strings.NewReplacer("%", "%25", "/", "%2F").Replace(cloud) }

func relayKey(cloud, kind string) string { return escape(cloud) + "/" + kind }

func (r *StatusRelay) statusKey(cloud, kind string) string {
	return r.e.root + "status/" + relayKey(cloud, kind)
}

func (r *StatusRelay) wantPrefix() string { return r.e.root + "want/" }

func (r *StatusRelay) wantKey(cloud, kind string) string {
	return r.wantPrefix() + relayKey(cloud, kind) + "/" + r.e.replica
}

// errDeposed is a publish refused because the term that granted it ended.
var errDeposed = errors.New("ownership: no longer the owner")

// Lead implements cache.Relay.
func (r *StatusRelay) Lead(cloud, kind string) (cache.Lead, bool) {
	t, ok := r.h.Owns(cloud)
	if !ok {
		return nil, false
	}
	return &statusLead{t: t, cli: r.e.cli, status: r.statusKey(cloud, kind), listed: r.e.root + "listed/" + relayKey(cloud, kind)}, true
}

// statusLead is cache.Lead for one term: the status key it publishes to
// and the key <root>listed/<cloud>/<kind> recording when the last list
// began (Unix nanoseconds, the owner's clock: replicas' clocks must agree
// to well within the poll interval, as NTP keeps them).
type statusLead struct {
	t              Term
	cli            *clientv3.Client
	status, listed string
}

func (l *statusLead) Term() int64           { return l.t.Token() }
func (l *statusLead) Done() <-chan struct{} { return l.t.Done() }

// Last implements cache.Lead.
func (l *statusLead) Last(ctx context.Context) (time.Time, error) {
	resp, err := l.cli.Get(ctx, l.listed)
	if err != nil {
		return time.Time{}, fmt.Errorf("ownership: last list %s: %w", l.listed, err)
	}
	if len(resp.Kvs) == 0 {
		return time.Time{}, nil
	}
	ns, err := strconv.ParseInt(string(resp.Kvs[0].Value), 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("ownership: last list %s: %q: %w", l.listed, resp.Kvs[0].Value, err)
	}
	return time.Unix(0, ns), nil
}

// Begin implements cache.Lead: a fenced put, whose revision is after
// every write that returned before it.
func (l *statusLead) Begin(ctx context.Context, at time.Time) (int64, error) {
	return l.fenced(ctx, l.listed, strconv.FormatInt(at.UnixNano(), 10))
}

// Publish implements cache.Lead.
func (l *statusLead) Publish(ctx context.Context, raw []byte) error {
	_, err := l.fenced(ctx, l.status, string(raw))
	return err
}

// fenced puts key while the term holds and returns the put's revision.
func (l *statusLead) fenced(ctx context.Context, key, val string) (int64, error) {
	txn, err := Fenced(ctx, l.t)
	if err != nil {
		return 0, err
	}
	resp, err := txn.Then(clientv3.OpPut(key, val)).Commit()
	if err != nil {
		return 0, fmt.Errorf("ownership: put %s: %w", key, err)
	}
	if !resp.Succeeded {
		return 0, fmt.Errorf("ownership: put %s: %w", key, errDeposed)
	}
	return resp.Header.Revision, nil
}

// Revision implements cache.Relay: the header revision of a linearizable
// read, which includes every write that returned before it.
func (r *StatusRelay) Revision(ctx context.Context) (int64, error) {
	resp, err := r.e.cli.Get(ctx, r.e.root+"status/", clientv3.WithCountOnly())
	if err != nil {
		return 0, fmt.Errorf("ownership: revision: %w", err)
	}
	return resp.Header.Revision, nil
}

// Wanted implements cache.Relay.
func (r *StatusRelay) Wanted(cloud, kind string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.wanted[relayKey(cloud, kind)]) > 0
}

// Notify implements cache.Relay.
func (r *StatusRelay) Notify(cloud, kind string, wake func()) {
	k := relayKey(cloud, kind)
	r.mu.Lock()
	r.wakes[k] = append(r.wakes[k], wake)
	r.mu.Unlock()
	wake()
}

// wake calls the wakes of every wanted key match accepts.
func (r *StatusRelay) wake(match func(k string) bool) {
	var fns []func()
	r.mu.Lock()
	for k, ws := range r.wakes {
		if match(k) && len(r.wanted[k]) > 0 {
			fns = append(fns, ws...)
		}
	}
	r.mu.Unlock()
	for _, fn := range fns {
		fn()
	}
}

// watchWants keeps r.wanted equal to the want keys of the other replicas
// until ctx ends, waking the pollers of a key that became wanted.
func (r *StatusRelay) watchWants(ctx context.Context) {
	prefix := r.wantPrefix()
	parse := func(key string) (k, replica string, ok bool) {
		rest := strings.TrimPrefix(key, prefix)
		i := strings.LastIndex(rest, "/")
		if i < 0 {
			return "", "", false
		}
		return rest[:i], rest[i+1:], true
	}
	for ctx.Err() == nil {
		resp, err := r.e.cli.Get(ctx, prefix, clientv3.WithPrefix())
		if err == nil {
			fresh := map[string]map[string]bool{}
			for _, kv := range resp.Kvs {
				if k, rep, ok := parse(string(kv.Key)); ok && rep != r.e.replica {
					if fresh[k] == nil {
						fresh[k] = map[string]bool{}
					}
					fresh[k][rep] = true
				}
			}
			r.mu.Lock()
			r.wanted = fresh
			r.mu.Unlock()
			r.wake(func(string) bool { return true })
			wch := r.e.cli.Watch(clientv3.WithRequireLeader(ctx), prefix, clientv3.WithPrefix(), clientv3.WithRev(resp.Header.Revision+1))
			for wr := range wch {
				if wr.Err() != nil {
					break
				}
				for _, ev := range wr.Events {
					k, rep, ok := parse(string(ev.Kv.Key))
					if !ok || rep == r.e.replica {
						continue
					}
					r.mu.Lock()
					if ev.Type == mvccpb.DELETE {
						delete(r.wanted[k], rep)
					} else {
						if r.wanted[k] == nil {
							r.wanted[k] = map[string]bool{}
						}
						r.wanted[k][rep] = true
					}
					r.mu.Unlock()
					if ev.Type == mvccpb.PUT {
						r.wake(func(x string) bool { return x == k })
					}
				}
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Follow implements cache.Relay.
func (r *StatusRelay) Follow(ctx context.Context, cloud, kind string) <-chan []byte {
	out := make(chan []byte)
	key, want := r.statusKey(cloud, kind), r.wantKey(cloud, kind)
	go func() {
		defer close(out)
		defer func() {
			if r.e.cli.Ctx().Err() != nil {
				return // the client is closed: the want goes with the lease
			}
			dctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			_, _ = r.e.cli.Delete(dctx, want)
		}()
		send := func(raw []byte) bool {
			select {
			case out <- raw:
				return true
			case <-ctx.Done():
				return false
			}
		}
		for ctx.Err() == nil {
			if err := r.follow(ctx, key, want, send); err != nil && ctx.Err() == nil {
				select { // lost contact: try again shortly
				case <-ctx.Done():
				case <-time.After(100 * time.Millisecond):
				}
			}
		}
	}()
	return out
}

// follow puts the want key, sends the current list and then every new
// one until the watch breaks or ctx ends.
func (r *StatusRelay) follow(ctx context.Context, key, want string, send func([]byte) bool) error {
	s, err := r.e.session(ctx)
	if err != nil {
		return err
	}
	// The status key is read before the want is put: a list the owner
	// publishes in between is seen by the watch from the read's revision.
	resp, err := r.e.cli.Get(ctx, key)
	if err != nil {
		return err
	}
	if _, err := r.e.cli.Put(ctx, want, "", clientv3.WithLease(s.Lease())); err != nil {
		return err
	}
	if len(resp.Kvs) > 0 && !send(resp.Kvs[0].Value) {
		return nil
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for wr := range r.e.cli.Watch(clientv3.WithRequireLeader(wctx), key, clientv3.WithRev(resp.Header.Revision+1)) {
		if err := wr.Err(); err != nil {
			return err
		}
		for _, ev := range wr.Events {
			if ev.Type == mvccpb.PUT && !send(ev.Kv.Value) {
				return nil
			}
		}
		select {
		case <-s.Done(): // the lease went, and the want with it
			return errors.New("ownership: lease lost")
		default:
		}
	}
	return ctx.Err()
}
