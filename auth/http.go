package auth

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Server is the HTTP face of the built-in authorization server.
type Server struct {
	Issuer  *Issuer
	Clients *Clients
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

// token implements the client-credentials grant (RFC 6749 §4.4) with
// client_secret_basic and client_secret_post authentication.
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "malformed form body")
		return
	}
	form := r.PostForm
	id, secret, basic := r.BasicAuth()
	if basic {
		// RFC 6749 §2.3.1: both parts are form-urlencoded before base64.
		var err1, err2 error
		id, err1 = url.QueryUnescape(id)
		secret, err2 = url.QueryUnescape(secret)
		if err1 != nil || err2 != nil {
			oauthError(w, http.StatusBadRequest, "invalid_request", "malformed basic credentials")
			return
		}
		if form.Get("client_secret") != "" {
			oauthError(w, http.StatusBadRequest, "invalid_request", "use one client authentication method, not two")
			return
		}
	} else {
		id, secret = form.Get("client_id"), form.Get("client_secret")
	}
	if gt := form.Get("grant_type"); gt != "client_credentials" {
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "only client_credentials is supported")
		return
	}
	if id == "" || secret == "" {
		w.Header().Set("WWW-Authenticate", `Basic realm="canopy"`)
		oauthError(w, http.StatusUnauthorized, "invalid_client", "client authentication is required")
		return
	}
	cl, err := s.Clients.Authenticate(r.Context(), id, secret)
	if err != nil {
		if !errors.Is(err, ErrBadCredentials) {
			s.Log.Error("token: client lookup failed", "err", err)
			oauthError(w, http.StatusInternalServerError, "server_error", "try again")
			return
		}
		s.Log.Info("audit", "event", "token", "client", id, "outcome", "invalid_client")
		if basic {
			w.Header().Set("WWW-Authenticate", `Basic realm="canopy"`)
		}
		oauthError(w, http.StatusUnauthorized, "invalid_client", "unknown client or wrong secret")
		return
	}
	scopes := cl.Scopes
	if req := ParseScope(form.Get("scope")); len(req) > 0 {
		// A client may ask for less than it holds: scopes nest (admin
		// holds write and read), so an admin client can get a read-only
		// token for a script.
		held := Principal{Scopes: cl.Scopes}
		for _, sc := range req {
			if !slices.Contains(AllScopes, sc) {
				oauthError(w, http.StatusBadRequest, "invalid_scope", "unknown scope "+sc+" (known: "+strings.Join(AllScopes, " ")+")")
				return
			}
			if !held.Has(sc) {
				oauthError(w, http.StatusBadRequest, "invalid_scope", "the client may not request "+sc+"; it holds "+strings.Join(cl.Scopes, " "))
				return
			}
		}
		scopes = req
	}
	tok, exp, err := s.Issuer.Issue(cl.ID, cl.Project, scopes)
	if err != nil {
		s.Log.Error("token: sign failed", "err", err)
		oauthError(w, http.StatusInternalServerError, "server_error", "try again")
		return
	}
	s.Log.Info("audit", "event", "token", "client", cl.ID, "project", cl.Project, "scope", strings.Join(scopes, " "), "outcome", "issued")
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": tok, "token_type": "Bearer", "expires_in": int(time.Until(exp).Seconds()), "scope": strings.Join(scopes, " "),
	})
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
		"grant_types_supported":                 []string{"client_credentials"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
		"scopes_supported":                      AllScopes,
		"response_types_supported":              []string{"token"},
		"id_token_signing_alg_values_supported": []string{"ES256"},
		"subject_types_supported":               []string{"public"},
	})
}
