// Package bolt is canopy's embedded store: the id map in one bbolt file.
//
// bbolt is a single-writer B+tree with copy-on-write pages and an fsync per
// committed write transaction, which is exactly the durability the store
// contract asks for ("durable before the method returns") without running a
// server. A process holds an exclusive flock on the file, so only one
// canopyd may use a given file; several replicas need the etcd store.
//
// # Layout
//
// The file holds five top-level buckets:
//
//	meta      "version" → "1"                         (format version, checked on open)
//	ids       id                     → record (JSON)  (the mappings; Get)
//	natives   tuple(cloud,kind,native) → id           (Lookup, Adopt, Bind conflicts)
//	lists     tuple(cloud,kind,id)     → ""           (List: a prefix scan in id order)
//	requests  tuple(project,kind,request id) → id      (Reserve idempotency)
//
// A tuple is each component as a uvarint byte length followed by the bytes.
// Length prefixes (rather than a separator such as "/" or NUL) make the
// encoding unambiguous for any names, so the prefix tuple(cloud,kind) matches
// the keys of exactly that cloud and kind: cloud "a" kind "bc" never shows up
// in a scan of cloud "ab" kind "c".
//
// The natives index cannot serve List by itself: pending mappings have no
// native id yet (and several may be pending at once), and it is ordered by
// native id while List is ordered by canopy id. Hence the separate lists
// index, whose values are empty; List reads each record from ids.
//
// Records are JSON: a few hundred bytes each, readable with `bbolt get`, and
// tolerant of fields being added later. Times are RFC 3339 with nanoseconds in
// UTC, so a mapping read back is identical to the one that was written.
//
// Writes that would change nothing (an idempotent Reserve or Bind, an Adopt of
// resources already known) roll their transaction back instead of committing,
// so they cost no fsync; Adopt first looks in a read transaction and only
// takes the single writer lock when something is new, then writes every new
// mapping in one transaction (one fsync for a whole list page).
package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/canopy-cloud/canopy/store"
)

// formatVersion is written into the meta bucket of a new file. Open refuses a
// file with another version rather than misreading it.
const formatVersion = "1"

// DefaultOpenTimeout bounds how long Open waits for the file lock. Another
// process holding the file is a configuration mistake (two canopyd on one
// data dir); it should fail fast with a message, not hang the start-up.
const DefaultOpenTimeout = 2 * time.Second

// ErrLocked is returned (wrapped, with the path) by Open when another process
// or another open Store in this process holds the file.
var ErrLocked = errors.New("database file is locked by another process")

var (
	bucketMeta     = []byte("meta")
	bucketIDs      = []byte("ids")
	bucketNatives  = []byte("natives")
	bucketLists    = []byte("lists")
	bucketRequests = []byte("requests")
	keyVersion     = []byte("version")
)

// Store is the bbolt implementation of store.Store. It is safe for concurrent
// use; bbolt serialises writers and lets readers run alongside them.
type Store struct {
	db     *bbolt.DB
	path   string
	closed atomic.Bool
	now    func() time.Time
}

var _ store.Store = (*Store)(nil)

type options struct {
	timeout time.Duration
	now     func() time.Time
}

// Option configures Open.
type Option func(*options)

// WithOpenTimeout sets how long Open waits for another holder of the file to
// let go (default DefaultOpenTimeout). Zero or less means the default: an
// unbounded wait is never what a server wants.
func WithOpenTimeout(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.timeout = d
		}
	}
}

// WithClock sets the clock that fills Mapping.Created (default time.Now).
// Tests use it to get predictable timestamps.
func WithClock(now func() time.Time) Option {
	return func(o *options) {
		if now != nil {
			o.now = now
		}
	}
}

// Open opens (creating if needed) the store at path. Missing parent
// directories are created with mode 0700 and the file with mode 0600: the map
// names every resource of every project, which is nobody else's business.
// Every committed write is fsync'd (bbolt's default, NoSync=false).
func Open(path string, opts ...Option) (*Store, error) {
	o := options{timeout: DefaultOpenTimeout, now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	if path == "" {
		return nil, errors.New("bolt: open: empty path")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("bolt: open %s: %w", path, err)
	}
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{
		Timeout:      o.timeout,
		FreelistType: bbolt.FreelistMapType,
	})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("bolt: open %s: %w (gave up after %s; is another canopyd using this file?)", path, ErrLocked, o.timeout)
	}
	if err != nil {
		return nil, fmt.Errorf("bolt: open %s: %w", path, err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		for _, name := range [][]byte{bucketMeta, bucketIDs, bucketNatives, bucketLists, bucketRequests} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bucketMeta)
		switch v := meta.Get(keyVersion); {
		case v == nil:
			return meta.Put(keyVersion, []byte(formatVersion))
		case string(v) != formatVersion:
			return fmt.Errorf("unsupported format version %q (this canopy reads %q)", v, formatVersion)
		}
		return nil
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("bolt: open %s: %w", path, err)
	}
	return &Store{db: db, path: path, now: o.now}, nil
}

// Path is the file the store was opened on.
func (s *Store) Path() string { return s.path }

// Close releases the file (and its lock). It waits for transactions in
// flight. Closing twice returns store.ErrClosed.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return fmt.Errorf("bolt: close %s: %w", s.path, store.ErrClosed)
	}
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("bolt: close %s: %w", s.path, err)
	}
	return nil
}

// record is the stored form of a store.Mapping. Short field names keep the
// file small; omitempty keeps pending and keyless mappings smaller still.
type record struct {
	ID        string    `json:"id"`
	Cloud     string    `json:"cloud"`
	Kind      string    `json:"kind"`
	NativeID  string    `json:"native,omitempty"`
	Project   string    `json:"project,omitempty"`
	RequestID string    `json:"request,omitempty"`
	Created   time.Time `json:"created"`
}

func encode(m store.Mapping) ([]byte, error) {
	return json.Marshal(record(m))
}

func decode(b []byte) (store.Mapping, error) {
	var r record
	if err := json.Unmarshal(b, &r); err != nil {
		return store.Mapping{}, fmt.Errorf("corrupt record: %w", err)
	}
	return store.Mapping(r), nil
}

// tuple encodes components as (uvarint length, bytes)…; see the package doc.
func tuple(parts ...string) []byte {
	n := 0
	for _, p := range parts {
		n += binary.MaxVarintLen64 + len(p)
	}
	b := make([]byte, 0, n)
	for _, p := range parts {
		b = binary.AppendUvarint(b, uint64(len(p)))
		b = append(b, p...)
	}
	return b
}

// normalize strips the monotonic reading and the location from t so the
// value returned by Reserve is identical to what a later Get decodes.
func normalize(t time.Time) time.Time { return t.Round(0).UTC() }

// begin checks what every method checks first: a closed store and a done
// context. Checking ctx up front is cheap and keeps a cancelled request from
// queueing behind the writer lock.
func (s *Store) begin(ctx context.Context) error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	return ctx.Err()
}

// mapErr turns bbolt's "not open" (a Close racing a call) into ErrClosed.
func mapErr(err error) error {
	if errors.Is(err, bolterrors.ErrDatabaseNotOpen) {
		return store.ErrClosed
	}
	return err
}

// view runs fn in a read transaction.
func (s *Store) view(fn func(tx *bbolt.Tx) error) error {
	return mapErr(s.db.View(fn))
}

// update runs fn in a write transaction and commits only if fn reports a
// change: a rolled-back transaction writes nothing and costs no fsync.
func (s *Store) update(fn func(tx *bbolt.Tx) (changed bool, err error)) error {
	tx, err := s.db.Begin(true)
	if err != nil {
		return mapErr(err)
	}
	defer func() { _ = tx.Rollback() }() // no-op after Commit; runs on panic
	changed, err := fn(tx)
	if err != nil || !changed {
		return err
	}
	return tx.Commit()
}

func getMapping(tx *bbolt.Tx, id string) (store.Mapping, error) {
	v := tx.Bucket(bucketIDs).Get([]byte(id))
	if v == nil {
		return store.Mapping{}, store.ErrNotFound
	}
	return decode(v)
}

// put writes m and all its index entries.
func put(tx *bbolt.Tx, m store.Mapping) error {
	v, err := encode(m)
	if err != nil {
		return err
	}
	if err := tx.Bucket(bucketIDs).Put([]byte(m.ID), v); err != nil {
		return err
	}
	if err := tx.Bucket(bucketLists).Put(tuple(m.Cloud, m.Kind, m.ID), nil); err != nil {
		return err
	}
	if m.NativeID != "" {
		if err := tx.Bucket(bucketNatives).Put(tuple(m.Cloud, m.Kind, m.NativeID), []byte(m.ID)); err != nil {
			return err
		}
	}
	if m.RequestID != "" {
		if err := tx.Bucket(bucketRequests).Put(tuple(m.Project, m.Kind, m.RequestID), []byte(m.ID)); err != nil {
			return err
		}
	}
	return nil
}

// lookup returns the id mapped to a native resource, or "".
func lookup(tx *bbolt.Tx, cloud, kind, nativeID string) string {
	return string(tx.Bucket(bucketNatives).Get(tuple(cloud, kind, nativeID)))
}

// Reserve implements store.IDMap. A mapping given with a NativeID is bound at
// once (and conflicts like Bind); a given ID that is already taken is
// ErrConflict rather than an overwrite, which would lose the other mapping.
func (s *Store) Reserve(ctx context.Context, m store.Mapping) (store.Mapping, bool, error) {
	if err := s.begin(ctx); err != nil {
		return store.Mapping{}, false, fmt.Errorf("bolt: reserve: %w", err)
	}
	if m.Cloud == "" || m.Kind == "" {
		return store.Mapping{}, false, fmt.Errorf("bolt: reserve: cloud and kind are required (got %q, %q)", m.Cloud, m.Kind)
	}
	if m.ID == "" {
		m.ID = store.NewID()
	}
	if m.Created.IsZero() {
		m.Created = s.now()
	}
	m.Created = normalize(m.Created)

	got, created := m, true
	err := s.update(func(tx *bbolt.Tx) (bool, error) {
		if m.RequestID != "" {
			if id := tx.Bucket(bucketRequests).Get(tuple(m.Project, m.Kind, m.RequestID)); id != nil {
				existing, err := getMapping(tx, string(id))
				if err != nil {
					return false, fmt.Errorf("request id %q → %s: %w", m.RequestID, id, err)
				}
				got, created = existing, false
				return false, nil
			}
		}
		if tx.Bucket(bucketIDs).Get([]byte(m.ID)) != nil {
			return false, fmt.Errorf("id already in use: %w", store.ErrConflict)
		}
		if m.NativeID != "" {
			if other := lookup(tx, m.Cloud, m.Kind, m.NativeID); other != "" {
				return false, fmt.Errorf("%s %s %q is already mapped to %s: %w", m.Cloud, m.Kind, m.NativeID, other, store.ErrConflict)
			}
		}
		return true, put(tx, m)
	})
	if err != nil {
		return store.Mapping{}, false, fmt.Errorf("bolt: reserve %s: %w", m.ID, err)
	}
	return got, created, nil
}

// Bind implements store.IDMap.
func (s *Store) Bind(ctx context.Context, id, nativeID string) (store.Mapping, error) {
	if err := s.begin(ctx); err != nil {
		return store.Mapping{}, fmt.Errorf("bolt: bind %s: %w", id, err)
	}
	if nativeID == "" {
		return store.Mapping{}, fmt.Errorf("bolt: bind %s: empty native id", id)
	}
	var m store.Mapping
	err := s.update(func(tx *bbolt.Tx) (bool, error) {
		var err error
		if m, err = getMapping(tx, id); err != nil {
			return false, err
		}
		switch m.NativeID {
		case nativeID:
			return false, nil // already bound to it: idempotent
		case "":
		default:
			return false, fmt.Errorf("already bound to %q, not %q: %w", m.NativeID, nativeID, store.ErrConflict)
		}
		if other := lookup(tx, m.Cloud, m.Kind, nativeID); other == store.AdoptedID(m.Cloud, m.Kind, nativeID) {
			// A list adopted the resource between the cloud's answer and
			// this bind: the id canopy already handed out wins.
			adopted, err := getMapping(tx, other)
			if err != nil {
				return false, err
			}
			if err := remove(tx, adopted); err != nil {
				return false, err
			}
		} else if other != "" {
			return false, fmt.Errorf("%s %s %q is already mapped to %s: %w", m.Cloud, m.Kind, nativeID, other, store.ErrConflict)
		}
		m.NativeID = nativeID
		return true, put(tx, m)
	})
	if err != nil {
		return store.Mapping{}, fmt.Errorf("bolt: bind %s: %w", id, err)
	}
	return m, nil
}

// remove deletes a mapping and every index entry that points at it.
func remove(tx *bbolt.Tx, m store.Mapping) error {
	del := func(bucket, key []byte) error {
		b := tx.Bucket(bucket)
		if string(b.Get(key)) != m.ID {
			return nil
		}
		return b.Delete(key)
	}
	if m.NativeID != "" {
		if err := del(bucketNatives, tuple(m.Cloud, m.Kind, m.NativeID)); err != nil {
			return err
		}
	}
	if m.RequestID != "" {
		if err := del(bucketRequests, tuple(m.Project, m.Kind, m.RequestID)); err != nil {
			return err
		}
	}
	if err := tx.Bucket(bucketLists).Delete(tuple(m.Cloud, m.Kind, m.ID)); err != nil {
		return err
	}
	return tx.Bucket(bucketIDs).Delete([]byte(m.ID))
}

// Get implements store.IDMap.
func (s *Store) Get(ctx context.Context, id string) (store.Mapping, error) {
	if err := s.begin(ctx); err != nil {
		return store.Mapping{}, fmt.Errorf("bolt: get %s: %w", id, err)
	}
	var m store.Mapping
	err := s.view(func(tx *bbolt.Tx) (err error) {
		m, err = getMapping(tx, id)
		return err
	})
	if err != nil {
		return store.Mapping{}, fmt.Errorf("bolt: get %s: %w", id, err)
	}
	return m, nil
}

// Lookup implements store.IDMap.
func (s *Store) Lookup(ctx context.Context, cloud, kind, nativeID string) (store.Mapping, error) {
	if err := s.begin(ctx); err != nil {
		return store.Mapping{}, fmt.Errorf("bolt: lookup %s/%s/%s: %w", cloud, kind, nativeID, err)
	}
	var m store.Mapping
	err := s.view(func(tx *bbolt.Tx) error {
		id := lookup(tx, cloud, kind, nativeID)
		if id == "" || nativeID == "" {
			return store.ErrNotFound
		}
		var err error
		m, err = getMapping(tx, id)
		return err
	})
	if err != nil {
		return store.Mapping{}, fmt.Errorf("bolt: lookup %s/%s/%s: %w", cloud, kind, nativeID, err)
	}
	return m, nil
}

// Adopt implements store.IDMap.
//
// The common case, a list of resources canopy has seen before, is served by a
// read transaction alone. Otherwise one write transaction re-checks every
// native id (another caller may have adopted it, or Bind mapped it, since the
// read) and writes all the new mappings with one fsync.
func (s *Store) Adopt(ctx context.Context, cloud, kind, project string, nativeIDs []string) ([]store.Mapping, error) {
	if err := s.begin(ctx); err != nil {
		return nil, fmt.Errorf("bolt: adopt %s/%s: %w", cloud, kind, err)
	}
	if cloud == "" || kind == "" {
		return nil, fmt.Errorf("bolt: adopt: cloud and kind are required (got %q, %q)", cloud, kind)
	}
	for i, n := range nativeIDs {
		if n == "" {
			return nil, fmt.Errorf("bolt: adopt %s/%s: native id #%d is empty", cloud, kind, i)
		}
	}
	out := make([]store.Mapping, len(nativeIDs))
	if len(nativeIDs) == 0 {
		return out, nil
	}

	// resolve fills out[i] for every known native id and reports whether
	// some are still missing. It is run in the read txn, then in the write txn.
	resolve := func(tx *bbolt.Tx) (missing bool, err error) {
		for i, n := range nativeIDs {
			if out[i].ID != "" {
				continue
			}
			if i%256 == 255 {
				if err := ctx.Err(); err != nil {
					return false, err
				}
			}
			id := lookup(tx, cloud, kind, n)
			if id == "" {
				missing = true
				continue
			}
			if out[i], err = getMapping(tx, id); err != nil {
				return false, fmt.Errorf("%q → %s: %w", n, id, err)
			}
		}
		return missing, nil
	}

	var missing bool
	err := s.view(func(tx *bbolt.Tx) (err error) {
		missing, err = resolve(tx)
		return err
	})
	if err == nil && missing {
		err = s.update(func(tx *bbolt.Tx) (bool, error) {
			missing, err := resolve(tx)
			if err != nil || !missing {
				return false, err
			}
			if err := ctx.Err(); err != nil {
				return false, err // last cheap chance before writing
			}
			now := normalize(s.now())
			for i, n := range nativeIDs {
				if out[i].ID != "" {
					continue
				}
				m := store.Mapping{ID: store.AdoptedID(cloud, kind, n), Cloud: cloud, Kind: kind, NativeID: n, Project: project, Created: now}
				if v := tx.Bucket(bucketIDs).Get([]byte(m.ID)); v != nil {
					// Written earlier in this loop (a duplicate in the
					// input), or a Reserve that chose this id: reuse a
					// mapping of this very resource, refuse anything else.
					prev, err := decode(v)
					if err != nil {
						return false, err
					}
					if prev.Cloud != cloud || prev.Kind != kind || prev.NativeID != n {
						return false, fmt.Errorf("%q: adopted id %s is taken by another mapping: %w", n, m.ID, store.ErrConflict)
					}
					out[i] = prev
					continue
				}
				if err := put(tx, m); err != nil {
					return false, err
				}
				out[i] = m
			}
			return true, nil
		})
	}
	if err != nil {
		return nil, fmt.Errorf("bolt: adopt %s/%s: %w", cloud, kind, err)
	}
	return out, nil
}

// List implements store.IDMap: a prefix scan of the lists index, which is in
// canopy id order.
func (s *Store) List(ctx context.Context, cloud, kind string) ([]store.Mapping, error) {
	if err := s.begin(ctx); err != nil {
		return nil, fmt.Errorf("bolt: list %s/%s: %w", cloud, kind, err)
	}
	prefix := tuple(cloud, kind)
	var out []store.Mapping
	err := s.view(func(tx *bbolt.Tx) error {
		ids := tx.Bucket(bucketIDs)
		c := tx.Bucket(bucketLists).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			if len(out)%1024 == 1023 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			id, err := lastComponent(k[len(prefix):])
			if err != nil {
				return err
			}
			v := ids.Get(id)
			if v == nil {
				return fmt.Errorf("corrupt index: %s listed but missing", id)
			}
			m, err := decode(v)
			if err != nil {
				return err
			}
			out = append(out, m)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("bolt: list %s/%s: %w", cloud, kind, err)
	}
	return out, nil
}

// lastComponent decodes the single tuple component in b.
func lastComponent(b []byte) ([]byte, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || uint64(len(b)-k) != n {
		return nil, fmt.Errorf("corrupt index key %q", b)
	}
	return b[k:], nil
}

// Delete implements store.IDMap. Index entries are removed only when they
// still point at this id, so a damaged index cannot make Delete remove
// another mapping's entry.
func (s *Store) Delete(ctx context.Context, id string) error {
	if err := s.begin(ctx); err != nil {
		return fmt.Errorf("bolt: delete %s: %w", id, err)
	}
	err := s.update(func(tx *bbolt.Tx) (bool, error) {
		m, err := getMapping(tx, id)
		if err != nil {
			return false, err
		}
		return true, remove(tx, m)
	})
	if err != nil {
		return fmt.Errorf("bolt: delete %s: %w", id, err)
	}
	return nil
}
