package main

// End-to-end tests: they build canopyd, run it as a process on loopback
// ports, and drive it over gRPC and REST like a user would.

import (
	"bytes"
	"context"
	"encoding/json"
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
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// canopydBinary builds canopyd once per test run.
func canopydBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "canopyd-e2e")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "canopyd")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// daemon is one canopyd process.
type daemon struct {
	t        *testing.T
	cmd      *exec.Cmd
	grpcAddr string
	restAddr string
	logs     *bytes.Buffer
	done     chan error
	conn     *grpc.ClientConn
	compute  canopyv1.ComputeServiceClient
	clouds   canopyv1.CloudServiceClient
	token    string
}

// bearer sends a token with every call over plaintext loopback.
type bearer string

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(b)}, nil
}
func (bearer) RequireTransportSecurity() bool { return false }

// adminToken reads the credentials canopyd wrote on first start and gets a
// token with them from the daemon's /oauth2/token, as any script would.
func adminToken(t *testing.T, dataDir, tokenURL string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dataDir, "config", "canopy", "credentials.json"))
	if err != nil {
		t.Fatalf("first-run credentials: %v", err)
	}
	var c Credentials
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", tokenURL, strings.NewReader("grant_type=client_credentials"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(c.ClientID, c.ClientSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("token from %s: %d %v", c.TokenURL, resp.StatusCode, err)
	}
	return tok.AccessToken
}

type syncBuf struct {
	mu sync.Mutex
	bytes.Buffer
}

func (b *syncBuf) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.Buffer.Write(p)
}

// start runs canopyd with args and waits until it serves.
func start(t *testing.T, dataDir string, args ...string) *daemon {
	t.Helper()
	d := &daemon{t: t, grpcAddr: freePort(t), restAddr: freePort(t), done: make(chan error, 1)}
	cmd := exec.Command(canopydBinary(t), append([]string{"--grpc-addr", d.grpcAddr, "--rest-addr", d.restAddr, "--grace", "10s"}, args...)...)
	cmd.Env = append(os.Environ(), "XDG_DATA_HOME="+dataDir, "XDG_CONFIG_HOME="+filepath.Join(dataDir, "config"), "CANOPY_CONFIG=", "CANOPY_STORE=", "CANOPY_CREDENTIALS=")
	logs := &syncBuf{}
	cmd.Stdout, cmd.Stderr = logs, logs
	d.logs = &logs.Buffer
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d.cmd = cmd
	go func() { d.done <- cmd.Wait() }()
	t.Cleanup(func() { d.kill() })
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get("http://" + d.restAddr + "/healthz")
		if err == nil {
			resp.Body.Close()
			break
		}
		select {
		case err := <-d.done:
			t.Fatalf("canopyd exited at start: %v\n%s", err, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("canopyd did not serve within 20s:\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	d.token = adminToken(t, dataDir, "http://"+d.restAddr+"/oauth2/token")
	conn, err := grpc.NewClient(d.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithPerRPCCredentials(bearer(d.token)))
	if err != nil {
		t.Fatal(err)
	}
	d.conn, d.compute, d.clouds = conn, canopyv1.NewComputeServiceClient(conn), canopyv1.NewCloudServiceClient(conn)
	return d
}

// stop sends SIGTERM and waits for a clean exit.
func (d *daemon) stop() {
	d.t.Helper()
	d.conn.Close()
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-d.done:
		if err != nil {
			d.t.Errorf("canopyd exited with %v after SIGTERM", err)
		}
	case <-time.After(20 * time.Second):
		d.t.Errorf("canopyd did not exit within 20s of SIGTERM")
		d.kill()
	}
	d.done <- nil // let kill() see it exited
}

func (d *daemon) kill() {
	select {
	case err := <-d.done:
		d.done <- err
	default:
		_ = d.cmd.Process.Kill()
		<-d.done
		d.done <- nil
	}
}

// rest calls the REST gateway and decodes the JSON answer.
func (d *daemon) rest(method, path string, body any) (int, map[string]any) {
	d.t.Helper()
	var rd io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, "http://"+d.restAddr+path, rd)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+d.token)
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

func writeConfig(t *testing.T, yaml string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "canopy.yaml")
	if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const e2eConfig = `
clouds:
  - name: local
    kind: sim
    zones: [local-1a, local-1b]
    options: {boot_delay: 300ms, action_delay: 100ms, delete_delay: 100ms, persist: true}
  - name: broken
    kind: sim
    zones: [broken-1a]
    options: {down: true}
wait:
  min_interval: 50ms
  max_interval: 500ms
`

func TestRESTAndGRPCShareOneIDSpaceAcrossRestarts(t *testing.T) {
	data := t.TempDir()
	cfg := writeConfig(t, e2eConfig)
	d := start(t, data, "--config", cfg)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	// Create over REST, waiting for ACTIVE.
	code, created := d.rest("POST", "/v1/servers", map[string]any{"name": "web1", "flavor": "m1.small", "image": "debian-12",
		"location": map[string]any{"zone": "local-1b"}, "wait": true, "labels": map[string]string{"tier": "web"}})
	if code != 200 || created["status"] != "STATUS_ACTIVE" {
		t.Fatalf("REST create = %d %v\n%s", code, created, d.logs)
	}
	id := created["id"].(string)

	// The same id over gRPC.
	sv, err := d.compute.GetServer(ctx, &canopyv1.GetServerRequest{Id: id})
	if err != nil || sv.Id != id || sv.Status != canopyv1.Status_STATUS_ACTIVE || sv.Location.GetZone() != "local-1b" || sv.Labels["tier"] != "web" {
		t.Fatalf("gRPC get = %v, %v", sv, err)
	}
	native := sv.NativeId

	// A list across both clouds is partial, naming the broken one.
	code, list := d.rest("GET", "/v1/servers", nil)
	if code != 200 {
		t.Fatalf("REST list = %d %v", code, list)
	}
	servers, _ := list["servers"].([]any)
	errs, _ := list["cloud_errors"].([]any)
	if len(servers) != 1 || servers[0].(map[string]any)["id"] != id {
		t.Errorf("list servers = %v", servers)
	}
	if len(errs) != 1 || errs[0].(map[string]any)["cloud"] != "broken" {
		t.Errorf("cloud_errors = %v", errs)
	}

	// Restart: the id and the mapping survive.
	d.stop()
	d = start(t, data, "--config", cfg)
	sv, err = d.compute.GetServer(ctx, &canopyv1.GetServerRequest{Id: id})
	if err != nil || sv.Id != id || sv.NativeId != native {
		t.Fatalf("after restart get = %v, %v; want id %s native %s", sv, err, id, native)
	}
	code, got := d.rest("GET", "/v1/servers/"+id, nil)
	if code != 200 || got["native_id"] != native {
		t.Fatalf("after restart REST get = %d %v", code, got)
	}
	code, del := d.rest("DELETE", "/v1/servers/"+id+"?wait=true", nil)
	if code != 200 || del["status"] != "STATUS_DELETED" {
		t.Fatalf("REST delete = %d %v", code, del)
	}
	_, err = d.compute.GetServer(ctx, &canopyv1.GetServerRequest{Id: id})
	if status.Code(err) != codes.NotFound {
		t.Fatalf("get after delete: %v", err)
	}
	d.stop()
}

func TestRESTErrors(t *testing.T) {
	d := start(t, t.TempDir(), "--config", writeConfig(t, e2eConfig))
	for _, tc := range []struct {
		method, path string
		body         any
		http         int
		field        string
	}{
		{"POST", "/v1/servers", map[string]any{"flavor": "m1.small", "image": "debian-12", "location": map[string]any{"cloud": "local"}}, 400, "name"},
		{"POST", "/v1/servers", map[string]any{"name": "x", "flavor": "nope", "image": "debian-12", "location": map[string]any{"cloud": "local"}}, 400, "flavor"},
		{"POST", "/v1/servers", map[string]any{"name": "x", "flavor": "m1.small", "image": "debian-12", "location": map[string]any{"zone": "mars-1a"}}, 400, "location.zone"},
		{"POST", "/v1/servers", map[string]any{"name": "x", "flavor": "m1.small", "image": "debian-12"}, 400, "location"},
		{"GET", "/v1/servers?page_size=5000", nil, 400, "page_size"},
		{"GET", "/v1/servers/123e4567-e89b-12d3-a456-42661417zzzz", nil, 400, "id"},
		{"GET", "/v1/servers/00000000-0000-4000-8000-000000000000", nil, 404, ""},
		{"GET", "/v1/clouds/nope", nil, 404, ""},
		{"POST", "/v1/servers", map[string]any{"name": "x", "flavor": "m1.small", "image": "debian-12", "location": map[string]any{"cloud": "broken"}}, 503, ""},
	} {
		code, body := d.rest(tc.method, tc.path, tc.body)
		if code != tc.http {
			t.Errorf("%s %s = %d %v, want %d", tc.method, tc.path, code, body, tc.http)
			continue
		}
		if tc.field == "" {
			continue
		}
		raw, _ := json.Marshal(body["details"])
		if !strings.Contains(string(raw), `"field":"`+tc.field+`"`) {
			t.Errorf("%s %s: details %s lack a violation on %q", tc.method, tc.path, raw, tc.field)
		}
	}
	code, body := d.rest("GET", "/v1/flavors", nil)
	if flavors, _ := body["flavors"].([]any); code != 200 || len(flavors) != 6 {
		t.Errorf("GET /v1/flavors = %d, %d flavors", code, len(flavors))
	}
	code, spec := d.rest("GET", "/openapi.json", nil)
	if paths, _ := spec["paths"].(map[string]any); code != 200 || paths["/v1/servers"] == nil {
		t.Errorf("GET /openapi.json = %d, paths %v", code, paths)
	}
}

func TestHealthReflectionAndGracefulShutdown(t *testing.T) {
	d := start(t, t.TempDir(), "--config", writeConfig(t, `
clouds:
  - name: local
    kind: sim
    options: {boot_delay: 1500ms}
wait: {min_interval: 50ms, max_interval: 200ms}
`))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	h, err := healthpb.NewHealthClient(d.conn).Check(ctx, &healthpb.HealthCheckRequest{Service: "canopy.v1.ComputeService"})
	if err != nil || h.Status != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health = %v, %v", h, err)
	}
	stream, err := reflectionpb.NewServerReflectionClient(d.conn).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil {
		t.Fatal(err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		names = append(names, s.Name)
	}
	if got := strings.Join(names, ","); !strings.Contains(got, "canopy.v1.ComputeService") || !strings.Contains(got, "canopy.v1.CloudService") {
		t.Errorf("reflection lists %s", got)
	}
	_ = stream.CloseSend()

	// A create that waits ~1.5s is in flight when SIGTERM arrives: it
	// finishes, then canopyd exits cleanly.
	result := make(chan error, 1)
	go func() {
		sv, err := d.compute.CreateServer(ctx, &canopyv1.CreateServerRequest{Name: "inflight", Flavor: "m1.tiny", Image: "cirros-0.6.2", Wait: true})
		if err == nil && sv.Status != canopyv1.Status_STATUS_ACTIVE {
			err = fmt.Errorf("status %v", sv.Status)
		}
		result <- err
	}()
	time.Sleep(300 * time.Millisecond)
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	if err := <-result; err != nil {
		t.Errorf("in-flight create during shutdown: %v\n%s", err, d.logs)
	}
	select {
	case err := <-d.done:
		if err != nil {
			t.Errorf("exit: %v", err)
		}
		d.done <- err
	case <-time.After(15 * time.Second):
		t.Fatal("canopyd did not exit")
	}
}

func TestSecondDaemonOnOneStoreFailsClearly(t *testing.T) {
	data := t.TempDir()
	start(t, data)
	cmd := exec.Command(canopydBinary(t), "--grpc-addr", freePort(t), "--rest-addr", freePort(t))
	cmd.Env = append(os.Environ(), "XDG_DATA_HOME="+data, "XDG_CONFIG_HOME="+t.TempDir(), "CANOPY_CONFIG=", "CANOPY_STORE=")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatal("a second canopyd on the same store started")
	}
	if !strings.Contains(string(out), filepath.Join(data, "canopy", "canopy.db")) {
		t.Errorf("error does not name the store path: %s", out)
	}
}

func TestBadConfigFailsClearly(t *testing.T) {
	cmd := exec.Command(canopydBinary(t), "--config", writeConfig(t, "clouds: [{name: a, kind: sim, zones: [z]}, {name: b, kind: sim, zones: [z]}]"),
		"--grpc-addr", freePort(t), "--rest-addr", freePort(t))
	cmd.Env = append(os.Environ(), "XDG_DATA_HOME="+t.TempDir(), "XDG_CONFIG_HOME="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), `zone "z"`) {
		t.Fatalf("bad config: err %v, output %s", err, out)
	}
}
