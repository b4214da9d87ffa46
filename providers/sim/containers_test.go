package sim_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/providers/sim"
)

// The simulated busybox's contract (containers_shell.go,
// containers_applets.go): what a container's command writes and how it
// exits. The conformance suite covers the lifecycle; this pins the shell.

// runToEnd runs cmd in a fresh container and returns its output and code.
func runToEnd(t *testing.T, c *sim.Cloud, spec providers.ContainerSpec) (stdout, stderr string, code int) {
	t.Helper()
	ctx := context.Background()
	spec.Image = sim.DefaultContainerImage
	ct, err := c.CreateContainer(ctx, spec)
	if err != nil {
		t.Fatalf("CreateContainer(%q): %v", spec.Command, err)
	}
	if err := c.StartContainer(ctx, ct.NativeID); err != nil {
		t.Fatalf("StartContainer(%q): %v", spec.Command, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, err := c.GetContainer(ctx, ct.NativeID)
		if err != nil {
			t.Fatal(err)
		}
		if got.State == providers.ContainerStopped {
			code = got.ExitCode
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%q still %v after 5s", spec.Command, got.State)
		}
		time.Sleep(2 * time.Millisecond)
	}
	r, err := c.ContainerLogs(ctx, ct.NativeID, providers.LogOptions{Stdout: true, Stderr: true, Tail: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out, errs strings.Builder
	for {
		e, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if e.Stream == providers.StreamStdout {
			out.Write(e.Data)
		} else {
			errs.Write(e.Data)
		}
	}
	return out.String(), errs.String(), code
}

func TestContainerShell(t *testing.T) {
	c := sim.New(sim.Options{Seed: 1})
	defer c.Close()
	sh := func(script string) []string { return []string{"sh", "-c", script} }
	for _, tc := range []struct {
		name   string
		cmd    []string
		env    map[string]string
		user   string
		stdout string // a "tty" case runs with a terminal
		stderr string
		code   int
	}{
		{"echo", []string{"echo", "a", "b"}, nil, "", "a b\n", "", 0},
		{"echo -n", []string{"/bin/echo", "-n", "x"}, nil, "", "x", "", 0},
		{"quotes and vars", sh(`echo $FOO "${FOO}x" '$FOO' \$FOO`), map[string]string{"FOO": "bar"}, "", "bar barx $FOO $FOO\n", "", 0},
		{"and or", sh("false && echo no || echo yes; true && echo also"), nil, "", "yes\nalso\n", "", 0},
		{"status", sh("false; echo $?; sh -c 'exit 4'; echo $?"), nil, "", "1\n4\n", "", 0},
		{"files", sh("echo hi > /tmp/f; cat /tmp/f; echo more >> /tmp/f; cat < /tmp/f"), nil, "", "hi\nhi\nmore\n", "", 0},
		{"dups", sh("echo err >&2; echo out 2>&1; echo gone 1>/dev/null; echo e2 1>&2"), nil, "", "out\n", "err\ne2\n", 0},
		{"missing file", sh("cat /nope"), nil, "", "", "cat: can't open '/nope': No such file or directory\n", 1},
		{"no such dir", sh("echo x > /nodir/f"), nil, "", "", "sh: can't create /nodir/f: No such file or directory\n", 1},
		{"not found", sh("nosuch arg"), nil, "", "", "sh: nosuch: not found\n", 127},
		{"pipes refused", sh("echo a | cat"), nil, "", "", "sh: syntax error: pipes (|) are not simulated\n", 2},
		{"exit wraps", sh("exit 300"), nil, "", "", "", 44},
		{"exit ends", sh("echo a; exit 5; echo b"), nil, "", "a\n", "", 5},
		{"cd pwd", sh("cd /etc; pwd; cat passwd >/dev/null && echo ok"), nil, "", "/etc\nok\n", "", 0},
		{"id", []string{"id"}, nil, "nobody", "uid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup)\n", "", 0},
		{"id -u numeric", []string{"id", "-u"}, nil, "1234", "1234\n", "", 0},
		{"positional", sh(`echo "$0 $1 $#"`), nil, "", "sh  0\n", "", 0},
		{"sleep", sh("sleep 0.02; echo done"), nil, "", "done\n", "", 0},
		{"comment", sh("echo a # not this"), nil, "", "a\n", "", 0},
		{"httpd daemonizes", []string{"httpd", "-p", "8080"}, nil, "", "", "", 0},
		{"wget refused", []string{"wget", "-q", "http://127.0.0.1:8080/"}, nil, "", "", "wget: can't connect to remote host (127.0.0.1): Connection refused\n", 1},
		{"tty", sh("echo out; echo err >&2"), nil, "", "out\r\nerr\r\n", "", 0},
		{"touch and env", sh("touch /tmp/t && cat /tmp/t && env"), map[string]string{"A": "1"}, "",
			"A=1\nPATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n", "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errs, code := runToEnd(t, c, providers.ContainerSpec{Command: tc.cmd, Env: tc.env, User: tc.user, TTY: tc.name == "tty"})
			if out != tc.stdout || errs != tc.stderr || code != tc.code {
				t.Errorf("%q: stdout %q stderr %q exit %d; want %q %q %d", tc.cmd, out, errs, code, tc.stdout, tc.stderr, tc.code)
			}
		})
	}
}

func TestContainerRefusals(t *testing.T) {
	ctx := context.Background()
	c := sim.New(sim.Options{Seed: 1})
	defer c.Close()
	img := sim.DefaultContainerImage
	for _, tc := range []struct {
		name string
		spec providers.ContainerSpec
	}{
		{"no command", providers.ContainerSpec{Image: img}},
		{"bad name", providers.ContainerSpec{Image: img, Name: "/x y", Command: []string{"true"}}},
		{"bad policy", providers.ContainerSpec{Image: img, Command: []string{"true"}, RestartPolicy: providers.RestartPolicy{Name: "sometimes"}}},
		{"retries without on-failure", providers.ContainerSpec{Image: img, Command: []string{"true"}, RestartPolicy: providers.RestartPolicy{Name: "always", MaxRetries: 2}}},
		{"auto-remove with a policy", providers.ContainerSpec{Image: img, Command: []string{"true"}, AutoRemove: true, RestartPolicy: providers.RestartPolicy{Name: "always"}}},
		{"tiny memory", providers.ContainerSpec{Image: img, Command: []string{"true"}, MemoryBytes: 1 << 20}},
		{"relative workdir", providers.ContainerSpec{Image: img, Command: []string{"true"}, Workdir: "tmp"}},
		{"unknown host", providers.ContainerSpec{Image: img, Command: []string{"true"}, Host: "elsewhere"}},
	} {
		if _, err := c.CreateContainer(ctx, tc.spec); !errors.Is(err, providers.ErrInvalid) {
			t.Errorf("%s: CreateContainer err = %v, want ErrInvalid", tc.name, err)
		}
	}
	// What only starting reveals, as with runc: a missing program or user.
	for _, spec := range []providers.ContainerSpec{
		{Image: img, Command: []string{"python3"}},
		{Image: img, Command: []string{"true"}, User: "nosuchuser"},
	} {
		ct, err := c.CreateContainer(ctx, spec)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.StartContainer(ctx, ct.NativeID); !errors.Is(err, providers.ErrInvalid) {
			t.Errorf("StartContainer(%q as %q): err = %v, want ErrInvalid", spec.Command, spec.User, err)
		}
		if got, _ := c.GetContainer(ctx, ct.NativeID); got.State != providers.ContainerCreated {
			t.Errorf("after a failed start: state %v, want CREATED", got.State)
		}
	}
}

// An httpd in a container serves its home to wget in the same container.
func TestContainerHTTPD(t *testing.T) {
	ctx := context.Background()
	c := sim.New(sim.Options{Seed: 1})
	defer c.Close()
	ct, err := c.CreateContainer(ctx, providers.ContainerSpec{Image: sim.DefaultContainerImage, Command: []string{"httpd", "-f", "-p", "8080", "-h", "/www"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.StartContainer(ctx, ct.NativeID); err != nil {
		t.Fatal(err)
	}
	defer c.DeleteContainer(ctx, ct.NativeID, true)
	wget := func(url string) (string, int) {
		x, err := c.ExecContainer(ctx, ct.NativeID, providers.ExecSpec{Cmd: []string{"wget", "-q", "-O", "-", url}})
		if err != nil {
			t.Fatal(err)
		}
		defer x.Close()
		go io.Copy(io.Discard, x.Stderr())
		out, _ := io.ReadAll(x.Stdout())
		code, err := x.Wait(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return string(out), code
	}
	// httpd binds on its own goroutine, as a real one takes its time.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		if _, code := wget("http://127.0.0.1:8080/"); code == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("httpd not serving after 5s")
		}
	}
	for _, tc := range []struct {
		url, out string
		code     int
	}{
		{"http://127.0.0.1:8080/", "<html><body>canopy busybox</body></html>\n", 0},
		{"http://localhost:8080/index.html", "<html><body>canopy busybox</body></html>\n", 0},
		{"http://127.0.0.1:8080/nope", "", 1},
		{"http://127.0.0.1:9090/", "", 1},
	} {
		if out, code := wget(tc.url); out != tc.out || code != tc.code {
			t.Errorf("wget %s = %q exit %d, want %q %d", tc.url, out, code, tc.out, tc.code)
		}
	}
	top, err := c.ContainerTop(ctx, ct.NativeID, nil)
	if err != nil || len(top.Processes) != 1 || top.Processes[0][7] != "httpd -f -p 8080 -h /www" {
		t.Errorf("top = %+v, %v; want the httpd alone (the execs ended)", top, err)
	}
}
