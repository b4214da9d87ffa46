package cache

import "github.com/prometheus/client_golang/prometheus"

// Metrics are what the cache layer reports. They are registered on a
// registry the caller owns (canopyd serves it at /metrics), never on the
// global one.
type Metrics struct {
	upstream *prometheus.CounterVec
	reads    *prometheus.CounterVec
	limited  *prometheus.CounterVec
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
	}
	if reg != nil {
		reg.MustRegister(m.upstream, m.reads, m.limited)
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
