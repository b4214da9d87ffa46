package ownership

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
)

// DefaultTTL is the lease TTL in seconds: how long a dead replica's
// clouds stay unowned before another replica takes them.
const DefaultTTL = 5

// Etcd is the Owner of the replicated mode: one election per cloud under
// <root>owner/<cloud>/, campaigned for under this replica's lease.
// All of a replica's terms share the one lease (a concurrency.Session), so
// a replica that dies or is cut off loses every cloud it owned when the
// lease expires, and its successors' campaigns win then.
type Etcd struct {
	cli     *clientv3.Client
	root    string // the store's key root, ".../v1/"
	prefix  string // root + "owner/"
	replica string
	ttl     int

	mu   sync.Mutex
	sess *concurrency.Session
}

var _ Owner = (*Etcd)(nil)

// NewEtcd makes an Owner on cli. root is the store's key root with its
// format version (store/etcd's Store.Prefix, ".../v1/"): elections go
// under root+"owner/", operation claims under root+"claim/". replica
// names this process in the elections (what Leader reports), ttl is the
// lease TTL in seconds (DefaultTTL when <= 0).
func NewEtcd(cli *clientv3.Client, root, replica string, ttl int) *Etcd {
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	root = strings.TrimSuffix(root, "/") + "/"
	return &Etcd{cli: cli, root: root, prefix: root + "owner/", replica: replica, ttl: ttl}
}

// session returns the live lease session, making a new one when the last
// one expired (the replica was cut off for longer than the TTL).
func (e *Etcd) session(ctx context.Context) (*concurrency.Session, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.sess != nil {
		select {
		case <-e.sess.Done():
			e.sess = nil
		default:
			return e.sess, nil
		}
	}
	// The grant is bounded by the caller's context (a closed client or a
	// cluster without quorum must not hold a caller forever); the session
	// that keeps the lease alive lives until Close.
	lease, err := e.cli.Grant(ctx, int64(e.ttl))
	if err != nil {
		return nil, fmt.Errorf("ownership: lease: %w", err)
	}
	s, err := concurrency.NewSession(e.cli, concurrency.WithLease(lease.ID), concurrency.WithTTL(e.ttl),
		concurrency.WithContext(context.WithoutCancel(ctx)))
	if err != nil {
		return nil, fmt.Errorf("ownership: lease: %w", err)
	}
	e.sess = s
	return s, nil
}

// Close revokes the lease: every cloud this replica owns is free at once
// (a graceful stop hands over without waiting for the TTL).
func (e *Etcd) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.sess == nil {
		return nil
	}
	err := e.sess.Close()
	e.sess = nil
	return err
}

func (e *Etcd) electionPrefix(cloud string) string {
	return e.prefix + strings.NewReplacer("%", "%25", "/", "%2F").Replace(cloud)
}

// Acquire implements Owner with concurrency.Election.Campaign.
func (e *Etcd) Acquire(ctx context.Context, cloud string) (Term, error) {
	s, err := e.session(ctx)
	if err != nil {
		return nil, err
	}
	el := concurrency.NewElection(s, e.electionPrefix(cloud))
	if err := el.Campaign(ctx, e.replica); err != nil {
		return nil, fmt.Errorf("ownership: campaign for cloud %s: %w", cloud, err)
	}
	t := &etcdTerm{cloud: cloud, el: el, key: el.Key(), rev: el.Rev(), cli: e.cli, done: make(chan struct{})}
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	t.cancel = cancel
	go t.watch(ctx, wctx, s)
	return t, nil
}

// Leader returns the replica that owns cloud now, "" when none does.
func (e *Etcd) Leader(ctx context.Context, cloud string) (string, error) {
	resp, err := e.cli.Get(ctx, e.electionPrefix(cloud)+"/", clientv3.WithFirstCreate()...)
	if err != nil {
		return "", fmt.Errorf("ownership: leader of cloud %s: %w", cloud, err)
	}
	if len(resp.Kvs) == 0 {
		return "", nil
	}
	return string(resp.Kvs[0].Value), nil
}

// etcdTerm is one won election. It ends when the leader key is deleted
// (lease expired, resigned), the session ends, or the Acquire context does.
type etcdTerm struct {
	cloud string
	// key and rev are the leader key and its create revision, kept apart
	// from el, which Resign changes.
	key string
	rev int64
	// resignMu serialises Resign calls: an Election is not safe for
	// concurrent use.
	resignMu sync.Mutex
	el       *concurrency.Election
	cli      *clientv3.Client
	once     sync.Once
	done     chan struct{}
	cancel   context.CancelFunc
}

func (t *etcdTerm) Cloud() string         { return t.cloud }
func (t *etcdTerm) Done() <-chan struct{} { return t.done }

// Token is the create revision of the leader key: a later term's key is
// created later, so its revision is higher.
func (t *etcdTerm) Token() int64 { return t.rev }

func (t *etcdTerm) end() { t.once.Do(func() { t.cancel(); close(t.done) }) }

// watch ends the term when the leader key goes or the session does.
func (t *etcdTerm) watch(actx, wctx context.Context, s *concurrency.Session) {
	defer t.end()
	wch := t.cli.Watch(clientv3.WithRequireLeader(wctx), t.key, clientv3.WithRev(t.rev))
	for {
		select {
		case <-actx.Done():
			_ = t.resign(context.WithoutCancel(actx))
			return
		case <-s.Done():
			return
		case <-wctx.Done():
			return
		case resp, ok := <-wch:
			if !ok || resp.Err() != nil || resp.Canceled {
				// Lost contact with a quorum: the lease may expire
				// unseen, so the term is not safe to keep.
				return
			}
			for _, ev := range resp.Events {
				if ev.Type == mvccpb.DELETE {
					return
				}
			}
		}
	}
}

// Resign implements Term.
func (t *etcdTerm) Resign(ctx context.Context) error {
	defer t.end()
	if err := t.resign(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("ownership: resign cloud %s: %w", t.cloud, err)
	}
	return nil
}

func (t *etcdTerm) resign(ctx context.Context) error {
	t.resignMu.Lock()
	defer t.resignMu.Unlock()
	return t.el.Resign(ctx)
}

// Fenced returns a transaction that commits only while this term holds:
// its guard compares the leader key's create revision with the term's.
// A deposed owner's write (its key is gone, or a successor's key replaced
// it) fails the guard instead of overwriting the successor's.
func Fenced(ctx context.Context, t Term) (clientv3.Txn, error) {
	et, ok := t.(*etcdTerm)
	if !ok {
		return nil, errors.New("ownership: Fenced needs a term from Etcd")
	}
	return et.cli.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(et.key), "=", et.rev)), nil
}
