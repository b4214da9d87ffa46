package auth

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
)

// Server is the HTTP face of the built-in authorization server.
type Server struct {
	Issuer  *Issuer
	Clients *Clients
	// Sources are the identity sources whose callers get tokens besides
	// canopy's own clients (token.go says how a request picks one).
	Sources []IdentitySource
	Log     *slog.Logger
}

// Register mounts the token endpoint, the JWKS and the discovery documents.
func (s *Server) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /oauth2/token", s.token)
	mux.HandleFunc("GET /.well-known/jwks.json", s.jwks)
	mux.HandleFunc("GET /.well-known/oauth-authorization-server", s.discovery)
	mux.HandleFunc("GET /.well-known/openid-configuration", s.discovery)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// oauthError answers with an RFC 6749 §5.2 error.
func oauthError(w http.ResponseWriter, code int, kind, desc string) {
	writeJSON(w, code, map[string]string{"error": kind, "error_description": desc})
}

func (s *Server) jwks(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "max-age=60")
	_ = json.NewEncoder(w).Encode(s.Issuer.JWKS())
}

// discovery serves RFC 8414 metadata (also at the OIDC path, which most
// libraries look for first).
func (s *Server) discovery(w http.ResponseWriter, r *http.Request) {
	base := strings.TrimSuffix(s.Issuer.URL(), "/")
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"issuer":                                base,
		"token_endpoint":                        base + "/oauth2/token",
		"jwks_uri":                              base + "/.well-known/jwks.json",
		"grant_types_supported":                 s.grantTypes(),
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
		"scopes_supported":                      AllScopes,
		"response_types_supported":              []string{"token"},
		"id_token_signing_alg_values_supported": []string{"ES256"},
		"subject_types_supported":               []string{"public"},
	})
}
