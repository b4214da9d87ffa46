//go:build containers

package main

// The scheduler over a containerd cloud: its one host reports itself
// (providers/containerd/hosts.go), so a scheduler: block applies there as
// on Docker: capacity from the host's own figures, and tenant_isolation
// keeping a second project off the host the first holds.

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/internal/canopydtest"
)

func TestContainerdScheduler(t *testing.T) {
	env := containerEnv(t)
	cfg := canopydtest.WriteConfig(t, fmt.Sprintf(`
clouds:
  - name: box
    kind: containerd
    options: {address: %q, region: box, zone: box-1, host: box-h1}
    scheduler: {tenant_isolation: true}
`, env.containerdAddr))
	d := canopydtest.Start(t, t.TempDir(), "--config", cfg)
	t.Cleanup(d.Stop)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	sfx := fmt.Sprintf("%d", time.Now().UnixNano()%1e6)
	connA, connB := projectConn(t, d, "qa-"+sfx), projectConn(t, d, "qb-"+sfx)
	ctrA, ctrB := canopyv1.NewContainerServiceClient(connA), canopyv1.NewContainerServiceClient(connB)
	opsA, opsB := canopyv1.NewOperationServiceClient(connA), canopyv1.NewOperationServiceClient(connB)

	// More memory than the host has (4 TiB, the most canopy takes):
	// RESOURCE_EXHAUSTED naming it.
	op, err := ctrA.CreateContainer(ctx, &canopyv1.CreateContainerRequest{Name: "qa0-" + sfx, Location: loc("box"), Image: e2eImage, Command: []string{"true"}, MemoryMib: 4 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if e := opResult(ctx, t, opsA, op).GetError(); e == nil || codes.Code(e.Code) != codes.ResourceExhausted || !strings.HasPrefix(e.Metadata["host/box-h1"], "memory: ") {
		t.Errorf("a 4 TiB container: %v, want RESOURCE_EXHAUSTED with host/box-h1's memory reason", e)
	}
	op, err = ctrA.CreateContainer(ctx, &canopyv1.CreateContainerRequest{Name: "qa1-" + sfx, Location: loc("box"), Image: e2eImage, Command: []string{"sleep", "300"}, Run: true, Cpu: 0.25, MemoryMib: 32})
	if err != nil {
		t.Fatal(err)
	}
	op = opResult(ctx, t, opsA, op)
	if op.GetError() != nil {
		t.Fatalf("A's container: %v", op.GetError())
	}
	var a1 canopyv1.Container
	if err := op.GetResponse().UnmarshalTo(&a1); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = ctrA.DeleteContainer(context.Background(), &canopyv1.DeleteContainerRequest{Id: a1.Id, Force: true})
	})
	if a1.Host != "box-h1" {
		t.Errorf("A's container on %q, want box-h1", a1.Host)
	}
	op, err = ctrB.CreateContainer(ctx, &canopyv1.CreateContainerRequest{Name: "qb1-" + sfx, Location: loc("box"), Image: e2eImage, Command: []string{"true"}})
	if err != nil {
		t.Fatal(err)
	}
	if e := opResult(ctx, t, opsB, op).GetError(); e == nil || codes.Code(e.Code) != codes.FailedPrecondition || e.Reason != "NO_VALID_HOST" ||
		!strings.HasPrefix(e.Metadata["host/box-h1"], "tenant_isolation: ") || !strings.Contains(e.Metadata["host/box-h1"], "qa-"+sfx) {
		t.Errorf("B's container beside A's: %v, want FAILED_PRECONDITION NO_VALID_HOST, host/box-h1 by tenant_isolation naming qa-%s", e, sfx)
	}
}
