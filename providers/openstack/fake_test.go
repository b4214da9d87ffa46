package openstack

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/canopy-cloud/canopy/providers"
)

// fakeCloud is a tiny Keystone + Nova + Glance + Neutron on httptest, for
// unit tests of what the adapter does with the HTTP it gets back. Routes
// are "METHOD /path" (query excluded); unrouted requests are 404.
type fakeCloud struct {
	t      *testing.T
	srv    *httptest.Server
	maxMV  string // Nova's maximum microversion
	mu     sync.Mutex
	routes map[string]http.HandlerFunc
	seen   []*http.Request
}

func newFakeCloud(t *testing.T, maxMV string) *fakeCloud {
	f := &fakeCloud{t: t, maxMV: maxMV, routes: map[string]http.HandlerFunc{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	f.route("POST /v3/auth/tokens", func(w http.ResponseWriter, r *http.Request) {
		u := f.srv.URL
		ep := func(path string) []map[string]string {
			return []map[string]string{{"id": path, "interface": "public", "region": "FakeOne", "region_id": "FakeOne", "url": u + path}}
		}
		w.Header().Set("X-Subject-Token", "tok")
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(map[string]any{"token": map[string]any{
			"expires_at": "2999-01-01T00:00:00.000000Z",
			"catalog": []map[string]any{
				{"type": "compute", "name": "nova", "endpoints": ep("/compute/v2.1")},
				{"type": "image", "name": "glance", "endpoints": ep("/image")},
				{"type": "network", "name": "neutron", "endpoints": ep("/network")},
			},
		}})
	})
	f.route("GET /compute/v2.1", func(w http.ResponseWriter, r *http.Request) {
		f.json(w, 200, map[string]any{"version": map[string]any{"id": "v2.1", "status": "CURRENT", "version": f.maxMV, "min_version": "2.1",
			"links": []map[string]string{{"rel": "self", "href": f.srv.URL + "/compute/v2.1/"}}}})
	})
	f.route("GET /image", func(w http.ResponseWriter, r *http.Request) {
		f.json(w, 300, map[string]any{"versions": []map[string]any{{"id": "v2.9", "status": "CURRENT"}}})
	})
	f.route("GET /network", func(w http.ResponseWriter, r *http.Request) {
		f.json(w, 200, map[string]any{"versions": []map[string]any{{"id": "v2.0", "status": "CURRENT"}}})
	})
	return f
}

func (f *fakeCloud) route(key string, h http.HandlerFunc) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.routes[key] = h
}

func (f *fakeCloud) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.seen = append(f.seen, r)
	h := f.routes[r.Method+" "+strings.TrimSuffix(r.URL.Path, "/")]
	f.mu.Unlock()
	if h == nil {
		f.json(w, 404, map[string]any{"itemNotFound": map[string]any{"code": 404, "message": "no route " + r.Method + " " + r.URL.Path}})
		return
	}
	h(w, r)
}

func (f *fakeCloud) json(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// requests returns the requests seen for "METHOD /path".
func (f *fakeCloud) requests(key string) []*http.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*http.Request
	for _, r := range f.seen {
		if r.Method+" "+strings.TrimSuffix(r.URL.Path, "/") == key {
			out = append(out, r)
		}
	}
	return out
}

// open returns an adapter for the fake cloud.
func (f *fakeCloud) open(opts map[string]any) *Cloud {
	f.t.Helper()
	path := filepath.Join(f.t.TempDir(), "clouds.yaml")
	yaml := fmt.Sprintf("clouds:\n  fake:\n    auth: {auth_url: '%s/v3', username: u, password: p, project_name: p, user_domain_name: Default, project_domain_name: Default}\n", f.srv.URL)
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		f.t.Fatal(err)
	}
	o := map[string]any{"clouds_yaml": path, "cloud": "fake"}
	for k, v := range opts {
		o[k] = v
	}
	c, err := Open(f.t.Context(), providers.Config{Name: "fake", Options: o})
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { _ = c.Close() })
	return c
}

func jsonDecode(r *http.Request, v any) error { return json.NewDecoder(r.Body).Decode(v) }
