// Package server is canopy's gRPC and REST front: one small type per gRPC
// service (cloudService, computeService, volumeService, operationService,
// objectService, imageService, authService), each holding a narrow
// interface to the router (router.Resolver, or less), in the style of
// etcd's v3rpc servers; the interceptors (authentication, audit, metrics);
// the grpc-gateway and the plain HTTP byte endpoints beside it; and the
// wiring that builds them (Server).
//
// A handler validates its request, asks the router where the call goes,
// calls the cloud's stack, and maps failures once (router.CloudErr). The
// shapes several services share are written once: watch streams
// (watchstream.go), snapshots and backups (copies.go), requests that
// become durable operations (ops.asOperation, run by package jobs through
// the steps in volume_jobs.go). Routing, the cloud stacks, fan-out, paging,
// validation and the error mapping are package router's; what a cloud
// lacks is package emulate's.
package server

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/canopy-cloud/canopy/auth"
	"github.com/canopy-cloud/canopy/cache"
	"github.com/canopy-cloud/canopy/clock"
	"github.com/canopy-cloud/canopy/config"
	"github.com/canopy-cloud/canopy/ownership"
	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/router"
	"github.com/canopy-cloud/canopy/store"
)

// Server is canopyd's wiring: it opens the router, builds one small type
// per gRPC service over it when it serves, and holds the interceptors
// (authentication, audit, metrics), the REST gateway and the byte
// endpoints beside it.
type Server struct {
	cfg     *config.Config
	store   store.Store
	rt      *router.Router
	log     *slog.Logger
	reg     *prometheus.Registry
	metrics *metrics

	issuer   *auth.Issuer
	clients  *auth.Clients
	verifier *auth.Verifier
	// sources are the clouds' identity services whose users get tokens
	// (identity.go).
	sources []auth.IdentitySource

	// owner decides which replica does a cloud's shared work and runs an
	// operation (replicas.go); nil: this process does all of it.
	owner ownership.Owner
	// held is which clouds this replica owns while it serves.
	held *ownership.Held

	urls *signedBase // where signed URLs are served (objects.go)
	// chunks recycles upload chunks between the codec and the object
	// service (objects.go, rawcodec.go).
	chunks *chunkPool
	// repl places images in more clouds (image_replicate.go).
	repl *replicator
	// clock bounds the operation waits and runs the clouds' breakers
	// (WithClock); the wall clock unless a test drives it.
	clock clock.Clock
}

// Option changes how New builds the server.
type Option func(*Server)

// WithClock makes the bound on an operation wait and the clouds' circuit
// breakers read c instead of the wall clock, so tests move time forward
// instead of sleeping through a window. The callers' own deadlines stay
// on the wall clock.
func WithClock(c clock.Clock) Option { return func(s *Server) { s.clock = c } }

// New opens every configured cloud. The store stays the caller's to close.
func New(ctx context.Context, cfg *config.Config, st store.Store, log *slog.Logger, opts ...Option) (*Server, error) {
	if log == nil {
		log = slog.Default()
	}
	var o Server
	for _, opt := range opts {
		opt(&o)
	}
	reg := prometheus.NewRegistry()
	cm := cache.NewMetrics(reg)
	cm.LogLists(log)
	cached := store.NewCached(st)
	rt, err := router.Open(ctx, cfg, cached, log, cm, router.WithClock(o.clock))
	if err != nil {
		return nil, err
	}
	reg.MustRegister(rt.DuplicatesCollector())
	s := &Server{cfg: cfg, store: cached, rt: rt, urls: &signedBase{}, chunks: newChunkPool(), log: log, reg: reg, metrics: newMetrics(reg, rt), clients: auth.NewClients(st), clock: clock.Or(o.clock)}
	s.repl = newReplicator(rt, cached)
	if err := s.initAuth(ctx); err != nil {
		rt.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the cloud adapters.
func (s *Server) Close() { s.rt.Close() }

// initAuth loads the built-in issuer's keys, the trusted issuers and the
// clouds' identity sources.
func (s *Server) initAuth(ctx context.Context) error {
	url := s.cfg.Auth.IssuerURL
	if url == "" {
		return fmt.Errorf("server: auth.issuer_url is required")
	}
	var err error
	s.issuer, err = auth.NewIssuer(ctx, s.store, auth.IssuerOptions{URL: url, Audience: s.cfg.Auth.Audience, TTL: s.cfg.Auth.TokenTTL.Std()})
	if err != nil {
		return err
	}
	s.verifier, err = auth.NewVerifier(s.issuer, s.cfg.Auth.Issuers, nil)
	if err != nil {
		return err
	}
	s.sources, err = s.identitySources()
	return err
}

// Issuer is the built-in authorization server's token issuer.
func (s *Server) Issuer() *auth.Issuer { return s.issuer }

// Clients manages the built-in authorization server's clients.
func (s *Server) Clients() *auth.Clients { return s.clients }

// OnWake calls f for every wait the poller wakes, with the time the cloud
// says the resource changed: benchmarks measure wake-up delay with it.
func (s *Server) OnWake(f func(cloud string, changed, woke time.Time)) { s.metrics.onWake = f }

// Registry is the server's Prometheus registry (served at /metrics).
func (s *Server) Registry() *prometheus.Registry { return s.reg }

// Provider returns the adapter of a cloud (nil if unknown), for tests and
// benchmarks that count upstream calls at the provider boundary.
func (s *Server) Provider(cloud string) providers.Provider {
	if cl, ok := s.rt.Cloud(cloud); ok {
		return cl.Provider
	}
	return nil
}
