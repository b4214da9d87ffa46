package auth

import (
	"context"
	"errors"
	"time"
)

// IdentitySource vouches for callers who are not canopy's own OAuth
// clients: the users of a cloud's identity service (Keystone), who keep
// that service's credentials in a file and should not need a second set
// from canopy. The token endpoint asks a source to check what the caller
// presents and issues an ordinary canopy token for the Identity it
// answers; canopy's own client store is never consulted for a source's
// callers.
type IdentitySource interface {
	// Name qualifies the source's client ids ("<name>/<id>") and is the
	// subject_issuer of a token exchange: the cloud's name.
	Name() string
	// AuthenticateClient checks a client id and secret of the source (the
	// client-credentials grant). A wrong or unknown id or secret wraps
	// ErrBadCredentials; a source that cannot be reached wraps
	// ErrSourceUnavailable; a caller the source knows but canopy grants
	// nothing is a *DeniedError.
	AuthenticateClient(ctx context.Context, id, secret string) (Identity, error)
	// ExchangeToken checks a token the source issued (RFC 8693 token
	// exchange). A token it does not accept wraps ErrInvalidToken; the
	// other errors are AuthenticateClient's.
	ExchangeToken(ctx context.Context, token string) (Identity, error)
}

// Identity is who a source says the caller is, in canopy's terms.
type Identity struct {
	// Subject is the issued token's "sub", naming the source and its user
	// (e.g. "keystone:lab:<user id>"), so every audit line of the calls
	// made with the token names that user.
	Subject string
	// ClientID is the issued token's "client_id".
	ClientID string
	// Project is the canopy project the caller acts in.
	Project string
	// Scopes are what the caller may do (requests may narrow them).
	Scopes []string
	// NotAfter bounds the issued token's expiry (the source's own token
	// expiry); zero: no bound beyond canopy's token lifetime.
	NotAfter time.Time
	// Audit are slog key-value pairs naming the caller in the source's
	// terms (its user and project), added to the token endpoint's audit
	// line.
	Audit []any
}

// ErrSourceUnavailable is an identity source that cannot answer now (its
// service is down or unreachable): the caller should try again, and
// nothing about its credentials is known.
var ErrSourceUnavailable = errors.New("auth: identity source unavailable")

// DeniedError is a caller an identity source authenticated to whom canopy
// grants nothing (its project is not mapped, none of its roles is a
// scope). Reason is for the caller; Audit names it in the source's terms.
type DeniedError struct {
	Reason string
	Audit  []any
}

func (e *DeniedError) Error() string { return "auth: denied: " + e.Reason }
