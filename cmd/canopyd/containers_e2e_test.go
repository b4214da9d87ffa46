//go:build containers

package main

// End to end over real container runtimes: canopyd as a process with a
// Docker cloud and a containerd cloud (test/containers/test.sh starts both
// engines and sets CANOPY_DOCKER_HOST and CANOPY_CONTAINERD_ADDRESS).
// What canopy says is checked against the runtimes' own CLIs.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/internal/canopydtest"
)

const e2eImage = "canopy-test/busybox:latest"

type runtimeEnv struct {
	dockerHost, containerdAddr string
}

func containerEnv(t *testing.T) runtimeEnv {
	e := runtimeEnv{dockerHost: os.Getenv("CANOPY_DOCKER_HOST"), containerdAddr: os.Getenv("CANOPY_CONTAINERD_ADDRESS")}
	if e.dockerHost == "" || e.containerdAddr == "" {
		t.Skip("CANOPY_DOCKER_HOST and CANOPY_CONTAINERD_ADDRESS not set: run test/containers/test.sh, which starts dockerd and containerd")
	}
	return e
}

func (e runtimeEnv) config(t testing.TB) string {
	return canopydtest.WriteConfig(t, fmt.Sprintf(`
clouds:
  - name: dock
    kind: docker
    options:
      hosts: [%q]
      region: dock
      zone: dock-1
  - name: ctrd
    kind: containerd
    options:
      address: %q
      region: ctrd
      zone: ctrd-1
`, e.dockerHost, e.containerdAddr))
}

type ctrClient struct {
	t   *testing.T
	c   canopyv1.ContainerServiceClient
	ops canopyv1.OperationServiceClient
}

func newCtrClient(t *testing.T, d *canopydtest.Daemon) *ctrClient {
	return &ctrClient{t: t, c: canopyv1.NewContainerServiceClient(d.Conn), ops: canopyv1.NewOperationServiceClient(d.Conn)}
}

// create starts a create operation and returns it without waiting.
func (c *ctrClient) create(ctx context.Context, req *canopyv1.CreateContainerRequest) *canopyv1.Operation {
	c.t.Helper()
	op, err := c.c.CreateContainer(ctx, req)
	if err != nil {
		c.t.Fatalf("CreateContainer %s: %v", req.Name, err)
	}
	return op
}

// done waits for an operation and returns its container.
func (c *ctrClient) done(ctx context.Context, op *canopyv1.Operation) *canopyv1.Container {
	c.t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !op.Done {
		if time.Now().After(deadline) {
			c.t.Fatalf("operation %s not done after 2 minutes: %v", op.Id, op.Metadata)
		}
		var err error
		op, err = c.ops.WaitOperation(ctx, &canopyv1.WaitOperationRequest{Id: op.Id, Timeout: durationpb.New(20 * time.Second)})
		if err != nil {
			c.t.Fatalf("WaitOperation %s: %v", op.GetId(), err)
		}
	}
	if e := op.GetError(); e != nil {
		c.t.Fatalf("operation %s failed: %s", op.Id, e.Message)
	}
	var ct canopyv1.Container
	if err := op.GetResponse().UnmarshalTo(&ct); err != nil {
		c.t.Fatalf("operation %s response: %v", op.Id, err)
	}
	return &ct
}

func loc(cloud string) *canopyv1.Location { return &canopyv1.Location{Cloud: cloud} }

func TestContainersEndToEnd(t *testing.T) {
	env := containerEnv(t)
	data := t.TempDir()
	d := canopydtest.Start(t, data, "--config", env.config(t))
	defer d.Stop()
	for _, cloud := range []string{"dock", "ctrd"} {
		t.Run(cloud, func(t *testing.T) {
			c := newCtrClient(t, d)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			prefix := fmt.Sprintf("e2e%d", time.Now().UnixNano()%1e6)
			t.Cleanup(func() { cleanupPrefix(t, c, cloud, prefix) })

			// A web server whose healthcheck passes: the create operation
			// ends once it is HEALTHY.
			web := c.done(ctx, c.create(ctx, &canopyv1.CreateContainerRequest{
				Name: prefix + "-web", Location: loc(cloud), Image: e2eImage, Run: true,
				Command: []string{"httpd", "-f", "-p", "8080", "-h", "/www"},
				Healthcheck: &canopyv1.Healthcheck{Cmd: []string{"wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/"},
					Interval: durationpb.New(500 * time.Millisecond), Timeout: durationpb.New(2 * time.Second), Retries: 3},
			}))
			if web.State != canopyv1.Container_STATE_RUNNING || web.Health != canopyv1.Container_HEALTH_HEALTHY || !web.Ready {
				t.Fatalf("web: state %s health %s ready %v, want RUNNING HEALTHY ready", web.State, web.Health, web.Ready)
			}

			// exec: a file's contents and the exit code.
			r, err := c.c.RunInContainer(ctx, &canopyv1.RunInContainerRequest{Start: &canopyv1.ExecStart{Container: web.Id,
				Command: []string{"sh", "-c", "cat /www/index.html; echo oops >&2; exit 3"}}})
			if err != nil {
				t.Fatalf("RunInContainer: %v", err)
			}
			if r.ExitCode != 3 || !strings.Contains(string(r.Stdout), "canopy busybox") || strings.TrimSpace(string(r.Stderr)) != "oops" {
				t.Errorf("RunInContainer = code %d stdout %q stderr %q, want 3, the index page, oops", r.ExitCode, r.Stdout, r.Stderr)
			}
			checkInteractiveExec(ctx, t, c, web.Id)

			// logs -f: lines as they come, stdout and stderr apart, and the
			// stream ends when the container exits.
			talker := c.done(ctx, c.create(ctx, &canopyv1.CreateContainerRequest{Name: prefix + "-talker", Location: loc(cloud), Image: e2eImage, Run: true,
				Command: []string{"sh", "-c", "for i in 1 2 3; do echo line$i; sleep 0.3; done; echo done >&2"}}))
			checkFollowedLogs(ctx, t, c, talker.Id)

			// A three-container chain: b waits for a to be healthy, c for b
			// to have started.
			a, b, cc := chain(ctx, t, c, cloud, prefix, nil)
			checkChainOrder(t, a, b, cc)

			// stop / start / delete
			st, err := c.c.StopContainer(ctx, &canopyv1.StopContainerRequest{Id: web.Id, Timeout: durationpb.New(2 * time.Second)})
			if err != nil || st.State != canopyv1.Container_STATE_STOPPED {
				t.Fatalf("StopContainer = %v, %v; want STOPPED", st.GetState(), err)
			}
			if _, err := c.c.PauseContainer(ctx, &canopyv1.PauseContainerRequest{Id: web.Id}); status.Code(err) != codes.FailedPrecondition {
				t.Errorf("pause of a stopped container: %v, want FAILED_PRECONDITION", err)
			}
			if st, err = c.c.StartContainer(ctx, &canopyv1.StartContainerRequest{Id: web.Id}); err != nil || st.State != canopyv1.Container_STATE_RUNNING {
				t.Fatalf("StartContainer = %v, %v; want RUNNING", st.GetState(), err)
			}
			if _, err := c.c.DeleteContainer(ctx, &canopyv1.DeleteContainerRequest{Id: web.Id}); status.Code(err) != codes.FailedPrecondition {
				t.Errorf("delete of a running container without force: %v, want FAILED_PRECONDITION", err)
			}
			if _, err := c.c.DeleteContainer(ctx, &canopyv1.DeleteContainerRequest{Id: web.Id, Force: true}); err != nil {
				t.Fatalf("DeleteContainer(force): %v", err)
			}
			if _, err := c.c.GetContainer(ctx, &canopyv1.GetContainerRequest{Id: web.Id}); status.Code(err) != codes.NotFound {
				t.Errorf("GetContainer after delete: %v, want NOT_FOUND", err)
			}

			// Bad input: a clear error, nothing left at the runtime.
			op, err := c.c.CreateContainer(ctx, &canopyv1.CreateContainerRequest{Name: prefix + "-noimage", Location: loc(cloud), Image: "no/such:image", Run: true})
			if err == nil {
				op, err = c.ops.WaitOperation(ctx, &canopyv1.WaitOperationRequest{Id: op.Id, Timeout: durationpb.New(30 * time.Second)})
			}
			if err != nil || op.GetError() == nil || !strings.Contains(op.GetError().GetMessage(), "no/such:image") {
				t.Errorf("create with an unknown image: %v / %v, want a failed operation naming the image", err, op.GetError())
			}
			if _, err := c.c.CreateContainer(ctx, &canopyv1.CreateContainerRequest{Name: prefix + "-web2", Location: loc(cloud), Image: e2eImage, MemoryMib: 2}); status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "memory_mib") {
				t.Errorf("memory below the minimum: %v, want INVALID_ARGUMENT naming memory_mib", err)
			}
			if _, err := c.c.CreateContainer(ctx, &canopyv1.CreateContainerRequest{Name: a.Name, Location: loc(cloud), Image: e2eImage}); status.Code(err) != codes.AlreadyExists {
				t.Errorf("duplicate name: %v, want ALREADY_EXISTS", err)
			}

			// What canopy lists is what the runtime lists.
			compareWithRuntime(ctx, t, c, env, cloud)
		})
	}
}

// chain creates a → b (a healthy) → c (b started); between creating them
// and their completion, interrupt (when set) may kill canopyd and return a
// new client.
func chain(ctx context.Context, t *testing.T, c *ctrClient, cloud, prefix string, interrupt func() *ctrClient) (a, b, cc *canopyv1.Container) {
	t.Helper()
	opA := c.create(ctx, &canopyv1.CreateContainerRequest{Name: prefix + "-a", Location: loc(cloud), Image: e2eImage, Run: true,
		// Healthy only after about two seconds: the others must wait.
		Command: []string{"sh", "-c", "sleep 2; touch /tmp/up; exec httpd -f -p 8081 -h /www"},
		Healthcheck: &canopyv1.Healthcheck{Cmd: []string{"test", "-e", "/tmp/up"},
			Interval: durationpb.New(300 * time.Millisecond), Timeout: durationpb.New(2 * time.Second), Retries: 20}})
	opB := c.create(ctx, &canopyv1.CreateContainerRequest{Name: prefix + "-b", Location: loc(cloud), Image: e2eImage, Run: true,
		Command:   []string{"sleep", "600"},
		DependsOn: []*canopyv1.Dependency{{Container: prefix + "-a", Condition: canopyv1.Dependency_CONDITION_HEALTHY}}})
	opC := c.create(ctx, &canopyv1.CreateContainerRequest{Name: prefix + "-c", Location: loc(cloud), Image: e2eImage, Run: true,
		Command:   []string{"sleep", "600"},
		DependsOn: []*canopyv1.Dependency{{Container: prefix + "-b", Condition: canopyv1.Dependency_CONDITION_STARTED}}})
	if interrupt != nil {
		c = interrupt()
		for _, op := range []**canopyv1.Operation{&opA, &opB, &opC} {
			(*op).Done = false // ask again: the new canopyd resumed them
		}
	}
	return c.done(ctx, opA), c.done(ctx, opB), c.done(ctx, opC)
}

func checkChainOrder(t *testing.T, a, b, c *canopyv1.Container) {
	t.Helper()
	for _, x := range []*canopyv1.Container{a, b, c} {
		if x.State != canopyv1.Container_STATE_RUNNING || x.StartTime == nil {
			t.Fatalf("%s: state %s, started %v; want RUNNING", x.Name, x.State, x.StartTime)
		}
	}
	// a becomes healthy about two seconds after it starts; b may start only
	// then, and c only after b.
	if got := b.StartTime.AsTime().Sub(a.StartTime.AsTime()); got < 1500*time.Millisecond {
		t.Errorf("b started %s after a; it had to wait for a to be healthy (~2s)", got)
	}
	if c.StartTime.AsTime().Before(b.StartTime.AsTime()) {
		t.Errorf("c started at %s, before b (%s)", c.StartTime.AsTime(), b.StartTime.AsTime())
	}
	if len(b.DependsOn) != 1 || b.DependsOn[0].Container != a.Id {
		t.Errorf("b.depends_on = %v, want [%s]", b.DependsOn, a.Id)
	}
}

func checkInteractiveExec(ctx context.Context, t *testing.T, c *ctrClient, id string) {
	t.Helper()
	s, err := c.c.ExecContainer(ctx)
	if err != nil {
		t.Fatalf("ExecContainer: %v", err)
	}
	send := func(m *canopyv1.ExecContainerRequest) {
		if err := s.Send(m); err != nil {
			t.Fatalf("exec send: %v", err)
		}
	}
	send(&canopyv1.ExecContainerRequest{Msg: &canopyv1.ExecContainerRequest_Start{Start: &canopyv1.ExecStart{Container: id, Command: []string{"sh", "-c", "cat; exit 5"}, Stdin: true}}})
	send(&canopyv1.ExecContainerRequest{Msg: &canopyv1.ExecContainerRequest_Stdin{Stdin: []byte("hello through stdin\n")}})
	send(&canopyv1.ExecContainerRequest{Msg: &canopyv1.ExecContainerRequest_CloseStdin{CloseStdin: true}})
	var out strings.Builder
	code := -1
	for {
		m, err := s.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("exec recv: %v", err)
		}
		switch x := m.Msg.(type) {
		case *canopyv1.ExecContainerResponse_Stdout:
			out.Write(x.Stdout)
		case *canopyv1.ExecContainerResponse_ExitCode:
			code = int(x.ExitCode)
		}
	}
	if out.String() != "hello through stdin\n" || code != 5 {
		t.Errorf("interactive exec: stdout %q code %d, want the stdin echoed and 5", out.String(), code)
	}
}

func checkFollowedLogs(ctx context.Context, t *testing.T, c *ctrClient, id string) {
	t.Helper()
	s, err := c.c.ContainerLogs(ctx, &canopyv1.ContainerLogsRequest{Id: id, Follow: true, Timestamps: true})
	if err != nil {
		t.Fatalf("ContainerLogs: %v", err)
	}
	var stdout, stderr strings.Builder
	for {
		m, err := s.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("logs recv: %v (so far %q)", err, stdout.String())
		}
		if m.Time == nil {
			t.Errorf("log entry without a time: %q", m.Data)
		}
		if m.Stream == canopyv1.ContainerLogsResponse_STREAM_STDERR {
			stderr.Write(m.Data)
		} else {
			stdout.Write(m.Data)
		}
	}
	if stdout.String() != "line1\nline2\nline3\n" || stderr.String() != "done\n" {
		t.Errorf("followed logs: stdout %q stderr %q", stdout.String(), stderr.String())
	}
}

// compareWithRuntime checks canopy's list of a cloud against the runtime's
// own CLI: docker ps -a, or ctr containers ls.
func compareWithRuntime(ctx context.Context, t *testing.T, c *ctrClient, env runtimeEnv, cloud string) {
	t.Helper()
	resp, err := c.c.ListContainers(ctx, &canopyv1.ListContainersRequest{Location: loc(cloud), PageSize: 1000})
	if err != nil {
		t.Fatalf("ListContainers: %v", err)
	}
	var mine []string
	for _, x := range resp.Containers {
		if cloud == "dock" {
			mine = append(mine, x.Name)
		} else {
			mine = append(mine, x.NativeId)
		}
	}
	var cmd *exec.Cmd
	if cloud == "dock" {
		cmd = exec.CommandContext(ctx, "docker", "-H", env.dockerHost, "ps", "-a", "--format", "{{.Names}}")
	} else {
		cmd = exec.CommandContext(ctx, "ctr", "--address", strings.TrimPrefix(env.containerdAddr, "unix://"), "-n", "canopy", "containers", "ls", "-q")
	}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v: %v", cmd.Args, err)
	}
	theirs := strings.Fields(string(out))
	sort.Strings(mine)
	sort.Strings(theirs)
	if strings.Join(mine, " ") != strings.Join(theirs, " ") {
		t.Errorf("canopy lists %v in %s; the runtime's CLI lists %v", mine, cloud, theirs)
		for _, x := range resp.Containers {
			t.Logf("canopy: %s %s %s %s", x.NativeId, x.Name, x.State, x.Id)
		}
	}
}

func cleanupPrefix(t *testing.T, c *ctrClient, cloud, prefix string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	resp, err := c.c.ListContainers(ctx, &canopyv1.ListContainersRequest{Location: loc(cloud), PageSize: 1000})
	if err != nil {
		t.Logf("cleanup: list: %v", err)
		return
	}
	for _, x := range resp.Containers {
		if strings.HasPrefix(x.Name, prefix) {
			if _, err := c.c.DeleteContainer(ctx, &canopyv1.DeleteContainerRequest{Id: x.Id, Force: true, AllowMissing: true}); err != nil {
				t.Logf("cleanup: delete %s: %v", x.Name, err)
			}
		}
	}
}

// TestContainerChainSurvivesKill kills canopyd (SIGKILL) while a
// depends_on chain waits, restarts it on the same store, and checks the
// chain completes in order with one container each.
func TestContainerChainSurvivesKill(t *testing.T) {
	env := containerEnv(t)
	data, cfg := t.TempDir(), env.config(t)
	for _, cloud := range []string{"dock", "ctrd"} {
		t.Run(cloud, func(t *testing.T) {
			d := canopydtest.Start(t, data, "--config", cfg)
			c := newCtrClient(t, d)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			prefix := fmt.Sprintf("kill%d", time.Now().UnixNano()%1e6)
			a, b, cc := chain(ctx, t, c, cloud, prefix, func() *ctrClient {
				d.Kill()
				d = canopydtest.Start(t, data, "--config", cfg)
				return newCtrClient(t, d)
			})
			c = newCtrClient(t, d)
			t.Cleanup(d.Stop) // cleanups run last first: the containers go before canopyd
			t.Cleanup(func() { cleanupPrefix(t, c, cloud, prefix) })
			checkChainOrder(t, a, b, cc)
			resp, err := c.c.ListContainers(ctx, &canopyv1.ListContainersRequest{Location: loc(cloud), PageSize: 1000})
			if err != nil {
				t.Fatal(err)
			}
			count := map[string]int{}
			for _, x := range resp.Containers {
				if strings.HasPrefix(x.Name, prefix) {
					count[x.Name]++
				}
			}
			for _, n := range []string{a.Name, b.Name, cc.Name} {
				if count[n] != 1 {
					t.Errorf("%d containers named %s after the kill, want 1 (%v)", count[n], n, count)
				}
			}
		})
	}
}

// TestContainerServersView: a container cloud answers ComputeService too.
// A script written for servers creates, stops, starts and deletes servers
// on Docker and containerd, and one ListServers shows them next to a
// simulated cloud's virtual machine, marked kind=container.
func TestContainerServersView(t *testing.T) {
	env := containerEnv(t)
	cfg := canopydtest.WriteConfig(t, fmt.Sprintf(`
clouds:
  - name: vm
    kind: sim
    options: {boot_delay: 100ms}
  - name: dock
    kind: docker
    options: {hosts: [%q], region: dock, zone: dock-1}
    flavors: [{name: ct.small, vcpus: 1, ram_mib: 256}]
  - name: ctrd
    kind: containerd
    options: {address: %q, region: ctrd, zone: ctrd-1}
    flavors: [{name: ct.small, vcpus: 1, ram_mib: 256}]
`, env.dockerHost, env.containerdAddr))
	d := canopydtest.Start(t, t.TempDir(), "--config", cfg)
	defer d.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	prefix := fmt.Sprintf("sv%d", time.Now().UnixNano()%1e6)
	// The image has no command of its own: user data is the server's
	// program, run by sh; it leaves on SIGTERM as a service should.
	script := []byte("trap 'exit 0' TERM; httpd -f -p 8080 -h /www & wait")
	mine := map[string]string{} // canopy id → cloud
	for _, cloud := range []string{"vm", "dock", "ctrd"} {
		req := &canopyv1.CreateServerRequest{Name: prefix + "-" + cloud, Location: loc(cloud), Flavor: "ct.small", Image: e2eImage, UserData: script, Wait: true}
		if cloud == "vm" {
			req.Flavor, req.Image, req.UserData = "m1.tiny", "cirros-0.6.2", nil
		}
		sv, err := d.Compute.CreateServer(ctx, req)
		if err != nil {
			t.Fatalf("CreateServer on %s: %v", cloud, err)
		}
		if sv.Status != canopyv1.Status_STATUS_ACTIVE {
			t.Fatalf("server on %s: %s, want ACTIVE", cloud, sv.Status)
		}
		mine[sv.Id] = cloud
		defer d.Compute.DeleteServer(context.Background(), &canopyv1.DeleteServerRequest{Id: sv.Id, AllowMissing: true})
	}
	list, err := d.Compute.ListServers(ctx, &canopyv1.ListServersRequest{PageSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, sv := range list.Servers {
		cloud, ok := mine[sv.Id]
		if !ok {
			continue
		}
		found++
		kind := sv.Properties["kind"]
		if (cloud == "vm") != (kind == "") || (cloud != "vm" && kind != "container") {
			t.Errorf("server %s on %s: properties.kind %q", sv.Name, cloud, kind)
		}
		if want := canopyv1.ServerKind_SERVER_KIND_CONTAINER; cloud == "vm" && sv.Kind != canopyv1.ServerKind_SERVER_KIND_VM || cloud != "vm" && sv.Kind != want {
			t.Errorf("server %s on %s: kind %v", sv.Name, cloud, sv.Kind)
		}
		if cloud != "vm" && (sv.FlavorId == "" || sv.ImageId == "") {
			t.Errorf("container server %s: flavor %q image %q, want both mapped", sv.Name, sv.FlavorId, sv.ImageId)
		}
	}
	if found != 3 {
		t.Fatalf("one ListServers shows %d of the 3 servers (%d listed, cloud errors %v)", found, len(list.Servers), list.CloudErrors)
	}
	// The kind filter: only the two containers, from both runtimes.
	cts, err := d.Compute.ListServers(ctx, &canopyv1.ListServersRequest{PageSize: 1000, Kind: canopyv1.ServerKind_SERVER_KIND_CONTAINER})
	if err != nil {
		t.Fatal(err)
	}
	clouds := map[string]bool{}
	for _, sv := range cts.Servers {
		if sv.Kind != canopyv1.ServerKind_SERVER_KIND_CONTAINER {
			t.Errorf("kind=CONTAINER lists %s (%s), kind %v", sv.Name, sv.Location.GetCloud(), sv.Kind)
		}
		if c, ok := mine[sv.Id]; ok {
			clouds[c] = true
		}
	}
	if !clouds["dock"] || !clouds["ctrd"] || clouds["vm"] {
		t.Errorf("kind=CONTAINER lists my servers on %v, want dock and ctrd only", clouds)
	}
	// A server script's verbs work on a container cloud, and a watch sees
	// them.
	var ctrIDs []string
	for id, cloud := range mine {
		if cloud != "vm" {
			ctrIDs = append(ctrIDs, id)
		}
	}
	wctx, wcancel := context.WithCancel(ctx)
	defer wcancel()
	watch, err := d.Compute.WatchServers(wctx, &canopyv1.WatchServersRequest{Ids: ctrIDs})
	if err != nil {
		t.Fatal(err)
	}
	// The watch has sent what exists before the stops begin.
	for {
		ev, err := watch.Recv()
		if err != nil {
			t.Fatalf("WatchServers before SYNCED: %v", err)
		}
		if ev.Type == canopyv1.WatchServersResponse_EVENT_TYPE_SYNCED {
			break
		}
	}
	stopsSeen := make(chan map[string]bool, 1)
	go func() {
		seen := map[string]bool{}
		defer func() { stopsSeen <- seen }()
		for len(seen) < len(ctrIDs) {
			ev, err := watch.Recv()
			if err != nil {
				return
			}
			if ev.Type == canopyv1.WatchServersResponse_EVENT_TYPE_MODIFIED && ev.Server.GetStatus() == canopyv1.Status_STATUS_STOPPED &&
				ev.Server.GetKind() == canopyv1.ServerKind_SERVER_KIND_CONTAINER {
				seen[ev.Server.Id] = true
			}
		}
	}()
	for id, cloud := range mine {
		if cloud == "vm" {
			continue
		}
		if sv, err := d.Compute.StopServer(ctx, &canopyv1.StopServerRequest{Id: id, Wait: true}); err != nil || sv.Status != canopyv1.Status_STATUS_STOPPED {
			t.Fatalf("StopServer on %s: %v, %v", cloud, sv.GetStatus(), err)
		}
	}
	// Every stop is seen by the watch (or the test's deadline ends it).
	if seen := <-stopsSeen; len(seen) != len(ctrIDs) {
		t.Errorf("WatchServers saw %d of %d container servers stop: %v", len(seen), len(ctrIDs), seen)
	}
	for id, cloud := range mine {
		if cloud == "vm" {
			continue
		}
		if sv, err := d.Compute.StartServer(ctx, &canopyv1.StartServerRequest{Id: id, Wait: true}); err != nil || sv.Status != canopyv1.Status_STATUS_ACTIVE {
			t.Fatalf("StartServer on %s: %v, %v", cloud, sv.GetStatus(), err)
		}
	}
	wcancel()
	for id, cloud := range mine {
		if cloud == "vm" {
			continue
		}
		if sv, err := d.Compute.RebootServer(ctx, &canopyv1.RebootServerRequest{Id: id, Wait: true}); err != nil || sv.Status != canopyv1.Status_STATUS_ACTIVE {
			t.Fatalf("RebootServer on %s: %v, %v", cloud, sv.GetStatus(), err)
		}
		if _, err := d.Compute.DeleteServer(ctx, &canopyv1.DeleteServerRequest{Id: id, Wait: true}); err != nil {
			t.Fatalf("DeleteServer on %s: %v", cloud, err)
		}
		if _, err := d.Compute.GetServer(ctx, &canopyv1.GetServerRequest{Id: id}); status.Code(err) != codes.NotFound {
			t.Errorf("GetServer after delete on %s: %v, want NOT_FOUND", cloud, err)
		}
	}
	// A script that names a zone, not a cloud: the zone routes to the
	// container cloud and any host of it takes the server.
	for zone, cloud := range map[string]string{"dock-1": "dock", "ctrd-1": "ctrd"} {
		sv, err := d.Compute.CreateServer(ctx, &canopyv1.CreateServerRequest{Name: prefix + "-z-" + cloud, Location: &canopyv1.Location{Zone: zone}, Flavor: "ct.small", Image: e2eImage, UserData: script, Wait: true})
		if err != nil {
			t.Errorf("CreateServer in zone %s: %v", zone, err)
			continue
		}
		if sv.Location.GetCloud() != cloud || sv.Status != canopyv1.Status_STATUS_ACTIVE {
			t.Errorf("server in zone %s: cloud %s status %v, want %s ACTIVE", zone, sv.Location.GetCloud(), sv.Status, cloud)
		}
		if _, err := d.Compute.DeleteServer(ctx, &canopyv1.DeleteServerRequest{Id: sv.Id, Wait: true}); err != nil {
			t.Errorf("DeleteServer in zone %s: %v", zone, err)
		}
	}
	// What does not apply is refused, naming it.
	_, err = d.Compute.CreateServer(ctx, &canopyv1.CreateServerRequest{Name: prefix + "-kp", Location: loc("dock"), Flavor: "ct.small", Image: e2eImage, Keypair: "mykey"})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "keypair") {
		t.Errorf("a container server with a keypair: %v, want INVALID_ARGUMENT naming keypair", err)
	}
}

// TestContainerImagePullThrough: an image uploaded once through canopy (a
// `docker save` tarball, into the Docker cloud) runs on containerd too: the
// containerd host lacks it, so the create pulls it through canopyd.
func TestContainerImagePullThrough(t *testing.T) {
	env := containerEnv(t)
	d := canopydtest.Start(t, t.TempDir(), "--config", env.config(t))
	// A cleanup, not a defer: the containers' cleanups (registered later,
	// so run first) need canopyd; with a defer they ran after it stopped
	// and left the containers behind.
	t.Cleanup(d.Stop)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	ref := fmt.Sprintf("canopy-shared:v%d", time.Now().UnixNano()%1e6)
	saved, err := exec.CommandContext(ctx, "docker", "-H", env.dockerHost, "save", e2eImage).Output()
	if err != nil {
		t.Fatalf("docker save: %v", err)
	}
	t.Cleanup(func() {
		_ = exec.Command("docker", "-H", env.dockerHost, "rmi", ref).Run()
		_ = exec.Command("ctr", "--address", env.containerdAddr, "-n", "canopy", "images", "rm", "docker.io/library/"+ref).Run()
	})
	size := int64(len(saved))
	up, err := canopyv1.NewImageTransferServiceClient(d.Conn).UploadImage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := up.Send(&canopyv1.UploadImageRequest{Data: &canopyv1.UploadImageRequest_Header{Header: &canopyv1.ImageUploadHeader{
		Name: ref, Location: loc("dock"), DiskFormat: "raw", ContainerFormat: "docker", SizeBytes: &size}}}); err != nil {
		t.Fatal(err)
	}
	for off := 0; off < len(saved); off += 1 << 20 {
		end := min(off+1<<20, len(saved))
		if err := up.Send(&canopyv1.UploadImageRequest{Data: &canopyv1.UploadImageRequest_Chunk{Chunk: saved[off:end]}}); err != nil {
			t.Fatal(err)
		}
	}
	im, err := up.CloseAndRecv()
	if err != nil {
		t.Fatalf("UploadImage: %v", err)
	}
	if im.Name != ref || im.ContainerFormat != "docker" {
		t.Fatalf("uploaded image = %s (%s), want %s (docker)", im.Name, im.ContainerFormat, ref)
	}
	if out, err := exec.CommandContext(ctx, "ctr", "--address", env.containerdAddr, "-n", "canopy", "images", "ls", "-q").Output(); err != nil || strings.Contains(string(out), ref) {
		t.Fatalf("containerd already has %s before the create (%v): %s", ref, err, out)
	}
	c := newCtrClient(t, d)
	for _, cloud := range []string{"dock", "ctrd"} {
		op := c.create(ctx, &canopyv1.CreateContainerRequest{Name: "pull-" + strings.ReplaceAll(ref, ":", "-") + "-" + cloud, Location: loc(cloud), Image: ref, Run: true,
			Command: []string{"cat", "/www/index.html"}})
		ct := c.done(ctx, op)
		t.Cleanup(func() {
			_, _ = c.c.DeleteContainer(context.Background(), &canopyv1.DeleteContainerRequest{Id: ct.Id, Force: true, AllowMissing: true})
		})
		got, err := c.c.WaitContainer(ctx, &canopyv1.WaitContainerRequest{Id: ct.Id, Condition: canopyv1.WaitContainerRequest_CONDITION_EXITED})
		if err != nil || got.ExitCode != 0 {
			t.Fatalf("%s: container of the uploaded image: %v, exit %d", cloud, err, got.GetExitCode())
		}
		s, err := c.c.ContainerLogs(ctx, &canopyv1.ContainerLogsRequest{Id: ct.Id})
		if err != nil {
			t.Fatal(err)
		}
		var out strings.Builder
		for {
			m, err := s.Recv()
			if err != nil {
				break
			}
			out.Write(m.Data)
		}
		if !strings.Contains(out.String(), "canopy busybox") {
			t.Errorf("%s: the uploaded image's container printed %q", cloud, out.String())
		}
	}
}
