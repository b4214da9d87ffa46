package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/canopy-cloud/canopy/store"
	"github.com/canopy-cloud/canopy/store/bolt"
)

func newStore(t *testing.T) store.Store {
	st, err := bolt.Open(t.TempDir() + "/a.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func newIssuer(t *testing.T, st store.AuthStore, mod func(*IssuerOptions)) *Issuer {
	o := IssuerOptions{URL: "http://canopy.test", TTL: time.Minute}
	if mod != nil {
		mod(&o)
	}
	i, err := NewIssuer(context.Background(), st, o)
	if err != nil {
		t.Fatal(err)
	}
	return i
}

func TestIssueAndVerify(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	iss := newIssuer(t, st, nil)
	v, err := NewVerifier(iss, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	tok, exp, err := iss.Issue("c1", "p1", []string{ScopeRead})
	if err != nil || time.Until(exp) > time.Minute {
		t.Fatal(err, exp)
	}
	p, err := v.Verify(ctx, tok)
	if err != nil || p.Subject != "c1" || p.Project != "p1" || !p.Has(ScopeRead) || p.Has(ScopeWrite) {
		t.Fatalf("verify = %+v, %v", p, err)
	}

	past := newIssuer(t, st, func(o *IssuerOptions) { o.Now = func() time.Time { return time.Now().Add(-time.Hour) } })
	otherAud := newIssuer(t, st, func(o *IssuerOptions) { o.Audience = "someone-else" })
	otherIss := newIssuer(t, newStore(t), func(o *IssuerOptions) { o.URL = "http://evil.test" })
	forged := newIssuer(t, newStore(t), nil) // same URL, other keys
	expired, _, _ := past.Issue("c1", "p1", []string{ScopeRead})
	wrongAud, _, _ := otherAud.Issue("c1", "p1", []string{ScopeRead})
	untrusted, _, _ := otherIss.Issue("c1", "p1", []string{ScopeRead})
	badSig, _, _ := forged.Issue("c1", "p1", []string{ScopeAdmin})
	parts := strings.Split(tok, ".")
	tampered := parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2]))
	noProject, _, _ := iss.Issue("c1", "", []string{ScopeRead})
	for name, bad := range map[string]string{"expired": expired, "audience": wrongAud, "issuer": untrusted, "forged": badSig,
		"tampered": tampered, "garbage": "not.a.jwt", "empty": "", "no project": noProject} {
		if _, err := v.Verify(ctx, bad); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("%s token: err = %v, want ErrInvalidToken", name, err)
		}
	}

	// Rotation: old tokens stay valid, new ones use the new key.
	kid, published, err := iss.RotateKey(ctx)
	if err != nil || len(published) != 2 || published[0] != kid {
		t.Fatalf("rotate = %s %v %v", kid, published, err)
	}
	if _, err := v.Verify(ctx, tok); err != nil {
		t.Errorf("token of the retired key rejected: %v", err)
	}
	tok2, _, _ := iss.Issue("c1", "p1", []string{ScopeRead})
	if h := strings.Split(tok2, ".")[0]; h == parts[0] {
		t.Errorf("new token still signed with the old key")
	}
	// A restarted issuer loads the same keys from the store.
	again := newIssuer(t, st, nil)
	v2, _ := NewVerifier(again, nil, nil)
	if _, err := v2.Verify(ctx, tok2); err != nil {
		t.Errorf("after restart: %v", err)
	}
}

func TestScopesNest(t *testing.T) {
	for _, tc := range []struct {
		have []string
		want string
		ok   bool
	}{
		{[]string{ScopeRead}, ScopeRead, true}, {[]string{ScopeRead}, ScopeWrite, false},
		{[]string{ScopeWrite}, ScopeRead, true}, {[]string{ScopeWrite}, ScopeAdmin, false},
		{[]string{ScopeAdmin}, ScopeWrite, true}, {nil, ScopeRead, false},
	} {
		if got := (Principal{Scopes: tc.have}).Has(tc.want); got != tc.ok {
			t.Errorf("%v has %s = %v", tc.have, tc.want, got)
		}
	}
}

func TestTokenEndpoint(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	iss := newIssuer(t, st, nil)
	clients := NewClients(st)
	cl, secret, err := clients.Create(ctx, "ci", "p1", []string{ScopeRead, ScopeWrite})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	(&Server{Issuer: iss, Clients: clients, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}).Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	v, _ := NewVerifier(iss, nil, nil)

	post := func(form url.Values, basicID, basicSecret string) (int, map[string]any) {
		req, _ := http.NewRequest("POST", srv.URL+"/oauth2/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if basicID != "" {
			req.SetBasicAuth(url.QueryEscape(basicID), url.QueryEscape(basicSecret))
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body
	}
	code, body := post(url.Values{"grant_type": {"client_credentials"}}, cl.ID, secret)
	if code != 200 || body["token_type"] != "Bearer" || body["scope"] != "canopy.read canopy.write" {
		t.Fatalf("basic: %d %v", code, body)
	}
	if p, err := v.Verify(ctx, body["access_token"].(string)); err != nil || p.Project != "p1" {
		t.Errorf("issued token: %+v %v", p, err)
	}
	code, body = post(url.Values{"grant_type": {"client_credentials"}, "client_id": {cl.ID}, "client_secret": {secret}, "scope": {"canopy.read"}}, "", "")
	if code != 200 || body["scope"] != "canopy.read" {
		t.Fatalf("post with narrower scope: %d %v", code, body)
	}
	for name, tc := range map[string]struct {
		form       url.Values
		id, secret string
		code       int
		err        string
	}{
		"wrong secret":   {url.Values{"grant_type": {"client_credentials"}}, cl.ID, "nope", 401, "invalid_client"},
		"unknown client": {url.Values{"grant_type": {"client_credentials"}}, "cnp-nobody", secret, 401, "invalid_client"},
		"no credentials": {url.Values{"grant_type": {"client_credentials"}}, "", "", 401, "invalid_client"},
		"other grant":    {url.Values{"grant_type": {"password"}}, cl.ID, secret, 400, "unsupported_grant_type"},
		"too much scope": {url.Values{"grant_type": {"client_credentials"}, "scope": {"canopy.admin"}}, cl.ID, secret, 400, "invalid_scope"},
		"two methods":    {url.Values{"grant_type": {"client_credentials"}, "client_secret": {secret}}, cl.ID, secret, 400, "invalid_request"},
		"unknown scope":  {url.Values{"grant_type": {"client_credentials"}, "scope": {"canopy.read openid"}}, cl.ID, secret, 400, "invalid_scope"},
	} {
		code, body := post(tc.form, tc.id, tc.secret)
		if code != tc.code || body["error"] != tc.err {
			t.Errorf("%s: %d %v, want %d %s", name, code, body, tc.code, tc.err)
		}
		if strings.Contains(body["error_description"].(string), secret) {
			t.Errorf("%s: error leaks the secret", name)
		}
	}
	// An admin client may ask for less: read alone (a script's token), or
	// read and write; the token carries exactly what was asked.
	admin, adminSecret, err := clients.Create(ctx, "admin", "p1", []string{ScopeAdmin})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"canopy.read", "canopy.read canopy.write", "canopy.admin"} {
		code, body := post(url.Values{"grant_type": {"client_credentials"}, "scope": {want}}, admin.ID, adminSecret)
		if code != 200 || body["scope"] != want {
			t.Fatalf("admin client asking for %q: %d %v", want, code, body)
		}
		p, err := v.Verify(ctx, body["access_token"].(string))
		if err != nil {
			t.Fatal(err)
		}
		if got := p.Has(ScopeAdmin); got != (want == "canopy.admin") {
			t.Errorf("token for %q: admin = %v", want, got)
		}
		if !p.Has(ScopeRead) {
			t.Errorf("token for %q cannot read", want)
		}
	}
	// Rotating the secret stops the old one at once.
	_, newSecret, err := clients.Rotate(ctx, cl.ID)
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := post(url.Values{"grant_type": {"client_credentials"}}, cl.ID, secret); code != 401 {
		t.Errorf("old secret after rotation: %d", code)
	}
	if code, _ := post(url.Values{"grant_type": {"client_credentials"}}, cl.ID, newSecret); code != 200 {
		t.Errorf("new secret: %d", code)
	}
	// Discovery and JWKS.
	resp, _ := http.Get(srv.URL + "/.well-known/openid-configuration")
	var doc map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&doc)
	resp.Body.Close()
	if doc["issuer"] != "http://canopy.test" || doc["token_endpoint"] != "http://canopy.test/oauth2/token" {
		t.Errorf("discovery = %v", doc)
	}
	resp, _ = http.Get(srv.URL + "/.well-known/jwks.json")
	var set jose.JSONWebKeySet
	_ = json.NewDecoder(resp.Body).Decode(&set)
	resp.Body.Close()
	if len(set.Keys) != 1 || !set.Keys[0].IsPublic() {
		t.Errorf("jwks = %+v", set)
	}
}

// externalIdP is an external issuer with a JWKS, discovery, and keys it can
// rotate.
type externalIdP struct {
	srv  *httptest.Server
	key  *ecdsa.PrivateKey
	kid  string
	hits int
}

func newIdP(t *testing.T) *externalIdP {
	idp := &externalIdP{}
	idp.rotate()
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": idp.srv.URL, "jwks_uri": idp.srv.URL + "/keys"})
	})
	mux.HandleFunc("/keys", func(w http.ResponseWriter, r *http.Request) {
		idp.hits++
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &idp.key.PublicKey, KeyID: idp.kid, Algorithm: "ES256", Use: "sig"}}})
	})
	idp.srv = httptest.NewServer(mux)
	t.Cleanup(idp.srv.Close)
	return idp
}

func (idp *externalIdP) rotate() {
	idp.key, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	idp.kid = time.Now().Format(time.RFC3339Nano)
}

func (idp *externalIdP) token(t *testing.T, aud string, exp time.Duration, extra map[string]any) string {
	signer, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: idp.key}, (&jose.SignerOptions{}).WithHeader("kid", idp.kid))
	now := time.Now()
	tok, err := jwt.Signed(signer).Claims(jwt.Claims{Issuer: idp.srv.URL, Subject: "svc", Audience: jwt.Audience{aud},
		IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(exp))}).Claims(extra).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestExternalIssuer(t *testing.T) {
	ctx := context.Background()
	idp := newIdP(t)
	v, err := NewVerifier(nil, []External{{Issuer: idp.srv.URL, Audience: "canopy-prod", ProjectClaim: "tenant"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	good := idp.token(t, "canopy-prod", time.Minute, map[string]any{"scope": "canopy.read", "tenant": "team-a"})
	p, err := v.Verify(ctx, good)
	if err != nil || p.Project != "team-a" || !p.Has(ScopeRead) {
		t.Fatalf("external token: %+v %v", p, err)
	}
	for name, bad := range map[string]string{
		"audience":   idp.token(t, "canopy", time.Minute, map[string]any{"tenant": "team-a"}),
		"expired":    idp.token(t, "canopy-prod", -10*time.Minute, map[string]any{"tenant": "team-a"}),
		"no project": idp.token(t, "canopy-prod", time.Minute, map[string]any{"scope": "canopy.read"}),
	} {
		if _, err := v.Verify(ctx, bad); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// Keys are cached...
	hits := idp.hits
	for i := 0; i < 5; i++ {
		_, _ = v.Verify(ctx, good)
	}
	if idp.hits != hits {
		t.Errorf("JWKS fetched %d more times for known keys", idp.hits-hits)
	}
	// ...and an unknown kid refreshes them (after the minimum interval).
	idp.rotate()
	v.issuers[idp.srv.URL].src.(*remoteKeys).minRefresh = 0
	if _, err := v.Verify(ctx, idp.token(t, "canopy-prod", time.Minute, map[string]any{"tenant": "team-a"})); err != nil {
		t.Errorf("after the issuer rotated: %v", err)
	}
	if _, err := NewVerifier(nil, []External{{Issuer: "x"}, {Issuer: "x"}}, nil); err == nil {
		t.Errorf("duplicate issuer accepted")
	}
}
