// Package failpoint lets crash tests kill canopyd at named points inside
// multi-step work, deterministically instead of with sleeps.
//
// CANOPY_FAILPOINTS names the points, comma-separated; at the first Hit of
// a named point the process sends itself SIGKILL (no deferred function,
// no flush, no graceful stop: exactly what a crash or an OOM kill does). A
// name may end in "@N" to fire at its Nth hit instead. CANOPY_FAILPOINTS_LOG
// names a file to which every point hit is appended, one per line, so a
// test can discover the points a workload passes through.
//
// With neither variable set, Hit costs one atomic load.
package failpoint

import (
	"context"
	"fmt"
	"net/http/httptrace"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
)

var (
	enabled atomic.Bool
	mu      sync.Mutex
	armed   map[string]int // name → hit number that fires (1: the first)
	hits    map[string]int
	logFile *os.File
)

func init() { Configure(os.Getenv("CANOPY_FAILPOINTS"), os.Getenv("CANOPY_FAILPOINTS_LOG")) }

// Configure arms the points in spec (the CANOPY_FAILPOINTS syntax) and
// logs hits to logPath when it is not empty. It replaces any earlier
// configuration.
func Configure(spec, logPath string) {
	mu.Lock()
	defer mu.Unlock()
	armed, hits = map[string]int{}, map[string]int{}
	for _, p := range strings.Split(spec, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		n := 1
		if name, at, ok := strings.Cut(p, "@"); ok {
			if v, err := strconv.Atoi(at); err == nil && v > 0 {
				p, n = name, v
			}
		}
		armed[p] = n
	}
	if logFile != nil {
		logFile.Close()
		logFile = nil
	}
	if logPath != "" {
		f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err == nil {
			logFile = f
		}
	}
	enabled.Store(len(armed) > 0 || logFile != nil)
}

// Hit passes the named point: it logs it and, if it is armed for this hit,
// kills the process.
func Hit(name string) {
	if !enabled.Load() {
		return
	}
	mu.Lock()
	hits[name]++
	n := hits[name]
	if logFile != nil {
		fmt.Fprintln(logFile, name)
	}
	fire := armed[name] == n
	mu.Unlock()
	if fire {
		fmt.Fprintf(os.Stderr, "failpoint %s: SIGKILL\n", name)
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // the signal is on its way
	}
}

// Sent returns ctx with an HTTP client trace that hits the named point as
// soon as a request made with it has been written to the connection, before
// any answer is read: a kill there leaves the request to the server, as a
// crash in the middle of a call does. Without failpoints it returns ctx.
func Sent(ctx context.Context, name string) context.Context {
	if !enabled.Load() {
		return ctx
	}
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(info httptrace.WroteRequestInfo) {
			if info.Err == nil {
				Hit(name)
			}
		},
	})
}
