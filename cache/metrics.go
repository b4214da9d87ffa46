package cache

import "github.com/prometheus/client_golang/prometheus"

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
}

// NewMetrics creates and registers the cache metrics.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		upstream: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "canopy_upstream_calls_total", Help: "Calls canopy made to a cloud's API, by cloud, kind and method.",
		}, []string{"cloud", "kind", "method"}),
		reads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "canopy_cache_reads_total", Help: "Reads through the cache: result is hit, miss (went upstream) or coalesced (shared another caller's upstream call).",
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
	}
	if reg != nil {
		reg.MustRegister(m.upstream, m.reads, m.limited, m.breaker, m.breakerMoves, m.refused, m.mode, m.events)
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
