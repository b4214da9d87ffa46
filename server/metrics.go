package server

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"

	"github.com/canopy-cloud/canopy/cache"
	"github.com/canopy-cloud/canopy/router"
)

// metrics are the server's own: RPC latency and the pollers' state. The
// cache layer registers upstream calls, cache reads and rate limiting.
type metrics struct {
	rpc  *prometheus.HistogramVec
	wake *prometheus.HistogramVec
	// drift counts what the reconcile loop found changed at a cloud and
	// put back (network_reconcile.go).
	drift *prometheus.CounterVec
	// onWake, when set, sees every woken wait (benchmarks).
	onWake func(cloud string, changed, woke time.Time)
}

func newMetrics(reg *prometheus.Registry, rt *router.Router) *metrics {
	m := &metrics{rpc: prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "canopy_rpc_duration_seconds",
		Help:    "Latency of canopy RPCs by method and code (streams: their whole life).",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2.5, 14),
	}, []string{"method", "code"}),
		wake: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "canopy_wait_wake_delay_seconds",
			Help:    "From the cloud's change of a resource (its update time) to canopy waking the waiter, by cloud and kind.",
			Buckets: prometheus.ExponentialBuckets(0.01, 1.6, 16),
		}, []string{"cloud", "kind"})}
	m.drift = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "canopy_network_drift_total",
		Help: "Changes made at a cloud behind canopy's back to a global network or security group, found and repaired by the reconcile loop, by cloud and what changed.",
	}, []string{"cloud", "what"})
	reg.MustRegister(m.drift)
	reg.MustRegister(m.rpc, m.wake, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for _, cl := range rt.Clouds() {
		var ps []kindPoller
		ps = withPoller(ps, cache.Servers, cl.Servers)
		ps = withPoller(ps, cache.Networks, cl.Networks)
		ps = withPoller(ps, cache.Ports, cl.Ports)
		ps = withPoller(ps, cache.SecurityGroups, cl.SecurityGroups)
		ps = withPoller(ps, cache.FloatingIPs, cl.FloatingIPs)
		for _, kp := range ps {
			labels := prometheus.Labels{"cloud": cl.Name, "kind": kp.kind}
			p := kp.p
			reg.MustRegister(
				prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "canopy_waiters", Help: "Callers waiting on a resource status, by cloud and kind.", ConstLabels: labels},
					func() float64 { return float64(p.Waiters()) }),
				prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "canopy_watchers", Help: "Watch streams subscribed to a cloud's poller.", ConstLabels: labels},
					func() float64 { return float64(p.Subscribers()) }),
				prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "canopy_poll_interval_seconds", Help: "Current interval of the batched status poller.", ConstLabels: labels},
					func() float64 { return p.Interval().Seconds() }),
				prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "canopy_polls_total", Help: "Lists made by the batched status poller.", ConstLabels: labels},
					func() float64 { return float64(p.Polls()) }),
			)
		}
	}
	return m
}

// kindPoller is one batched poller of a cloud, as its metrics read it.
type kindPoller struct {
	kind string
	p    interface {
		Waiters() int
		Subscribers() int
		Interval() time.Duration
		Polls() int64
	}
}

// withPoller adds p to ps unless the cloud has none of the kind.
func withPoller[T any](ps []kindPoller, kind string, p *cache.Poller[T]) []kindPoller {
	if p == nil {
		return ps
	}
	return append(ps, kindPoller{kind, p})
}

func (m *metrics) unary() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		start := time.Now()
		resp, err := handler(ctx, req)
		m.rpc.WithLabelValues(info.FullMethod, status.Code(err).String()).Observe(time.Since(start).Seconds())
		return resp, err
	}
}

func (m *metrics) stream() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		start := time.Now()
		err := handler(srv, ss)
		m.rpc.WithLabelValues(info.FullMethod, status.Code(err).String()).Observe(time.Since(start).Seconds())
		return err
	}
}

// woke records a waiter woken by the poller for a change the cloud dated.
func (m *metrics) woke(cloud, kind string, changed time.Time) {
	if changed.IsZero() {
		return
	}
	now := time.Now()
	m.wake.WithLabelValues(cloud, kind).Observe(now.Sub(changed).Seconds())
	if m.onWake != nil {
		m.onWake(cloud, changed, now)
	}
}
