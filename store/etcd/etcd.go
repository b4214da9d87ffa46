// Package etcd is canopy's store on an etcd cluster: what several canopyd
// replicas share. Every write is a Raft proposal committed by a quorum of
// members before the method returns, which is the durability the store
// contract asks for, and survives the loss of a minority of members.
//
// It is not a cache and not a lock service: each method is one guarded
// transaction (or a few, see Adopt) and reads are linearizable, so what one
// replica wrote is what the next read on any replica sees.
//
// # Layout
//
// Every key starts with the root (WithPrefix, default "/canopy") and the
// format version, "/v1/". A component in the middle of a key is escaped
// ("%" → "%25", "/" → "%2F") so it never contains "/": any cloud, kind,
// project or namespace name is unambiguous, and a prefix scan of
// ".../c1/server/" never reaches cloud "c1/server" or kind "servers". The last
// component is written as is, so etcd's byte order is the order of ids and
// record keys.
//
//	v1/map/<id>                                → mapping (JSON)      Get
//	v1/list/<cloud>/<kind>/<id>                → mapping (JSON)      List: one range read, in id order
//	v1/native/<cloud>/<kind>/<native id>       → id                  Lookup, Adopt, Bind conflicts
//	v1/mreq/<project>/<kind>/<request id>      → id                  Reserve idempotency
//	v1/op/<id>                                 → operation (JSON)
//	v1/opreq/<project>/<request id>            → operation id        CreateOperation idempotency
//	v1/rec/<namespace>/<key>                   → value               RecordStore
//	v1/client/<id>                             → client (JSON)       AuthStore
//	v1/key/<id>                                → signing key (JSON)
//
// The list index carries a copy of the mapping rather than nothing (as
// bbolt's does): every write of a mapping writes both in one transaction, so
// they cannot disagree, and List costs one range read instead of one read
// per id. Records are the same JSON the bbolt store writes.
//
// # Transactions
//
// A write reads what it depends on (at one revision, so the reads agree with
// each other), decides, and commits one etcd Txn whose guard compares the
// mod revision of every key it read with the revision it read (0 for a key
// that was absent). If a racing writer changed any of them the guard fails
// and the write reads again. So two Reserves of one request id, a Bind and an
// Adopt of one native id, sixteen CreateRecords of one key: exactly one
// commits first, and the others see it.
//
// An error after which the write may or may not have been applied (the
// member answering died, the leader changed, a request timed out) is retried
// with backoff too, and the method then recognises its own write: a Reserve
// finds the mapping it wrote under its own id and reports created, a Delete
// that finds nothing reports success. Errors that are certainly final
// (a cancelled context, a closed store, a request etcd refuses) are not.
package etcd

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/canopy-cloud/canopy/store"
)

// DefaultPrefix is the root of canopy's keys when WithPrefix is not given.
const DefaultPrefix = "/canopy"

// formatVersion is the path element under the root. Another layout would
// live beside it (v2/...), never over it.
const formatVersion = "v1"

// DefaultMaxTxnOps is etcd's own default for --max-txn-ops: the most
// operations one transaction may hold. Adopt splits a large page of new
// resources into transactions of at most this many writes.
const DefaultMaxTxnOps = 128

// DefaultDialTimeout bounds how long Open waits for the cluster to answer.
const DefaultDialTimeout = 5 * time.Second

// DefaultAttemptTimeout bounds one try of a method. A write a follower
// forwarded to a leader that just died waits for etcd's own request timeout
// (5 s plus two election timeouts) before failing; cutting the attempt
// short and trying again (the outcome treated as unknown, see the package
// doc) gets through the new leader in about an election's time instead.
const DefaultAttemptTimeout = 3 * time.Second

// Store is the etcd implementation of store.Store. It is safe for
// concurrent use and for use by several processes on one prefix.
type Store struct {
	cli    *clientv3.Client
	k      keys
	closed atomic.Bool
	now    func() time.Time
	maxOps int
	// retries bounds the attempts of one method against errors that may
	// clear (no leader, a member gone): with the backoff below, about 10 s.
	retries int
	// attemptTimeout bounds one attempt (its reads and its commit).
	attemptTimeout time.Duration
}

var _ store.Store = (*Store)(nil)

type options struct {
	prefix         string
	now            func() time.Time
	maxOps         int
	dialTimeout    time.Duration
	attemptTimeout time.Duration
	config         func(*clientv3.Config)
}

// Option configures Open.
type Option func(*options)

// WithPrefix sets the root under which every key lives (default
// DefaultPrefix). Stores on different roots of one cluster share nothing.
func WithPrefix(p string) Option { return func(o *options) { o.prefix = p } }

// WithClock sets the clock that fills Created and Updated (default
// time.Now).
func WithClock(now func() time.Time) Option {
	return func(o *options) {
		if now != nil {
			o.now = now
		}
	}
}

// WithMaxTxnOps tells the store the cluster's --max-txn-ops when it is not
// etcd's default (DefaultMaxTxnOps). Values below 3 are ignored: one mapping
// takes three writes.
func WithMaxTxnOps(n int) Option {
	return func(o *options) {
		if n >= 3 {
			o.maxOps = n
		}
	}
}

// WithDialTimeout bounds how long Open waits for the cluster to answer
// (default DefaultDialTimeout).
func WithDialTimeout(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.dialTimeout = d
		}
	}
}

// WithAttemptTimeout bounds one try of a method (default
// DefaultAttemptTimeout); the caller's context bounds the whole call.
func WithAttemptTimeout(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.attemptTimeout = d
		}
	}
}

// WithClientConfig lets the caller adjust the etcd client's configuration
// (TLS, credentials, dial options) before it connects.
func WithClientConfig(fn func(*clientv3.Config)) Option { return func(o *options) { o.config = fn } }

// Open connects to the cluster at endpoints ("host:port" or
// "http://host:port") and checks that it answers a linearizable read, so a
// wrong address fails here, naming the endpoints, rather than at the first
// request.
func Open(ctx context.Context, endpoints []string, opts ...Option) (*Store, error) {
	o := options{prefix: DefaultPrefix, now: time.Now, maxOps: DefaultMaxTxnOps, dialTimeout: DefaultDialTimeout, attemptTimeout: DefaultAttemptTimeout}
	for _, opt := range opts {
		opt(&o)
	}
	if len(endpoints) == 0 {
		return nil, errors.New("etcd: open: no endpoints")
	}
	root, err := cleanPrefix(o.prefix)
	if err != nil {
		return nil, fmt.Errorf("etcd: open: %w", err)
	}
	cfg := clientv3.Config{
		Endpoints:   endpoints,
		DialTimeout: o.dialTimeout,
		// canopyd logs with slog; the client's retries are reported
		// through the errors they end in.
		Logger: zap.NewNop(),
	}
	if o.config != nil {
		o.config(&cfg)
	}
	cli, err := clientv3.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("etcd: open %v: %w", endpoints, err)
	}
	s := &Store{cli: cli, k: keys{root: root + "/" + formatVersion + "/"}, now: o.now, maxOps: o.maxOps, retries: 16, attemptTimeout: o.attemptTimeout}
	pctx, cancel := context.WithTimeout(ctx, o.dialTimeout)
	defer cancel()
	if _, err := cli.Get(pctx, s.k.root, clientv3.WithCountOnly(), clientv3.WithPrefix()); err != nil {
		_ = cli.Close()
		return nil, fmt.Errorf("etcd: open %v: cluster did not answer within %s: %w", endpoints, o.dialTimeout, err)
	}
	return s, nil
}

// cleanPrefix checks a root: absolute, no trailing slash.
func cleanPrefix(p string) (string, error) {
	p = strings.TrimRight(p, "/")
	if p == "" || !strings.HasPrefix(p, "/") {
		return "", fmt.Errorf("key prefix %q: want an absolute path such as %q", p, DefaultPrefix)
	}
	return p, nil
}

// Prefix is where this store's keys live (root and format version).
func (s *Store) Prefix() string { return s.k.root }

// Client is the etcd client the store uses (tests and tools read the
// cluster with it; it is closed by Close).
func (s *Store) Client() *clientv3.Client { return s.cli }

// Close closes the connection to the cluster. Calls in flight fail with
// store.ErrClosed; what they had committed stays committed. Closing twice
// returns store.ErrClosed.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return fmt.Errorf("etcd: close: %w", store.ErrClosed)
	}
	if err := s.cli.Close(); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("etcd: close: %w", err)
	}
	return nil
}

// keys builds the keys of the layout in the package doc.
type keys struct{ root string }

var escaper = strings.NewReplacer("%", "%25", "/", "%2F")

// esc makes a key component free of "/" (see the package doc).
func esc(s string) string { return escaper.Replace(s) }

func (k keys) mapping(id string) string { return k.root + "map/" + id }
func (k keys) list(cloud, kind string) string {
	return k.root + "list/" + esc(cloud) + "/" + esc(kind) + "/"
}
func (k keys) native(cloud, kind, native string) string {
	return k.root + "native/" + esc(cloud) + "/" + esc(kind) + "/" + native
}
func (k keys) mreq(project, kind, req string) string {
	return k.root + "mreq/" + esc(project) + "/" + esc(kind) + "/" + req
}
func (k keys) op(id string) string              { return k.root + "op/" + id }
func (k keys) ops() string                      { return k.root + "op/" }
func (k keys) opreq(project, req string) string { return k.root + "opreq/" + esc(project) + "/" + req }
func (k keys) records(ns string) string         { return k.root + "rec/" + esc(ns) + "/" }
func (k keys) record(ns, key string) string     { return k.records(ns) + key }
func (k keys) client(id string) string          { return k.root + "client/" + id }
func (k keys) clients() string                  { return k.root + "client/" }
func (k keys) signingKey(id string) string      { return k.root + "key/" + id }
func (k keys) signingKeys() string              { return k.root + "key/" }

// normalize strips the monotonic reading and the location from t so the
// value a method returns is identical to what a later read decodes.
func normalize(t time.Time) time.Time { return t.Round(0).UTC() }

// begin checks what every method checks first: a closed store and a done
// context, so a cancelled request costs no round trip and writes nothing.
func (s *Store) begin(ctx context.Context) error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	return ctx.Err()
}

// mapErr makes a failure say what the caller can act on: a call cut short
// by Close is store.ErrClosed, one cut short by the caller's context wraps
// ctx.Err(). The store's own sentinels pass through.
func (s *Store) mapErr(ctx context.Context, err error) error {
	if err == nil || errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrClosed) || errors.Is(err, store.ErrFenced) {
		return err
	}
	if s.closed.Load() {
		return fmt.Errorf("%w (%v)", store.ErrClosed, err)
	}
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%w (%v)", cerr, err)
	}
	return err
}

// transient reports whether err may clear by itself (a member lost, no
// leader yet, a proposal that timed out) so the call is worth retrying.
// After such an error a write may or may not have been applied.
func transient(err error) bool {
	for _, e := range []error{rpctypes.ErrNoLeader, rpctypes.ErrNotLeader, rpctypes.ErrLeaderChanged, rpctypes.ErrStopped,
		rpctypes.ErrTimeout, rpctypes.ErrTimeoutDueToLeaderFail, rpctypes.ErrTimeoutDueToConnectionLost,
		rpctypes.ErrTimeoutWaitAppliedIndex, rpctypes.ErrTooManyRequests, rpctypes.ErrUnhealthy} {
		if errors.Is(err, e) {
			return true
		}
	}
	var ee rpctypes.EtcdError
	if errors.As(err, &ee) {
		return ee.Code() == codes.Unavailable
	}
	return status.Code(err) == codes.Unavailable
}

// backoff waits before retry n (0-based): 25 ms doubling to 1 s.
func backoff(ctx context.Context, n int) error {
	d := 25 * time.Millisecond << min(n, 6)
	d = min(d, time.Second)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }
