// Package keystone makes an OpenStack cloud's Keystone an identity source
// of canopy's token endpoint (auth.IdentitySource): a Keystone application
// credential (client_credentials with its id and secret) or a Keystone
// token (RFC 8693 token exchange) of that cloud gets an ordinary canopy
// token. Keystone checks the credential; this package maps the Keystone
// project to a canopy project and the roles to scopes, and remembers
// Keystone's answer for a short while so a script asking for tokens does
// not cost a Keystone call each time.
//
// It is not a Keystone client library: it makes the two identity API
// calls it needs (POST and GET /v3/auth/tokens) and nothing else.
package keystone

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/canopy-cloud/canopy/auth"
	"github.com/canopy-cloud/canopy/internal/ttllru"
)

// DefaultCacheTTL is how long a Keystone answer is reused unless the
// config says otherwise: a deleted credential keeps getting tokens at most
// this long.
const DefaultCacheTTL = time.Minute

// DefaultTimeout bounds each Keystone request unless the config says
// otherwise.
const DefaultTimeout = 10 * time.Second

// DefaultRoles is the role → scope map when the config names none:
// Keystone's default roles (reader, member, admin) as canopy's scopes.
func DefaultRoles() map[string]string {
	return map[string]string{"reader": auth.ScopeRead, "member": auth.ScopeWrite, "admin": auth.ScopeAdmin}
}

// Project names a Keystone project: by ID, or by Name within the domain
// whose ID or name is Domain.
type Project struct {
	ID, Name, Domain string
}

// ParseProject reads a project as the config writes it: "<project id>" or
// "<domain>/<project name>".
func ParseProject(key string) (Project, error) {
	if dom, name, ok := strings.Cut(key, "/"); ok {
		if dom == "" || name == "" || strings.Contains(name, "/") {
			return Project{}, fmt.Errorf("keystone project %q: want <project id> or <domain>/<project name>", key)
		}
		return Project{Name: name, Domain: dom}, nil
	}
	if key == "" {
		return Project{}, errors.New("keystone project: empty")
	}
	return Project{ID: key}, nil
}

func (p Project) matches(r *ref) bool {
	if p.ID != "" {
		return p.ID == r.ID
	}
	return p.Name == r.Name && (p.Domain == r.Domain.ID || p.Domain == r.Domain.Name)
}

// ProjectMap maps a Keystone project to a canopy project.
type ProjectMap struct {
	Keystone Project
	Canopy   string
}

// Options configure the identity source of one cloud.
type Options struct {
	// Cloud is the canopy cloud whose Keystone this is: the source's name.
	Cloud string
	// URL is Keystone's root (the cloud's auth_url); "/v3" is added when
	// it does not end with it.
	URL string
	// HTTPClient reaches Keystone (nil: one with Timeout).
	HTTPClient *http.Client
	// Timeout bounds each Keystone request (default DefaultTimeout).
	Timeout time.Duration
	// CacheTTL is how long Keystone's answer about a credential or token
	// is reused (never past the Keystone token's expiry); 0: ask every
	// time.
	CacheTTL time.Duration
	// Projects map Keystone projects to canopy projects; a project no
	// entry matches gets no token. Required: the caller supplies the
	// default (the cloud's own project → the project owning what canopy
	// adopts from it).
	Projects []ProjectMap
	// Roles map a Keystone role name to the canopy scope it grants
	// (default DefaultRoles()).
	Roles map[string]string
}

// Source is one cloud's Keystone as an identity source.
type Source struct {
	cloud    string
	url      string
	client   *http.Client
	ttl      time.Duration
	timeout  time.Duration // bounds one question to Keystone
	projects []ProjectMap
	roles    map[string]string // lower-case role name → scope
	now      func() time.Time

	flight singleflight.Group
	seen   *ttllru.LRU[[sha256.Size]byte, answer] // nil when CacheTTL is 0
}

// answer is Keystone's answer about one credential or token, remembered.
type answer struct {
	tok     token
	expires time.Time
}

var _ auth.IdentitySource = (*Source)(nil)

// New builds a source. It does not reach Keystone.
func New(o Options) (*Source, error) {
	if o.Cloud == "" || o.URL == "" {
		return nil, errors.New("keystone: a cloud and its Keystone URL are required")
	}
	if len(o.Projects) == 0 {
		return nil, fmt.Errorf("keystone: cloud %s: no Keystone project is mapped to a canopy project", o.Cloud)
	}
	if o.CacheTTL < 0 {
		return nil, fmt.Errorf("keystone: cloud %s: negative cache TTL", o.Cloud)
	}
	if o.Roles == nil {
		o.Roles = DefaultRoles()
	}
	roles := make(map[string]string, len(o.Roles))
	for r, sc := range o.Roles {
		if bad := auth.ValidScopes([]string{sc}); bad != "" {
			return nil, fmt.Errorf("keystone: cloud %s: role %s: unknown scope %q", o.Cloud, r, bad)
		}
		roles[strings.ToLower(r)] = sc
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: o.Timeout}
	}
	u := strings.TrimSuffix(o.URL, "/")
	if !strings.HasSuffix(u, "/v3") {
		u += "/v3"
	}
	s := &Source{cloud: o.Cloud, url: u, client: o.HTTPClient, ttl: o.CacheTTL, timeout: o.Timeout, projects: o.Projects, roles: roles, now: time.Now}
	if o.CacheTTL > 0 {
		s.seen = ttllru.New[[sha256.Size]byte, answer](10000, o.CacheTTL)
	}
	return s, nil
}

// Name is the cloud's name.
func (s *Source) Name() string { return s.cloud }

// AuthenticateClient checks an application credential of the cloud.
func (s *Source) AuthenticateClient(ctx context.Context, id, secret string) (auth.Identity, error) {
	tok, err := s.remembered(ctx, "appcred\x00"+id+"\x00"+secret, func(ctx context.Context) (token, error) {
		return s.appCredToken(ctx, id, secret)
	})
	if err != nil {
		return auth.Identity{}, err
	}
	return s.identity(tok)
}

// ExchangeToken checks a Keystone token of the cloud.
func (s *Source) ExchangeToken(ctx context.Context, raw string) (auth.Identity, error) {
	tok, err := s.remembered(ctx, "token\x00"+raw, func(ctx context.Context) (token, error) {
		return s.validate(ctx, raw)
	})
	if err != nil {
		return auth.Identity{}, err
	}
	return s.identity(tok)
}

// remembered returns Keystone's answer for key: from the cache while it
// is fresh, else asked once however many callers ask at the same time.
// Only acceptances are remembered, so a credential fixed after a refusal
// works at once.
func (s *Source) remembered(ctx context.Context, key string, ask func(context.Context) (token, error)) (token, error) {
	h := sha256.Sum256([]byte(key)) // the cache holds no secret or token
	if s.seen != nil {
		if a, ok := s.seen.Get(h); ok && s.now().Before(a.expires) {
			return a.tok, nil
		}
	}
	ch := s.flight.DoChan(string(h[:]), func() (any, error) {
		// Not the first caller's context: its cancellation must not fail
		// the others waiting on the same answer.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.timeout)
		defer cancel()
		tok, err := ask(ctx)
		if err != nil {
			return token{}, err
		}
		if s.seen != nil {
			exp := s.now().Add(s.ttl)
			if tok.ExpiresAt.Before(exp) {
				exp = tok.ExpiresAt
			}
			s.seen.Add(h, answer{tok: tok, expires: exp})
		}
		return tok, nil
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return token{}, r.Err
		}
		return r.Val.(token), nil
	case <-ctx.Done():
		return token{}, fmt.Errorf("keystone of cloud %s: %w", s.cloud, ctx.Err())
	}
}

// identity maps what Keystone said into canopy's terms, or says why
// canopy grants it nothing.
func (s *Source) identity(tok token) (auth.Identity, error) {
	audit := []any{"keystone_user", tok.User.Name, "keystone_user_id", tok.User.ID, "keystone_user_domain", tok.User.Domain.Name}
	if tok.Project != nil {
		audit = append(audit, "keystone_project", tok.Project.Name, "keystone_project_id", tok.Project.ID, "keystone_project_domain", tok.Project.Domain.Name)
	}
	clientID := "keystone:" + s.cloud
	if tok.AppCred != nil {
		audit = append(audit, "keystone_application_credential", tok.AppCred.ID)
		clientID = s.cloud + "/" + tok.AppCred.ID
	}
	deny := func(format string, args ...any) (auth.Identity, error) {
		return auth.Identity{}, &auth.DeniedError{Reason: fmt.Sprintf(format, args...), Audit: audit}
	}
	if !s.now().Before(tok.ExpiresAt) {
		return deny("the Keystone token of cloud %s has expired", s.cloud)
	}
	if tok.Project == nil {
		return deny("the Keystone token of cloud %s is not scoped to a project (canopy maps projects, not domains or the system)", s.cloud)
	}
	if tok.AppCred != nil && len(tok.AppCred.AccessRules) > 0 {
		return deny("application credential %s of cloud %s has access rules, which canopy cannot honour: use one without", tok.AppCred.ID, s.cloud)
	}
	project := ""
	for _, m := range s.projects {
		if m.Keystone.matches(tok.Project) {
			project = m.Canopy
			break
		}
	}
	if project == "" {
		return deny("Keystone project %s/%s (%s) of cloud %s is not mapped to a canopy project (keystone_auth.projects)",
			tok.Project.Domain.Name, tok.Project.Name, tok.Project.ID, s.cloud)
	}
	var scopes, roles []string
	for _, r := range tok.Roles {
		roles = append(roles, r.Name)
		if sc, ok := s.roles[strings.ToLower(r.Name)]; ok && !slices.Contains(scopes, sc) {
			scopes = append(scopes, sc)
		}
	}
	if len(scopes) == 0 {
		sort.Strings(roles)
		return deny("none of the roles [%s] of Keystone user %s in project %s of cloud %s grants a canopy scope (keystone_auth.roles)",
			strings.Join(roles, " "), tok.User.Name, tok.Project.Name, s.cloud)
	}
	sort.Slice(scopes, func(i, j int) bool {
		return slices.Index(auth.AllScopes, scopes[i]) < slices.Index(auth.AllScopes, scopes[j])
	})
	return auth.Identity{
		Subject: "keystone:" + s.cloud + ":" + tok.User.ID, ClientID: clientID, Project: project,
		Scopes: scopes, NotAfter: tok.ExpiresAt, Audit: audit,
	}, nil
}
