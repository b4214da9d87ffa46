package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"golang.org/x/crypto/bcrypt"

	"github.com/canopy-cloud/canopy/store"
)

// secretCost is bcrypt's work factor: slow enough that a stolen store does
// not give away secrets, fast enough for a token request (~50 ms here).
const secretCost = 10

// ErrBadCredentials is a client id or secret that does not match. Callers
// must not say which.
var ErrBadCredentials = errors.New("auth: invalid client credentials")

// Clients manages OAuth clients in the store.
type Clients struct {
	store store.AuthStore
	now   func() time.Time
}

// NewClients manages the clients kept in st.
func NewClients(st store.AuthStore) *Clients { return &Clients{store: st, now: time.Now} }

func newSecret() (string, []byte, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", nil, err
	}
	secret := base64.RawURLEncoding.EncodeToString(b)
	hash, err := bcrypt.GenerateFromPassword([]byte(secret), secretCost)
	return secret, hash, err
}

// Create registers a client and returns it with its secret.
func (c *Clients) Create(ctx context.Context, name, project string, scopes []string) (store.Client, string, error) {
	secret, hash, err := newSecret()
	if err != nil {
		return store.Client{}, "", fmt.Errorf("auth: new secret: %w", err)
	}
	now := c.now()
	cl := store.Client{ID: "cnp-" + uuid.NewString(), Name: name, Project: project, Scopes: scopes, SecretHash: hash, Created: now, SecretUpdated: now}
	if err := c.store.PutClient(ctx, cl); err != nil {
		return store.Client{}, "", fmt.Errorf("auth: save client: %w", err)
	}
	return cl, secret, nil
}

// Rotate gives a client a new secret; the old one stops working at once.
func (c *Clients) Rotate(ctx context.Context, id string) (store.Client, string, error) {
	cl, err := c.store.GetClient(ctx, id)
	if err != nil {
		return store.Client{}, "", err
	}
	secret, hash, err := newSecret()
	if err != nil {
		return store.Client{}, "", err
	}
	cl.SecretHash, cl.SecretUpdated = hash, c.now()
	if err := c.store.PutClient(ctx, cl); err != nil {
		return store.Client{}, "", fmt.Errorf("auth: save client: %w", err)
	}
	return cl, secret, nil
}

// dummyHash is compared against when a client id is unknown, so a wrong id
// costs the same time as a wrong secret.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("canopy-dummy"), secretCost)

// Authenticate checks a client's secret in constant time.
func (c *Clients) Authenticate(ctx context.Context, id, secret string) (store.Client, error) {
	cl, err := c.store.GetClient(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		_ = bcrypt.CompareHashAndPassword(dummyHash, []byte(secret))
		return store.Client{}, ErrBadCredentials
	}
	if err != nil {
		return store.Client{}, err
	}
	if bcrypt.CompareHashAndPassword(cl.SecretHash, []byte(secret)) != nil || subtle.ConstantTimeEq(int32(len(secret)), 0) == 1 {
		return store.Client{}, ErrBadCredentials
	}
	return cl, nil
}

// Store is the underlying store.
func (c *Clients) Store() store.AuthStore { return c.store }
