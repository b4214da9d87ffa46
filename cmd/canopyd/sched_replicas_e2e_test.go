//go:build containers && etcd

package main

// tenant_isolation across replicas, end to end: two canopyd replicas on
// the 3-member etcd (test/etcd/up.sh) over one Docker cloud of two real
// dockerds (test/docker/up.sh 2), creates of two projects sent to both
// replicas at once. Each replica places under the shared placement lock
// (ownership.Etcd.Lock, wired by server.Replicated), so no host ever runs
// both projects' containers, as `docker ps` on each dockerd says (without
// the lock they did), and a third project is refused by both replicas. Run with both engines up:
//
//	CANOPY_ETCD_ENDPOINTS=… CANOPY_DOCKER_HOST=… CANOPY_DOCKER_HOST2=… \
//	  go test -tags 'containers etcd' -run TestSchedulerReplicasOnEtcd ./cmd/canopyd/

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/canopy-cloud/canopy/client"
	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/internal/canopydtest"
)

func TestSchedulerReplicasOnEtcd(t *testing.T) {
	env := containerEnv(t)
	host2 := os.Getenv("CANOPY_DOCKER_HOST2")
	if host2 == "" {
		t.Skip("CANOPY_DOCKER_HOST2 not set: test/docker/up.sh 2 starts two dockerds")
	}
	for _, h := range []string{env.dockerHost, host2} {
		if left := projectsOnHost(t, h); left != "" {
			t.Fatalf("dockerd %s already runs canopy containers (name=project): %s; remove them first", h, left)
		}
	}
	_, _, storeURL := etcdStore(t, "sched-replicas")
	cfg := canopydtest.WriteConfig(t, fmt.Sprintf(`
auth: {issuer_url: "http://canopy.sched-replicas.test"}
clouds:
  - name: pool
    kind: docker
    options: {hosts: [{name: h1, url: %q}, {name: h2, url: %q}], region: pool, zone: pool-1}
    scheduler: {tenant_isolation: true}
`, env.dockerHost, host2))
	dA := t.TempDir()
	a := canopydtest.Start(t, dA, "--config", cfg, "--store", storeURL, "--replica-id", "a", "--lease-ttl", "2")
	t.Cleanup(a.Stop)
	b := canopydtest.StartEnv(t, t.TempDir(), []string{canopydtest.TokenEnv + "=" + a.Token},
		"--config", cfg, "--store", storeURL, "--replica-id", "b", "--lease-ttl", "2")
	t.Cleanup(b.Stop)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	sfx := fmt.Sprintf("%d", time.Now().UnixNano()%1e6)
	// Each project's client, connected to both replicas.
	conns := func(project string) [2]*grpc.ClientConn {
		cl, err := a.Auth.CreateClient(ctx, &canopyv1.CreateClientRequest{Name: project, Project: project, Scopes: []string{"canopy.read", "canopy.write"}})
		if err != nil {
			t.Fatalf("CreateClient %s: %v", project, err)
		}
		tok, err := client.Credentials{ClientID: cl.Client.Id, ClientSecret: cl.ClientSecret, TokenURL: "http://" + a.RESTAddr + "/oauth2/token"}.Token(ctx)
		if err != nil {
			t.Fatalf("token of %s: %v", project, err)
		}
		var out [2]*grpc.ClientConn
		for i, d := range []*canopydtest.Daemon{a, b} {
			c, err := grpc.NewClient(d.GRPCAddr, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithPerRPCCredentials(canopydtest.Bearer(tok.AccessToken)))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			out[i] = c
		}
		return out
	}
	projects := []string{"ra-" + sfx, "rb-" + sfx}
	byProject := map[string][2]*grpc.ClientConn{projects[0]: conns(projects[0]), projects[1]: conns(projects[1])}

	// 8 creates, both projects through both replicas, all at once.
	type made struct {
		project, id, host string
		err               *canopyv1.Operation
	}
	var mu sync.Mutex
	var out []made
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			project := projects[i%2]
			conn := byProject[project][(i/2)%2]
			ctr, ops := canopyv1.NewContainerServiceClient(conn), canopyv1.NewOperationServiceClient(conn)
			op, err := ctr.CreateContainer(ctx, &canopyv1.CreateContainerRequest{Name: fmt.Sprintf("rep%d-%s", i, sfx), Location: loc("pool"), Image: e2eImage, Command: []string{"true"}})
			if err != nil {
				t.Errorf("create %d: %v", i, err)
				return
			}
			op = opResult(ctx, t, ops, op)
			m := made{project: project}
			if op.GetError() != nil {
				m.err = op
			} else {
				var c canopyv1.Container
				if err := op.GetResponse().UnmarshalTo(&c); err != nil {
					t.Error(err)
					return
				}
				m.id, m.host = c.Id, c.Host
				t.Cleanup(func() {
					_, _ = ctr.DeleteContainer(context.Background(), &canopyv1.DeleteContainerRequest{Id: c.Id, Force: true})
				})
			}
			mu.Lock()
			out = append(out, m)
			mu.Unlock()
		}()
	}
	wg.Wait()
	// Isolation, not packing, is the promise: a project may spread over
	// both hosts (the weigher picks the emptier), and then the other is
	// refused, naming each host and tenant_isolation.
	projectOn := map[string]string{}
	for _, m := range out {
		if m.err != nil {
			if e := m.err.GetError(); codes.Code(e.Code) != codes.FailedPrecondition ||
				!strings.HasPrefix(e.Metadata["host/h1"], "tenant_isolation: ") || !strings.HasPrefix(e.Metadata["host/h2"], "tenant_isolation: ") {
				t.Errorf("%s's create refused otherwise than by tenant_isolation on both hosts: %v", m.project, e)
			}
			continue
		}
		if p, ok := projectOn[m.host]; ok && p != m.project {
			t.Errorf("canopy put %s and %s on %s", p, m.project, m.host)
		}
		projectOn[m.host] = m.project
	}
	if len(projectOn) != 2 {
		t.Errorf("hosts used %v: the first create of each project finds a host free, so both hosts are taken", projectOn)
	}
	// The daemons agree: each runs one project's containers.
	for h, url := range map[string]string{"h1": env.dockerHost, "h2": host2} {
		got := projectsOnHost(t, url)
		var ps []string
		for _, line := range strings.Split(got, "\n") {
			if _, p, ok := strings.Cut(line, "="); ok && (len(ps) == 0 || ps[len(ps)-1] != p) {
				ps = append(ps, p)
			}
		}
		seen := map[string]bool{}
		for _, p := range ps {
			seen[p] = true
		}
		if len(seen) != 1 {
			t.Errorf("docker ps on %s: %q, want one project's containers", h, got)
		}
	}
	// A third project fits on neither host, through either replica.
	third := conns("rc-" + sfx)
	for i, conn := range third {
		ctr, ops := canopyv1.NewContainerServiceClient(conn), canopyv1.NewOperationServiceClient(conn)
		op, err := ctr.CreateContainer(ctx, &canopyv1.CreateContainerRequest{Name: fmt.Sprintf("rc%d-%s", i, sfx), Location: loc("pool"), Image: e2eImage, Command: []string{"true"}})
		if err != nil {
			t.Fatal(err)
		}
		if e := opResult(ctx, t, ops, op).GetError(); e == nil || codes.Code(e.Code) != codes.FailedPrecondition ||
			!strings.HasPrefix(e.Metadata["host/h1"], "tenant_isolation: ") || !strings.HasPrefix(e.Metadata["host/h2"], "tenant_isolation: ") {
			t.Errorf("a third project through replica %d: %v, want FAILED_PRECONDITION by tenant_isolation on h1 and h2", i, e)
		}
	}
}
