//go:build containerd

package containerd_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/providers/containerd"
)

// What the conformance suite does not reach: an adapter reopened over the
// containers an earlier one made (canopyd restarted), interactive and TTY
// main processes, mounts, the network namespace, limits reaching the
// cgroup, health events, committing a running container.

const image = "canopy-test/busybox:latest"

// openDir makes an adapter over the test containerd with data dir dir.
func openDir(t *testing.T, dir string) *containerd.Adapter {
	t.Helper()
	opts, err := containerd.ParseOptions(map[string]any{"address": address(t), "data_dir": dir}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, err := containerd.New(context.Background(), "containerd-test", opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return a
}

func tempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "canopy-containerd-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

// create makes a container named after the test, force-deleted at cleanup
// (through the adapter current at cleanup time).
func create(t *testing.T, a **containerd.Adapter, spec providers.ContainerSpec) string {
	t.Helper()
	if spec.Name == "" {
		spec.Name = fmt.Sprintf("ctrd-%s-%d", strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-")), time.Now().UnixNano()%1e9)
	}
	if spec.Image == "" {
		spec.Image = image
	}
	c, err := (*a).CreateContainer(context.Background(), spec)
	if err != nil {
		t.Fatalf("CreateContainer(%+v): %v", spec, err)
	}
	t.Cleanup(func() { _ = (*a).DeleteContainer(context.Background(), c.NativeID, true) })
	return c.NativeID
}

func start(t *testing.T, a *containerd.Adapter, id string) {
	t.Helper()
	if err := a.StartContainer(context.Background(), id); err != nil {
		t.Fatalf("StartContainer(%s): %v", id, err)
	}
}

// waitFor polls the container until cond holds (30 s).
func waitFor(t *testing.T, a *containerd.Adapter, id, what string, cond func(providers.Container) bool) providers.Container {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := a.GetContainer(context.Background(), id)
		if err == nil && cond(c) {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("container %s not %s after 30s (last %+v, %v)", id, what, c, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stdout reads a container's whole stdout.
func stdout(t *testing.T, a *containerd.Adapter, id string) string {
	t.Helper()
	r, err := a.ContainerLogs(context.Background(), id, providers.LogOptions{Stdout: true, Stderr: true, Tail: -1})
	if err != nil {
		t.Fatalf("ContainerLogs: %v", err)
	}
	defer r.Close()
	var b strings.Builder
	for {
		e, err := r.Next()
		if errors.Is(err, io.EOF) {
			return b.String()
		}
		if err != nil {
			t.Fatalf("logs: %v", err)
		}
		if e.Stream == providers.StreamStdout {
			b.Write(e.Data)
		}
	}
}

// execOut runs cmd in the container and returns its stdout and exit code.
func execOut(t *testing.T, a *containerd.Adapter, id string, cmd ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	x, err := a.ExecContainer(ctx, id, providers.ExecSpec{Cmd: cmd})
	if err != nil {
		t.Fatalf("exec %q: %v", cmd, err)
	}
	defer x.Close()
	go func() { _, _ = io.Copy(io.Discard, x.Stderr()) }()
	b, _ := io.ReadAll(x.Stdout())
	code, err := x.Wait(ctx)
	if err != nil {
		t.Fatalf("exec %q: %v", cmd, err)
	}
	return string(b), code
}

func running(c providers.Container) bool { return c.State == providers.ContainerRunning }

// TestReopen is canopyd restarting: the adapter closes and a new one opens
// over the same data dir. The container's logger belongs to the shim, so
// output written meanwhile is in the logs; the healthcheck resumes; a
// container that exited while no adapter watched is restarted per its
// policy when the new adapter opens.
func TestReopen(t *testing.T) {
	dir := tempDir(t)
	a := openDir(t, dir)
	t.Cleanup(func() { _ = a.Close() })
	ticker := create(t, &a, providers.ContainerSpec{
		Command:     []string{"sh", "-c", "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.1; done"},
		Healthcheck: &providers.Healthcheck{Cmd: []string{"true"}, Interval: 200 * time.Millisecond, Retries: 1},
	})
	flaky := create(t, &a, providers.ContainerSpec{
		Command:       []string{"sh", "-c", "sleep 1; exit 1"},
		RestartPolicy: providers.RestartPolicy{Name: "always"},
	})
	start(t, a, ticker)
	start(t, a, flaky)
	waitFor(t, a, ticker, "healthy", func(c providers.Container) bool { return c.Health == providers.HealthHealthy })
	before := strings.Count(stdout(t, a, ticker), "\n")
	if err := a.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	time.Sleep(2500 * time.Millisecond) // flaky exits once at least, nobody watching

	a = openDir(t, dir)
	if c, err := a.GetContainer(context.Background(), ticker); err != nil || c.State != providers.ContainerRunning {
		t.Fatalf("after reopening: %+v, %v; want RUNNING", c, err)
	}
	after := strings.Count(stdout(t, a, ticker), "\n")
	if after < before+15 {
		t.Errorf("logs: %d lines before the close, %d after 2.5 s closed; want the lines written meanwhile (≈ 25 more)", before, after)
	}
	waitFor(t, a, ticker, "healthy again", func(c providers.Container) bool { return c.Health == providers.HealthHealthy })
	c := waitFor(t, a, flaky, "restarted by the new adapter", func(c providers.Container) bool { return c.RestartCount >= 1 })
	if c.Restart.Name != "always" {
		t.Errorf("restart policy %+v", c.Restart)
	}
}

// TestInteractive: stdin stays open, so a shell reading it keeps running.
func TestInteractive(t *testing.T) {
	a := open(context.Background(), t)
	t.Cleanup(func() { _ = a.Close() })
	id := create(t, &a, providers.ContainerSpec{Command: []string{"sh", "-c", "echo ready; cat; echo never"}, Interactive: true})
	start(t, a, id)
	time.Sleep(time.Second)
	c := waitFor(t, a, id, "running", running)
	if !c.Interactive {
		t.Errorf("Interactive not reported")
	}
	if got := stdout(t, a, id); got != "ready\n" {
		t.Errorf("logs = %q, want ready (cat still waiting on stdin)", got)
	}
	if err := a.StopContainer(context.Background(), id, time.Second); err != nil {
		t.Fatalf("StopContainer: %v", err)
	}
	// Started again: a new logger, the same log.
	start(t, a, id)
	waitFor(t, a, id, "running again", running)
	time.Sleep(300 * time.Millisecond)
	if got := stdout(t, a, id); got != "ready\nready\n" {
		t.Errorf("logs after a second start = %q", got)
	}
}

// TestTTY: a main process with a terminal logs through the console.
func TestTTY(t *testing.T) {
	a := open(context.Background(), t)
	t.Cleanup(func() { _ = a.Close() })
	id := create(t, &a, providers.ContainerSpec{Command: []string{"sh", "-c", "tty; echo hi"}, TTY: true})
	start(t, a, id)
	waitFor(t, a, id, "exited", func(c providers.Container) bool { return c.State == providers.ContainerStopped })
	got := stdout(t, a, id)
	if !strings.Contains(got, "/dev/pts/") || !strings.Contains(got, "hi") {
		t.Errorf("logs = %q, want a pts and hi", got)
	}
}

// TestMountsUserNetwork: volumes persist on the host, binds and tmpfs
// mount, a user name resolves in the image, and only loopback exists.
func TestMountsUserNetwork(t *testing.T) {
	dir := tempDir(t)
	a := openDir(t, dir)
	t.Cleanup(func() { _ = a.Close() })
	host := t.TempDir()
	if err := os.WriteFile(filepath.Join(host, "in"), []byte("from host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	vol := fmt.Sprintf("vol%d", time.Now().UnixNano()%1e9)
	id := create(t, &a, providers.ContainerSpec{
		Command: []string{"sh", "-c", "echo kept > /data/out; cat /host/in; grep -c . /proc/net/dev; touch /host/ro 2>/dev/null || echo ro; mount | grep -c ' /scratch type tmpfs'"},
		Mounts: []providers.Mount{
			{Type: "volume", Source: vol, Target: "/data"},
			{Type: "bind", Source: host, Target: "/host", ReadOnly: true},
			{Type: "tmpfs", Target: "/scratch"},
		},
	})
	start(t, a, id)
	waitFor(t, a, id, "exited 0", func(c providers.Container) bool { return c.State == providers.ContainerStopped && c.ExitCode == 0 })
	// /proc/net/dev: two header lines and lo.
	if got, want := stdout(t, a, id), "from host\n3\nro\n1\n"; got != want {
		t.Errorf("output = %q, want %q", got, want)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "volumes", vol, "out")); err != nil || string(b) != "kept\n" {
		t.Errorf("volume file on the host: %q, %v", b, err)
	}
	user := create(t, &a, providers.ContainerSpec{Command: []string{"sleep", "60"}, User: "nobody"})
	start(t, a, user)
	waitFor(t, a, user, "running", running)
	if out, code := execOut(t, a, user, "id", "-u"); out != "65534\n" || code != 0 {
		t.Errorf("id -u in a nobody container = %q exit %d", out, code)
	}
	if _, err := a.CreateContainer(context.Background(), providers.ContainerSpec{Name: "ctrd-nouser", Image: image, Command: []string{"true"}, User: "nosuchuser"}); !errors.Is(err, providers.ErrInvalid) {
		t.Errorf("create with an unknown user: err = %v, want ErrInvalid", err)
	}
	if _, err := a.CreateContainer(context.Background(), providers.ContainerSpec{Name: "ctrd-nocmd", Image: image}); !errors.Is(err, providers.ErrInvalid) {
		t.Errorf("create without a command from an image without one: err = %v, want ErrInvalid", err)
	}
}

// TestLimitsReachTheCgroup: a running container's update changes its
// cgroup, not only the stored spec.
func TestLimitsReachTheCgroup(t *testing.T) {
	a := open(context.Background(), t)
	t.Cleanup(func() { _ = a.Close() })
	id := create(t, &a, providers.ContainerSpec{Command: []string{"sleep", "60"}, MemoryBytes: 64 << 20, CPU: 0.5})
	start(t, a, id)
	waitFor(t, a, id, "running", running)
	// cgroup v1 as on this host: containerd puts a task in /<namespace>/<id>.
	read := func(file string) string {
		b, err := os.ReadFile(filepath.Join("/sys/fs/cgroup", filepath.Dir(file), "canopy", id, filepath.Base(file)))
		if err != nil {
			t.Logf("%s: %v (cgroup v2 or another layout: not checked)", file, err)
			return "none"
		}
		return strings.TrimSpace(string(b))
	}
	if got := read("memory/memory.limit_in_bytes"); got != fmt.Sprint(64<<20) && got != "none" {
		t.Errorf("memory limit %s, want %d", got, 64<<20)
	}
	mem, cpu := int64(128<<20), 1.5
	if err := a.UpdateContainer(context.Background(), id, providers.ContainerUpdate{MemoryBytes: &mem, CPU: &cpu}); err != nil {
		t.Fatalf("UpdateContainer: %v", err)
	}
	if got := read("memory/memory.limit_in_bytes"); got != fmt.Sprint(128<<20) && got != "none" {
		t.Errorf("memory limit after the update %s, want %d", got, 128<<20)
	}
	if got := read("cpu/cpu.cfs_quota_us"); got != "150000" && got != "none" {
		t.Errorf("cpu quota after the update %s, want 150000", got)
	}
	// The stored spec has the new limits for the next start.
	if err := a.RestartContainer(context.Background(), id, 0); err != nil {
		t.Fatalf("RestartContainer: %v", err)
	}
	waitFor(t, a, id, "running", running)
	if c, _ := a.GetContainer(context.Background(), id); c.MemoryBytes != mem || c.CPU != cpu {
		t.Errorf("after a restart: memory %d cpu %v", c.MemoryBytes, c.CPU)
	}
	if got := read("memory/memory.limit_in_bytes"); got != fmt.Sprint(128<<20) && got != "none" {
		t.Errorf("memory limit after a restart %s, want %d", got, 128<<20)
	}
}

// TestHealthEvents: the adapter's own health changes arrive on the event
// stream beside containerd's.
func TestHealthEvents(t *testing.T) {
	a := open(context.Background(), t)
	t.Cleanup(func() { _ = a.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	events, _, err := a.ContainerEvents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	id := create(t, &a, providers.ContainerSpec{Command: []string{"sleep", "60"},
		Healthcheck: &providers.Healthcheck{Cmd: []string{"true"}, Interval: 200 * time.Millisecond}})
	start(t, a, id)
	seen := map[string]bool{}
	for !seen["health_status: healthy"] {
		select {
		case e, ok := <-events:
			if !ok {
				t.Fatalf("stream ended; saw %v", seen)
			}
			if e.NativeID == id {
				seen[e.Action] = true
			}
		case <-ctx.Done():
			t.Fatalf("no healthy event; saw %v", seen)
		}
	}
	for _, want := range []string{"create", "start", "health_status: starting"} {
		if !seen[want] {
			t.Errorf("event %q not seen (saw %v)", want, seen)
		}
	}
}

// TestCommitRunning: a running container committed while paused keeps
// running, and the image carries its files.
func TestCommitRunning(t *testing.T) {
	a := open(context.Background(), t)
	t.Cleanup(func() { _ = a.Close() })
	id := create(t, &a, providers.ContainerSpec{Command: []string{"sh", "-c", "echo live > /marker; sleep 60"}})
	start(t, a, id)
	waitFor(t, a, id, "running", running)
	time.Sleep(200 * time.Millisecond)
	ref := fmt.Sprintf("canopy-test/committed-%d:v1", time.Now().UnixNano()%1e9)
	img, err := a.CommitContainer(context.Background(), id, providers.CommitSpec{Reference: ref, Pause: true, Author: "test"})
	if err != nil {
		t.Fatalf("CommitContainer: %v", err)
	}
	t.Cleanup(func() { _ = harness{}.DeleteImage(context.Background(), a, img.NativeID) })
	if c, _ := a.GetContainer(context.Background(), id); c.State != providers.ContainerRunning {
		t.Errorf("after a pausing commit: %v, want RUNNING", c.State)
	}
	from := create(t, &a, providers.ContainerSpec{Image: img.NativeID, Command: []string{"cat", "/marker"}})
	start(t, a, from)
	waitFor(t, a, from, "exited", func(c providers.Container) bool { return c.State == providers.ContainerStopped })
	if got := stdout(t, a, from); got != "live\n" {
		t.Errorf("the committed image's /marker = %q", got)
	}
}
