//go:build docker

package docker_test

// Focused tests of the adapter on the real dockerd (beyond the conformance
// suite): Docker's own behaviours the adapter maps, and several hosts.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/providers/docker"
)

func open(t *testing.T, opts map[string]any) *docker.Cloud {
	t.Helper()
	if opts == nil {
		opts = map[string]any{"hosts": []any{dockerHost(t)}}
	}
	p, err := providers.Open(context.Background(), docker.Kind, providers.Config{Name: "docker-test", Options: opts})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p.(*docker.Cloud)
}

func name(what string) string { return fmt.Sprintf("dtest-%s-%d", what, time.Now().UnixNano()%1e9) }

// create makes a container and force-deletes it at cleanup.
func create(t *testing.T, c *docker.Cloud, spec providers.ContainerSpec) providers.Container {
	t.Helper()
	if spec.Image == "" {
		spec.Image = testImage
	}
	ct, err := c.CreateContainer(context.Background(), spec)
	if err != nil {
		t.Fatalf("create %q: %v", spec.Name, err)
	}
	t.Cleanup(func() { _ = c.DeleteContainer(context.Background(), ct.NativeID, true) })
	return ct
}

func waitState(t *testing.T, c *docker.Cloud, id string, want providers.ContainerState) providers.Container {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ct, err := c.GetContainer(context.Background(), id)
		if err == nil && ct.State == want {
			return ct
		}
		if time.Now().After(deadline) {
			t.Fatalf("container %s: state %v (err %v), want %v", id, ct.State, err, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestCreateFillsEverything(t *testing.T) {
	c := open(t, nil)
	ctx := context.Background()
	tok := fmt.Sprintf("tok-%d", time.Now().UnixNano())
	ct := create(t, c, providers.ContainerSpec{
		Name: name("full"), Command: []string{"sleep", "300"}, Entrypoint: []string{"/bin/busybox"},
		Env: map[string]string{"A": "1"}, Labels: map[string]string{"team": "blue"},
		CPU: 0.5, MemoryBytes: 64 << 20, RestartPolicy: providers.RestartPolicy{Name: "on-failure", MaxRetries: 2},
		Healthcheck: &providers.Healthcheck{Cmd: []string{"true"}, Interval: time.Second, Timeout: time.Second, Retries: 2},
		Workdir:     "/tmp", User: "nobody", Hostname: "box", Interactive: true,
		Mounts:           []providers.Mount{{Type: "tmpfs", Target: "/scratch"}, {Type: "volume", Target: "/data"}},
		IdempotencyToken: tok,
	})
	if ct.State != providers.ContainerCreated || ct.Token != tok || ct.Labels["team"] != "blue" || len(ct.Labels) != 1 ||
		ct.CPU != 0.5 || ct.MemoryBytes != 64<<20 || ct.Restart.Name != "on-failure" || ct.Restart.MaxRetries != 2 ||
		ct.Healthcheck == nil || ct.Healthcheck.Cmd[0] != "true" || ct.Workdir != "/tmp" || ct.User != "nobody" ||
		ct.Hostname != "box" || !ct.Interactive || ct.Env["A"] != "1" || ct.Command[0] != "sleep" || ct.Entrypoint[0] != "/bin/busybox" ||
		len(ct.Mounts) != 2 || ct.Host == "" || ct.Created.IsZero() || ct.Image != testImage || ct.ImageID == "" {
		t.Errorf("created container = %+v", ct)
	}
	if err := c.StartContainer(ctx, ct.NativeID); err != nil {
		t.Fatal(err)
	}
	got := waitState(t, c, ct.NativeID, providers.ContainerRunning)
	if got.StartedAt.IsZero() || got.Status != providers.StatusActive {
		t.Errorf("running: %+v", got)
	}
	// The healthcheck turns HEALTHY.
	deadline := time.Now().Add(20 * time.Second)
	for got.Health != providers.HealthHealthy && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		got, _ = c.GetContainer(ctx, ct.NativeID)
	}
	if got.Health != providers.HealthHealthy {
		t.Errorf("health = %v, want HEALTHY", got.Health)
	}
	list, err := c.ListContainers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, l := range list {
		found = found || l.NativeID == ct.NativeID && l.Token == tok
	}
	if !found {
		t.Errorf("ListContainers does not have %s", ct.NativeID)
	}
}

func TestCreateErrors(t *testing.T) {
	c := open(t, nil)
	ctx := context.Background()
	for what, tc := range map[string]struct {
		spec providers.ContainerSpec
		want error
		says string
	}{
		"missing image": {providers.ContainerSpec{Name: name("noimg"), Image: "canopy-test/none:latest"}, providers.ErrInvalid, "canopy-test/none"},
		"tiny memory":   {providers.ContainerSpec{Name: name("mem"), Image: testImage, MemoryBytes: 1 << 20}, providers.ErrInvalid, "memory"},
		"ports":         {providers.ContainerSpec{Name: name("ports"), Image: testImage, Ports: []providers.PortBinding{{ContainerPort: 80}}}, providers.ErrUnsupported, "bridge"},
		"bad name":      {providers.ContainerSpec{Name: "-bad name-", Image: testImage}, providers.ErrInvalid, ""},
		"no command":    {providers.ContainerSpec{Name: name("nocmd"), Image: testImage}, providers.ErrInvalid, ""},
	} {
		_, err := c.CreateContainer(ctx, tc.spec)
		if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%s: err = %v, want %v naming %q", what, err, tc.want, tc.says)
		}
		if tc.spec.Name != "" {
			if list, _ := c.ListContainers(ctx); len(list) > 0 {
				for _, l := range list {
					if l.Name == tc.spec.Name {
						t.Errorf("%s: left %s behind", what, l.NativeID)
					}
				}
			}
		}
	}
	ct := create(t, c, providers.ContainerSpec{Name: name("dup"), Command: []string{"true"}})
	if _, err := c.CreateContainer(ctx, providers.ContainerSpec{Name: ct.Name, Image: testImage, Command: []string{"true"}}); !errors.Is(err, providers.ErrAlreadyExists) {
		t.Errorf("same name: err = %v, want ErrAlreadyExists", err)
	}
	if _, err := c.GetContainer(ctx, strings.Repeat("0", 64)); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("get missing: err = %v, want ErrNotFound", err)
	}
	if err := c.DeleteContainer(ctx, strings.Repeat("0", 64), true); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("delete missing: err = %v, want ErrNotFound", err)
	}
}

func TestReplayFindsTheFirst(t *testing.T) {
	c := open(t, nil)
	tok := fmt.Sprintf("tok-%d", time.Now().UnixNano())
	spec := providers.ContainerSpec{Name: name("replay"), Image: testImage, Command: []string{"true"}, IdempotencyToken: tok}
	first := create(t, c, spec)
	spec.Replay = true
	again := create(t, c, spec)
	if again.NativeID != first.NativeID {
		t.Errorf("replay made %s, want %s", again.NativeID, first.NativeID)
	}
	// Not flagged as a replay, the name conflict still finds the token.
	spec.Replay = false
	third := create(t, c, spec)
	if third.NativeID != first.NativeID {
		t.Errorf("repeat made %s, want %s", third.NativeID, first.NativeID)
	}
}

func TestStateTableAndSignals(t *testing.T) {
	c := open(t, nil)
	ctx := context.Background()
	ct := create(t, c, providers.ContainerSpec{Name: name("st"), Command: []string{"sleep", "300"}})
	if err := c.StopContainer(ctx, ct.NativeID, time.Second); !errors.Is(err, providers.ErrConflict) || !strings.Contains(err.Error(), "CREATED") {
		t.Errorf("stop a created container: err = %v, want ErrConflict naming CREATED", err)
	}
	if err := c.KillContainer(ctx, ct.NativeID, "NOPE"); !errors.Is(err, providers.ErrInvalid) {
		t.Errorf("bad signal: err = %v, want ErrInvalid", err)
	}
	if err := c.StartContainer(ctx, ct.NativeID); err != nil {
		t.Fatal(err)
	}
	if err := c.PauseContainer(ctx, ct.NativeID); err != nil {
		t.Fatal(err)
	}
	waitState(t, c, ct.NativeID, providers.ContainerPaused)
	if err := c.DeleteContainer(ctx, ct.NativeID, false); !errors.Is(err, providers.ErrConflict) {
		t.Errorf("delete a paused container: err = %v, want ErrConflict", err)
	}
	if err := c.UnpauseContainer(ctx, ct.NativeID); err != nil {
		t.Fatal(err)
	}
	if err := c.UpdateContainer(ctx, ct.NativeID, providers.ContainerUpdate{MemoryBytes: ptr(int64(1 << 20))}); !errors.Is(err, providers.ErrInvalid) || !strings.Contains(err.Error(), "memory") {
		t.Errorf("update memory 1 MiB: err = %v", err)
	}
	if err := c.UpdateContainer(ctx, ct.NativeID, providers.ContainerUpdate{CPU: ptr(0.25), MemoryBytes: ptr(int64(32 << 20)), RestartPolicy: &providers.RestartPolicy{Name: "unless-stopped"}}); err != nil {
		t.Errorf("update: %v", err)
	}
	got, _ := c.GetContainer(ctx, ct.NativeID)
	if got.CPU != 0.25 || got.MemoryBytes != 32<<20 || got.Restart.Name != "unless-stopped" {
		t.Errorf("after update: cpu %g mem %d restart %q", got.CPU, got.MemoryBytes, got.Restart.Name)
	}
	newName := name("renamed")
	if err := c.RenameContainer(ctx, ct.NativeID, newName); err != nil {
		t.Fatal(err)
	}
	other := create(t, c, providers.ContainerSpec{Name: name("other"), Command: []string{"true"}})
	if err := c.RenameContainer(ctx, other.NativeID, newName); !errors.Is(err, providers.ErrAlreadyExists) {
		t.Errorf("rename onto a taken name: err = %v, want ErrAlreadyExists", err)
	}
	if err := c.KillContainer(ctx, ct.NativeID, "SIGKILL"); err != nil {
		t.Fatal(err)
	}
	got = waitState(t, c, ct.NativeID, providers.ContainerStopped)
	if got.ExitCode != 137 || got.FinishedAt.IsZero() {
		t.Errorf("killed: exit %d finished %v", got.ExitCode, got.FinishedAt)
	}
	if err := c.DeleteContainer(ctx, ct.NativeID, false); err != nil {
		t.Errorf("delete stopped: %v", err)
	}
	if _, err := c.GetContainer(ctx, ct.NativeID); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("after delete: err = %v, want ErrNotFound", err)
	}
}

func ptr[T any](v T) *T { return &v }

func TestLogsKeepStreamsApart(t *testing.T) {
	c := open(t, nil)
	ctx := context.Background()
	ct := create(t, c, providers.ContainerSpec{Name: name("logs"), Command: []string{"sh", "-c", "echo out1; echo err1 >&2; echo out2"}})
	if err := c.StartContainer(ctx, ct.NativeID); err != nil {
		t.Fatal(err)
	}
	waitState(t, c, ct.NativeID, providers.ContainerStopped)
	r, err := c.ContainerLogs(ctx, ct.NativeID, providers.LogOptions{Stdout: true, Stderr: true, Tail: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var got []string
	for {
		e, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if e.Time.IsZero() {
			t.Errorf("entry %q without a time", e.Data)
		}
		got = append(got, fmt.Sprintf("%d:%s", e.Stream, e.Data))
	}
	// Docker copies the two streams separately: the order within each
	// stream holds, not across them.
	var out, errs []string
	for _, g := range got {
		if strings.HasPrefix(g, "1:") {
			out = append(out, g)
		} else {
			errs = append(errs, g)
		}
	}
	if o, e := strings.Join(out, " "), strings.Join(errs, " "); o != "1:out1\n 1:out2\n" || e != "2:err1\n" {
		t.Errorf("logs = %q", got)
	}
}

func TestExecStdinAndExitCode(t *testing.T) {
	c := open(t, nil)
	ctx := context.Background()
	ct := create(t, c, providers.ContainerSpec{Name: name("exec"), Command: []string{"sleep", "300"}})
	if err := c.StartContainer(ctx, ct.NativeID); err != nil {
		t.Fatal(err)
	}
	e, err := c.ExecContainer(ctx, ct.NativeID, providers.ExecSpec{Cmd: []string{"sh", "-c", "cat; echo oops >&2; exit 3"}, Stdin: true})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	var out, errb bytes.Buffer
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); _, _ = io.Copy(&out, e.Stdout()) }()
	go func() { defer wg.Done(); _, _ = io.Copy(&errb, e.Stderr()) }()
	if _, err := io.WriteString(e.Stdin(), "hello\n"); err != nil {
		t.Fatal(err)
	}
	if err := e.Stdin().Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	code, err := e.Wait(ctx)
	if err != nil || code != 3 || out.String() != "hello\n" || errb.String() != "oops\n" {
		t.Errorf("exec: code %d err %v out %q err %q", code, err, out.String(), errb.String())
	}
	// With a TTY (busybox's stty cannot read a size here, even under
	// `docker exec -it`, so the size is only set, not read back).
	e2, err := c.ExecContainer(ctx, ct.NativeID, providers.ExecSpec{Cmd: []string{"sh", "-c", "read x; tty"}, TTY: true, Stdin: true, Width: 100, Height: 30})
	if err != nil {
		t.Fatal(err)
	}
	defer e2.Close()
	if err := e2.Resize(ctx, 120, 40); err != nil {
		t.Errorf("resize: %v", err)
	}
	if _, err := io.WriteString(e2.Stdin(), "\n"); err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(e2.Stdout())
	if i := bytes.LastIndex(b, []byte("/dev/pts/")); i >= 0 {
		b = b[i:] // after the echoed newline
	}
	if code, err := e2.Wait(ctx); err != nil || code != 0 || e2.Stderr() != nil || !strings.HasPrefix(string(b), "/dev/pts/") || !strings.HasSuffix(string(b), "\r\n") {
		t.Errorf("tty exec: code %d err %v out %q", code, err, b)
	}
}

func TestStatsTopCommitEvents(t *testing.T) {
	c := open(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	evs, _, err := c.ContainerEvents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ct := create(t, c, providers.ContainerSpec{Name: name("stats"), Command: []string{"sh", "-c", "while :; do :; done"}, MemoryBytes: 64 << 20})
	if err := c.StartContainer(ctx, ct.NativeID); err != nil {
		t.Fatal(err)
	}
	st, err := c.ContainerStats(ctx, ct.NativeID)
	if err != nil {
		t.Fatal(err)
	}
	if st.CPUPercent < 20 || st.MemoryLimitBytes != 64<<20 || st.PIDs < 1 || st.Time.IsZero() {
		t.Errorf("stats of a busy loop = %+v", st)
	}
	top, err := c.ContainerTop(ctx, ct.NativeID, nil)
	if err != nil || len(top.Titles) == 0 || len(top.Processes) == 0 {
		t.Errorf("top = %+v, %v", top, err)
	}
	ref := fmt.Sprintf("canopy-test/committed:%d", time.Now().UnixNano())
	im, err := c.CommitContainer(ctx, ct.NativeID, providers.CommitSpec{Reference: ref, Message: "m", Author: "a", Pause: true})
	if err != nil || im.NativeID != ref {
		t.Fatalf("commit = %+v, %v", im, err)
	}
	t.Cleanup(func() { _ = removeImage(context.Background(), dockerHost(t), ref) })
	from := create(t, c, providers.ContainerSpec{Name: name("fromcommit"), Image: ref, Command: []string{"true"}})
	if from.Image != ref {
		t.Errorf("container of the committed image: image %q", from.Image)
	}
	seen := map[string]bool{}
	deadline := time.After(10 * time.Second)
	for !seen["start"] || !seen["create"] {
		select {
		case e := <-evs:
			if e.NativeID == ct.NativeID {
				seen[e.Action] = true
			}
		case <-deadline:
			t.Fatalf("events seen %v, want create and start", seen)
		}
	}
}

// TestSeveralHosts opens one cloud over the same daemon twice under two
// names: ids name their host, and bare ids are still found.
func TestSeveralHosts(t *testing.T) {
	h := dockerHost(t)
	c := open(t, map[string]any{"hosts": []any{map[string]any{"name": "one", "url": h}, map[string]any{"name": "two", "url": h}}})
	ctx := context.Background()
	ct := create(t, c, providers.ContainerSpec{Name: name("hosts"), Command: []string{"true"}, Host: "two"})
	if ct.Host != "two" || !strings.HasPrefix(ct.NativeID, "two/") {
		t.Errorf("host %q id %q, want two and two/…", ct.Host, ct.NativeID)
	}
	_, did, _ := strings.Cut(ct.NativeID, "/")
	got, err := c.GetContainer(ctx, did)
	if err != nil || !strings.HasSuffix(got.NativeID, "/"+did) {
		t.Errorf("bare id: %+v, %v", got.NativeID, err)
	}
	if info, err := c.Info(ctx); err != nil || info.Regions[0] != "local" {
		t.Errorf("info = %+v, %v", info, err)
	}
}

// TestNetworkModeHost: containers share the host's network stack (the
// daemon has no bridge; nothing on the host changes).
func TestNetworkModeHost(t *testing.T) {
	c := open(t, map[string]any{"hosts": []any{dockerHost(t)}, "network_mode": "host"})
	ctx := context.Background()
	ct := create(t, c, providers.ContainerSpec{Name: name("hostnet"), Command: []string{"sh", "-c", "test -e /sys/class/net/lo"}})
	if ct.Properties["network_mode"] != "host" {
		t.Errorf("network_mode = %q, want host", ct.Properties["network_mode"])
	}
	if err := c.StartContainer(ctx, ct.NativeID); err != nil {
		t.Fatal(err)
	}
	if got := waitState(t, c, ct.NativeID, providers.ContainerStopped); got.ExitCode != 0 {
		t.Errorf("exit code %d, want 0", got.ExitCode)
	}
}

// TestHostDown: a host that does not answer fails Info and lists naming
// it (ErrUnavailable), and is passed over when a create picks a host.
func TestHostDown(t *testing.T) {
	c := open(t, map[string]any{"hosts": []any{
		map[string]any{"name": "up", "url": dockerHost(t)},
		map[string]any{"name": "down", "url": "unix://" + t.TempDir() + "/nothing.sock"},
	}})
	ctx := context.Background()
	if _, err := c.Info(ctx); !errors.Is(err, providers.ErrUnavailable) || !strings.Contains(err.Error(), "down") {
		t.Errorf("Info: err = %v, want ErrUnavailable naming host down", err)
	}
	if _, err := c.ListContainers(ctx); !errors.Is(err, providers.ErrUnavailable) {
		t.Errorf("ListContainers: err = %v, want ErrUnavailable", err)
	}
	ct := create(t, c, providers.ContainerSpec{Name: name("placed"), Command: []string{"true"}})
	if ct.Host != "up" {
		t.Errorf("placed on %q, want up", ct.Host)
	}
	if _, err := c.GetContainer(ctx, "down/"+strings.Repeat("0", 64)); !errors.Is(err, providers.ErrUnavailable) {
		t.Errorf("GetContainer on the down host: err = %v, want ErrUnavailable", err)
	}
}

// TestLogsOfATTY: a TTY container's output is one stream, read as stdout,
// a line per entry, each with its time.
func TestLogsOfATTY(t *testing.T) {
	c := open(t, nil)
	ctx := context.Background()
	ct := create(t, c, providers.ContainerSpec{Name: name("ttylogs"), TTY: true, Command: []string{"sh", "-c", "echo one; echo two >&2"}})
	if err := c.StartContainer(ctx, ct.NativeID); err != nil {
		t.Fatal(err)
	}
	waitState(t, c, ct.NativeID, providers.ContainerStopped)
	r, err := c.ContainerLogs(ctx, ct.NativeID, providers.LogOptions{Tail: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var got []string
	for {
		e, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if e.Stream != providers.StreamStdout || e.Time.IsZero() {
			t.Errorf("entry %+v: want stdout with a time", e)
		}
		got = append(got, string(e.Data))
	}
	if strings.Join(got, "|") != "one\r\n|two\r\n" {
		t.Errorf("tty logs = %q", got)
	}
}
