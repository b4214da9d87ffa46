package server

import (
	"context"
	"sync"
	"testing"
	"time"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
)

// Two ReplicateImage operations of one image to one cloud at once: the
// first copies, held in its copy by a hook; the second, seen waiting on
// the first's claim, is let go only then. It must take the first's
// placement: one copy's bytes moved, one image in the cloud.
func TestReplicateImageConcurrentOneCopy(t *testing.T) {
	e := newEnv(t, replicaClouds)
	c := imageClients(t, e)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	data := diskBytes()
	im, err := uploadFormat(ctx, c, "src", "disk", "raw", data)
	if err != nil {
		t.Fatal(err)
	}
	copying, waiting, release := make(chan string, 4), make(chan string, 4), make(chan struct{})
	e.srv.repl.hooks.Store(&replicateHooks{
		copying: func(origin, cloud string) { copying <- cloud; <-release },
		waiting: func(origin, cloud string) { waiting <- cloud },
	})
	var once sync.Once
	letGo := func() { once.Do(func() { close(release) }) }
	defer letGo() // a failed test must not leave a copy held
	defer e.srv.repl.hooks.Store(nil)
	before, imagesBefore := e.srv.repl.moved.Load(), simImageCount(t, e, "any")
	start := func() *canopyv1.Operation {
		op, err := c.img.ReplicateImage(ctx, &canopyv1.ReplicateImageRequest{Image: im.GetId(), Clouds: []string{"any"}})
		if err != nil {
			t.Fatal(err)
		}
		return op
	}
	first := start()
	select {
	case <-copying:
	case <-ctx.Done():
		t.Fatal("the first replication never began its copy")
	}
	second := start()
	select {
	case <-waiting:
	case cl := <-copying:
		t.Fatalf("the second replication began a copy to %s while the first was copying", cl)
	case <-ctx.Done():
		t.Fatal("the second replication never waited on the first's claim")
	}
	letGo()
	var ids []string
	for _, op := range []*canopyv1.Operation{first, second} {
		done, err := c.ops.WaitOperation(ctx, &canopyv1.WaitOperationRequest{Id: op.GetId()})
		for err == nil && !done.GetDone() {
			done, err = c.ops.WaitOperation(ctx, &canopyv1.WaitOperationRequest{Id: op.GetId()})
		}
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, placementsOf(t, done)["any"].GetImageId())
	}
	if ids[0] == "" || ids[0] != ids[1] {
		t.Fatalf("the two replications answered images %v, want one", ids)
	}
	if d := e.srv.repl.moved.Load() - before; d != int64(len(data)) {
		t.Fatalf("%d bytes moved, want one copy's %d", d, len(data))
	}
	if n := simImageCount(t, e, "any") - imagesBefore; n != 1 {
		t.Fatalf("%d new images in the cloud, want 1", n)
	}
	select {
	case cl := <-copying:
		t.Fatalf("a second copy to %s began", cl)
	default:
	}
}

func simImageCount(t *testing.T, e *env, cloud string) int {
	t.Helper()
	l, err := e.sim(cloud).ListImages(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return len(l)
}
