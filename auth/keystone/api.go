package keystone

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/canopy-cloud/canopy/auth"
)

// maxBody bounds what is read of a Keystone answer (a token without its
// catalog is a few KiB).
const maxBody = 1 << 20

// ref is a Keystone user or project as a token names it.
type ref struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Domain struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"domain"`
}

// token is the part of Keystone's token document canopy reads
// (identity API v3, "token" object).
type token struct {
	ExpiresAt time.Time `json:"expires_at"`
	User      ref       `json:"user"`
	// Project is nil for unscoped, domain- and system-scoped tokens.
	Project *ref `json:"project"`
	Roles   []struct {
		Name string `json:"name"`
	} `json:"roles"`
	// AppCred is set when the token came from an application credential.
	AppCred *struct {
		ID          string `json:"id"`
		Name        string `json:"name"`
		AccessRules []any  `json:"access_rules"`
	} `json:"application_credential"`
}

// appCredToken authenticates with an application credential
// (POST /v3/auth/tokens) and returns the token Keystone issued for it.
func (s *Source) appCredToken(ctx context.Context, id, secret string) (token, error) {
	body, _ := json.Marshal(map[string]any{"auth": map[string]any{"identity": map[string]any{
		"methods":                []string{"application_credential"},
		"application_credential": map[string]string{"id": id, "secret": secret},
	}}})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url+"/auth/tokens?nocatalog", bytes.NewReader(body))
	if err != nil {
		return token{}, fmt.Errorf("%w: keystone of cloud %s: %v", auth.ErrSourceUnavailable, s.cloud, err)
	}
	req.Header.Set("Content-Type", "application/json")
	// Keystone answers 401 for a wrong secret or an expired credential and
	// 404 for an unknown (or deleted) one; 400 for an id it cannot parse.
	return s.do(req, http.StatusCreated, auth.ErrBadCredentials, "application credential "+id)
}

// validate asks Keystone about a token (GET /v3/auth/tokens). The token
// validates itself: Keystone's policy lets a token's own user read it, so
// canopy needs no service account of the cloud.
func (s *Source) validate(ctx context.Context, tok string) (token, error) {
	for i := 0; i < len(tok); i++ {
		if tok[i] <= ' ' || tok[i] > '~' { // not a header value: no Keystone token
			return token{}, fmt.Errorf("%w: keystone of cloud %s: token has a character not allowed in a header", auth.ErrInvalidToken, s.cloud)
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url+"/auth/tokens?nocatalog", nil)
	if err != nil {
		return token{}, fmt.Errorf("%w: keystone of cloud %s: %v", auth.ErrSourceUnavailable, s.cloud, err)
	}
	req.Header.Set("X-Auth-Token", tok)
	req.Header.Set("X-Subject-Token", tok)
	// 401: the token (as X-Auth-Token) is not valid; 404: it is unknown,
	// expired or revoked.
	return s.do(req, http.StatusOK, auth.ErrInvalidToken, "subject token")
}

// do sends a request and reads the token document of the wanted status.
// Keystone's 4xx answers about the credential wrap refused; no answer, a
// 5xx or anything unexpected wraps auth.ErrSourceUnavailable.
func (s *Source) do(req *http.Request, want int, refused error, what string) (token, error) {
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "canopy")
	resp, err := s.client.Do(req)
	if err != nil {
		return token{}, fmt.Errorf("%w: keystone of cloud %s at %s: %v", auth.ErrSourceUnavailable, s.cloud, s.url, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return token{}, fmt.Errorf("%w: keystone of cloud %s: read answer: %v", auth.ErrSourceUnavailable, s.cloud, err)
	}
	switch {
	case resp.StatusCode == want:
	case resp.StatusCode == http.StatusBadRequest, resp.StatusCode == http.StatusUnauthorized,
		resp.StatusCode == http.StatusForbidden, resp.StatusCode == http.StatusNotFound:
		return token{}, fmt.Errorf("%w: keystone of cloud %s refused the %s: %s", refused, s.cloud, what, resp.Status)
	default:
		return token{}, fmt.Errorf("%w: keystone of cloud %s answered %s", auth.ErrSourceUnavailable, s.cloud, resp.Status)
	}
	var doc struct {
		Token token `json:"token"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil || doc.Token.User.ID == "" || doc.Token.ExpiresAt.IsZero() {
		return token{}, fmt.Errorf("%w: keystone of cloud %s: not a token document (%v)", auth.ErrSourceUnavailable, s.cloud, err)
	}
	return doc.Token, nil
}
