// Package server implements canopy's gRPC services over the provider
// adapters: it routes each call to its cloud (by location on create, by the
// id map afterwards), translates canopy ids to native ids and back, fans
// lists out across clouds, and maps every failure to a gRPC code that names
// the field or the cloud at fault.
package server

import (
	"context"
	"log/slog"

	"github.com/canopy-cloud/canopy/config"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/canopy-cloud/canopy/cache"
	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/store"
)

// Server implements every canopy gRPC service.
type Server struct {
	canopyv1.UnimplementedCloudServiceServer
	canopyv1.UnimplementedComputeServiceServer

	cfg     *config.Config
	store   store.Store
	clouds  *cloudSet
	log     *slog.Logger
	reg     *prometheus.Registry
	metrics *metrics
}

// New opens every configured cloud. The store stays the caller's to close.
func New(ctx context.Context, cfg *config.Config, st store.Store, log *slog.Logger) (*Server, error) {
	if log == nil {
		log = slog.Default()
	}
	reg := prometheus.NewRegistry()
	cm := cache.NewMetrics(reg)
	cs, err := openClouds(ctx, cfg, log, cm)
	if err != nil {
		return nil, err
	}
	return &Server{cfg: cfg, store: store.NewCached(st), clouds: cs, log: log, reg: reg, metrics: newMetrics(reg, cs)}, nil
}

// Close closes the cloud adapters.
func (s *Server) Close() { s.clouds.close() }

// project is the caller's project. Until tokens carry one (the auth issue),
// every caller is in the default project.
func project(ctx context.Context) string { return "" }

// Registry is the server's Prometheus registry (served at /metrics).
func (s *Server) Registry() *prometheus.Registry { return s.reg }

// Provider returns the adapter of a cloud (nil if unknown), for tests and
// benchmarks that count upstream calls at the provider boundary.
func (s *Server) Provider(cloud string) providers.Provider {
	if cl, ok := s.clouds.byName[cloud]; ok {
		return cl.p
	}
	return nil
}
