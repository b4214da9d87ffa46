package providertest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/canopy-cloud/canopy/providers"
)

// The Containers section: the lifecycle of containers on a runtime (Docker,
// containerd, the simulator), what runs inside them (ContainerIO), what they
// push (ContainerEvents) and what they become (ContainerCommitter). Docker's
// semantics are the anchor: a container that exited is STOPPED with its exit
// code, a main process killed by a signal exits 128+signal, a busybox PID 1
// ignores SIGTERM (it installs no handler), so stopping one takes the whole
// timeout and ends in SIGKILL (137).
//
// Every container is made from Fixture.ContainerImage, named with
// Fixture.Prefix and force-deleted at cleanup.

// Keys of Fixture.ContainerUnsupported: the parts a runtime may lack.
const (
	UnsupportedHealthcheck   = "healthcheck"    // Healthcheck run and reported
	UnsupportedPause         = "pause"          // PauseContainer/UnpauseContainer
	UnsupportedLimits        = "limits"         // CPU and memory limits at create and update
	UnsupportedRestartPolicy = "restart-policy" // restarts on exit as the policy says
	UnsupportedTTY           = "tty"            // exec with a terminal
)

// RunContainerTests runs the Containers section alone (RunConformanceTests
// runs it with everything else).
func RunContainerTests(t *testing.T, h Harness) {
	ctx := context.Background()
	p := h.MakeProvider(ctx, t)
	t.Cleanup(func() { _ = p.Close() })
	fx := h.Fixture()
	fx.defaults()
	s := &suite{p: p, fx: fx}
	s.cleaner, _ = h.(ImageCleaner)
	t.Run("Containers", s.testContainers)
}

// ctrSuite tests one runtime's containers.
type ctrSuite struct {
	*suite
	ct providers.Containers
	io providers.ContainerIO // nil when the adapter has no ContainerIO
}

func (s *suite) testContainers(t *testing.T) {
	ct, ok := s.p.(providers.Containers)
	if !ok || !providers.Has(s.p, providers.CapContainers) {
		t.Skip("adapter has no Containers capability: container tests not run")
	}
	cs := &ctrSuite{suite: s, ct: ct}
	if providers.Has(s.p, providers.CapContainerIO) {
		cs.io, _ = s.p.(providers.ContainerIO)
	}
	t.Run("Create", cs.testCreate)
	t.Run("CreateErrors", cs.testCreateErrors)
	t.Run("Lifecycle", cs.testLifecycle)
	t.Run("Kill", cs.testKill)
	t.Run("Pause", cs.testPause)
	t.Run("Rename", cs.testRename)
	t.Run("Update", cs.testUpdate)
	t.Run("Delete", cs.testDelete)
	t.Run("ExitsByItself", cs.testExitsByItself)
	t.Run("AutoRemove", cs.testAutoRemove)
	t.Run("RestartPolicy", cs.testRestartPolicy)
	t.Run("StateTable", cs.testStateTable)
	t.Run("Replay", cs.testReplay)
	t.Run("Healthcheck", cs.testHealthcheck) // containers_more.go
	t.Run("Logs", cs.testLogs)               // containers_io.go
	t.Run("Exec", cs.testExec)               // containers_io.go
	t.Run("StatsTop", cs.testStatsTop)       // containers_io.go
	t.Run("Commit", cs.testCommit)           // containers_more.go
	t.Run("Events", cs.testEvents)           // containers_more.go
	t.Run("Images", cs.testImages)           // containers_more.go
}

// supports reports whether the runtime can do part (an Unsupported* key).
func (cs *ctrSuite) supports(part string) bool {
	_, lacks := cs.fx.ContainerUnsupported[part]
	return !lacks
}

// need skips the test when the runtime cannot do part, saying why.
func (cs *ctrSuite) need(t *testing.T, part string) {
	t.Helper()
	if why, lacks := cs.fx.ContainerUnsupported[part]; lacks {
		t.Skipf("runtime does not support %s: %s", part, why)
	}
}

func (cs *ctrSuite) needIO(t *testing.T) {
	t.Helper()
	if cs.io == nil {
		t.Skip("adapter has no ContainerIO capability: not run")
	}
}

// newToken returns a fresh canopy-shaped id (a random UUID).
func newToken(t *testing.T) string {
	t.Helper()
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// spec is a container of the fixture image running cmd, with a fresh name
// and token.
func (cs *ctrSuite) spec(t *testing.T, what string, cmd ...string) providers.ContainerSpec {
	name := cs.name(t, what)
	return providers.ContainerSpec{Name: name, Image: cs.fx.ContainerImage, Command: cmd,
		Labels: map[string]string{"suite": "providertest"}, IdempotencyToken: newToken(t)}
}

// create makes a container, force-deleted at cleanup.
func (cs *ctrSuite) create(t *testing.T, spec providers.ContainerSpec) providers.Container {
	t.Helper()
	c, err := cs.ct.CreateContainer(context.Background(), spec)
	if err != nil {
		t.Fatalf("CreateContainer(%s %q): %v", spec.Name, spec.Command, err)
	}
	t.Cleanup(func() { cs.remove(t, c.NativeID) })
	return c
}

// run creates and starts a container; it does not wait for RUNNING (the
// command may already have ended).
func (cs *ctrSuite) run(t *testing.T, spec providers.ContainerSpec) providers.Container {
	t.Helper()
	c := cs.create(t, spec)
	if err := cs.ct.StartContainer(context.Background(), c.NativeID); err != nil {
		t.Fatalf("StartContainer(%s): %v", spec.Name, err)
	}
	return c
}

// running creates and starts a container and waits until it runs.
func (cs *ctrSuite) running(t *testing.T, spec providers.ContainerSpec) providers.Container {
	t.Helper()
	c := cs.run(t, spec)
	return cs.wait(t, c.NativeID, "running", stateIs(providers.ContainerRunning))
}

// remove force-deletes a container at cleanup; one already gone is fine.
func (cs *ctrSuite) remove(t *testing.T, id string) {
	deadline := time.Now().Add(cs.fx.WaitTimeout)
	for {
		err := cs.ct.DeleteContainer(context.Background(), id, true)
		if err == nil || errors.Is(err, providers.ErrNotFound) {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("cleanup: DeleteContainer(%s, force): %v", id, err)
			return
		}
		time.Sleep(cs.fx.Poll)
	}
}

// wait polls GetContainer until cond holds or the fixture's timeout passes.
func (cs *ctrSuite) wait(t *testing.T, id, what string, cond func(providers.Container) bool) providers.Container {
	t.Helper()
	return poll(t, cs.suite, "container "+id+" "+what, func() (providers.Container, error) {
		return cs.ct.GetContainer(context.Background(), id)
	}, func(c providers.Container, err error) bool { return err == nil && cond(c) })
}

func stateIs(states ...providers.ContainerState) func(providers.Container) bool {
	return func(c providers.Container) bool { return slices.Contains(states, c.State) }
}

// exited holds for a container whose main process ended with code.
func exited(code int) func(providers.Container) bool {
	return func(c providers.Container) bool {
		return (c.State == providers.ContainerStopped || c.State == providers.ContainerDead) && c.ExitCode == code
	}
}

// killed holds for a container whose main process a signal ended: 137
// (SIGKILL) or 143 (SIGTERM), as Docker reports them.
func killed(c providers.Container) bool {
	return c.State == providers.ContainerStopped && (c.ExitCode == 137 || c.ExitCode == 143)
}

// get reads a container, failing the test on error.
func (cs *ctrSuite) get(t *testing.T, id string) providers.Container {
	t.Helper()
	c, err := cs.ct.GetContainer(context.Background(), id)
	if err != nil {
		t.Fatalf("GetContainer(%s): %v", id, err)
	}
	return c
}

// missing is a container id no runtime has.
func (cs *ctrSuite) missing() string { return cs.fx.Prefix + "-no-such-container-0" }

// near reports whether a runtime's timestamp is within skew of the window
// [from, to] read on this host (the runtime is on loopback: one clock).
func near(ts, from, to time.Time) bool {
	const skew = 5 * time.Second
	return !ts.Before(from.Add(-skew)) && !ts.After(to.Add(skew))
}

func (cs *ctrSuite) testCreate(t *testing.T) {
	ctx := context.Background()
	spec := cs.spec(t, "echo", "sleep", "300")
	spec.Env = map[string]string{"CANOPY_A": "1", "CANOPY_B": "two words"}
	spec.Labels["run"] = spec.Name
	spec.Workdir, spec.User, spec.Hostname = "/tmp", "nobody", "ptest-host"
	spec.RestartPolicy = providers.RestartPolicy{Name: "on-failure", MaxRetries: 3}
	if cs.supports(UnsupportedHealthcheck) {
		spec.Healthcheck = &providers.Healthcheck{Cmd: []string{"true"}, Interval: 2 * cs.fx.ContainerHealthInterval,
			Timeout: 5 * time.Second, Retries: 3, StartPeriod: time.Second}
	}
	if cs.supports(UnsupportedLimits) {
		spec.CPU, spec.MemoryBytes = 0.5, 64<<20
	}
	before := time.Now()
	c := cs.create(t, spec)
	if c.NativeID == "" || c.State != providers.ContainerCreated {
		t.Fatalf("CreateContainer = id %q state %v, want an id and CREATED", c.NativeID, c.State)
	}
	checkEcho(t, "CreateContainer", c, spec)
	got := cs.get(t, c.NativeID)
	if got.NativeID != c.NativeID || got.State != providers.ContainerCreated {
		t.Errorf("GetContainer = id %q state %v, want %s CREATED", got.NativeID, got.State, c.NativeID)
	}
	checkEcho(t, "GetContainer", got, spec)
	if !near(got.Created, before, time.Now()) {
		t.Errorf("Created = %v, want about %v", got.Created, before)
	}
	if !got.StartedAt.IsZero() {
		t.Errorf("StartedAt = %v before any start, want zero", got.StartedAt)
	}
	list, err := cs.ct.ListContainers(ctx)
	if err != nil {
		t.Fatalf("ListContainers: %v", err)
	}
	// A list carries what a runtime's summary has (Docker's lists no
	// config): name, image, state, labels and the token they hold.
	n := 0
	for _, l := range list {
		if l.NativeID != c.NativeID {
			continue
		}
		n++
		if l.Name != spec.Name || l.Image != spec.Image || l.State != providers.ContainerCreated || l.Token != spec.IdempotencyToken ||
			l.Labels["run"] != spec.Name || l.Status != l.State.Status() {
			t.Errorf("ListContainers: %s is name %q image %q state %v (status %v) token %q labels %v; want %q %q CREATED %q with run=%s",
				l.NativeID, l.Name, l.Image, l.State, l.Status, l.Token, l.Labels, spec.Name, spec.Image, spec.IdempotencyToken, spec.Name)
		}
	}
	if n != 1 {
		t.Errorf("ListContainers lists %s %d times, want once", c.NativeID, n)
	}
	if _, err := cs.ct.GetContainer(ctx, cs.missing()); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("GetContainer(missing): err = %v, want ErrNotFound", err)
	}
}

// checkEcho checks that a container reports what it was created with.
func checkEcho(t *testing.T, call string, c providers.Container, spec providers.ContainerSpec) {
	t.Helper()
	bad := func(field string, got, want any) { t.Errorf("%s: %s = %v, want %v", call, field, got, want) }
	if c.Name != spec.Name {
		bad("Name", c.Name, spec.Name)
	}
	if c.Image != spec.Image {
		bad("Image", c.Image, spec.Image)
	}
	if c.ImageID == "" {
		bad("ImageID", `""`, "the image's id")
	}
	if !slices.Equal(c.Command, spec.Command) {
		bad("Command", c.Command, spec.Command)
	}
	for k, v := range spec.Env {
		if c.Env[k] != v {
			bad("Env["+k+"]", c.Env[k], v)
		}
	}
	for k, v := range spec.Labels {
		if c.Labels[k] != v {
			bad("Labels["+k+"]", c.Labels[k], v)
		}
	}
	if c.Workdir != spec.Workdir && spec.Workdir != "" {
		bad("Workdir", c.Workdir, spec.Workdir)
	}
	if c.User != spec.User && spec.User != "" {
		bad("User", c.User, spec.User)
	}
	if c.Hostname != spec.Hostname && spec.Hostname != "" {
		bad("Hostname", c.Hostname, spec.Hostname)
	}
	if spec.RestartPolicy.Name != "" && c.Restart != spec.RestartPolicy {
		bad("Restart", c.Restart, spec.RestartPolicy)
	}
	if h := spec.Healthcheck; h != nil {
		if g := c.Healthcheck; g == nil || !slices.Equal(g.Cmd, h.Cmd) || g.Interval != h.Interval || g.Timeout != h.Timeout ||
			g.Retries != h.Retries || g.StartPeriod != h.StartPeriod {
			bad("Healthcheck", g, *h)
		}
	}
	if c.CPU != spec.CPU {
		bad("CPU", c.CPU, spec.CPU)
	}
	if c.MemoryBytes != spec.MemoryBytes {
		bad("MemoryBytes", c.MemoryBytes, spec.MemoryBytes)
	}
	if c.AutoRemove != spec.AutoRemove {
		bad("AutoRemove", c.AutoRemove, spec.AutoRemove)
	}
	if c.Token != spec.IdempotencyToken {
		bad("Token", c.Token, spec.IdempotencyToken)
	}
	if c.Status != c.State.Status() {
		bad("Status", c.Status, fmt.Sprintf("%v (the state %v's)", c.State.Status(), c.State))
	}
}

func (cs *ctrSuite) testCreateErrors(t *testing.T) {
	ctx := context.Background()
	first := cs.create(t, cs.spec(t, "dup", "sleep", "300"))
	dup := cs.spec(t, "dup", "sleep", "300")
	dup.Name = first.Name
	if c, err := cs.ct.CreateContainer(ctx, dup); !errors.Is(err, providers.ErrAlreadyExists) {
		if err == nil {
			t.Cleanup(func() { cs.remove(t, c.NativeID) })
		}
		t.Errorf("CreateContainer(duplicate name %s): err = %v, want ErrAlreadyExists", dup.Name, err)
	}
	bad := cs.spec(t, "noimage", "true")
	bad.Image = "canopy-test/no-such-image:latest"
	c, err := cs.ct.CreateContainer(ctx, bad)
	if err == nil {
		t.Cleanup(func() { cs.remove(t, c.NativeID) })
	}
	if !errors.Is(err, providers.ErrInvalid) || !strings.Contains(err.Error(), "no-such-image") {
		t.Errorf("CreateContainer(unknown image): err = %v, want ErrInvalid naming the image", err)
	}
	missing := cs.missing()
	for name, call := range map[string]func() error{
		"StartContainer":  func() error { return cs.ct.StartContainer(ctx, missing) },
		"StopContainer":   func() error { return cs.ct.StopContainer(ctx, missing, time.Second) },
		"KillContainer":   func() error { return cs.ct.KillContainer(ctx, missing, "KILL") },
		"DeleteContainer": func() error { return cs.ct.DeleteContainer(ctx, missing, true) },
		"RenameContainer": func() error { return cs.ct.RenameContainer(ctx, missing, cs.name(t, "x")) },
	} {
		if err := call(); !errors.Is(err, providers.ErrNotFound) {
			t.Errorf("%s(missing): err = %v, want ErrNotFound", name, err)
		}
	}
}

func (cs *ctrSuite) testLifecycle(t *testing.T) {
	ctx := context.Background()
	c := cs.create(t, cs.spec(t, "life", "sleep", "300"))
	id := c.NativeID
	before := time.Now()
	if err := cs.ct.StartContainer(ctx, id); err != nil {
		t.Fatalf("StartContainer: %v", err)
	}
	c = cs.wait(t, id, "running", stateIs(providers.ContainerRunning))
	if !near(c.StartedAt, before, time.Now()) || c.Status != providers.StatusActive || c.Health != providers.HealthNone {
		t.Errorf("started: StartedAt %v (want about %v), status %v, health %v; want ACTIVE without health", c.StartedAt, before, c.Status, c.Health)
	}

	// PID 1 ignores SIGTERM, so the stop ends in SIGKILL after the timeout.
	if err := cs.ct.StopContainer(ctx, id, time.Second); err != nil {
		t.Fatalf("StopContainer: %v", err)
	}
	c = cs.wait(t, id, "stopped by a signal", killed)
	if c.FinishedAt.Before(c.StartedAt) || !near(c.FinishedAt, before, time.Now()) || c.Status != providers.StatusStopped {
		t.Errorf("stopped: StartedAt %v FinishedAt %v status %v; want a finish after the start, STOPPED", c.StartedAt, c.FinishedAt, c.Status)
	}

	// Restart from stopped, then restart while running: each starts anew.
	for _, from := range []string{"stopped", "running"} {
		prev := c.StartedAt
		if err := cs.ct.RestartContainer(ctx, id, time.Second); err != nil {
			t.Fatalf("RestartContainer (%s): %v", from, err)
		}
		c = cs.wait(t, id, "running again after a restart from "+from, func(c providers.Container) bool {
			return c.State == providers.ContainerRunning && c.StartedAt.After(prev)
		})
	}
	if err := cs.ct.StopContainer(ctx, id, time.Second); err != nil {
		t.Fatalf("StopContainer: %v", err)
	}
	cs.wait(t, id, "stopped", killed)
	if err := cs.ct.StartContainer(ctx, id); err != nil {
		t.Fatalf("StartContainer of a stopped container: %v", err)
	}
	cs.wait(t, id, "running after a start from stopped", stateIs(providers.ContainerRunning))
}

func (cs *ctrSuite) testKill(t *testing.T) {
	ctx := context.Background()
	id := cs.running(t, cs.spec(t, "kill", "sleep", "300")).NativeID
	if err := cs.ct.KillContainer(ctx, id, "NOSUCHSIGNAL"); !errors.Is(err, providers.ErrInvalid) {
		t.Errorf("KillContainer(NOSUCHSIGNAL): err = %v, want ErrInvalid", err)
	}
	if c := cs.get(t, id); c.State != providers.ContainerRunning {
		t.Fatalf("after a bad signal: state %v, want RUNNING", c.State)
	}
	// A busybox PID 1 without a handler ignores SIGTERM; a runtime with an
	// init in front may end it (143). Either way the call succeeds.
	if err := cs.ct.KillContainer(ctx, id, "SIGTERM"); err != nil {
		t.Fatalf("KillContainer(SIGTERM): %v", err)
	}
	if c := cs.get(t, id); c.State != providers.ContainerRunning {
		if !killed(c) || c.ExitCode != 143 {
			t.Fatalf("after SIGTERM: state %v exit %d, want RUNNING or STOPPED with 143", c.State, c.ExitCode)
		}
		if err := cs.ct.StartContainer(ctx, id); err != nil {
			t.Fatalf("StartContainer: %v", err)
		}
		cs.wait(t, id, "running", stateIs(providers.ContainerRunning))
	}
	for _, sig := range []string{"KILL", "9"} {
		if err := cs.ct.KillContainer(ctx, id, sig); err != nil {
			t.Fatalf("KillContainer(%s): %v", sig, err)
		}
		cs.wait(t, id, "stopped by SIG"+sig, exited(137))
		if err := cs.ct.StartContainer(ctx, id); err != nil {
			t.Fatalf("StartContainer after SIG%s: %v", sig, err)
		}
		cs.wait(t, id, "running", stateIs(providers.ContainerRunning))
	}
}

func (cs *ctrSuite) testPause(t *testing.T) {
	cs.need(t, UnsupportedPause)
	ctx := context.Background()
	id := cs.running(t, cs.spec(t, "pause", "sleep", "300")).NativeID
	if err := cs.ct.PauseContainer(ctx, id); err != nil {
		t.Fatalf("PauseContainer: %v", err)
	}
	c := cs.wait(t, id, "paused", stateIs(providers.ContainerPaused))
	if c.Status != providers.StatusStopped {
		t.Errorf("paused: status %v, want STOPPED", c.Status)
	}
	if err := cs.ct.UnpauseContainer(ctx, id); err != nil {
		t.Fatalf("UnpauseContainer: %v", err)
	}
	cs.wait(t, id, "running after unpause", stateIs(providers.ContainerRunning))
}

func (cs *ctrSuite) testRename(t *testing.T) {
	ctx := context.Background()
	c := cs.create(t, cs.spec(t, "ren", "sleep", "300"))
	other := cs.create(t, cs.spec(t, "other", "sleep", "300"))
	to := cs.name(t, "renamed")
	if err := cs.ct.RenameContainer(ctx, c.NativeID, to); err != nil {
		t.Fatalf("RenameContainer: %v", err)
	}
	if got := cs.get(t, c.NativeID); got.Name != to {
		t.Errorf("renamed: Name = %q, want %q", got.Name, to)
	}
	list, err := cs.ct.ListContainers(ctx)
	if err != nil {
		t.Fatalf("ListContainers: %v", err)
	}
	for _, l := range list {
		if l.NativeID == c.NativeID && l.Name != to {
			t.Errorf("ListContainers: renamed container named %q, want %q", l.Name, to)
		}
	}
	if err := cs.ct.RenameContainer(ctx, c.NativeID, other.Name); !errors.Is(err, providers.ErrAlreadyExists) {
		t.Errorf("RenameContainer to a name in use: err = %v, want ErrAlreadyExists", err)
	}
}

func (cs *ctrSuite) testUpdate(t *testing.T) {
	ctx := context.Background()
	spec := cs.spec(t, "upd", "sleep", "300")
	limits := cs.supports(UnsupportedLimits)
	if limits {
		spec.CPU, spec.MemoryBytes = 0.5, 64<<20
	}
	id := cs.running(t, spec).NativeID
	cpu, mem := 1.0, int64(128<<20)
	policy := providers.RestartPolicy{Name: "on-failure", MaxRetries: 2}
	u := providers.ContainerUpdate{RestartPolicy: &policy}
	if limits {
		u.CPU, u.MemoryBytes = &cpu, &mem
	}
	if err := cs.ct.UpdateContainer(ctx, id, u); err != nil {
		t.Fatalf("UpdateContainer: %v", err)
	}
	c := cs.get(t, id)
	if c.Restart != policy || c.State != providers.ContainerRunning {
		t.Errorf("updated: restart %+v state %v, want %+v RUNNING", c.Restart, c.State, policy)
	}
	if limits && (c.CPU != cpu || c.MemoryBytes != mem) {
		t.Errorf("updated: cpu %v memory %d, want %v %d", c.CPU, c.MemoryBytes, cpu, mem)
	}
	// Fields left nil stay as they are.
	if err := cs.ct.UpdateContainer(ctx, id, providers.ContainerUpdate{}); err != nil {
		t.Fatalf("UpdateContainer(nothing): %v", err)
	}
	if again := cs.get(t, id); again.Restart != c.Restart || again.CPU != c.CPU || again.MemoryBytes != c.MemoryBytes {
		t.Errorf("an empty update changed the container: %+v %v %d, was %+v %v %d", again.Restart, again.CPU, again.MemoryBytes,
			c.Restart, c.CPU, c.MemoryBytes)
	}
}
