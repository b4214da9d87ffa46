//go:build faults

package faults

import (
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"testing"
)

// front is the one fault toxiproxy cannot make, an HTTP 5xx: a reverse
// proxy in front of an engine that answers 503 to the next N requests (or
// to all, failing < 0) and passes the others through. It also counts the
// requests that reached it, which is how the tests count the calls a
// cloud got. toxiproxy sits in front of it, so its TCP faults reach
// canopyd as they would from a real cloud: canopyd → toxiproxy → front →
// engine.
type front struct {
	addr     string
	failing  atomic.Int64 // 503s still to answer; < 0: every request
	requests atomic.Int64 // requests that reached the front
	body     string       // the 503's body, as the engine would word it
}

func newFront(t testing.TB, engine string, body string) *front {
	t.Helper()
	u, err := url.Parse(engine)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &front{addr: l.Addr().String(), body: body}
	rp := httputil.NewSingleHostReverseProxy(u)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.requests.Add(1)
		if n := f.failing.Load(); n < 0 || (n > 0 && f.failing.CompareAndSwap(n, n-1)) {
			w.Header().Set("Content-Type", "text/xml")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(f.body))
			return
		}
		rp.ServeHTTP(w, r)
	})}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return f
}

// fail makes the next n requests answer 503 (n < 0: all, until heal).
func (f *front) fail(n int64) { f.failing.Store(n) }

// heal passes every request again.
func (f *front) heal() { f.failing.Store(0) }
