package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/canopy-cloud/canopy/auth"
	"github.com/canopy-cloud/canopy/config"
	"github.com/canopy-cloud/canopy/server"
	"github.com/canopy-cloud/canopy/store/bolt"

	_ "github.com/canopy-cloud/canopy/providers/sim"
)

// fastLocal is one sim cloud whose transitions take tens of milliseconds.
const fastLocal = `
clouds:
  - name: local
    kind: sim
    regions: [local-1]
    zones: [local-1a, local-1b]
    options: {boot_delay: 30ms, action_delay: 20ms, delete_delay: 20ms}
`

// startCanopyd serves a real canopyd in-process on loopback (gRPC and
// REST on free ports, a bbolt store in a temp dir) and returns its gRPC
// address. It stops when the test ends.
func startCanopyd(t *testing.T, yaml string) string {
	t.Helper()
	return startCanopydTLS(t, yaml, nil)
}

// startCanopydTLS is startCanopyd serving gRPC and REST with tlsCfg (nil:
// plaintext).
func startCanopydTLS(t *testing.T, yaml string, tlsCfg *tls.Config) string {
	t.Helper()
	cfg, err := config.Parse([]byte(yaml), t.Name())
	if err != nil {
		t.Fatal(err)
	}
	cfg.Wait.MinInterval = config.Duration(10 * time.Millisecond)
	cfg.Wait.MaxInterval = config.Duration(50 * time.Millisecond)
	st, err := bolt.Open(t.TempDir() + "/canopy.db")
	if err != nil {
		t.Fatal(err)
	}
	gl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Auth.IssuerURL = "http://" + rl.Addr().String()
	if tlsCfg != nil {
		cfg.Auth.IssuerURL = "https://" + rl.Addr().String()
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, cfg, st, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		cancel()
		st.Close()
		t.Fatal(err)
	}
	tok, _, err := srv.Issuer().Issue("cli-test", "default", []string{auth.ScopeAdmin})
	if err != nil {
		t.Fatal(err)
	}
	daemons.Store(gl.Addr().String(), daemonInfo{token: tok, rest: rl.Addr().String(), srv: srv})
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, server.Listeners{GRPC: gl, REST: rl, TLS: tlsCfg}, time.Second) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
		srv.Close()
		st.Close()
	})
	return gl.Addr().String()
}

// daemons maps a test canopyd's gRPC address to its admin token and REST
// address, so cli() authenticates like a user whose first run wrote
// credentials.
var daemons sync.Map

type daemonInfo struct {
	token string
	rest  string
	srv   *server.Server
}

func hasFlag(args []string, flag string) bool {
	for _, a := range args {
		if a == flag || strings.HasPrefix(a, flag+"=") {
			return true
		}
	}
	return false
}

// result is what one canopy invocation did.
type result struct {
	code           int
	stdout, stderr string
}

// cli runs the canopy command line in-process against addr.
func cli(t *testing.T, addr string, args ...string) result {
	t.Helper()
	return cliIn(t, addr, "", args...)
}

// cliIn is cli with stdin.
func cliIn(t *testing.T, addr, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	if addr != "" {
		args = append([]string{"--addr", addr}, args...)
		if d, ok := daemons.Load(addr); ok && !hasFlag(args, "--token") && !hasFlag(args, "--credentials") {
			// An admin token, and never the real user's credentials file.
			args = append([]string{"--token", d.(daemonInfo).token, "--credentials", "/nonexistent/canopy-test"}, args...)
		}
	}
	code := run(ctx, args, strings.NewReader(stdin), &out, &errb)
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

// ok runs canopy and fails the test unless it exits 0.
func ok(t *testing.T, addr string, args ...string) result {
	t.Helper()
	r := cli(t, addr, args...)
	if r.code != 0 {
		t.Fatalf("canopy %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

// fails runs canopy and checks its exit status and that stderr mentions
// each of mentions.
func fails(t *testing.T, addr string, code int, args []string, mentions ...string) result {
	t.Helper()
	r := cli(t, addr, args...)
	if r.code != code {
		t.Fatalf("canopy %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, code, r.stdout, r.stderr)
	}
	for _, m := range mentions {
		if !strings.Contains(r.stderr, m) {
			t.Errorf("canopy %s: stderr does not mention %q:\n%s", strings.Join(args, " "), m, r.stderr)
		}
	}
	return r
}

// jsonOf decodes -o json output.
func jsonOf(t *testing.T, r result) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &m); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, r.stdout)
	}
	return m
}

// tableRow returns the line of a table that contains all of want, or "".
func tableRow(out string, want ...string) string {
	for _, line := range strings.Split(out, "\n") {
		all := true
		for _, w := range want {
			if !strings.Contains(line, w) {
				all = false
				break
			}
		}
		if all && line != "" {
			return line
		}
	}
	return ""
}
