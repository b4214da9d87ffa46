package store

import (
	"context"
	"time"
)

// Client is an OAuth 2 client of canopy's built-in authorization server.
// Only a slow hash of its secret is kept.
type Client struct {
	ID            string    `json:"id"`
	Name          string    `json:"name"`
	Project       string    `json:"project"`
	Scopes        []string  `json:"scopes"`
	SecretHash    []byte    `json:"secret_hash"`
	Created       time.Time `json:"created"`
	SecretUpdated time.Time `json:"secret_updated"`
}

// SigningKey is a key the authorization server signs tokens with. The
// newest unretired key signs; retired keys stay published (JWKS) until the
// tokens they signed have expired.
type SigningKey struct {
	ID         string    `json:"id"`
	Algorithm  string    `json:"alg"`
	PrivatePEM []byte    `json:"private_pem"`
	Created    time.Time `json:"created"`
	// Retired is when a newer key replaced it; zero for the current key.
	Retired time.Time `json:"retired"`
}

// AuthStore keeps OAuth clients and signing keys.
type AuthStore interface {
	// PutClient creates or replaces a client.
	PutClient(ctx context.Context, c Client) error
	// GetClient returns a client or ErrNotFound.
	GetClient(ctx context.Context, id string) (Client, error)
	// ListClients returns every client, ordered by id.
	ListClients(ctx context.Context) ([]Client, error)
	// DeleteClient removes a client; a missing one is ErrNotFound.
	DeleteClient(ctx context.Context, id string) error

	// PutSigningKey creates or replaces a key.
	PutSigningKey(ctx context.Context, k SigningKey) error
	// ListSigningKeys returns every key, newest first.
	ListSigningKeys(ctx context.Context) ([]SigningKey, error)
	// DeleteSigningKey removes a key; a missing one is ErrNotFound.
	DeleteSigningKey(ctx context.Context, id string) error
}
