// Package canopydtest runs canopyd as a real process for end-to-end tests:
// it builds the binary once, starts it on free loopback ports with its own
// data and config dirs, authenticates the way a script does (the first-run
// admin credentials, exchanged at /oauth2/token), and hands out clients.
// Every e2e test (cmd/canopyd, the real-engine adapters) uses it.
package canopydtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// Binary builds canopyd once per test binary and returns its path:
// <module>/.cache/canopydtest/canopyd, one file per checkout however many
// test processes build it (each builds beside it and renames over it; a
// process already running the old file keeps it), so test runs leave no
// binaries behind in the temporary directory.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		root, err := moduleRoot()
		if err != nil {
			buildErr = err
			return
		}
		dir := filepath.Join(root, ".cache", "canopydtest")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "canopyd")
		tmp := fmt.Sprintf("%s.%d.tmp", binPath, os.Getpid())
		cmd := exec.Command("go", "build", "-o", tmp, "./cmd/canopyd")
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		if err != nil {
			_ = os.Remove(tmp)
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		buildErr = os.Rename(tmp, binPath)
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// moduleRoot is the directory of canopy's go.mod.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("not inside the canopy module")
	}
	return filepath.Dir(mod), nil
}

// FreePort returns a loopback address nobody listens on right now.
func FreePort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// Daemon is one canopyd process.
type Daemon struct {
	t        testing.TB
	Cmd      *exec.Cmd
	GRPCAddr string
	RESTAddr string
	DataDir  string
	logs     *syncBuf
	done     chan error
	Conn     *grpc.ClientConn
	Compute  canopyv1.ComputeServiceClient
	Clouds   canopyv1.CloudServiceClient
	Auth     canopyv1.AuthServiceClient
	// Token is an admin token of project "default".
	Token string
}

// Bearer sends a token with every call over plaintext loopback.
type Bearer string

// GetRequestMetadata implements credentials.PerRPCCredentials.
func (b Bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(b)}, nil
}

// RequireTransportSecurity implements credentials.PerRPCCredentials.
func (Bearer) RequireTransportSecurity() bool { return false }

// Credentials is the first-run credentials file canopyd writes.
type Credentials struct {
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
	TokenURL     string `json:"token_url"`
}

// AdminToken reads the credentials canopyd wrote on first start under
// dataDir and gets a token with them from tokenURL, as any script would.
func AdminToken(t testing.TB, dataDir, tokenURL string) string {
	t.Helper()
	tok, err := adminToken(dataDir, tokenURL)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func adminToken(dataDir, tokenURL string) (string, error) {
	raw, err := os.ReadFile(filepath.Join(dataDir, "config", "canopy", "credentials.json"))
	if err != nil {
		return "", fmt.Errorf("first-run credentials: %w", err)
	}
	var c Credentials
	if err := json.Unmarshal(raw, &c); err != nil {
		return "", err
	}
	req, _ := http.NewRequest("POST", tokenURL, strings.NewReader("grant_type=client_credentials"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(c.ClientID, c.ClientSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		return "", fmt.Errorf("token from %s: %d %v", c.TokenURL, resp.StatusCode, err)
	}
	return tok.AccessToken, nil
}

// syncBuf collects a process's output. The buffer is a field, not
// embedded, so bytes.Buffer's ReadFrom (which io.Copy would use) cannot
// bypass the lock, and String is locked too: a test reads the logs while
// canopyd writes them.
type syncBuf struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuf) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuf) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Start runs canopyd with args (data and config under dataDir) and waits
// until it serves; the test's cleanup kills it if it still runs.
func Start(t testing.TB, dataDir string, args ...string) *Daemon {
	t.Helper()
	return StartEnv(t, dataDir, nil, args...)
}

// StartEnv is Start with extra environment variables ("NAME=value"), such
// as CANOPY_FAILPOINTS for crash tests.
func StartEnv(t testing.TB, dataDir string, env []string, args ...string) *Daemon {
	t.Helper()
	d, err := TryStartEnv(t, dataDir, env, args...)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TokenEnv, as an env entry of StartEnv/TryStartEnv ("CANOPYDTEST_TOKEN=…"),
// hands the Daemon a token instead of fetching one with the first-run
// credentials: tokens outlive restarts on the same data dir (the signing
// keys are in the store), and a crash test that restarts canopyd a hundred
// times saves a client-secret check (bcrypt) per restart.
const TokenEnv = "CANOPYDTEST_TOKEN"

func reusedToken(env []string) (string, error) {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, TokenEnv+"="); ok && v != "" {
			return v, nil
		}
	}
	return "", nil
}

// ErrExited is what TryStartEnv returns (wrapped) when canopyd exited
// before it served: a crash test's failpoint may fire while it resumes.
var ErrExited = errors.New("canopyd exited at start")

// TryStartEnv is StartEnv that reports a canopyd that did not come up as
// an error (ErrExited when it exited), with the Daemon for its logs.
func TryStartEnv(t testing.TB, dataDir string, env []string, args ...string) (*Daemon, error) {
	t.Helper()
	// FreePort's port is free when it answers, not when canopyd binds it:
	// another process (tests run side by side) may take it in between.
	// That start is retried on new ports; any other exit is the caller's.
	for attempt := 1; ; attempt++ {
		d, err := tryStartEnv(t, dataDir, env, args...)
		if attempt < 5 && errors.Is(err, ErrExited) && strings.Contains(d.Logs(), "address already in use") {
			continue
		}
		return d, err
	}
}

func tryStartEnv(t testing.TB, dataDir string, env []string, args ...string) (*Daemon, error) {
	t.Helper()
	d := &Daemon{t: t, GRPCAddr: FreePort(t), RESTAddr: FreePort(t), DataDir: dataDir, done: make(chan error, 1)}
	cmd := exec.Command(Binary(t), append([]string{"--grpc-addr", d.GRPCAddr, "--rest-addr", d.RESTAddr, "--grace", "10s"}, args...)...)
	cmd.Env = append(os.Environ(), "XDG_DATA_HOME="+dataDir, "XDG_CONFIG_HOME="+filepath.Join(dataDir, "config"), "CANOPY_CONFIG=", "CANOPY_STORE=", "CANOPY_CREDENTIALS=",
		"CANOPY_FAILPOINTS=", "CANOPY_FAILPOINTS_LOG=")
	cmd.Env = append(cmd.Env, env...)
	logs := &syncBuf{}
	cmd.Stdout, cmd.Stderr = logs, logs
	d.logs = logs
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	d.Cmd = cmd
	go func() { d.done <- cmd.Wait() }()
	t.Cleanup(func() { d.Kill() })
	exited := func(wait time.Duration) error {
		if err, gone := d.WaitExit(wait); gone {
			return fmt.Errorf("%w: %v\n%s", ErrExited, err, logs.String())
		}
		return nil
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get("http://" + d.RESTAddr + "/healthz")
		if err == nil {
			resp.Body.Close()
			break
		}
		if err := exited(0); err != nil {
			return d, err
		}
		if time.Now().After(deadline) {
			return d, fmt.Errorf("canopyd did not serve within 20s:\n%s", logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	tok, err := reusedToken(env)
	if tok == "" {
		tok, err = adminToken(dataDir, "http://"+d.RESTAddr+"/oauth2/token")
	}
	if err != nil {
		if xerr := exited(2 * time.Second); xerr != nil {
			return d, xerr
		}
		return d, err
	}
	d.Token = tok
	conn, err := grpc.NewClient(d.GRPCAddr, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithPerRPCCredentials(Bearer(d.Token)))
	if err != nil {
		return d, err
	}
	d.Conn, d.Compute, d.Clouds, d.Auth = conn, canopyv1.NewComputeServiceClient(conn), canopyv1.NewCloudServiceClient(conn), canopyv1.NewAuthServiceClient(conn)
	return d, nil
}

// Logs is what canopyd printed so far.
func (d *Daemon) Logs() string { return d.logs.String() }

// WaitLog reports whether canopyd prints sub within timeout. A cloud can
// show the effect of a call (Nova's task_state "deleting") before canopyd
// has its answer and logs it, so tests wait for a line rather than read
// the logs once.
func (d *Daemon) WaitLog(sub string, timeout time.Duration) bool {
	for deadline := time.Now().Add(timeout); ; time.Sleep(100 * time.Millisecond) {
		if strings.Contains(d.Logs(), sub) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

// WaitExit waits up to timeout for the process to exit by itself and
// returns its exit error; exited is false on timeout.
func (d *Daemon) WaitExit(timeout time.Duration) (err error, exited bool) {
	select {
	case err := <-d.done:
		d.done <- err // for Kill and later callers
		return err, true
	case <-time.After(timeout):
		return nil, false
	}
}

// Stop sends SIGTERM and waits for a clean exit.
func (d *Daemon) Stop() {
	d.t.Helper()
	d.Conn.Close()
	_ = d.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-d.done:
		if err != nil {
			d.t.Errorf("canopyd exited with %v after SIGTERM", err)
		}
	case <-time.After(20 * time.Second):
		d.t.Errorf("canopyd did not exit within 20s of SIGTERM")
		d.Kill()
	}
	d.done <- nil // let Kill see it exited
}

// Kill ends the process with SIGKILL if it still runs.
func (d *Daemon) Kill() {
	select {
	case err := <-d.done:
		d.done <- err
	default:
		_ = d.Cmd.Process.Kill()
		<-d.done
		d.done <- nil
	}
}

// REST calls the REST gateway as the admin and decodes the JSON answer.
func (d *Daemon) REST(method, path string, body any) (int, map[string]any) {
	d.t.Helper()
	var rd io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, "http://"+d.RESTAddr+path, rd)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+d.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		d.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		d.t.Fatalf("%s %s: not JSON (%d): %s", method, path, resp.StatusCode, raw)
	}
	return resp.StatusCode, out
}

// WriteConfig writes a canopyd YAML config into a temp dir.
func WriteConfig(t testing.TB, yaml string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "canopy.yaml")
	if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
