package auth

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// The RFC 8693 token-exchange grant and the one token type it takes and
// issues here.
const (
	GrantTokenExchange   = "urn:ietf:params:oauth:grant-type:token-exchange"
	TokenTypeAccessToken = "urn:ietf:params:oauth:token-type:access_token"
)

// ownClientPrefix starts every id Clients.Create makes: an id with it is
// canopy's own client, whatever identity sources are configured.
const ownClientPrefix = "cnp-"

func (s *Server) grantTypes() []string {
	if len(s.Sources) == 0 {
		return []string{"client_credentials"}
	}
	return []string{"client_credentials", GrantTokenExchange}
}

// token serves the token endpoint: the client-credentials grant (RFC 6749
// §4.4, client_secret_basic or client_secret_post) for canopy's own
// clients and for the clients of identity sources, and the token-exchange
// grant (RFC 8693) of a source's token.
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
	switch gt := form.Get("grant_type"); {
	case gt == "client_credentials":
		s.clientCredentials(w, r, id, secret, basic)
	case gt == GrantTokenExchange && len(s.Sources) > 0:
		if id != "" || secret != "" {
			oauthError(w, http.StatusBadRequest, "invalid_request", "a token exchange is authenticated by its subject_token alone: send no client credentials")
			return
		}
		s.exchange(w, r)
	default:
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "grant_type must be one of: "+strings.Join(s.grantTypes(), ", "))
	}
}

func (s *Server) clientCredentials(w http.ResponseWriter, r *http.Request, id, secret string, basic bool) {
	unauthorized := func(desc string) {
		if basic {
			w.Header().Set("WWW-Authenticate", `Basic realm="canopy"`)
		}
		oauthError(w, http.StatusUnauthorized, "invalid_client", desc)
	}
	if id == "" || secret == "" {
		w.Header().Set("WWW-Authenticate", `Basic realm="canopy"`)
		oauthError(w, http.StatusUnauthorized, "invalid_client", "client authentication is required")
		return
	}
	src, local, problem := s.sourceOf(id)
	if problem != "" {
		s.Log.Info("audit", "event", "token", "client", id, "outcome", "invalid_client")
		unauthorized(problem)
		return
	}
	if src != nil {
		idn, err := src.AuthenticateClient(r.Context(), local, secret)
		if err != nil {
			s.sourceFailed(w, src, "client_credentials", id, err, unauthorized)
			return
		}
		s.issue(w, r, src, "client_credentials", idn)
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
		unauthorized("unknown client or wrong secret")
		return
	}
	scopes := cl.Scopes
	if req := ParseScope(r.PostForm.Get("scope")); len(req) > 0 {
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

// sourceOf picks who authenticates a client id: canopy's own store (nil
// source) for its "cnp-" ids and when no source is configured; the source
// named by a qualified id "<source>/<id>"; the only source for any other
// id. An id no one can authenticate gets a problem for the caller, and
// the store is not read for it.
func (s *Server) sourceOf(id string) (src IdentitySource, local, problem string) {
	if strings.HasPrefix(id, ownClientPrefix) || len(s.Sources) == 0 {
		return nil, id, ""
	}
	if name, local, ok := strings.Cut(id, "/"); ok {
		for _, src := range s.Sources {
			if src.Name() == name {
				return src, local, ""
			}
		}
		return nil, "", "unknown client or wrong secret"
	}
	if len(s.Sources) == 1 {
		return s.Sources[0], id, ""
	}
	names := make([]string, len(s.Sources))
	for i, src := range s.Sources {
		names[i] = src.Name()
	}
	return nil, "", "several clouds accept their credentials (" + strings.Join(names, ", ") + "): send the client id as <cloud>/<id>"
}

// exchange serves the token-exchange grant of a source's token.
func (s *Server) exchange(w http.ResponseWriter, r *http.Request) {
	form := r.PostForm
	subject := form.Get("subject_token")
	switch {
	case subject == "":
		oauthError(w, http.StatusBadRequest, "invalid_request", "subject_token is required")
		return
	case form.Get("subject_token_type") != TokenTypeAccessToken:
		oauthError(w, http.StatusBadRequest, "invalid_request", "subject_token_type must be "+TokenTypeAccessToken)
		return
	case form.Get("requested_token_type") != "" && form.Get("requested_token_type") != TokenTypeAccessToken:
		oauthError(w, http.StatusBadRequest, "invalid_request", "requested_token_type: canopy issues only "+TokenTypeAccessToken)
		return
	case form.Get("actor_token") != "":
		oauthError(w, http.StatusBadRequest, "invalid_request", "actor_token (delegation) is not supported")
		return
	}
	var src IdentitySource
	name := form.Get("subject_issuer")
	for _, c := range s.Sources {
		if c.Name() == name || (name == "" && len(s.Sources) == 1) {
			src = c
		}
	}
	if src == nil {
		names := make([]string, len(s.Sources))
		for i, c := range s.Sources {
			names[i] = c.Name()
		}
		oauthError(w, http.StatusBadRequest, "invalid_request", "subject_issuer must name the cloud whose token this is, one of: "+strings.Join(names, ", "))
		return
	}
	idn, err := src.ExchangeToken(r.Context(), subject)
	if err != nil {
		s.sourceFailed(w, src, GrantTokenExchange, "", err, func(string) {
			oauthError(w, http.StatusBadRequest, "invalid_request", "subject_token is not a valid token of cloud "+src.Name()+" (expired, revoked or malformed)")
		})
		return
	}
	s.issue(w, r, src, GrantTokenExchange, idn)
}

// sourceFailed answers a source's refusal or failure; bad is how the grant
// says "wrong credentials".
func (s *Server) sourceFailed(w http.ResponseWriter, src IdentitySource, grant, client string, err error, bad func(desc string)) {
	attrs := []any{"event", "token", "grant", grant, "source", src.Name()}
	if client != "" {
		attrs = append(attrs, "client", client)
	}
	var denied *DeniedError
	switch {
	case errors.As(err, &denied):
		s.Log.Info("audit", append(append(attrs, denied.Audit...), "outcome", "denied", "reason", denied.Reason)...)
		kind := "unauthorized_client"
		if grant == GrantTokenExchange {
			kind = "invalid_request" // RFC 8693 §2.2.2
		}
		oauthError(w, http.StatusBadRequest, kind, denied.Reason)
	case errors.Is(err, ErrBadCredentials), errors.Is(err, ErrInvalidToken):
		s.Log.Info("audit", append(attrs, "outcome", "rejected", "reason", err.Error())...)
		bad("unknown client or wrong secret")
	case errors.Is(err, ErrSourceUnavailable):
		s.Log.Warn("token: identity source unavailable", "source", src.Name(), "err", err)
		w.Header().Set("Retry-After", "5")
		oauthError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "the identity service of cloud "+src.Name()+" did not answer; try again later")
	default:
		s.Log.Error("token: identity source failed", "source", src.Name(), "err", err)
		oauthError(w, http.StatusInternalServerError, "server_error", "try again")
	}
}

// issue signs a token for a source's caller, narrowed to the requested
// scopes (which must be ones the caller holds, counting nesting).
func (s *Server) issue(w http.ResponseWriter, r *http.Request, src IdentitySource, grant string, idn Identity) {
	scopes := idn.Scopes
	if req := ParseScope(r.PostForm.Get("scope")); len(req) > 0 {
		held := Principal{Scopes: idn.Scopes}
		for _, sc := range req {
			if !slices.Contains(AllScopes, sc) || !held.Has(sc) {
				oauthError(w, http.StatusBadRequest, "invalid_scope", "the caller may not request "+sc+"; it holds "+strings.Join(idn.Scopes, " "))
				return
			}
		}
		scopes = req
	}
	tok, exp, err := s.Issuer.IssueGrant(Grant{Subject: idn.Subject, ClientID: idn.ClientID, Project: idn.Project, Scopes: scopes, NotAfter: idn.NotAfter})
	if err != nil {
		s.Log.Error("token: sign failed", "err", err)
		oauthError(w, http.StatusInternalServerError, "server_error", "try again")
		return
	}
	attrs := append([]any{"event", "token", "grant", grant, "source", src.Name(), "client", idn.ClientID, "subject", idn.Subject}, idn.Audit...)
	s.Log.Info("audit", append(attrs, "project", idn.Project, "scope", strings.Join(scopes, " "), "outcome", "issued")...)
	body := map[string]any{
		"access_token": tok, "token_type": "Bearer", "expires_in": int(time.Until(exp).Seconds()), "scope": strings.Join(scopes, " "),
	}
	if grant == GrantTokenExchange {
		body["issued_token_type"] = TokenTypeAccessToken
	}
	writeJSON(w, http.StatusOK, body)
}
