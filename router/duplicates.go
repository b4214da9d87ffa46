package router

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/canopy-cloud/canopy/config"
	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/store"
)

// Crash duplicates.
//
// Every create carries canopy's idempotency token (the canopy id it was
// made for) to the cloud, and adapters report it back in
// Properties[providers.PropToken]. When a list shows a resource whose token
// names a canopy id that is bound to another native resource of the same
// cloud and kind, a create was repeated after a crash (or raced an earlier
// attempt the look-up could not see) and made a second resource. That
// resource is never given an id of its own nor listed; canopy deletes it
// (config duplicates: delete, the default) or only reports it (report):
// a log line, canopy_duplicates_total, and the creating operation's
// metadata. A resource whose token names a pending id is the answer the
// create lost: it is bound to that id.

// The actions canopy_duplicates_total and the operation's metadata report.
const (
	DuplicateDeleted      = "deleted"
	DuplicateDeleteFailed = "delete-failed"
	DuplicateReported     = "reported"
)

// duplicates handles the crash duplicates lists find; the router holds
// one, so every list of every service goes through the same handling.
type duplicates struct {
	mode  string
	log   *slog.Logger
	count *prometheus.CounterVec

	ctx    context.Context // ends with the server: pending deletes stop
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu   sync.Mutex
	busy map[string]bool // cloud/kind/native being handled
	done map[string]bool // reported already (report mode: once per process)
}

func newDuplicates(mode string, log *slog.Logger) *duplicates {
	if mode == "" {
		mode = config.DuplicatesDelete
	}
	d := &duplicates{mode: mode, log: log, busy: map[string]bool{}, done: map[string]bool{},
		count: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "canopy_duplicates_total",
			Help: "Crash duplicates found (a second cloud resource carrying the token of an id bound to another), by cloud, kind and action (deleted, delete-failed, reported).",
		}, []string{"cloud", "kind", "action"})}
	d.ctx, d.cancel = context.WithCancel(context.Background())
	return d
}

// close stops pending deletes and waits for them.
func (d *duplicates) close() {
	d.cancel()
	d.wg.Wait()
}

// ClaimTokens implements Resolver. It checks the tokens of one cloud's
// listed resources of a kind
// against the id map, after ids (their mappings, from adopt) was filled:
// a resource whose token names a pending id is bound to it (ids updated);
// one whose token names an id bound to another resource is a crash
// duplicate, handled by del (or reported) and returned in the set the
// caller drops from what it shows. The common case — each resource mapped
// under its own token — costs no store call.
func (r *Router) ClaimTokens(ctx context.Context, cl *Cloud, kind string, natives, tokens []string, ids map[string]store.Mapping, del func(context.Context, string) error) map[string]bool {
	cloud := cl.Name
	var dups map[string]bool
	for i, tok := range tokens {
		native := natives[i]
		if tok == "" || native == "" || ids[native].ID == tok {
			continue
		}
		if a, ok := ids[native]; ok && a.ID != "" && a.ID != store.AdoptedID(cloud, kind, native) {
			// Bound to an id canopy made for it: known for what it is,
			// whatever token it carries now. (Cinder's backup restore
			// writes the source volume's metadata, its token included,
			// over the restored volume's.) A crash duplicate is a
			// resource canopy has no id of its own for.
			continue
		}
		if _, isID, err := IDOrName("token", tok); err != nil || !isID {
			continue // a token canopy did not make (a foreign client's)
		}
		m, err := r.store.Get(ctx, tok)
		if err != nil || m.Cloud != cloud || m.Kind != kind {
			continue // an id canopy forgot (deleted) or never had: adopt as usual
		}
		if m.Pending() {
			if b, err := r.store.Bind(ctx, tok, native); err == nil {
				ids[native] = b
			}
			continue
		}
		if m.NativeID == native {
			continue
		}
		if dups == nil {
			dups = map[string]bool{}
		}
		dups[native] = true
		// A list before this fix may have adopted it: forget that id.
		if a, ok := ids[native]; ok && a.ID == store.AdoptedID(cloud, kind, native) {
			_ = r.store.Delete(ctx, a.ID)
		}
		delete(ids, native)
		r.dups.handle(cloud, kind, native, m, del, r.store)
	}
	return dups
}

// handle deletes (or reports) one duplicate, once at a time per resource,
// in the background so the list that found it is not held up.
func (d *duplicates) handle(cloud, kind, native string, owner store.Mapping, del func(context.Context, string) error, st store.Store) {
	key := cloud + "\x00" + kind + "\x00" + native
	d.mu.Lock()
	if d.busy[key] || d.done[key] {
		d.mu.Unlock()
		return
	}
	d.busy[key] = true
	d.mu.Unlock()
	log := d.log.With("cloud", cloud, "kind", kind, "native_id", native, "token", owner.ID, "bound_to", owner.NativeID)
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		action := DuplicateReported
		if d.mode == config.DuplicatesDelete && del != nil {
			ctx, cancel := context.WithTimeout(d.ctx, 5*time.Minute)
			err := del(ctx, native)
			cancel()
			switch {
			case err == nil, errors.Is(err, providers.ErrNotFound):
				action = DuplicateDeleted
				log.Warn("duplicate: deleted a second cloud resource made for an id bound to another (a create repeated after a crash)")
			default:
				action = DuplicateDeleteFailed
				log.Error("duplicate: could not delete a second cloud resource made for an id bound to another; a later list retries", "err", err)
			}
		} else {
			log.Warn("duplicate: a second cloud resource carries the token of an id bound to another (duplicates: report, so it is left in the cloud and not listed)")
		}
		// Recorded before counted: whoever sees the counter move (tests,
		// dashboards) finds the record too.
		d.record(owner.ID, native, action, st)
		d.count.WithLabelValues(cloud, kind, action).Inc()
		d.mu.Lock()
		delete(d.busy, key)
		if action != DuplicateDeleteFailed {
			d.done[key] = true
		}
		d.mu.Unlock()
	}()
}

// dupNamespace is the record namespace of the duplicates found, keyed
// <owner id>/<native id>, valued with the action: done operations are
// final, so what a later list finds is kept beside them.
const dupNamespace = "duplicates"

// record notes the duplicate of owner for its operation's metadata.
func (d *duplicates) record(owner, native, action string, st store.Store) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(d.ctx), 10*time.Second)
	defer cancel()
	if err := st.PutRecord(ctx, dupNamespace, owner+"/"+native, []byte(action)); err != nil {
		d.log.Error("duplicate: could not record it", "token", owner, "native_id", native, "err", err)
	}
}

// DuplicatesOf lists the crash duplicates recorded for the resource owner
// (a canopy id), by native id, for its create operation's metadata.
func DuplicatesOf(ctx context.Context, st store.RecordStore, owner string) []*canopyv1.Duplicate {
	rs, err := st.ListRecords(ctx, dupNamespace, owner+"/")
	if err != nil {
		return nil
	}
	out := make([]*canopyv1.Duplicate, 0, len(rs))
	for _, r := range rs {
		out = append(out, &canopyv1.Duplicate{NativeId: strings.TrimPrefix(r.Key, owner+"/"), Action: string(r.Value)})
	}
	return out
}

// Claimed maps one cloud's listed resources of a kind to their ids
// (adopting those seen for the first time), binds those whose token names a
// pending id, and drops the crash duplicates (handed to del): the one path
// every resource kind with tokens is listed through.
func Claimed[T any](ctx context.Context, r Resolver, cl *Cloud, kind string, list []T, common func(T) providers.Common, del func(context.Context, string) error) ([]T, map[string]store.Mapping, error) {
	natives, tokens := make([]string, len(list)), make([]string, len(list))
	for i, x := range list {
		c := common(x)
		natives[i], tokens[i] = c.NativeID, c.Properties[providers.PropToken]
	}
	ids, err := r.Adopt(ctx, cl, kind, natives)
	if err != nil {
		return nil, nil, err
	}
	dups := r.ClaimTokens(ctx, cl, kind, natives, tokens, ids, del)
	return dropDuplicates(list, dups, func(x T) string { return common(x).NativeID }), ids, nil
}

// DuplicatesCollector is the counter canopy_duplicates_total, for the
// caller's registry.
func (r *Router) DuplicatesCollector() prometheus.Collector { return r.dups.count }

// dropDuplicates returns list without the items whose native id is in dups.
func dropDuplicates[T any](list []T, dups map[string]bool, native func(T) string) []T {
	if len(dups) == 0 {
		return list
	}
	out := list[:0:0]
	for _, x := range list {
		if !dups[native(x)] {
			out = append(out, x)
		}
	}
	return out
}
