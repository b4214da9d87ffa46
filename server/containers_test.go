package server

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/canopy-cloud/canopy/auth"
	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/providers/sim"
)

// The container service over the simulator's container host; the same
// code runs over Docker and containerd in cmd/canopyd's end-to-end test.

const containerCloud = `
clouds:
  - name: box
    kind: sim
`

type ctrEnv struct {
	*env
	c   canopyv1.ContainerServiceClient
	ops canopyv1.OperationServiceClient
}

func newCtrEnv(t *testing.T) *ctrEnv {
	e := newEnv(t, containerCloud)
	cc, err := grpc.NewClient(e.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()), boundUnary(), boundStream(), grpc.WithPerRPCCredentials(bearer(e.token)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return &ctrEnv{env: e, c: canopyv1.NewContainerServiceClient(cc), ops: canopyv1.NewOperationServiceClient(cc)}
}

// run creates a container with run and waits for its operation; it returns
// the container, or the operation's error as a status.
func (e *ctrEnv) run(ctx context.Context, req *canopyv1.CreateContainerRequest) (*canopyv1.Container, error) {
	if req.Image == "" {
		req.Image = sim.DefaultContainerImage
	}
	req.Run = true
	op, err := e.c.CreateContainer(ctx, req)
	if err != nil {
		return nil, err
	}
	return e.finish(ctx, op)
}

func (e *ctrEnv) finish(ctx context.Context, op *canopyv1.Operation) (*canopyv1.Container, error) {
	for !op.Done {
		var err error
		if op, err = e.ops.WaitOperation(ctx, &canopyv1.WaitOperationRequest{Id: op.Id, Timeout: durationpb.New(5 * time.Second)}); err != nil {
			return nil, err
		}
	}
	if oe := op.GetError(); oe != nil {
		return nil, status.Error(codes.Code(oe.Code), oe.Message)
	}
	var c canopyv1.Container
	if err := op.GetResponse().UnmarshalTo(&c); err != nil {
		return nil, err
	}
	return &c, nil
}

func TestContainerLifecycle(t *testing.T) {
	e := newCtrEnv(t)
	ctx := ctxT(t)
	web, err := e.run(ctx, &canopyv1.CreateContainerRequest{Name: "web", Command: []string{"httpd", "-f", "-p", "8080", "-h", "/www"},
		Healthcheck: &canopyv1.Healthcheck{Cmd: []string{"wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/"}, Interval: durationpb.New(100 * time.Millisecond)},
		Labels:      map[string]string{"tier": "front"}})
	if err != nil {
		t.Fatal(err)
	}
	if web.State != canopyv1.Container_STATE_RUNNING || web.Health != canopyv1.Container_HEALTH_HEALTHY || !web.Ready || web.Status != canopyv1.Status_STATUS_ACTIVE {
		t.Fatalf("web = %s/%s ready %v status %s, want RUNNING/HEALTHY ready ACTIVE", web.State, web.Health, web.Ready, web.Status)
	}
	// By name, listed, filtered.
	got, err := e.c.GetContainer(ctx, &canopyv1.GetContainerRequest{Id: "web"})
	if err != nil || got.Id != web.Id {
		t.Fatalf("GetContainer(web) = %v, %v", got.GetId(), err)
	}
	list, err := e.c.ListContainers(ctx, &canopyv1.ListContainersRequest{Labels: map[string]string{"tier": "front"}})
	if err != nil || len(list.Containers) != 1 || list.Containers[0].Id != web.Id {
		t.Fatalf("ListContainers(tier=front) = %v, %v", list.GetContainers(), err)
	}
	r, err := e.c.RunInContainer(ctx, &canopyv1.RunInContainerRequest{Start: &canopyv1.ExecStart{Container: web.Id, Command: []string{"sh", "-c", "echo hi; echo no >&2; exit 4"}}})
	if err != nil || r.ExitCode != 4 || string(r.Stdout) != "hi\n" || string(r.Stderr) != "no\n" {
		t.Fatalf("RunInContainer = %v, %v", r, err)
	}
	// The state table: pause is refused when stopped, with the state named.
	st, err := e.c.StopContainer(ctx, &canopyv1.StopContainerRequest{Id: web.Id, Timeout: durationpb.New(0)})
	if err != nil || st.State != canopyv1.Container_STATE_STOPPED || st.ExitCode != 137 {
		t.Fatalf("StopContainer = %v/%v, %v; want STOPPED 137", st.GetState(), st.GetExitCode(), err)
	}
	_, err = e.c.PauseContainer(ctx, &canopyv1.PauseContainerRequest{Id: web.Id})
	wantErr(t, err, codes.FailedPrecondition, "", "pause", "STOPPED")
	_, err = e.c.RunInContainer(ctx, &canopyv1.RunInContainerRequest{Start: &canopyv1.ExecStart{Container: web.Id, Command: []string{"true"}}})
	wantErr(t, err, codes.FailedPrecondition, "", "exec", "STOPPED")
	if _, err := e.c.RenameContainer(ctx, &canopyv1.RenameContainerRequest{Id: web.Id, Name: "web2"}); err != nil {
		t.Fatal(err)
	}
	del, err := e.c.DeleteContainer(ctx, &canopyv1.DeleteContainerRequest{Id: "web2"})
	if err != nil || del.Status != canopyv1.Status_STATUS_DELETED {
		t.Fatalf("DeleteContainer = %v, %v", del, err)
	}
	_, err = e.c.GetContainer(ctx, &canopyv1.GetContainerRequest{Id: web.Id})
	wantErr(t, err, codes.NotFound, "")
	if _, err := e.c.DeleteContainer(ctx, &canopyv1.DeleteContainerRequest{Id: web.Id, AllowMissing: true}); err != nil {
		t.Errorf("DeleteContainer(allow_missing) of a deleted container: %v", err)
	}
}

func TestContainerBadInput(t *testing.T) {
	e := newCtrEnv(t)
	ctx := ctxT(t)
	img := sim.DefaultContainerImage
	for _, tc := range []struct {
		name  string
		req   *canopyv1.CreateContainerRequest
		field string
	}{
		{"no name", &canopyv1.CreateContainerRequest{Image: img}, "name"},
		{"bad name", &canopyv1.CreateContainerRequest{Name: "-x", Image: img}, "name"},
		{"no image", &canopyv1.CreateContainerRequest{Name: "aa"}, "image"},
		{"memory below minimum", &canopyv1.CreateContainerRequest{Name: "aa", Image: img, MemoryMib: 2}, "memory_mib"},
		{"negative cpu", &canopyv1.CreateContainerRequest{Name: "aa", Image: img, Cpu: -1}, "cpu"},
		{"relative mount", &canopyv1.CreateContainerRequest{Name: "aa", Image: img, Mounts: []*canopyv1.ContainerMount{{Type: "bind", Source: "/tmp", Target: "data"}}}, "mounts[0].target"},
		{"bad port", &canopyv1.CreateContainerRequest{Name: "aa", Image: img, Ports: []*canopyv1.PortBinding{{ContainerPort: 70000}}}, "ports[0]"},
		{"healthcheck without cmd", &canopyv1.CreateContainerRequest{Name: "aa", Image: img, Healthcheck: &canopyv1.Healthcheck{}}, "healthcheck.cmd"},
		{"depends_on without run", &canopyv1.CreateContainerRequest{Name: "aa", Image: img, DependsOn: []*canopyv1.Dependency{{Container: "bb"}}}, "depends_on"},
		{"unknown dependency", &canopyv1.CreateContainerRequest{Name: "aa", Image: img, Run: true, DependsOn: []*canopyv1.Dependency{{Container: "nope"}}}, "depends_on[0].container"},
		{"self dependency", &canopyv1.CreateContainerRequest{Name: "aa", Image: img, Run: true, DependsOn: []*canopyv1.Dependency{{Container: "aa"}}}, "depends_on[0].container"},
		{"canopy label", &canopyv1.CreateContainerRequest{Name: "aa", Image: img, Labels: map[string]string{"canopy.token": "x"}}, "labels"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.c.CreateContainer(ctx, tc.req)
			wantErr(t, err, codes.InvalidArgument, tc.field)
		})
	}
	// An image the host lacks fails the operation naming it, and leaves
	// nothing behind.
	_, err := e.run(ctx, &canopyv1.CreateContainerRequest{Name: "ghost", Image: "no/such:image"})
	wantErr(t, err, codes.InvalidArgument, "", "no/such:image")
	if list, _ := e.c.ListContainers(ctx, &canopyv1.ListContainersRequest{}); len(list.GetContainers()) != 0 {
		t.Errorf("a failed create left %v", list.GetContainers())
	}
	if _, err := e.run(ctx, &canopyv1.CreateContainerRequest{Name: "one", Command: []string{"sleep", "600"}}); err != nil {
		t.Fatal(err)
	}
	_, err = e.c.CreateContainer(ctx, &canopyv1.CreateContainerRequest{Name: "one", Image: img})
	wantErr(t, err, codes.AlreadyExists, "", "one")
	_, err = e.c.KillContainer(ctx, &canopyv1.KillContainerRequest{Id: "one", Signal: "SIGBOGUS"})
	wantErr(t, err, codes.InvalidArgument, "signal", "SIGBOGUS")
	_, err = e.c.DeleteContainer(ctx, &canopyv1.DeleteContainerRequest{Id: "one"})
	wantErr(t, err, codes.FailedPrecondition, "", "running", "force")
}

func TestContainerDependsOn(t *testing.T) {
	e := newCtrEnv(t)
	ctx := ctxT(t)
	// a becomes healthy only once /tmp/up exists, which an exec creates.
	opA, err := e.c.CreateContainer(ctx, &canopyv1.CreateContainerRequest{Name: "aa", Image: sim.DefaultContainerImage, Run: true, Command: []string{"sleep", "600"},
		Healthcheck: &canopyv1.Healthcheck{Cmd: []string{"cat", "/tmp/up"}, Interval: durationpb.New(100 * time.Millisecond), Retries: 100}})
	if err != nil {
		t.Fatal(err)
	}
	opB, err := e.c.CreateContainer(ctx, &canopyv1.CreateContainerRequest{Name: "bb", Image: sim.DefaultContainerImage, Run: true, Command: []string{"sleep", "600"},
		DependsOn: []*canopyv1.Dependency{{Container: "aa", Condition: canopyv1.Dependency_CONDITION_HEALTHY}}})
	if err != nil {
		t.Fatal(err)
	}
	// A cycle through a pending create is refused, naming it.
	_, err = e.c.CreateContainer(ctx, &canopyv1.CreateContainerRequest{Name: "cc", Image: sim.DefaultContainerImage, Run: true,
		DependsOn: []*canopyv1.Dependency{{Container: "bb"}, {Container: "cc"}}})
	wantErr(t, err, codes.InvalidArgument, "", "cycle")
	// b waits: it is CREATED and names its operation while a is not healthy.
	for {
		got, err := e.c.GetContainer(ctx, &canopyv1.GetContainerRequest{Id: opB.Metadata.TargetId})
		if err == nil && got.State == canopyv1.Container_STATE_CREATED {
			if got.Operation != opB.Id || len(got.DependsOn) != 1 {
				t.Fatalf("waiting b: operation %q depends_on %v, want %s and one dependency", got.Operation, got.DependsOn, opB.Id)
			}
			break
		}
		if ctx.Err() != nil {
			op, _ := e.ops.GetOperation(context.Background(), &canopyv1.GetOperationRequest{Id: opB.Id})
			t.Fatalf("b never reached CREATED: %v %v; operation %v", got, err, op)
		}
	}
	// a's own create may still be starting it: exec once it runs. (A
	// container still being created refuses WaitContainer, naming its
	// operation: read its state until its create has started it.)
	for {
		got, err := e.c.GetContainer(ctx, &canopyv1.GetContainerRequest{Id: opA.Metadata.TargetId})
		if err == nil && got.State == canopyv1.Container_STATE_RUNNING {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("a never reached RUNNING: %v %v", got, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := e.c.RunInContainer(ctx, &canopyv1.RunInContainerRequest{Start: &canopyv1.ExecStart{Container: "aa", Command: []string{"touch", "/tmp/up"}}}); err != nil {
		t.Fatal(err)
	}
	a, err := e.finish(ctx, opA)
	if err != nil {
		t.Fatal(err)
	}
	bb, err := e.finish(ctx, opB)
	if err != nil {
		t.Fatal(err)
	}
	if bb.State != canopyv1.Container_STATE_RUNNING || bb.StartTime.AsTime().Before(a.StartTime.AsTime()) || bb.Operation != "" {
		t.Errorf("b = %s started %v (a %v) operation %q", bb.State, bb.StartTime.AsTime(), a.StartTime.AsTime(), bb.Operation)
	}
	// A dependency that fails its condition fails the dependent, naming it.
	if _, err := e.run(ctx, &canopyv1.CreateContainerRequest{Name: "job", Command: []string{"sh", "-c", "exit 2"}}); err != nil {
		t.Fatal(err)
	}
	_, err = e.run(ctx, &canopyv1.CreateContainerRequest{Name: "after", Command: []string{"true"},
		DependsOn: []*canopyv1.Dependency{{Container: "job", Condition: canopyv1.Dependency_CONDITION_COMPLETED_SUCCESSFULLY}}})
	wantErr(t, err, codes.FailedPrecondition, "", "job", "code 2")
}

func TestContainerLogsAndWatch(t *testing.T) {
	e := newCtrEnv(t)
	ctx := ctxT(t)
	w, err := e.c.WatchContainers(ctx, &canopyv1.WatchContainersRequest{Name: "talker"})
	if err != nil {
		t.Fatal(err)
	}
	if m, err := w.Recv(); err != nil || m.Type != canopyv1.WatchContainersResponse_EVENT_TYPE_SYNCED {
		t.Fatalf("first watch message = %v, %v; want SYNCED", m, err)
	}
	talker, err := e.run(ctx, &canopyv1.CreateContainerRequest{Name: "talker", Command: []string{"sh", "-c", "echo out; echo err >&2; exit 0"}})
	if err != nil {
		t.Fatal(err)
	}
	// The watch sees it appear and end, pushed by the sim's events.
	for seenStopped := false; !seenStopped; {
		m, err := w.Recv()
		if err != nil {
			t.Fatal(err)
		}
		seenStopped = m.GetContainer().GetState() == canopyv1.Container_STATE_STOPPED && m.GetContainer().GetId() == talker.Id
	}
	s, err := e.c.ContainerLogs(ctx, &canopyv1.ContainerLogsRequest{Id: "talker", Timestamps: true})
	if err != nil {
		t.Fatal(err)
	}
	var out, errs string
	for {
		m, err := s.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if m.Time == nil {
			t.Error("entry without time")
		}
		if m.Stream == canopyv1.ContainerLogsResponse_STREAM_STDERR {
			errs += string(m.Data)
		} else {
			out += string(m.Data)
		}
	}
	if out != "out\n" || errs != "err\n" {
		t.Errorf("logs: stdout %q stderr %q", out, errs)
	}
	c, err := e.c.WaitContainer(ctx, &canopyv1.WaitContainerRequest{Id: "talker"})
	if err != nil || c.ExitCode != 0 || c.State != canopyv1.Container_STATE_STOPPED {
		t.Errorf("WaitContainer(exited) = %v, %v", c, err)
	}
}

func TestContainerProjectIsolation(t *testing.T) {
	e := newCtrEnv(t)
	ctx := ctxT(t)
	mine, err := e.run(ctx, &canopyv1.CreateContainerRequest{Name: "mine", Command: []string{"sleep", "600"}})
	if err != nil {
		t.Fatal(err)
	}
	other := mintToken(t, e.srv, "other", auth.ScopeAdmin)
	cc, err := grpc.NewClient(e.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()), boundUnary(), boundStream(), grpc.WithPerRPCCredentials(bearer(other)))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	oc := canopyv1.NewContainerServiceClient(cc)
	for _, ref := range []string{mine.Id, "mine"} {
		_, err := oc.GetContainer(ctx, &canopyv1.GetContainerRequest{Id: ref})
		wantErr(t, err, codes.NotFound, "")
		_, err = oc.KillContainer(ctx, &canopyv1.KillContainerRequest{Id: ref})
		wantErr(t, err, codes.NotFound, "")
	}
	if l, err := oc.ListContainers(ctx, &canopyv1.ListContainersRequest{}); err != nil || len(l.Containers) != 0 {
		t.Errorf("other project lists %v, %v", l.GetContainers(), err)
	}
	_, err = oc.CreateContainer(ctx, &canopyv1.CreateContainerRequest{Name: "theirs", Image: sim.DefaultContainerImage, Run: true, DependsOn: []*canopyv1.Dependency{{Container: mine.Id}}})
	wantErr(t, err, codes.InvalidArgument, "depends_on[0].container")
}

func TestContainerAutoRemoveAndProbe(t *testing.T) {
	e := newCtrEnv(t)
	ctx := ctxT(t)
	// A container that exits at once and is removed: the operation still
	// succeeds, answering with the removed container.
	gone, err := e.run(ctx, &canopyv1.CreateContainerRequest{Name: "once", Command: []string{"echo", "hi"}, AutoRemove: true})
	if err != nil {
		t.Fatalf("run --rm: %v", err)
	}
	if gone.Name != "once" {
		t.Errorf("run --rm answered %v", gone)
	}
	// A TCP ready probe: ready once httpd listens (from inside, with nc).
	web, err := e.run(ctx, &canopyv1.CreateContainerRequest{Name: "probed", Command: []string{"httpd", "-f", "-p", "8080", "-h", "/www"},
		ReadyProbe: &canopyv1.ReadyProbe{Check: &canopyv1.ReadyProbe_TcpPort{TcpPort: 8080}, Interval: durationpb.New(100 * time.Millisecond)}})
	if err != nil {
		t.Fatal(err)
	}
	if !web.Ready || web.ReadyProbe.GetTcpPort() != 8080 {
		t.Errorf("probed: ready %v probe %v", web.Ready, web.ReadyProbe)
	}
	// A probe that never passes fails the create by its timeout, saying why.
	_, err = e.run(ctx, &canopyv1.CreateContainerRequest{Name: "deaf", Command: []string{"sleep", "600"},
		ReadyProbe: &canopyv1.ReadyProbe{Check: &canopyv1.ReadyProbe_TcpPort{TcpPort: 9999}, Interval: durationpb.New(100 * time.Millisecond), Timeout: durationpb.New(time.Second)}})
	wantErr(t, err, codes.DeadlineExceeded, "", "ready probe", "Connection refused")
}
