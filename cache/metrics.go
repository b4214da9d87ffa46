package cache

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are what the cache layer reports. They are registered on a
// registry the caller owns (canopyd serves it at /metrics), never on the
// global one.
type Metrics struct {
	upstream *prometheus.CounterVec
	reads    *prometheus.CounterVec
	limited  *prometheus.CounterVec

	breaker      *prometheus.GaugeVec
	breakerMoves *prometheus.CounterVec
	refused      *prometheus.CounterVec

	mode   *prometheus.GaugeVec
	events *prometheus.CounterVec

	lists   *prometheus.CounterVec
	listLog atomic.Pointer[slog.Logger] // LogLists
}

// NewMetrics creates and registers the cache metrics.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		upstream: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "canopy_upstream_calls_total", Help: "Calls canopy made to a cloud's API, by cloud, kind and method.",
		}, []string{"cloud", "kind", "method"}),
		reads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "canopy_cache_reads_total", Help: "Reads through the cache: result is hit, miss (went upstream), coalesced (shared another caller's upstream call) or polled (answered by the batched poller's list: replicas).",
		}, []string{"cloud", "kind", "result"}),
		limited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "canopy_rate_limited_total", Help: "Calls refused because the cloud's rate limit would delay them past their deadline, or that honored a cloud's Retry-After.",
		}, []string{"cloud", "reason"}),
		breaker: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "canopy_breaker_state", Help: "A cloud's circuit breaker: 0 closed (calls pass), 1 open (calls refused), 2 half-open (one probe in flight).",
		}, []string{"cloud"}),
		breakerMoves: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "canopy_breaker_transitions_total", Help: "Times a cloud's circuit breaker moved, by the state it moved to.",
		}, []string{"cloud", "state"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "canopy_breaker_refused_total", Help: "Calls to a cloud refused at once because its circuit breaker was open.",
		}, []string{"cloud"}),
		mode: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "canopy_status_mode", Help: "How canopy learns a cloud's status changes: 1 on mode=\"events\" while its notification feed is connected (polling only reconciles, slowly), 1 on mode=\"polling\" otherwise (full-rate polling). Clouds without a feed report polling.",
		}, []string{"cloud", "mode"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "canopy_notifications_total", Help: "Notifications heard from a cloud, by resource kind and what canopy did: applied, duplicate, stale (older than what was known), adopted (a resource canopy had not seen), relist (no state in it: the kind is relisted), ignored.",
		}, []string{"cloud", "kind", "result"}),
		lists: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "canopy_upstream_lists_total", Help: "Whole lists of a kind canopy asked a cloud for, by why: poll (the owner's batched status poll), takeover (a new owner's first poll), kick (a poll made at once: a lost feed, an announcement to describe), refill_local (a cached read after a write through this replica), refill_remote (a cached read after another replica's write), expired (a cached read after the entry's TTL or poll bound), cold (a cached read with nothing cached), uncached (a read of a kind whose cache is off).",
		}, []string{"cloud", "kind", "reason"}),
	}
	if reg != nil {
		reg.MustRegister(m.upstream, m.reads, m.limited, m.breaker, m.breakerMoves, m.refused, m.mode, m.events, m.lists)
	}
	return m
}

func (m *Metrics) call(cloud, kind, method string) {
	if m != nil {
		m.upstream.WithLabelValues(cloud, kind, method).Inc()
	}
}

func (m *Metrics) read(cloud, kind, result string) {
	if m != nil {
		m.reads.WithLabelValues(cloud, kind, result).Inc()
	}
}

func (m *Metrics) limit(cloud, reason string) {
	if m != nil {
		m.limited.WithLabelValues(cloud, reason).Inc()
	}
}

func (m *Metrics) breakerState(cloud string, s BreakerState) {
	if m != nil {
		m.breaker.WithLabelValues(cloud).Set(float64(s))
	}
}

func (m *Metrics) breakerTransition(cloud string, s BreakerState) {
	if m != nil {
		m.breakerMoves.WithLabelValues(cloud, s.String()).Inc()
	}
}

func (m *Metrics) breakerRefused(cloud string) {
	if m != nil {
		m.refused.WithLabelValues(cloud).Inc()
	}
}

// StatusMode records whether a cloud's status comes from its events
// (true) or from full-rate polling.
func (m *Metrics) StatusMode(cloud string, events bool) {
	if m == nil {
		return
	}
	on, off := "polling", "events"
	if events {
		on, off = off, on
	}
	m.mode.WithLabelValues(cloud, on).Set(1)
	m.mode.WithLabelValues(cloud, off).Set(0)
}

// Notification counts one notification heard from a cloud.
func (m *Metrics) Notification(cloud, kind, result string) {
	if m != nil {
		m.events.WithLabelValues(cloud, kind, result).Inc()
	}
}

// Why a whole list of a kind went to the cloud (canopy_upstream_lists_total):
// a cloud should see one list per interval per kind, and these say which
// path made each one.
const (
	ListPoll          = "poll"
	ListTakeover      = "takeover"
	ListKick          = "kick"
	ListRefillLocal   = "refill_local"
	ListRefillRemote  = "refill_remote"
	ListExpired       = "expired"
	ListCold          = "cold"
	ListUncached      = "uncached"
	listReasonUnknown = "fresh"
)

// LogLists logs every whole list sent to a cloud at debug level with its
// reason (the chaos test reads them to say where an extra list came from).
func (m *Metrics) LogLists(log *slog.Logger) {
	if m != nil {
		m.listLog.Store(log)
	}
}

func (m *Metrics) list(cloud, kind, reason string) {
	if m == nil {
		return
	}
	m.lists.WithLabelValues(cloud, kind, reason).Inc()
	if l := m.listLog.Load(); l != nil {
		l.Debug("upstream list", "cloud", cloud, "kind", kind, "reason", reason)
	}
}

// listCall is a poller's upstream list: the reason it is counted under
// and, filled in by the cache, when it was sent (after the rate limiter,
// right before the adapter's call).
type listCall struct {
	reason string

	mu    sync.Mutex
	sent  time.Time
	wrote time.Time // the last HTTP request of the list written to the wire
}

type listCallKey struct{}

// withListCall makes the upstream list made under ctx the poller's lc.
func withListCall(ctx context.Context, lc *listCall) context.Context {
	return context.WithValue(ctx, listCallKey{}, lc)
}

func listCallOf(ctx context.Context) *listCall {
	lc, _ := ctx.Value(listCallKey{}).(*listCall)
	return lc
}

// send notes that the list is sent now (each attempt: a cloud's
// retry-after is retried).
func (lc *listCall) send() {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	lc.sent = time.Now()
}

// wroteRequest notes that an HTTP request of the list (a page, an
// attempt) has just been written to the connection.
func (lc *listCall) wroteRequest() {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	lc.wrote = time.Now()
}

// wroteAt is when the list's last HTTP request was written, or or (an
// adapter that does not speak HTTP, or a list that shared another's).
func (lc *listCall) wroteAt(or time.Time) time.Time {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	if lc.wrote.IsZero() || lc.wrote.Before(or) {
		return or
	}
	return lc.wrote
}

// sentAt is when the list was last sent, or or (the list was not made
// through the cache, or shared another read's).
func (lc *listCall) sentAt(or time.Time) time.Time {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	if lc.sent.IsZero() {
		return or
	}
	return lc.sent
}
