//go:build faults

package faults

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
)

// toxiproxy is a client of a toxiproxy server's HTTP API (the few calls
// the tests need: proxies, toxics, enable/disable). The API is plain JSON;
// a dozen lines here spare the module a dependency.
type toxiproxy struct{ api string }

// proxy is one TCP proxy the test made: Listen forwards to Upstream,
// through whatever toxics are set on it.
type proxy struct {
	x        *toxiproxy
	Name     string `json:"name"`
	Listen   string `json:"listen"`
	Upstream string `json:"upstream"`
	Enabled  bool   `json:"enabled"`
	Toxics   []struct {
		Name string `json:"name"`
	} `json:"toxics"`
}

func (x *toxiproxy) do(t testing.TB, method, path string, body, out any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, x.api+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("toxiproxy %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 && !(method == http.MethodDelete && resp.StatusCode == http.StatusNotFound) {
		t.Fatalf("toxiproxy %s %s: %d %s", method, path, resp.StatusCode, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("toxiproxy %s %s: %v (%s)", method, path, err, raw)
		}
	}
}

// proxy makes a proxy to upstream on a free loopback port, deleted when the
// test ends.
func (x *toxiproxy) proxy(t testing.TB, name, upstream string) *proxy {
	t.Helper()
	x.do(t, http.MethodDelete, "/proxies/"+name, nil, nil) // left by a killed run
	p := &proxy{x: x}
	x.do(t, http.MethodPost, "/proxies", map[string]any{"name": name, "listen": "127.0.0.1:0", "upstream": upstream, "enabled": true}, p)
	p.x = x
	t.Cleanup(func() { x.do(t, http.MethodDelete, "/proxies/"+name, nil, nil) })
	return p
}

// toxic adds a toxic to every connection of the proxy, open ones included.
func (p *proxy) toxic(t testing.TB, name, kind, stream string, attrs map[string]any) {
	t.Helper()
	p.x.do(t, http.MethodPost, fmt.Sprintf("/proxies/%s/toxics", p.Name),
		map[string]any{"name": name, "type": kind, "stream": stream, "toxicity": 1.0, "attributes": attrs}, nil)
}

// heal removes every toxic and enables the proxy.
func (p *proxy) heal(t testing.TB) {
	t.Helper()
	var cur proxy
	p.x.do(t, http.MethodGet, "/proxies/"+p.Name, nil, &cur)
	for _, tx := range cur.Toxics {
		p.x.do(t, http.MethodDelete, fmt.Sprintf("/proxies/%s/toxics/%s", p.Name, tx.Name), nil, nil)
	}
	p.enable(t, true)
}

// enable opens the proxy, or closes it and every connection through it
// (the cloud refuses connections).
func (p *proxy) enable(t testing.TB, on bool) {
	t.Helper()
	p.x.do(t, http.MethodPost, "/proxies/"+p.Name, map[string]any{"enabled": on}, nil)
}
