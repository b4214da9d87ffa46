//go:build containers

package main

// The scheduler end to end: canopyd over a Docker cloud of two real
// dockerds (test/containers/test.sh starts them: test/docker/up.sh 2) with
// tenant_isolation on. Three projects, each with its own OAuth client, as
// three teams would: two get a host each, the third is refused naming
// both hosts and the filter that rejected each.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/canopy-cloud/canopy/client"
	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/internal/canopydtest"
	"github.com/canopy-cloud/canopy/sched"
	"github.com/canopy-cloud/canopy/store/bolt"
)

// projectConn is a connection acting for a new OAuth client of project.
func projectConn(t *testing.T, d *canopydtest.Daemon, project string) *grpc.ClientConn {
	t.Helper()
	ctx := context.Background()
	cl, err := d.Auth.CreateClient(ctx, &canopyv1.CreateClientRequest{Name: project, Project: project, Scopes: []string{"canopy.read", "canopy.write"}})
	if err != nil {
		t.Fatalf("CreateClient %s: %v", project, err)
	}
	tok, err := client.Credentials{ClientID: cl.Client.Id, ClientSecret: cl.ClientSecret, TokenURL: "http://" + d.RESTAddr + "/oauth2/token"}.Token(ctx)
	if err != nil {
		t.Fatalf("token of %s: %v", project, err)
	}
	conn, err := grpc.NewClient(d.GRPCAddr, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithPerRPCCredentials(canopydtest.Bearer(tok.AccessToken)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// projectsOnHost lists the canopy projects with containers on a dockerd,
// asked of the daemon itself.
func projectsOnHost(t *testing.T, dockerHost string) string {
	t.Helper()
	cmd := exec.Command("docker", "ps", "-a", "--filter", "label=canopy.project", "--format", `{{.Names}}={{.Label "canopy.project"}}`)
	cmd.Env = append(os.Environ(), "DOCKER_HOST="+dockerHost, "DOCKER_CONFIG="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("docker ps on %s: %v: %s", dockerHost, err, out)
	}
	return strings.TrimSpace(string(out))
}

// opResult waits for an operation and returns it, done.
func opResult(ctx context.Context, t *testing.T, ops canopyv1.OperationServiceClient, op *canopyv1.Operation) *canopyv1.Operation {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !op.Done {
		if time.Now().After(deadline) {
			t.Fatalf("operation %s not done after 2 minutes", op.Id)
		}
		var err error
		op, err = ops.WaitOperation(ctx, &canopyv1.WaitOperationRequest{Id: op.Id, Timeout: durationpb.New(20 * time.Second)})
		if err != nil {
			t.Fatalf("WaitOperation: %v", err)
		}
	}
	return op
}

func TestContainerScheduler(t *testing.T) {
	env := containerEnv(t)
	host2 := os.Getenv("CANOPY_DOCKER_HOST2")
	if host2 == "" {
		t.Skip("CANOPY_DOCKER_HOST2 not set: test/containers/test.sh starts two dockerds (test/docker/up.sh 2)")
	}
	// Tenant isolation counts every project's container on a host, so the
	// hosts must start without any (another run's leftovers).
	for _, h := range []string{env.dockerHost, host2} {
		if left := projectsOnHost(t, h); left != "" {
			t.Fatalf("dockerd %s already runs canopy containers (name=project): %s; remove them first", h, left)
		}
	}
	cfg := canopydtest.WriteConfig(t, fmt.Sprintf(`
clouds:
  - name: pool
    kind: docker
    options: {hosts: [{name: h1, url: %q}, {name: h2, url: %q}], region: pool, zone: pool-1}
    flavors: [{name: ct.small, vcpus: 1, ram_mib: 128}]
    scheduler: {tenant_isolation: true}
`, env.dockerHost, host2))
	d := canopydtest.Start(t, t.TempDir(), "--config", cfg)
	// A cleanup, not a defer: the servers' cleanups (registered later, so
	// run first) need canopyd.
	t.Cleanup(d.Stop)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	sfx := fmt.Sprintf("%d", time.Now().UnixNano()%1e6)
	connA, connB, connC := projectConn(t, d, "pa-"+sfx), projectConn(t, d, "pb-"+sfx), projectConn(t, d, "pc-"+sfx)
	compA, compC := canopyv1.NewComputeServiceClient(connA), canopyv1.NewComputeServiceClient(connC)
	ctrA, ctrB, ctrC := canopyv1.NewContainerServiceClient(connA), canopyv1.NewContainerServiceClient(connB), canopyv1.NewContainerServiceClient(connC)
	opsA, opsB, opsC := canopyv1.NewOperationServiceClient(connA), canopyv1.NewOperationServiceClient(connB), canopyv1.NewOperationServiceClient(connC)
	script := []byte("trap 'exit 0' TERM; while :; do sleep 1; done")
	server := func(c canopyv1.ComputeServiceClient, name string) (*canopyv1.Server, error) {
		sv, err := c.CreateServer(ctx, &canopyv1.CreateServerRequest{Name: name + "-" + sfx, Location: loc("pool"), Flavor: "ct.small", Image: e2eImage, UserData: script, Wait: true})
		if err == nil {
			t.Cleanup(func() {
				_, _ = c.DeleteServer(context.Background(), &canopyv1.DeleteServerRequest{Id: sv.Id, Wait: true, AllowMissing: true})
			})
		}
		return sv, err
	}

	// More CPUs than any host has, while both are empty: capacity alone,
	// RESOURCE_EXHAUSTED (a refusal by another tenant would come first).
	op, err := ctrA.CreateContainer(ctx, &canopyv1.CreateContainerRequest{Name: "a3-" + sfx, Location: loc("pool"), Image: e2eImage, Command: []string{"true"}, Cpu: 512})
	if err != nil {
		t.Fatal(err)
	}
	op = opResult(ctx, t, opsA, op)
	if e := op.GetError(); e == nil || codes.Code(e.Code) != codes.ResourceExhausted || !strings.HasPrefix(e.Metadata["host/h1"], "cpu: ") || !strings.HasPrefix(e.Metadata["host/h2"], "cpu: ") {
		t.Errorf("a 512-CPU container: %v, want RESOURCE_EXHAUSTED with per-host cpu reasons", e)
	}
	// A runtime no host offers: refused by the runtime filter, per host.
	op, err = ctrA.CreateContainer(ctx, &canopyv1.CreateContainerRequest{Name: "a0-" + sfx, Location: loc("pool"), Image: e2eImage, Command: []string{"true"}, Runtime: "kata"})
	if err != nil {
		t.Fatal(err)
	}
	op = opResult(ctx, t, opsA, op)
	if e := op.GetError(); e == nil || codes.Code(e.Code) != codes.FailedPrecondition || !strings.HasPrefix(e.Metadata["host/h1"], "runtime: ") || !strings.HasPrefix(e.Metadata["host/h2"], "runtime: ") {
		t.Errorf("a container under runtime kata: %v, want FAILED_PRECONDITION with per-host runtime reasons", e)
	}
	// Project B asks for the host labelled canopy.test.instance=2 (the
	// second dockerd's --label), under runc, which it has.
	op, err = ctrB.CreateContainer(ctx, &canopyv1.CreateContainerRequest{Name: "b1-" + sfx, Location: loc("pool"), Image: e2eImage, Command: []string{"sleep", "300"}, Run: true, Cpu: 0.5, MemoryMib: 64,
		Runtime: "runc", HostLabels: map[string]string{"canopy.test.instance": "2"}})
	if err != nil {
		t.Fatal(err)
	}
	op = opResult(ctx, t, opsB, op)
	if op.GetError() != nil {
		t.Fatalf("B's container: %v", op.GetError())
	}
	var b1 canopyv1.Container
	if err := op.GetResponse().UnmarshalTo(&b1); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = ctrB.DeleteContainer(context.Background(), &canopyv1.DeleteContainerRequest{Id: b1.Id, Force: true})
	})
	if b1.Host != "h2" {
		t.Fatalf("B's container with host label canopy.test.instance=2 on %q, want h2", b1.Host)
	}
	// Project A's server (ComputeService, a script written for servers)
	// cannot share h2 with B: it goes to h1.
	a1, err := server(compA, "a1")
	if err != nil {
		t.Fatalf("A's first server: %v", err)
	}
	hostA := a1.Properties["host"]
	if hostA != "h1" || a1.Kind != canopyv1.ServerKind_SERVER_KIND_CONTAINER {
		t.Fatalf("A's server: host %q kind %v, want h1 (B runs on h2) and a container", hostA, a1.Kind)
	}
	// A's second server joins its first: the other host runs B's.
	a2, err := server(compA, "a2")
	if err != nil {
		t.Fatalf("A's second server: %v", err)
	}
	if a2.Properties["host"] != hostA {
		t.Errorf("A's second server on %q, want %q (B runs on %s)", a2.Properties["host"], hostA, b1.Host)
	}
	// The daemons agree: each host runs one project's containers.
	for h, url := range map[string]string{"h1": env.dockerHost, "h2": host2} {
		got := projectsOnHost(t, url)
		want := "pa-" + sfx
		if h == b1.Host {
			want = "pb-" + sfx
		}
		for _, line := range strings.Split(got, "\n") {
			if _, p, _ := strings.Cut(line, "="); p != want {
				t.Errorf("docker ps on %s: %q, want only project %s", h, got, want)
			}
		}
	}

	// Project C fits nowhere: refused, each host named with its reason.
	_, err = server(compC, "c1")
	st := status.Convert(err)
	if st.Code() != codes.FailedPrecondition {
		t.Fatalf("C's server: %v, want FAILED_PRECONDITION", err)
	}
	subjects := map[string]string{}
	for _, dt := range st.Details() {
		if pf, ok := dt.(*errdetails.PreconditionFailure); ok {
			for _, v := range pf.Violations {
				subjects[v.Subject] = v.Type
			}
		}
	}
	if subjects["host/h1"] != "tenant_isolation" || subjects["host/h2"] != "tenant_isolation" {
		t.Errorf("C's refusal details %v, want host/h1 and host/h2 rejected by tenant_isolation (%s)", subjects, st.Message())
	}
	// The same through the container service: the operation fails, its
	// error saying per host why.
	op, err = ctrC.CreateContainer(ctx, &canopyv1.CreateContainerRequest{Name: "c2-" + sfx, Location: loc("pool"), Image: e2eImage, Command: []string{"true"}})
	if err != nil {
		t.Fatal(err)
	}
	op = opResult(ctx, t, opsC, op)
	if e := op.GetError(); e == nil || codes.Code(e.Code) != codes.FailedPrecondition || e.Reason != "NO_VALID_HOST" ||
		!strings.HasPrefix(e.Metadata["host/h1"], "tenant_isolation: ") || !strings.HasPrefix(e.Metadata["host/h2"], "tenant_isolation: ") {
		t.Errorf("C's container operation error %v, want FAILED_PRECONDITION NO_VALID_HOST with host/h1 and host/h2 by tenant_isolation", e)
	}
}

// TestContainerPlacementSurvivesKill: canopyd is killed right after it
// recorded where a container goes and before it asked the host; meanwhile
// that host fills up, so a fresh choice would be the other one. The
// resumed create lands where the record says, once.
func TestContainerPlacementSurvivesKill(t *testing.T) {
	env := containerEnv(t)
	host2 := os.Getenv("CANOPY_DOCKER_HOST2")
	if host2 == "" {
		t.Skip("CANOPY_DOCKER_HOST2 not set: test/containers/test.sh starts two dockerds (test/docker/up.sh 2)")
	}
	urls := map[string]string{"h1": env.dockerHost, "h2": host2}
	cfg := canopydtest.WriteConfig(t, fmt.Sprintf(`
clouds:
  - name: pool
    kind: docker
    options: {hosts: [{name: h1, url: %q}, {name: h2, url: %q}], region: pool, zone: pool-1}
    scheduler: {}
`, env.dockerHost, host2))
	data := t.TempDir()
	d := canopydtest.StartEnv(t, data, []string{"CANOPY_FAILPOINTS=sched.place:recorded"}, "--config", cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	name := fmt.Sprintf("placed%d", time.Now().UnixNano()%1e6)
	c := newCtrClient(t, d)
	if _, err := c.c.CreateContainer(ctx, &canopyv1.CreateContainerRequest{Name: name, Location: loc("pool"), Image: e2eImage, Command: []string{"sleep", "300"}, Run: true, Cpu: 0.1}); err != nil {
		t.Fatal(err)
	}
	if err, exited := d.WaitExit(time.Minute); !exited {
		t.Fatalf("canopyd still runs a minute after the create: the failpoint did not fire (%v)", err)
	}
	// Where the record says, read from the store canopyd left.
	st, err := bolt.Open(filepath.Join(data, "canopy", "canopy.db"))
	if err != nil {
		t.Fatal(err)
	}
	recs, err := st.ListRecords(ctx, sched.RecordNamespace, "pool/")
	st.Close()
	if err != nil || len(recs) != 1 {
		t.Fatalf("placement records %v, %v; want the one create's", recs, err)
	}
	placed := string(recs[0].Value)
	// The placed host fills up: 1.5 CPUs held by a container canopy does
	// not know, so a fresh placement would pick the other host.
	hog := exec.Command("docker", "run", "-d", "--network", "none", "--cpus", "1.5", "--name", name+"-hog", e2eImage, "sleep", "300")
	hog.Env = append(os.Environ(), "DOCKER_HOST="+urls[placed], "DOCKER_CONFIG="+t.TempDir())
	if out, err := hog.CombinedOutput(); err != nil {
		t.Fatalf("docker run on %s: %v: %s", placed, err, out)
	}
	t.Cleanup(func() {
		rm := exec.Command("docker", "rm", "-f", name+"-hog")
		rm.Env = append(os.Environ(), "DOCKER_HOST="+urls[placed], "DOCKER_CONFIG="+t.TempDir())
		_ = rm.Run()
	})
	d = canopydtest.Start(t, data, "--config", cfg)
	t.Cleanup(d.Stop)
	c = newCtrClient(t, d)
	t.Cleanup(func() { cleanupPrefix(t, c, "pool", name) })
	ops, err := c.ops.ListOperations(ctx, &canopyv1.ListOperationsRequest{Kind: "container.create"})
	if err != nil || len(ops.Operations) != 1 {
		t.Fatalf("operations after the restart: %v, %v; want the one create", ops, err)
	}
	ct := c.done(ctx, ops.Operations[0])
	if ct.Host != placed {
		t.Errorf("resumed create on %s, want the recorded %s", ct.Host, placed)
	}
	resp, err := c.c.ListContainers(ctx, &canopyv1.ListContainersRequest{Location: loc("pool"), Name: name, PageSize: 100})
	if err != nil || len(resp.Containers) != 1 {
		t.Errorf("containers named %s: %d, %v; want 1", name, len(resp.GetContainers()), err)
	}
}
