// Package auth is canopy's OAuth 2 side: a built-in authorization server
// (client-credentials grant, JWT access tokens signed with rotatable keys
// kept in the Store, JWKS and discovery documents), verification of tokens
// from it and from external issuers, and the principal a verified token
// puts in a request's context. Callers who are not canopy's own clients
// get tokens through identity sources (identity.go; a cloud's Keystone is
// one, in package auth/keystone), by client credentials or RFC 8693 token
// exchange.
package auth

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Scopes a token can carry. They nest: write includes read, admin includes
// both, so an admin client needs only canopy.admin.
const (
	ScopeRead  = "canopy.read"
	ScopeWrite = "canopy.write"
	ScopeAdmin = "canopy.admin"
)

// AllScopes is every scope, for validation.
var AllScopes = []string{ScopeRead, ScopeWrite, ScopeAdmin}

// ProjectClaim is the JWT claim that names the caller's canopy project.
const ProjectClaim = "canopy_project"

// Principal is who a verified token says is calling.
type Principal struct {
	Subject string
	Project string
	Issuer  string
	Scopes  []string
	Expiry  time.Time
}

// Has reports whether the principal holds scope, counting nesting.
func (p Principal) Has(scope string) bool {
	for _, s := range p.Scopes {
		if s == scope || s == ScopeAdmin || (s == ScopeWrite && scope == ScopeRead) {
			return true
		}
	}
	return false
}

// ValidScopes reports the first unknown scope in a list, or "".
func ValidScopes(scopes []string) string {
	for _, s := range scopes {
		if !slices.Contains(AllScopes, s) {
			return s
		}
	}
	return ""
}

// projectName is what a canopy project name looks like.
var projectName = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,62}$`)

// ValidProject reports whether name can be a canopy project: 1-63
// lower-case letters, digits, '_', '.', '-', starting with a letter or
// digit.
func ValidProject(name string) bool { return projectName.MatchString(name) }

// ParseScope splits an OAuth scope string (space-separated).
func ParseScope(s string) []string { return strings.Fields(s) }

type ctxKey struct{}

// NewContext returns ctx carrying the principal.
func NewContext(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// FromContext returns the principal of a request, if it was authenticated.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(ctxKey{}).(Principal)
	return p, ok
}
