package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"
	"golang.org/x/sync/singleflight"

	"github.com/canopy-cloud/canopy/store"
)

// IssuerOptions configure the built-in authorization server.
type IssuerOptions struct {
	// URL is the issuer identifier ("iss"), the base of its endpoints.
	URL string
	// Audience is the "aud" of the tokens it issues (default "canopy").
	Audience string
	// TTL is the lifetime of access tokens (default 10 minutes).
	TTL time.Duration
	// Now is the clock (tests only).
	Now func() time.Time
}

// Issuer is the built-in authorization server's token side.
type Issuer struct {
	opts  IssuerOptions
	store store.AuthStore

	mu   sync.RWMutex
	keys []signingKey // newest first
	// rotating serialises RotateKey within this process.
	rotating sync.Mutex
	// reloads coalesces concurrent reloads (unknown kids, watch events)
	// into one store read.
	reloads singleflight.Group
}

type signingKey struct {
	meta store.SigningKey
	priv *ecdsa.PrivateKey
}

// NewIssuer loads the signing keys from the store, creating the first one
// on a new store.
func NewIssuer(ctx context.Context, st store.AuthStore, opts IssuerOptions) (*Issuer, error) {
	if opts.URL == "" {
		return nil, errors.New("auth: issuer URL is required")
	}
	if opts.Audience == "" {
		opts.Audience = "canopy"
	}
	if opts.TTL <= 0 {
		opts.TTL = 10 * time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	i := &Issuer{opts: opts, store: st}
	if err := i.load(ctx); err != nil {
		return nil, err
	}
	if len(i.keys) == 0 {
		if _, _, err := i.RotateKey(ctx); err != nil {
			return nil, err
		}
	}
	return i, nil
}

// Reload reads the signing keys from the store again. Several canopyd
// replicas share one store: a key another replica created or retired is
// seen here after a Reload. Concurrent calls share one store read.
func (i *Issuer) Reload(ctx context.Context) error {
	_, err, _ := i.reloads.Do("", func() (any, error) { return nil, i.load(ctx) })
	return err
}

// Follow keeps the keys in step with the store until ctx ends: on a store
// shared by several replicas (a store.Watcher) every write to the signing
// keys reloads them, so a rotation on any replica reaches this one's
// issuer (it signs with the new key) and verifier (it publishes and
// accepts it) within the watch's delay. On a store no other process
// writes (bbolt) it returns at once: this process made every change.
func (i *Issuer) Follow(ctx context.Context, onErr func(error)) {
	w, ok := i.store.(store.Watcher)
	if !ok {
		return
	}
	for range w.Watch(ctx, store.SectionSigningKeys) {
		if err := i.Reload(ctx); err != nil && ctx.Err() == nil && onErr != nil {
			onErr(err)
		}
	}
}

// known reports whether kid is one of the keys in memory.
func (i *Issuer) known(kid string) bool {
	i.mu.RLock()
	defer i.mu.RUnlock()
	for _, k := range i.keys {
		if k.meta.ID == kid {
			return true
		}
	}
	return false
}

// URL is the issuer identifier.
func (i *Issuer) URL() string { return i.opts.URL }

// Audience is the audience of issued tokens.
func (i *Issuer) Audience() string { return i.opts.Audience }

// TTL is the lifetime of issued tokens.
func (i *Issuer) TTL() time.Duration { return i.opts.TTL }

func (i *Issuer) load(ctx context.Context) error {
	metas, err := i.store.ListSigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("auth: load signing keys: %w", err)
	}
	keys := make([]signingKey, 0, len(metas))
	for _, m := range metas {
		block, _ := pem.Decode(m.PrivatePEM)
		if block == nil {
			return fmt.Errorf("auth: signing key %s: not PEM", m.ID)
		}
		priv, err := x509.ParseECPrivateKey(block.Bytes)
		if err != nil {
			return fmt.Errorf("auth: signing key %s: %w", m.ID, err)
		}
		keys = append(keys, signingKey{meta: m, priv: priv})
	}
	i.mu.Lock()
	i.keys = keys
	i.mu.Unlock()
	return nil
}

// RotateKey makes a new signing key current and retires the old one; keys
// retired longer than a token lifetime ago are deleted, since no valid
// token can need them. It returns the new key id and the published ids.
//
// It works from the keys in the store, not the ones in memory: on a store
// several replicas share, every key another replica made (two replicas
// starting on a new store each make one) is retired too, so after a
// rotation exactly one key signs everywhere.
func (i *Issuer) RotateKey(ctx context.Context) (string, []string, error) {
	i.rotating.Lock()
	defer i.rotating.Unlock()
	if err := i.load(ctx); err != nil {
		return "", nil, err
	}
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", nil, fmt.Errorf("auth: generate signing key: %w", err)
	}
	der, err := x509.MarshalECPrivateKey(priv)
	if err != nil {
		return "", nil, err
	}
	now := i.opts.Now()
	meta := store.SigningKey{ID: uuid.NewString(), Algorithm: string(jose.ES256), Created: now,
		PrivatePEM: pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})}
	i.mu.Lock()
	defer i.mu.Unlock()
	if err := i.store.PutSigningKey(ctx, meta); err != nil {
		return "", nil, fmt.Errorf("auth: save signing key: %w", err)
	}
	keys := []signingKey{{meta: meta, priv: priv}}
	for _, k := range i.keys {
		if k.meta.Retired.IsZero() {
			k.meta.Retired = now
			if err := i.store.PutSigningKey(ctx, k.meta); err != nil {
				return "", nil, fmt.Errorf("auth: retire signing key %s: %w", k.meta.ID, err)
			}
		}
		if now.Sub(k.meta.Retired) > i.opts.TTL+time.Minute {
			if err := i.store.DeleteSigningKey(ctx, k.meta.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
				return "", nil, fmt.Errorf("auth: drop signing key %s: %w", k.meta.ID, err)
			}
			continue
		}
		keys = append(keys, k)
	}
	i.keys = keys
	ids := make([]string, len(keys))
	for n, k := range keys {
		ids[n] = k.meta.ID
	}
	return meta.ID, ids, nil
}

// claims are the JWT claims canopy issues (RFC 9068 shape).
type claims struct {
	jwt.Claims
	Scope    string `json:"scope,omitempty"`
	ClientID string `json:"client_id,omitempty"`
	Project  string `json:"canopy_project,omitempty"`
}

// Issue signs an access token for one of canopy's own clients.
func (i *Issuer) Issue(clientID, project string, scopes []string) (string, time.Time, error) {
	return i.IssueGrant(Grant{Subject: clientID, ClientID: clientID, Project: project, Scopes: scopes})
}

// Grant is what an issued token says.
type Grant struct {
	Subject, ClientID, Project string
	Scopes                     []string
	// NotAfter, if set and sooner than the token lifetime, is the token's
	// expiry: a token vouched for by another issuer (a Keystone token)
	// does not outlive it.
	NotAfter time.Time
}

// IssueGrant signs an access token for a grant.
func (i *Issuer) IssueGrant(g Grant) (string, time.Time, error) {
	i.mu.RLock()
	if len(i.keys) == 0 {
		i.mu.RUnlock()
		return "", time.Time{}, errors.New("auth: no signing key")
	}
	k := i.keys[0]
	i.mu.RUnlock()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: k.priv},
		(&jose.SignerOptions{}).WithType("at+jwt").WithHeader(jose.HeaderKey("kid"), k.meta.ID))
	if err != nil {
		return "", time.Time{}, err
	}
	now := i.opts.Now()
	exp := now.Add(i.opts.TTL)
	if !g.NotAfter.IsZero() && g.NotAfter.Before(exp) {
		exp = g.NotAfter
	}
	c := claims{
		Claims: jwt.Claims{Issuer: i.opts.URL, Subject: g.Subject, Audience: jwt.Audience{i.opts.Audience},
			IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(exp), ID: uuid.NewString()},
		Scope: strings.Join(g.Scopes, " "), ClientID: g.ClientID, Project: g.Project,
	}
	tok, err := jwt.Signed(signer).Claims(c).Serialize()
	if err != nil {
		return "", time.Time{}, fmt.Errorf("auth: sign token: %w", err)
	}
	return tok, exp, nil
}

// JWKS returns the public keys tokens may be signed with.
func (i *Issuer) JWKS() jose.JSONWebKeySet {
	i.mu.RLock()
	defer i.mu.RUnlock()
	var set jose.JSONWebKeySet
	for _, k := range i.keys {
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: &k.priv.PublicKey, KeyID: k.meta.ID, Algorithm: string(jose.ES256), Use: "sig"})
	}
	return set
}
