package main

// End-to-end tests: they build canopyd, run it as a process on loopback
// ports (internal/canopydtest), and drive it over gRPC and REST like a user
// would.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/internal/canopydtest"
)

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
	cfg := canopydtest.WriteConfig(t, e2eConfig)
	d := canopydtest.Start(t, data, "--config", cfg)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	// Create over REST, waiting for ACTIVE.
	code, created := d.REST("POST", "/v1/servers", map[string]any{"name": "web1", "flavor": "m1.small", "image": "debian-12",
		"location": map[string]any{"zone": "local-1b"}, "wait": true, "labels": map[string]string{"tier": "web"}})
	if code != 200 || created["status"] != "STATUS_ACTIVE" {
		t.Fatalf("REST create = %d %v\n%s", code, created, d.Logs())
	}
	id := created["id"].(string)

	// The same id over gRPC.
	sv, err := d.Compute.GetServer(ctx, &canopyv1.GetServerRequest{Id: id})
	if err != nil || sv.Id != id || sv.Status != canopyv1.Status_STATUS_ACTIVE || sv.Location.GetZone() != "local-1b" || sv.Labels["tier"] != "web" {
		t.Fatalf("gRPC get = %v, %v", sv, err)
	}
	native := sv.NativeId

	// A list across both clouds is partial, naming the broken one.
	code, list := d.REST("GET", "/v1/servers", nil)
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
	d.Stop()
	d = canopydtest.Start(t, data, "--config", cfg)
	sv, err = d.Compute.GetServer(ctx, &canopyv1.GetServerRequest{Id: id})
	if err != nil || sv.Id != id || sv.NativeId != native {
		t.Fatalf("after restart get = %v, %v; want id %s native %s", sv, err, id, native)
	}
	code, got := d.REST("GET", "/v1/servers/"+id, nil)
	if code != 200 || got["native_id"] != native {
		t.Fatalf("after restart REST get = %d %v", code, got)
	}
	code, del := d.REST("DELETE", "/v1/servers/"+id+"?wait=true", nil)
	if code != 200 || del["status"] != "STATUS_DELETED" {
		t.Fatalf("REST delete = %d %v", code, del)
	}
	_, err = d.Compute.GetServer(ctx, &canopyv1.GetServerRequest{Id: id})
	if status.Code(err) != codes.NotFound {
		t.Fatalf("get after delete: %v", err)
	}
	d.Stop()
}

func TestRESTErrors(t *testing.T) {
	d := canopydtest.Start(t, t.TempDir(), "--config", canopydtest.WriteConfig(t, e2eConfig))
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
		code, body := d.REST(tc.method, tc.path, tc.body)
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
	code, body := d.REST("GET", "/v1/flavors", nil)
	if flavors, _ := body["flavors"].([]any); code != 200 || len(flavors) != 6 {
		t.Errorf("GET /v1/flavors = %d, %d flavors", code, len(flavors))
	}
	code, spec := d.REST("GET", "/openapi.json", nil)
	if paths, _ := spec["paths"].(map[string]any); code != 200 || paths["/v1/servers"] == nil {
		t.Errorf("GET /openapi.json = %d, paths %v", code, paths)
	}
}

func TestHealthReflectionAndGracefulShutdown(t *testing.T) {
	d := canopydtest.Start(t, t.TempDir(), "--config", canopydtest.WriteConfig(t, `
clouds:
  - name: local
    kind: sim
    options: {boot_delay: 3s}
wait: {min_interval: 50ms, max_interval: 200ms}
`))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	h, err := healthpb.NewHealthClient(d.Conn).Check(ctx, &healthpb.HealthCheckRequest{Service: "canopy.v1.ComputeService"})
	if err != nil || h.Status != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health = %v, %v", h, err)
	}
	stream, err := reflectionpb.NewServerReflectionClient(d.Conn).ServerReflectionInfo(ctx)
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

	// A create that waits ~3s is in flight when SIGTERM arrives: it
	// finishes, then canopyd exits cleanly. SIGTERM goes once a create is
	// seen at the cloud still building and its call has not returned; a
	// create that a stalled machine let finish unseen is no failure, the
	// next one is tried (three at most, each bounded).
	var result chan error
	for attempt := 1; result == nil; attempt++ {
		if attempt > 3 {
			t.Fatal("three creates finished before SIGTERM could find one in flight")
		}
		name := fmt.Sprintf("inflight-%d", attempt)
		res := make(chan error, 1)
		go func() {
			sv, err := d.Compute.CreateServer(ctx, &canopyv1.CreateServerRequest{Name: name, Flavor: "m1.tiny", Image: "cirros-0.6.2", Wait: true})
			if err == nil && sv.Status != canopyv1.Status_STATUS_ACTIVE {
				err = fmt.Errorf("status %v", sv.Status)
			}
			res <- err
		}()
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			list, err := d.Compute.ListServers(ctx, &canopyv1.ListServersRequest{Name: name})
			var seen *canopyv1.Server
			if len(list.GetServers()) == 1 {
				seen = list.GetServers()[0]
			}
			if seen != nil && seen.Status != canopyv1.Status_STATUS_ACTIVE {
				select {
				case err := <-res: // it returned meanwhile: try another
					if err != nil {
						t.Fatalf("create %s: %v", name, err)
					}
				default:
					result = res
				}
				break
			}
			if seen != nil { // finished unseen: try another
				if err := <-res; err != nil {
					t.Fatalf("create %s: %v", name, err)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("create %s never showed at the cloud within 10s (last list: %v, %v)", name, list, err)
			}
		}
	}
	_ = d.Cmd.Process.Signal(syscall.SIGTERM)
	if err := <-result; err != nil {
		t.Errorf("in-flight create during shutdown: %v\n%s", err, d.Logs())
	}
	if err, exited := d.WaitExit(15 * time.Second); !exited {
		t.Fatal("canopyd did not exit")
	} else if err != nil {
		t.Errorf("exit: %v", err)
	}
}

func TestSecondDaemonOnOneStoreFailsClearly(t *testing.T) {
	data := t.TempDir()
	canopydtest.Start(t, data)
	cmd := exec.Command(canopydtest.Binary(t), "--grpc-addr", canopydtest.FreePort(t), "--rest-addr", canopydtest.FreePort(t))
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
	cmd := exec.Command(canopydtest.Binary(t), "--config", canopydtest.WriteConfig(t, "clouds: [{name: a, kind: sim, zones: [z]}, {name: b, kind: sim, zones: [z]}]"),
		"--grpc-addr", canopydtest.FreePort(t), "--rest-addr", canopydtest.FreePort(t))
	cmd.Env = append(os.Environ(), "XDG_DATA_HOME="+t.TempDir(), "XDG_CONFIG_HOME="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), `zone "z"`) {
		t.Fatalf("bad config: err %v, output %s", err, out)
	}
}

// --version prints the build and exits without opening a store or a port.
func TestVersionFlag(t *testing.T) {
	cmd := exec.Command(canopydtest.Binary(t), "--version")
	cmd.Env = append(os.Environ(), "XDG_DATA_HOME=/nonexistent", "CANOPY_CONFIG=/nonexistent.yaml")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "canopyd ") || !strings.Contains(string(out), " go1.") {
		t.Fatalf("canopyd --version: %v\n%s", err, out)
	}
}
