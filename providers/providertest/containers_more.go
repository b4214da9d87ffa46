package providertest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/canopy-cloud/canopy/providers"
)

// Healthchecks, commits and events: what a runtime says about a container
// beyond its state.

func (cs *ctrSuite) testHealthcheck(t *testing.T) {
	cs.need(t, UnsupportedHealthcheck)
	interval := cs.fx.ContainerHealthInterval
	t.Run("Healthy", func(t *testing.T) {
		spec := cs.spec(t, "healthy", "httpd", "-f", "-p", "8080", "-h", "/www")
		spec.Healthcheck = &providers.Healthcheck{Cmd: []string{"wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/"},
			Interval: interval, Timeout: 5 * time.Second, Retries: 3}
		c := cs.running(t, spec)
		if c.Health != providers.HealthStarting && c.Health != providers.HealthHealthy {
			t.Errorf("health right after start = %v, want STARTING (or HEALTHY)", c.Health)
		}
		c = cs.wait(t, c.NativeID, "healthy", func(c providers.Container) bool { return c.Health == providers.HealthHealthy })
		if c.State != providers.ContainerRunning {
			t.Errorf("healthy container: state %v, want RUNNING", c.State)
		}
	})
	t.Run("Unhealthy", func(t *testing.T) {
		spec := cs.spec(t, "unhealthy", "sleep", "300")
		spec.Healthcheck = &providers.Healthcheck{Cmd: []string{"false"}, Interval: interval, Timeout: 5 * time.Second, Retries: 2}
		c := cs.running(t, spec)
		c = cs.wait(t, c.NativeID, "unhealthy", func(c providers.Container) bool { return c.Health == providers.HealthUnhealthy })
		if c.State != providers.ContainerRunning {
			t.Errorf("unhealthy container: state %v, want RUNNING (health does not stop it)", c.State)
		}
	})
}

func (cs *ctrSuite) testCommit(t *testing.T) {
	cm, ok := cs.p.(providers.ContainerCommitter)
	if !ok || !providers.Has(cs.p, providers.CapContainerCommit) {
		t.Skip("adapter has no ContainerCommitter capability: commit not tested")
	}
	cs.needIO(t)
	ctx := context.Background()
	src := cs.run(t, cs.spec(t, "commitsrc", "sh", "-c", "echo canopy-commit > /tmp/marker"))
	cs.wait(t, src.NativeID, "exited", exited(0))
	ref := strings.ToLower(cs.name(t, "commit")) + ":v1"
	img, err := cm.CommitContainer(ctx, src.NativeID, providers.CommitSpec{Reference: ref, Message: "conformance", Author: "providertest"})
	if err != nil {
		t.Fatalf("CommitContainer: %v", err)
	}
	if img.NativeID == "" {
		t.Fatalf("CommitContainer = %+v: want the new image's reference", img)
	}
	if cs.cleaner != nil { // registered first, so it runs after the container using it is gone
		t.Cleanup(func() {
			if err := cs.cleaner.DeleteImage(context.Background(), cs.p, img.NativeID); err != nil {
				t.Errorf("cleanup: DeleteImage(%s): %v", img.NativeID, err)
			}
		})
	} else {
		t.Logf("the harness is no ImageCleaner: committed image %s stays", img.NativeID)
	}
	if ci, ok := cs.p.(providers.ContainerImages); ok {
		cs.listsImage(t, ci, img.NativeID)
	}
	spec := cs.spec(t, "fromcommit", "cat", "/tmp/marker")
	spec.Image = img.NativeID
	c := cs.run(t, spec)
	cs.wait(t, c.NativeID, "exited", exited(0))
	if got := text(cs.logs(t, c.NativeID, providers.LogOptions{Stdout: true, Stderr: true, Tail: -1}), providers.StreamStdout); got != "canopy-commit\n" {
		t.Errorf("a container of the committed image reads %q, want the committed file's %q", got, "canopy-commit\n")
	}
	if _, err := cm.CommitContainer(ctx, cs.missing(), providers.CommitSpec{Reference: ref + "x"}); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("CommitContainer(missing): err = %v, want ErrNotFound", err)
	}
}

func (cs *ctrSuite) testEvents(t *testing.T) {
	ev, ok := cs.p.(providers.ContainerEvents)
	if !ok || !providers.Has(cs.p, providers.CapContainerEvents) {
		t.Skip("adapter has no ContainerEvents capability: events not tested")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events, errc, err := ev.ContainerEvents(ctx)
	if err != nil {
		t.Fatalf("ContainerEvents: %v", err)
	}
	c := cs.run(t, cs.spec(t, "events", "sh", "-c", "exit 0"))
	want := map[string]bool{"start": false, "die": false}
	deadline := time.After(cs.fx.WaitTimeout)
	for !want["start"] || !want["die"] {
		select {
		case e, ok := <-events:
			if !ok {
				var cause error
				select {
				case cause = <-errc:
				default:
				}
				t.Fatalf("event stream closed early (%v); saw %v", cause, want)
			}
			if e.NativeID != c.NativeID {
				continue
			}
			if _, wanted := want[e.Action]; wanted {
				want[e.Action] = true
			}
			if e.Time.IsZero() {
				t.Errorf("event %s: no time", e.Action)
			}
		case <-deadline:
			t.Fatalf("events of %s after %s: saw %v, want start and die", c.NativeID, cs.fx.WaitTimeout, want)
		}
	}
	cancel()
	for closed := false; !closed; {
		select {
		case _, ok := <-events:
			closed = !ok
		case <-time.After(cs.fx.WaitTimeout):
			t.Fatalf("event stream not closed %s after its context ended", cs.fx.WaitTimeout)
		}
	}
}

// testImages: the fixture image is listed, by a reference a create takes,
// once, with its container format.
func (cs *ctrSuite) testImages(t *testing.T) {
	ci, ok := cs.p.(providers.ContainerImages)
	if !ok || !providers.Has(cs.p, providers.CapContainerImages) {
		t.Skip("adapter has no ContainerImages capability: image list not tested")
	}
	cs.listsImage(t, ci, cs.fx.ContainerImage)
}

func (cs *ctrSuite) listsImage(t *testing.T, ci providers.ContainerImages, ref string) {
	t.Helper()
	list, err := ci.ListContainerImages(context.Background())
	if err != nil {
		t.Fatalf("ListContainerImages: %v", err)
	}
	seen := map[string]bool{}
	found := false
	for _, im := range list {
		if seen[im.NativeID] {
			t.Errorf("image %s listed twice", im.NativeID)
		}
		seen[im.NativeID] = true
		if im.ContainerFormat != "docker" && im.ContainerFormat != "oci" {
			t.Errorf("image %s: container format %q, want docker or oci", im.NativeID, im.ContainerFormat)
		}
		if im.Status != providers.StatusActive {
			t.Errorf("image %s: status %v, want ACTIVE", im.NativeID, im.Status)
		}
		found = found || im.NativeID == ref || im.Name == ref
	}
	if !found {
		t.Errorf("ListContainerImages lists %d images without %s", len(list), ref)
	}
}
