package containerd

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	containerd "github.com/containerd/containerd"
	"github.com/containerd/containerd/cio"
	"github.com/containerd/containerd/oci"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/canopy-cloud/canopy/providers"
)

// ExecContainer runs a process in the running task. Its stdio goes
// through FIFOs under the data dir (cio's own copying), so unlike the
// main process it lasts only as long as the caller: an exec is an
// interactive call, not a service.
func (a *Adapter) ExecContainer(ctx context.Context, id string, spec providers.ExecSpec) (providers.Exec, error) {
	ctx = a.ns(ctx)
	if len(spec.Cmd) == 0 {
		return nil, errorf(providers.ErrInvalid, "exec without a command")
	}
	_, t, _, err := a.currentFor(ctx, id, providers.ActExec)
	if err != nil {
		return nil, err
	}
	c, err := a.client.LoadContainer(ctx, id)
	if err != nil {
		return nil, wrap(err, "load container %s", id)
	}
	cspec, err := c.Spec(ctx)
	if err != nil {
		return nil, wrap(err, "spec of %s", id)
	}
	pspec, err := execProcess(cspec, spec, filepath.Join("/proc", strconv.Itoa(int(t.Pid)), "root"))
	if err != nil {
		return nil, err
	}
	task, err := c.Task(ctx, nil)
	if err != nil {
		return nil, wrap(err, "load task %s", id)
	}
	return a.startExec(ctx, task, pspec, spec.Stdin, spec.Width, spec.Height)
}

// execProcess makes an exec's process spec from the container's: its
// env (the exec's added), cwd and user unless the exec says otherwise. A
// user name is looked up in the container's /etc/passwd through root (the
// task's /proc/<pid>/root).
func execProcess(cspec *oci.Spec, spec providers.ExecSpec, root string) (*specs.Process, error) {
	p := specs.Process{}
	if cspec.Process != nil {
		p = *cspec.Process
		p.Env = append([]string{}, cspec.Process.Env...)
	}
	p.Args = spec.Cmd
	p.Terminal = spec.TTY
	p.ConsoleSize = nil
	if spec.TTY && spec.Width > 0 && spec.Height > 0 {
		p.ConsoleSize = &specs.Box{Width: spec.Width, Height: spec.Height}
	}
	if len(spec.Env) > 0 {
		p.Env = mergeEnv(p.Env, envList(spec.Env))
	}
	if spec.Workdir != "" {
		if !strings.HasPrefix(spec.Workdir, "/") {
			return nil, errorf(providers.ErrInvalid, "exec workdir %q is not absolute", spec.Workdir)
		}
		p.Cwd = spec.Workdir
	}
	if spec.User != "" {
		u, err := resolveUser(root, spec.User)
		if err != nil {
			return nil, err
		}
		p.User = u
	}
	return &p, nil
}

// mergeEnv sets each of add's variables in env.
func mergeEnv(env, add []string) []string {
	out := append([]string{}, env...)
	for _, kv := range add {
		k, _, _ := strings.Cut(kv, "=")
		replaced := false
		for i, e := range out {
			if strings.HasPrefix(e, k+"=") {
				out[i], replaced = kv, true
			}
		}
		if !replaced {
			out = append(out, kv)
		}
	}
	return out
}

// resolveUser reads "user[:group]" (names or numbers) against the
// container's /etc/passwd and /etc/group.
func resolveUser(root, user string) (specs.User, error) {
	name, group, hasGroup := strings.Cut(user, ":")
	var u specs.User
	if n, err := strconv.ParseUint(name, 10, 32); err == nil {
		u.UID, u.GID = uint32(n), uint32(n)
		if uid, gid, ok := lookup(filepath.Join(root, "etc/passwd"), "", u.UID); ok {
			u.UID, u.GID = uid, gid
		}
	} else if uid, gid, ok := lookup(filepath.Join(root, "etc/passwd"), name, 0); ok {
		u.UID, u.GID = uid, gid
	} else {
		return u, errorf(providers.ErrInvalid, "user %q not in the container's /etc/passwd", name)
	}
	if hasGroup {
		if n, err := strconv.ParseUint(group, 10, 32); err == nil {
			u.GID = uint32(n)
		} else if gid, _, ok := lookup(filepath.Join(root, "etc/group"), group, 0); ok {
			u.GID = gid
		} else {
			return u, errorf(providers.ErrInvalid, "group %q not in the container's /etc/group", group)
		}
	}
	return u, nil
}

// lookup finds a passwd or group line by name (or, with name empty, by
// id) and returns its third and fourth fields.
func lookup(file, name string, id uint32) (uint32, uint32, bool) {
	b, err := os.ReadFile(file)
	if err != nil {
		return 0, 0, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Split(line, ":")
		if len(f) < 3 {
			continue
		}
		a, err := strconv.ParseUint(f[2], 10, 32)
		if err != nil {
			continue
		}
		if (name != "" && f[0] == name) || (name == "" && uint32(a) == id) {
			var g uint64
			if len(f) > 3 {
				g, _ = strconv.ParseUint(f[3], 10, 32)
			}
			return uint32(a), uint32(g), true
		}
	}
	return 0, 0, false
}

// execution is a running exec (providers.Exec).
type execution struct {
	a       *Adapter
	process containerd.Process
	stdin   *stdinPipe
	stdout  *io.PipeReader
	stderr  *io.PipeReader
	done    chan struct{}
	code    int
	err     error
	once    sync.Once
}

func (a *Adapter) startExec(ctx context.Context, task containerd.Task, p *specs.Process, withStdin bool, w, h uint) (*execution, error) {
	var b [8]byte
	_, _ = rand.Read(b[:])
	execID := "exec-" + hex.EncodeToString(b[:])
	outR, outW := io.Pipe()
	var errR *io.PipeReader
	var errW *io.PipeWriter
	if !p.Terminal {
		errR, errW = io.Pipe()
	}
	e := &execution{a: a, stdout: outR, stderr: errR, done: make(chan struct{})}
	var in io.Reader
	var inR *io.PipeReader
	ready := make(chan struct{}) // e.process is set
	if withStdin {
		var inW *io.PipeWriter
		inR, inW = io.Pipe()
		// The shim holds the stdin FIFO open for writing itself, so our
		// closing it is no EOF to the process until CloseIO drops the
		// shim's end (what ctr and nerdctl do); the data already in the
		// FIFO is still delivered. Not with a terminal: there the shim
		// answers EOF by closing the console, which hangs the process up
		// (SIGHUP) before it read what was typed; a terminal's end of
		// input is ^D, as in Docker.
		in = inR
		if !p.Terminal {
			in = &eofHook{r: inR, hook: func() {
				<-ready
				_ = e.process.CloseIO(a.ns(context.Background()), containerd.WithStdinCloser)
			}}
		}
		e.stdin = &stdinPipe{w: inW}
	}
	fifoDir := filepath.Join(a.dataDir, "fifo")
	if err := os.MkdirAll(fifoDir, 0o700); err != nil {
		return nil, fmt.Errorf("containerd: fifo dir: %w", err)
	}
	opts := []cio.Opt{cio.WithFIFODir(fifoDir)}
	if errW != nil {
		opts = append(opts, cio.WithStreams(in, outW, errW))
	} else {
		opts = append(opts, cio.WithStreams(in, outW, nil), cio.WithTerminal)
	}
	process, err := task.Exec(ctx, execID, p, cio.NewCreator(opts...))
	if err != nil {
		return nil, wrap(err, "exec in %s", task.ID())
	}
	e.process = process
	close(ready)
	exited, err := process.Wait(ctx)
	if err != nil {
		_, _ = process.Delete(a.ns(context.Background()))
		return nil, wrap(err, "exec in %s", task.ID())
	}
	if err := process.Start(ctx); err != nil {
		_, _ = process.Delete(a.ns(context.Background()))
		return nil, wrap(err, "start exec in %s", task.ID())
	}
	if p.Terminal && w > 0 && h > 0 {
		_ = process.Resize(ctx, uint32(w), uint32(h))
	}
	go func() {
		st := <-exited
		process.IO().Wait() // the output copied into the pipes, i.e. read
		outW.Close()
		if errW != nil {
			errW.Close()
		}
		if inR != nil {
			inR.Close()
		}
		e.code, e.err = int(st.ExitCode()), st.Error()
		_, _ = process.Delete(a.ns(context.Background()))
		close(e.done)
	}()
	return e, nil
}

func (e *execution) Stdin() io.WriteCloser {
	if e.stdin == nil {
		return nil
	}
	return e.stdin
}

func (e *execution) Stdout() io.Reader { return e.stdout }

func (e *execution) Stderr() io.Reader {
	if e.stderr == nil {
		return nil
	}
	return e.stderr
}

func (e *execution) Resize(ctx context.Context, width, height uint) error {
	return wrap(e.process.Resize(e.a.ns(ctx), uint32(width), uint32(height)), "resize exec")
}

// Wait returns the exit code once the process ended and its output was
// read.
func (e *execution) Wait(ctx context.Context) (int, error) {
	select {
	case <-e.done:
		if e.err != nil {
			return e.code, wrap(e.err, "exec")
		}
		return e.code, nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// Close kills the process if it still runs and releases it.
func (e *execution) Close() error {
	e.once.Do(func() {
		select {
		case <-e.done:
			return
		default:
		}
		_ = e.process.Kill(e.a.ns(context.Background()), syscall.SIGKILL)
		if e.stdin != nil {
			_ = e.stdin.Close()
		}
		// Unblock the copies if nobody reads.
		go func() { _, _ = io.Copy(io.Discard, e.stdout) }()
		if e.stderr != nil {
			go func() { _, _ = io.Copy(io.Discard, e.stderr) }()
		}
		select {
		case <-e.done:
		case <-time.After(10 * time.Second):
		}
	})
	return nil
}

// stdinPipe is an exec's stdin; closing it sends EOF to the process (cio
// closes the FIFO once the pipe ends, and the shim closes the stdin).
type stdinPipe struct {
	w *io.PipeWriter
}

func (s *stdinPipe) Write(p []byte) (int, error) {
	n, err := s.w.Write(p)
	if errors.Is(err, io.ErrClosedPipe) {
		err = fmt.Errorf("containerd: exec stdin: %w", err)
	}
	return n, err
}

func (s *stdinPipe) Close() error { return s.w.Close() }

// eofHook calls hook once when r ends, before returning its EOF.
type eofHook struct {
	r    io.Reader
	hook func()
	once sync.Once
}

func (h *eofHook) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	if err == io.EOF {
		h.once.Do(h.hook)
	}
	return n, err
}

// run execs cmd and discards its output; the healthchecks use it.
func (a *Adapter) run(ctx context.Context, id string, cmd []string) (int, error) {
	e, err := a.ExecContainer(ctx, id, providers.ExecSpec{Cmd: cmd})
	if err != nil {
		return -1, err
	}
	defer e.Close()
	go func() { _, _ = io.Copy(io.Discard, e.Stdout()) }()
	go func() { _, _ = io.Copy(io.Discard, e.Stderr()) }()
	return e.Wait(ctx)
}
