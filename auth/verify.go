package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/canopy-cloud/canopy/internal/ttllru"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// ErrInvalidToken is any token canopy does not accept. The reason is kept
// out of messages to callers (it is logged), so nothing about a token leaks.
var ErrInvalidToken = errors.New("auth: invalid token")

// External is an issuer canopy trusts besides its own.
type External struct {
	// Issuer is the "iss" tokens carry.
	Issuer string `yaml:"issuer"`
	// JWKSURL is where its keys are; empty: read from the issuer's
	// discovery document (/.well-known/openid-configuration).
	JWKSURL string `yaml:"jwks_url"`
	// Audience the tokens must carry (default "canopy").
	Audience string `yaml:"audience"`
	// ProjectClaim names the claim holding the canopy project (default
	// canopy_project).
	ProjectClaim string `yaml:"project_claim"`
}

// keySource yields the verification keys of one issuer.
type keySource interface {
	keys(ctx context.Context, kid string) ([]jose.JSONWebKey, error)
}

type issuerEntry struct {
	audience     string
	projectClaim string
	src          keySource
}

// Verifier checks bearer tokens: signature (ES256/RS256/EdDSA), issuer,
// audience, expiry and not-before with a clock-skew allowance.
//
// Verified tokens are remembered (bounded, for at most a minute and never
// past their expiry): checking an ES256 signature costs far more than the
// cached read it guards, and a client sends the same token many times.
type Verifier struct {
	issuers map[string]issuerEntry
	skew    time.Duration
	now     func() time.Time
	seen    *ttllru.LRU[string, Principal]
}

// NewVerifier trusts the built-in issuer (may be nil) and the externals.
func NewVerifier(own *Issuer, externals []External, client *http.Client) (*Verifier, error) {
	v := &Verifier{issuers: map[string]issuerEntry{}, skew: time.Minute, now: time.Now,
		seen: ttllru.New[string, Principal](10000, time.Minute)}
	if own != nil {
		v.issuers[own.URL()] = issuerEntry{audience: own.Audience(), projectClaim: ProjectClaim, src: ownKeys{own}}
	}
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	for n, e := range externals {
		if e.Issuer == "" {
			return nil, fmt.Errorf("auth: issuers[%d]: issuer is required", n)
		}
		if _, dup := v.issuers[e.Issuer]; dup {
			return nil, fmt.Errorf("auth: issuers[%d]: issuer %q configured twice", n, e.Issuer)
		}
		if e.Audience == "" {
			e.Audience = "canopy"
		}
		if e.ProjectClaim == "" {
			e.ProjectClaim = ProjectClaim
		}
		v.issuers[e.Issuer] = issuerEntry{audience: e.Audience, projectClaim: e.ProjectClaim,
			src: &remoteKeys{issuer: e.Issuer, jwksURL: e.JWKSURL, client: client, ttl: 10 * time.Minute, minRefresh: 30 * time.Second}}
	}
	return v, nil
}

// Verify returns the principal of a valid token, or an error wrapping
// ErrInvalidToken whose text is for logs only.
func (v *Verifier) Verify(ctx context.Context, raw string) (Principal, error) {
	if p, ok := v.seen.Get(raw); ok && v.now().Before(p.Expiry) {
		return p, nil
	}
	p, err := v.verify(ctx, raw)
	if err == nil {
		v.seen.Add(raw, p)
	}
	return p, err
}

func (v *Verifier) verify(ctx context.Context, raw string) (Principal, error) {
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES256, jose.RS256, jose.EdDSA})
	if err != nil {
		return Principal{}, fmt.Errorf("%w: parse: %v", ErrInvalidToken, err)
	}
	var unverified jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&unverified); err != nil {
		return Principal{}, fmt.Errorf("%w: claims: %v", ErrInvalidToken, err)
	}
	entry, ok := v.issuers[unverified.Issuer]
	if !ok {
		return Principal{}, fmt.Errorf("%w: untrusted issuer %q", ErrInvalidToken, unverified.Issuer)
	}
	if len(tok.Headers) != 1 {
		return Principal{}, fmt.Errorf("%w: want one signature", ErrInvalidToken)
	}
	keys, err := entry.src.keys(ctx, tok.Headers[0].KeyID)
	if err != nil {
		return Principal{}, fmt.Errorf("%w: keys of %s: %v", ErrInvalidToken, unverified.Issuer, err)
	}
	var std jwt.Claims
	var extra map[string]any
	verified := false
	for _, k := range keys {
		if tok.Headers[0].KeyID != "" && k.KeyID != tok.Headers[0].KeyID {
			continue
		}
		if err := tok.Claims(k.Key, &std, &extra); err == nil {
			verified = true
			break
		}
	}
	if !verified {
		return Principal{}, fmt.Errorf("%w: bad signature or unknown key %q", ErrInvalidToken, tok.Headers[0].KeyID)
	}
	if std.Expiry == nil {
		return Principal{}, fmt.Errorf("%w: no expiry", ErrInvalidToken)
	}
	if err := std.ValidateWithLeeway(jwt.Expected{Issuer: unverified.Issuer, AnyAudience: jwt.Audience{entry.audience}, Time: v.now()}, v.skew); err != nil {
		return Principal{}, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	p := Principal{Subject: std.Subject, Issuer: std.Issuer, Expiry: std.Expiry.Time()}
	switch s := extra["scope"].(type) {
	case string:
		p.Scopes = ParseScope(s)
	case []any: // some issuers send "scp" style arrays under scope
		for _, x := range s {
			if str, ok := x.(string); ok {
				p.Scopes = append(p.Scopes, str)
			}
		}
	}
	p.Project, _ = extra[entry.projectClaim].(string)
	if p.Project == "" {
		return Principal{}, fmt.Errorf("%w: no %s claim", ErrInvalidToken, entry.projectClaim)
	}
	return p, nil
}

// ownKeys reads the built-in issuer's keys in memory. A kid it does not
// know may be a key another replica made a moment ago (the watch has not
// reported it yet): the keys are read from the store again before the
// token is refused. Concurrent reloads share one read, so a flood of
// forged kids costs at most one store read in flight.
type ownKeys struct{ i *Issuer }

func (o ownKeys) keys(ctx context.Context, kid string) ([]jose.JSONWebKey, error) {
	if kid != "" && !o.i.known(kid) {
		if err := o.i.Reload(ctx); err != nil {
			return nil, err
		}
	}
	set := o.i.JWKS()
	return set.Keys, nil
}

// remoteKeys fetches and caches an external issuer's JWKS. Keys are reused
// for ttl; an unknown kid refreshes early, at most once per minRefresh, so
// rotation at the issuer is picked up without letting bad tokens hammer it.
type remoteKeys struct {
	issuer, jwksURL string
	client          *http.Client
	ttl, minRefresh time.Duration

	mu      sync.Mutex
	set     []jose.JSONWebKey
	fetched time.Time
}

func (r *remoteKeys) keys(ctx context.Context, kid string) ([]jose.JSONWebKey, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	age := time.Since(r.fetched)
	known := false
	for _, k := range r.set {
		if k.KeyID == kid || kid == "" {
			known = true
		}
	}
	if r.fetched.IsZero() || age > r.ttl || (!known && age > r.minRefresh) {
		if err := r.refresh(ctx); err != nil {
			if r.set == nil {
				return nil, err
			}
			// keep serving the keys we have if the issuer is down
		}
	}
	return r.set, nil
}

func (r *remoteKeys) refresh(ctx context.Context) error {
	url := r.jwksURL
	if url == "" {
		var doc struct {
			JWKSURI string `json:"jwks_uri"`
		}
		if err := r.getJSON(ctx, strings.TrimSuffix(r.issuer, "/")+"/.well-known/openid-configuration", &doc); err != nil {
			return err
		}
		if doc.JWKSURI == "" {
			return fmt.Errorf("discovery document of %s has no jwks_uri", r.issuer)
		}
		url = doc.JWKSURI
	}
	var set jose.JSONWebKeySet
	if err := r.getJSON(ctx, url, &set); err != nil {
		return err
	}
	r.set, r.fetched = set.Keys, time.Now()
	return nil
}

func (r *remoteKeys) getJSON(ctx context.Context, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}
