package keystone

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/canopy-cloud/canopy/auth"
	"github.com/canopy-cloud/canopy/store"
	"github.com/canopy-cloud/canopy/store/bolt"
)

// countingStore counts reads of canopy's own clients: a Keystone caller
// must never cause one.
type countingStore struct {
	store.AuthStore
	gets atomic.Int64
}

func (c *countingStore) GetClient(ctx context.Context, id string) (store.Client, error) {
	c.gets.Add(1)
	return c.AuthStore.GetClient(ctx, id)
}

type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// env is a token endpoint with Keystone identity sources.
type env struct {
	t        *testing.T
	ks       *fakeKeystone
	src      *Source
	clock    *time.Time
	st       *countingStore
	clients  *auth.Clients
	verifier *auth.Verifier
	url      string
	log      *lockedBuf
}

func newEnv(t *testing.T, mod func(*Options), extra ...auth.IdentitySource) *env {
	t.Helper()
	ks := newFakeKeystone(t)
	o := Options{Cloud: "lab", URL: ks.srv.URL, CacheTTL: time.Minute,
		Projects: []ProjectMap{{Keystone: Project{Name: "team-a", Domain: "Default"}, Canopy: "alpha"}}}
	if mod != nil {
		mod(&o)
	}
	src, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	src.now = func() time.Time { return now }
	db, err := bolt.Open(t.TempDir() + "/a.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	st := &countingStore{AuthStore: db}
	iss, err := auth.NewIssuer(context.Background(), st, auth.IssuerOptions{URL: "http://canopy.test", TTL: 10 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	v, _ := auth.NewVerifier(iss, nil, nil)
	logs := &lockedBuf{}
	clients := auth.NewClients(st)
	mux := http.NewServeMux()
	(&auth.Server{Issuer: iss, Clients: clients, Sources: append([]auth.IdentitySource{src}, extra...), Log: slog.New(slog.NewTextHandler(logs, nil))}).Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &env{t: t, ks: ks, src: src, clock: &now, st: st, clients: clients, verifier: v, url: srv.URL, log: logs}
}

func (e *env) advance(d time.Duration) { *e.clock = e.clock.Add(d) }

// post sends a token request with the form and, if id is set, basic
// client authentication.
func (e *env) post(form url.Values, id, secret string) (int, map[string]any, http.Header) {
	e.t.Helper()
	req, _ := http.NewRequest("POST", e.url+"/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if id != "" {
		req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		e.t.Fatalf("token endpoint: not JSON (%d): %v", resp.StatusCode, err)
	}
	return resp.StatusCode, body, resp.Header
}

var clientCreds = url.Values{"grant_type": {"client_credentials"}}

func (e *env) principal(body map[string]any) auth.Principal {
	e.t.Helper()
	tok, _ := body["access_token"].(string)
	p, err := e.verifier.Verify(context.Background(), tok)
	if err != nil {
		e.t.Fatalf("issued token does not verify: %v (%v)", err, body)
	}
	return p
}

func TestApplicationCredential(t *testing.T) {
	e := newEnv(t, nil)
	e.ks.addCred("ac1", fakeCred{secret: "s3cret", project: "team-a", roles: []string{"member", "reader"}})

	code, body, _ := e.post(clientCreds, "ac1", "s3cret")
	if code != 200 || body["scope"] != "canopy.read canopy.write" {
		t.Fatalf("good credential: %d %v", code, body)
	}
	p := e.principal(body)
	if p.Project != "alpha" || p.Subject != "keystone:lab:uid-alice" || !p.Has(auth.ScopeWrite) || p.Has(auth.ScopeAdmin) {
		t.Errorf("principal = %+v", p)
	}
	if exp := body["expires_in"].(float64); exp < 500 || exp > 600 {
		t.Errorf("expires_in = %v, want canopy's 10m (the Keystone token lives 1h)", exp)
	}
	// The audit line names the Keystone user and project.
	for _, want := range []string{"keystone_user=alice", "keystone_user_id=uid-alice", "keystone_project=team-a", "keystone_project_id=pid-team-a",
		"keystone_application_credential=ac1", "project=alpha", "outcome=issued"} {
		if !strings.Contains(e.log.String(), want) {
			t.Errorf("audit lacks %s:\n%s", want, e.log.String())
		}
	}
	// The same credential again, qualified by its cloud and by form post,
	// narrowed: Keystone is not asked again within the cache TTL.
	calls := e.ks.calls.Load()
	code, body, _ = e.post(url.Values{"grant_type": {"client_credentials"}, "client_id": {"lab/ac1"}, "client_secret": {"s3cret"}, "scope": {"canopy.read"}}, "", "")
	if code != 200 || body["scope"] != "canopy.read" || e.ks.calls.Load() != calls {
		t.Errorf("cached, qualified, narrowed: %d %v (%d more Keystone calls)", code, body, e.ks.calls.Load()-calls)
	}
	if code, body, _ := e.post(url.Values{"grant_type": {"client_credentials"}, "scope": {"canopy.admin"}}, "ac1", "s3cret"); code != 400 || body["error"] != "invalid_scope" {
		t.Errorf("more scope than the roles give: %d %v", code, body)
	}
	// Deleted at Keystone: still good within the TTL, refused after it.
	e.ks.deleteCred("ac1")
	if code, _, _ := e.post(clientCreds, "ac1", "s3cret"); code != 200 {
		t.Errorf("within the cache TTL after delete: %d", code)
	}
	e.advance(time.Minute + time.Second)
	code, body, hdr := e.post(clientCreds, "ac1", "s3cret")
	if code != 401 || body["error"] != "invalid_client" || hdr.Get("WWW-Authenticate") == "" {
		t.Errorf("deleted credential after the cache TTL: %d %v", code, body)
	}
	if n := e.st.gets.Load(); n != 0 {
		t.Errorf("canopy's client store was read %d times for Keystone credentials", n)
	}
}

func TestApplicationCredentialRefused(t *testing.T) {
	e := newEnv(t, nil)
	e.ks.addCred("ac1", fakeCred{secret: "s3cret", project: "team-a", roles: []string{"member", "reader"}})
	e.ks.addCred("old", fakeCred{secret: "s3cret", project: "team-a", roles: []string{"member"}, expires: time.Now().Add(-time.Minute)})
	e.ks.addCred("elsewhere", fakeCred{secret: "s3cret", project: "team-b", roles: []string{"member"}})
	e.ks.addCred("noroles", fakeCred{secret: "s3cret", project: "team-a", roles: []string{"load-balancer_member"}})
	e.ks.addCred("ruled", fakeCred{secret: "s3cret", project: "team-a", roles: []string{"member"}, rules: true})

	for name, tc := range map[string]struct {
		id, secret string
		code       int
		err, desc  string
	}{
		"wrong secret":       {"ac1", "nope", 401, "invalid_client", "wrong secret"},
		"expired credential": {"old", "s3cret", 401, "invalid_client", ""},
		"unknown credential": {"0000", "s3cret", 401, "invalid_client", ""},
		"other cloud":        {"nowhere/ac1", "s3cret", 401, "invalid_client", ""},
		"unmapped project":   {"elsewhere", "s3cret", 400, "unauthorized_client", "Default/team-b (pid-team-b) of cloud lab is not mapped"},
		"no mapped role":     {"noroles", "s3cret", 400, "unauthorized_client", "load-balancer_member"},
		"access rules":       {"ruled", "s3cret", 400, "unauthorized_client", "access rules"},
	} {
		code, body, _ := e.post(clientCreds, tc.id, tc.secret)
		if code != tc.code || body["error"] != tc.err || !strings.Contains(body["error_description"].(string), tc.desc) {
			t.Errorf("%s: %d %v, want %d %s %q", name, code, body, tc.code, tc.err, tc.desc)
		}
		if strings.Contains(body["error_description"].(string), "s3cret") {
			t.Errorf("%s: the answer leaks the secret", name)
		}
	}
	if n := e.st.gets.Load(); n != 0 {
		t.Errorf("canopy's client store was read %d times for Keystone credentials", n)
	}
	// A refusal is not remembered: the secret set right works at once.
	e.ks.addCred("ac1", fakeCred{secret: "nope", project: "team-a", roles: []string{"reader"}})
	if code, body, _ := e.post(clientCreds, "ac1", "nope"); code != 200 {
		t.Errorf("after the secret was fixed: %d %v", code, body)
	}
	// The denial's audit line names who was denied.
	if !strings.Contains(e.log.String(), "keystone_project=team-b") || !strings.Contains(e.log.String(), "outcome=denied") {
		t.Errorf("denial not audited with the Keystone project:\n%s", e.log.String())
	}
}

func TestKeystoneUnreachable(t *testing.T) {
	e := newEnv(t, nil)
	e.ks.addCred("ac1", fakeCred{secret: "s3cret", project: "team-a", roles: []string{"member"}})
	// A Keystone failing with 500: 503, and the next request (nothing
	// remembered) succeeds.
	e.ks.mu.Lock()
	e.ks.failing = 1
	e.ks.mu.Unlock()
	code, body, hdr := e.post(clientCreds, "ac1", "s3cret")
	if code != 503 || body["error"] != "temporarily_unavailable" || hdr.Get("Retry-After") == "" || !strings.Contains(body["error_description"].(string), "cloud lab") {
		t.Errorf("keystone 500: %d %v", code, body)
	}
	if code, _, _ := e.post(clientCreds, "ac1", "s3cret"); code != 200 {
		t.Errorf("after keystone recovered: %d", code)
	}
	// A Keystone that does not answer at all: 503 naming the cloud, not
	// its address, and not 500.
	addr := strings.TrimPrefix(e.ks.srv.URL, "http://")
	e.ks.srv.Close()
	code, body, _ = e.post(clientCreds, "ac2", "s3cret")
	desc, _ := body["error_description"].(string)
	if code != 503 || body["error"] != "temporarily_unavailable" || strings.Contains(desc, addr) {
		t.Errorf("keystone down: %d %v", code, body)
	}
	if !strings.Contains(e.log.String(), "identity source unavailable") {
		t.Errorf("the operator's log does not say why:\n%s", e.log.String())
	}
	if n := e.st.gets.Load(); n != 0 {
		t.Errorf("canopy's client store was read %d times", n)
	}
}

func TestTokenExchange(t *testing.T) {
	e := newEnv(t, func(o *Options) {
		o.Projects = append(o.Projects, ProjectMap{Keystone: Project{ID: "pid-ops"}, Canopy: "ops"})
		o.Roles = map[string]string{"Member": auth.ScopeRead, "operator": auth.ScopeAdmin}
	})
	exchange := func(tok string, mod func(url.Values)) (int, map[string]any) {
		f := url.Values{"grant_type": {auth.GrantTokenExchange}, "subject_token": {tok}, "subject_token_type": {auth.TokenTypeAccessToken}}
		if mod != nil {
			mod(f)
		}
		code, body, _ := e.post(f, "", "")
		return code, body
	}
	good := e.ks.addToken(fakeCred{project: "ops", projectID: "pid-ops", roles: []string{"member", "operator"}})
	code, body := exchange(good, nil)
	if code != 200 || body["issued_token_type"] != auth.TokenTypeAccessToken || body["scope"] != "canopy.read canopy.admin" {
		t.Fatalf("exchange: %d %v", code, body)
	}
	if p := e.principal(body); p.Project != "ops" || p.Subject != "keystone:lab:uid-bob" {
		t.Errorf("principal = %+v", p)
	}
	// A canopy token does not outlive the Keystone token it came from.
	short := e.ks.addToken(fakeCred{project: "ops", projectID: "pid-ops", roles: []string{"member"}, expires: time.Now().Add(90 * time.Second)})
	if code, body := exchange(short, nil); code != 200 || body["expires_in"].(float64) > 90 {
		t.Errorf("token of a Keystone token expiring in 90s: %d %v", code, body)
	}
	// Revoked: remembered within the TTL, refused after it.
	e.ks.revoke(good)
	if code, _ := exchange(good, nil); code != 200 {
		t.Errorf("revoked token within the TTL: %d", code)
	}
	e.advance(2 * time.Minute)
	if code, body := exchange(good, nil); code != 400 || body["error"] != "invalid_request" || !strings.Contains(body["error_description"].(string), "not a valid token of cloud lab") {
		t.Errorf("revoked token after the TTL: %d %v", code, body)
	}
	unscoped := e.ks.addToken(fakeCred{roles: []string{"member"}})
	for name, tc := range map[string]struct {
		tok  string
		mod  func(url.Values)
		code int
		want string
	}{
		"unknown token":  {"gAAAA-nope", nil, 400, "not a valid token"},
		"not a header":   {"bad\ntoken", nil, 400, "not a valid token"},
		"unscoped":       {unscoped, nil, 400, "not scoped to a project"},
		"no token":       {"", nil, 400, "subject_token is required"},
		"wrong type":     {"x", func(f url.Values) { f.Set("subject_token_type", "urn:ietf:params:oauth:token-type:jwt") }, 400, "subject_token_type"},
		"wrong issuer":   {"x", func(f url.Values) { f.Set("subject_issuer", "aws") }, 400, "subject_issuer"},
		"with a secret":  {"x", func(f url.Values) { f.Set("client_id", "x"); f.Set("client_secret", "y") }, 400, "no client credentials"},
		"an actor token": {"x", func(f url.Values) { f.Set("actor_token", "y") }, 400, "actor_token"},
	} {
		code, body := exchange(tc.tok, tc.mod)
		if code != tc.code || !strings.Contains(body["error_description"].(string), tc.want) {
			t.Errorf("%s: %d %v, want %d %q", name, code, body, tc.code, tc.want)
		}
	}
}

// fixedSource is a second identity source, for requests that must name
// the cloud.
type fixedSource struct{ name string }

func (f fixedSource) Name() string { return f.name }
func (f fixedSource) AuthenticateClient(context.Context, string, string) (auth.Identity, error) {
	return auth.Identity{}, auth.ErrBadCredentials
}
func (f fixedSource) ExchangeToken(context.Context, string) (auth.Identity, error) {
	return auth.Identity{}, auth.ErrInvalidToken
}

func TestSeveralSourcesAndOwnClients(t *testing.T) {
	e := newEnv(t, nil, fixedSource{"east"})
	e.ks.addCred("ac1", fakeCred{secret: "s3cret", project: "team-a", roles: []string{"reader"}})
	code, body, _ := e.post(clientCreds, "ac1", "s3cret")
	if code != 401 || !strings.Contains(body["error_description"].(string), "<cloud>/<id>") {
		t.Errorf("bare id with two sources: %d %v", code, body)
	}
	if code, body, _ := e.post(clientCreds, "lab/ac1", "s3cret"); code != 200 {
		t.Errorf("qualified id: %d %v", code, body)
	}
	if n := e.st.gets.Load(); n != 0 {
		t.Errorf("canopy's client store was read %d times", n)
	}
	// canopy's own clients still work beside the sources.
	cl, secret, err := e.clients.Create(context.Background(), "ci", "p1", []string{auth.ScopeRead})
	if err != nil {
		t.Fatal(err)
	}
	if code, body, _ := e.post(clientCreds, cl.ID, secret); code != 200 || e.principal(body).Project != "p1" {
		t.Errorf("own client: %d %v", code, body)
	}
	if code, body, _ := e.post(url.Values{"grant_type": {auth.GrantTokenExchange}, "subject_token": {"t"}, "subject_token_type": {auth.TokenTypeAccessToken}}, "", ""); code != 400 || !strings.Contains(body["error_description"].(string), "east, lab") && !strings.Contains(body["error_description"].(string), "lab, east") {
		t.Errorf("exchange without subject_issuer, two sources: %d %v", code, body)
	}
	resp, err := http.Get(e.url + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&doc)
	if gt, _ := doc["grant_types_supported"].([]any); len(gt) != 2 || gt[1] != auth.GrantTokenExchange {
		t.Errorf("discovery grant types = %v", doc["grant_types_supported"])
	}
}

func TestParseProjectAndNew(t *testing.T) {
	for key, want := range map[string]Project{"abc123": {ID: "abc123"}, "Default/team-a": {Name: "team-a", Domain: "Default"}} {
		if got, err := ParseProject(key); err != nil || got != want {
			t.Errorf("ParseProject(%q) = %+v %v", key, got, err)
		}
	}
	for _, bad := range []string{"", "/x", "d/", "a/b/c"} {
		if _, err := ParseProject(bad); err == nil {
			t.Errorf("ParseProject(%q) accepted", bad)
		}
	}
	ok := Options{Cloud: "lab", URL: "http://k:5000", Projects: []ProjectMap{{Keystone: Project{ID: "p"}, Canopy: "c"}}}
	if s, err := New(ok); err != nil || s.url != "http://k:5000/v3" {
		t.Errorf("New: %v %v", s, err)
	}
	for name, mod := range map[string]func(*Options){
		"no projects": func(o *Options) { o.Projects = nil },
		"bad scope":   func(o *Options) { o.Roles = map[string]string{"member": "canopy.everything"} },
		"no url":      func(o *Options) { o.URL = "" },
	} {
		o := ok
		mod(&o)
		if _, err := New(o); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
