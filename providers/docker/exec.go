package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/canopy-cloud/canopy/providers"
)

// ExecContainer runs a process in a running container over Docker's
// hijacked exec stream: stdin goes up the connection, stdout and stderr
// come back multiplexed (stdcopy) and are split onto two pipes, or as one
// raw stream with a TTY. The exit code comes from ExecInspect once the
// output ended.
func (c *Cloud) ExecContainer(ctx context.Context, id string, spec providers.ExecSpec) (providers.Exec, error) {
	if len(spec.Cmd) == 0 {
		return nil, fmt.Errorf("docker: exec in %s: empty command: %w", id, providers.ErrInvalid)
	}
	h, did, _, err := c.allowed(ctx, id, providers.ActExec)
	if err != nil {
		return nil, err
	}
	eo := container.ExecOptions{
		Cmd: spec.Cmd, Env: envList(spec.Env), WorkingDir: spec.Workdir, User: spec.User, Tty: spec.TTY,
		AttachStdin: spec.Stdin, AttachStdout: true, AttachStderr: true,
	}
	var size *[2]uint
	if spec.TTY && spec.Width > 0 && spec.Height > 0 {
		size = &[2]uint{spec.Height, spec.Width}
		eo.ConsoleSize = size
	}
	created, err := h.cli.ContainerExecCreate(ctx, did, eo)
	if err != nil {
		return nil, mapErr(err, h, "exec in", did)
	}
	resp, err := h.cli.ContainerExecAttach(ctx, created.ID, container.ExecAttachOptions{Tty: spec.TTY, ConsoleSize: size})
	if err != nil {
		return nil, mapErr(err, h, "start exec in", did)
	}
	e := &execSession{h: h, did: did, id: created.ID, resp: resp, copied: make(chan struct{})}
	var outW, errW *io.PipeWriter
	e.stdout, outW = io.Pipe()
	if !spec.TTY {
		e.stderr, errW = io.Pipe()
	}
	if spec.Stdin {
		e.stdin = &execStdin{resp: &e.resp, tty: spec.TTY}
	}
	go e.copy(spec.TTY, outW, errW)
	// Daemons before API 1.42 ignore ConsoleSize: size the TTY now.
	if size != nil {
		_ = e.Resize(ctx, spec.Width, spec.Height)
	}
	return e, nil
}

// execSession is one running exec.
type execSession struct {
	h      *host
	did    string
	id     string
	resp   types.HijackedResponse
	stdin  io.WriteCloser
	stdout *io.PipeReader
	stderr *io.PipeReader
	copied chan struct{} // closed when the output ended
	once   sync.Once
}

func (e *execSession) copy(tty bool, outW, errW *io.PipeWriter) {
	defer close(e.copied)
	var err error
	if tty {
		_, err = io.Copy(outW, e.resp.Reader)
	} else {
		_, err = stdcopy.StdCopy(outW, errW, e.resp.Reader)
	}
	if err != nil && !errors.Is(err, io.EOF) {
		err = fmt.Errorf("docker: exec %s in %s on host %s: output: %w", e.id, e.did, e.h.name, err)
	} else {
		err = nil
	}
	outW.CloseWithError(err)
	if errW != nil {
		errW.CloseWithError(err)
	}
}

// Stdin is nil unless the spec asked for it.
func (e *execSession) Stdin() io.WriteCloser {
	if e.stdin == nil {
		return nil
	}
	return e.stdin
}

func (e *execSession) Stdout() io.Reader { return e.stdout }

// Stderr is nil with a TTY (everything comes on Stdout).
func (e *execSession) Stderr() io.Reader {
	if e.stderr == nil {
		return nil
	}
	return e.stderr
}

// Resize sets the TTY's size.
func (e *execSession) Resize(ctx context.Context, width, height uint) error {
	err := e.h.cli.ContainerExecResize(ctx, e.id, container.ResizeOptions{Width: width, Height: height})
	return mapErr(err, e.h, "resize exec "+e.id+" in", e.did)
}

// Wait waits until the output ended and Docker reports the process gone,
// and returns its exit code.
func (e *execSession) Wait(ctx context.Context) (int, error) {
	select {
	case <-e.copied:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	for {
		in, err := e.h.cli.ContainerExecInspect(ctx, e.id)
		if err != nil {
			return 0, mapErr(err, e.h, "inspect exec "+e.id+" in", e.did)
		}
		if !in.Running {
			return in.ExitCode, nil
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Close drops the connection; the process gets EOF on stdin and SIGPIPE
// on its next write, as with a closed `docker exec`.
func (e *execSession) Close() error {
	e.once.Do(e.resp.Close)
	return nil
}

// execStdin writes up the hijacked connection; Close half-closes it, which
// the process reads as EOF. With a TTY it does not: Docker answers a
// half-close of a terminal's input by tearing the terminal down, racing
// the process's last output (cat's echo of what was typed came back
// empty); a terminal's end of input is ^D, as with `docker exec -it`, and
// the connection closes when the process ends.
type execStdin struct {
	resp *types.HijackedResponse
	tty  bool
}

func (s *execStdin) Write(p []byte) (int, error) { return s.resp.Conn.Write(p) }

func (s *execStdin) Close() error {
	if s.tty {
		return nil
	}
	return s.resp.CloseWrite()
}
