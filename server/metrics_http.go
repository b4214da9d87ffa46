package server

import (
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// metricsHandler serves /metrics: open by default, as Prometheus
// endpoints usually are, or behind a bearer token with the configured
// scope (config metrics.require_token) where the cloud names, rates and
// error counts it shows are not for everyone who can reach the port.
// Refusals use the one REST error shape: 401 without a valid token, 403
// with one that lacks the scope.
func (s *Server) metricsHandler() http.Handler {
	h := promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{})
	mc := s.cfg.Metrics
	if !mc.RequireToken {
		return h
	}
	scope := mc.TokenScope()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var raw string
		if scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "bearer") {
			raw = strings.TrimSpace(tok)
		}
		if raw == "" {
			writeRESTError(w, status.Error(codes.Unauthenticated, "missing bearer token: /metrics requires one (metrics.require_token); get one from /oauth2/token"))
			return
		}
		p, err := s.verifier.Verify(r.Context(), raw)
		if err != nil {
			s.log.Debug("token rejected", "path", "/metrics", "reason", err)
			writeRESTError(w, status.Error(codes.Unauthenticated, "invalid bearer token (expired, wrong audience or issuer, or bad signature)"))
			return
		}
		if !p.Has(scope) {
			writeRESTError(w, status.Errorf(codes.PermissionDenied, "/metrics needs scope %s; the token has %q", scope, strings.Join(p.Scopes, " ")))
			return
		}
		h.ServeHTTP(w, r)
	})
}
