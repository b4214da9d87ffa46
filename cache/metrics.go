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
	}
	if reg != nil {
		reg.MustRegister(m.upstream, m.reads, m.limited, m.breaker, m.breakerMoves, m.refused)
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
