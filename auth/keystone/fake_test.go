package keystone

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeKeystone answers POST and GET /v3/auth/tokens the way Keystone v3
// does (status codes and the token document, measured against the lab's
// Keystone): 201 + X-Subject-Token for a good application credential, 401
// for a wrong secret or an expired credential, 404 for an unknown one;
// 200 for a valid token validated by itself, 401 otherwise.
type fakeKeystone struct {
	srv   *httptest.Server
	calls atomic.Int64

	mu      sync.Mutex
	creds   map[string]fakeCred
	tokens  map[string]map[string]any // token → its "token" document
	failing int                       // answer 500 this many times
}

type fakeCred struct {
	secret    string
	project   string // name, in domain Default; "" for none
	roles     []string
	expires   time.Time // zero: never
	rules     bool      // has access rules
	userName  string
	projectID string
}

func newFakeKeystone(t *testing.T) *fakeKeystone {
	k := &fakeKeystone{creds: map[string]fakeCred{}, tokens: map[string]map[string]any{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v3/auth/tokens", k.issue)
	mux.HandleFunc("GET /v3/auth/tokens", k.validate)
	k.srv = httptest.NewServer(mux)
	t.Cleanup(k.srv.Close)
	return k
}

func (k *fakeKeystone) addCred(id string, c fakeCred) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if c.userName == "" {
		c.userName = "alice"
	}
	k.creds[id] = c
}

func (k *fakeKeystone) deleteCred(id string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.creds, id)
}

func keystoneError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": code, "message": msg}})
}

func (k *fakeKeystone) issue(w http.ResponseWriter, r *http.Request) {
	k.calls.Add(1)
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.failing > 0 {
		k.failing--
		keystoneError(w, 500, "An unexpected error prevented the server from fulfilling your request.")
		return
	}
	var body struct {
		Auth struct {
			Identity struct {
				Methods []string `json:"methods"`
				AppCred struct {
					ID, Secret string
				} `json:"application_credential"`
			} `json:"identity"`
		} `json:"auth"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || len(body.Auth.Identity.Methods) != 1 || body.Auth.Identity.Methods[0] != "application_credential" {
		keystoneError(w, 400, "Expecting to find identity in auth.")
		return
	}
	id := body.Auth.Identity.AppCred.ID
	c, ok := k.creds[id]
	if !ok {
		keystoneError(w, 404, "Could not find Application Credential: "+id+".")
		return
	}
	if c.secret != body.Auth.Identity.AppCred.Secret || (!c.expires.IsZero() && time.Now().After(c.expires)) {
		keystoneError(w, 401, "The request you have made requires authentication.")
		return
	}
	tok := "gAAAA-" + id + "-" + time.Now().Format(time.RFC3339Nano)
	doc := k.document(c)
	ac := map[string]any{"id": id, "name": "cred", "restricted": true}
	if c.rules {
		ac["access_rules"] = []any{map[string]any{"service": "compute", "method": "GET", "path": "/v2.1/servers"}}
	}
	doc["application_credential"] = ac
	doc["methods"] = []string{"application_credential"}
	k.tokens[tok] = doc
	w.Header().Set("X-Subject-Token", tok)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(map[string]any{"token": doc})
}

func (k *fakeKeystone) document(c fakeCred) map[string]any {
	roles := []any{}
	for _, r := range c.roles {
		roles = append(roles, map[string]any{"id": "r-" + r, "name": r})
	}
	exp := time.Now().Add(time.Hour)
	if !c.expires.IsZero() {
		exp = c.expires
	}
	doc := map[string]any{
		"user":       map[string]any{"id": "uid-" + c.userName, "name": c.userName, "domain": map[string]any{"id": "default", "name": "Default"}},
		"roles":      roles,
		"expires_at": exp.UTC().Format("2006-01-02T15:04:05.000000Z"),
		"issued_at":  time.Now().UTC().Format("2006-01-02T15:04:05.000000Z"),
	}
	if c.project != "" {
		pid := c.projectID
		if pid == "" {
			pid = "pid-" + c.project
		}
		doc["project"] = map[string]any{"id": pid, "name": c.project, "domain": map[string]any{"id": "default", "name": "Default"}}
	}
	return doc
}

// addToken makes a token (as a password login would) and returns it.
func (k *fakeKeystone) addToken(c fakeCred) string {
	k.mu.Lock()
	defer k.mu.Unlock()
	if c.userName == "" {
		c.userName = "bob"
	}
	tok := "gAAAA-pw-" + c.userName + "-" + time.Now().Format(time.RFC3339Nano)
	doc := k.document(c)
	doc["methods"] = []string{"password"}
	k.tokens[tok] = doc
	return tok
}

func (k *fakeKeystone) revoke(tok string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.tokens, tok)
}

func (k *fakeKeystone) validate(w http.ResponseWriter, r *http.Request) {
	k.calls.Add(1)
	k.mu.Lock()
	defer k.mu.Unlock()
	subject := r.Header.Get("X-Subject-Token")
	if _, ok := k.tokens[r.Header.Get("X-Auth-Token")]; !ok {
		keystoneError(w, 401, "The request you have made requires authentication.")
		return
	}
	doc, ok := k.tokens[subject]
	if !ok {
		keystoneError(w, 404, "Could not find token: "+subject+".")
		return
	}
	w.Header().Set("X-Subject-Token", subject)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"token": doc})
}
