package sim

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/canopy-cloud/canopy/providers"
)

// simExec is an exec'd process and its pipes. With a TTY the process's
// stdout and stderr are one terminal (newlines written as \r\n), and its
// input goes through a canonical-mode line discipline: echoed, handed over
// a line at a time, ^D at the start of a line is the end of input.
type simExec struct {
	p        *proc
	stdin    *io.PipeWriter // the caller's end; nil without Stdin
	stdinR   *io.PipeReader
	stdout   *io.PipeReader
	stderr   *io.PipeReader // nil with a TTY
	outW     *io.PipeWriter
	errW     *io.PipeWriter
	tty      bool
	mu       sync.Mutex
	width    uint
	height   uint
	closeOne sync.Once
}

func newExec(p *proc, spec providers.ExecSpec) *simExec {
	x := &simExec{p: p, tty: spec.TTY, width: spec.Width, height: spec.Height}
	x.stdout, x.outW = io.Pipe()
	if spec.TTY {
		t := &ttyWriter{w: x.outW}
		p.stdout, p.stderr = t, t
	} else {
		x.stderr, x.errW = io.Pipe()
		p.stdout, p.stderr = x.outW, x.errW
	}
	if spec.Stdin {
		x.stdinR, x.stdin = io.Pipe()
		in := x.stdinR
		if spec.TTY {
			procR, procW := io.Pipe()
			go lineDiscipline(x.stdinR, procW, p.stdout)
			in = procR
		}
		p.stdin = in
		p.closers = append(p.closers, func() { in.CloseWithError(io.ErrClosedPipe) })
	}
	return x
}

// finish ends the output streams once the process returned, and refuses
// further input.
func (x *simExec) finish() {
	x.outW.Close()
	if x.errW != nil {
		x.errW.Close()
	}
	if x.stdinR != nil {
		x.stdinR.CloseWithError(io.ErrClosedPipe)
	}
}

// Stdin implements providers.Exec.
func (x *simExec) Stdin() io.WriteCloser {
	if x.stdin == nil {
		return nil
	}
	return x.stdin
}

// Stdout implements providers.Exec.
func (x *simExec) Stdout() io.Reader { return x.stdout }

// Stderr implements providers.Exec.
func (x *simExec) Stderr() io.Reader {
	if x.stderr == nil {
		return nil
	}
	return x.stderr
}

// Resize implements providers.Exec.
func (x *simExec) Resize(ctx context.Context, width, height uint) error {
	if !x.tty {
		return fmt.Errorf("sim: resize exec: %w: it has no TTY", providers.ErrInvalid)
	}
	select {
	case <-x.p.done:
		return fmt.Errorf("sim: resize exec: %w: the process ended", providers.ErrConflict)
	default:
	}
	x.mu.Lock()
	x.width, x.height = width, height
	x.mu.Unlock()
	return nil
}

// Wait implements providers.Exec.
func (x *simExec) Wait(ctx context.Context) (int, error) {
	if err := x.p.waitDone(ctx); err != nil {
		return 0, fmt.Errorf("sim: exec wait: %w", err)
	}
	return x.p.code, nil
}

// Close implements providers.Exec: the process is killed if it still runs.
func (x *simExec) Close() error {
	x.closeOne.Do(func() {
		x.p.kill()
		x.stdout.Close()
		if x.stderr != nil {
			x.stderr.Close()
		}
		if x.stdin != nil {
			x.stdin.Close()
		}
	})
	return nil
}

// ttyWriter is a terminal's output: \n becomes \r\n (onlcr).
type ttyWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (t *ttyWriter) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, err := io.WriteString(t.w, strings.ReplaceAll(string(b), "\n", "\r\n")); err != nil {
		return 0, err
	}
	return len(b), nil
}

// lineDiscipline is a terminal's canonical input: what is typed is echoed
// and handed to the process a line at a time; ^D on an empty line ends the
// input, as does the caller closing stdin.
func lineDiscipline(in io.Reader, proc *io.PipeWriter, echo io.Writer) {
	defer proc.Close()
	var line []byte
	buf := make([]byte, 512)
	for {
		n, err := in.Read(buf)
		for _, b := range buf[:n] {
			switch b {
			case 0x04: // ^D
				if len(line) == 0 {
					return
				}
				if _, err := proc.Write(line); err != nil {
					return
				}
				line = nil
			case '\r', '\n':
				_, _ = echo.Write([]byte("\n"))
				line = append(line, '\n')
				if _, err := proc.Write(line); err != nil {
					return
				}
				line = nil
			default:
				_, _ = echo.Write([]byte{b})
				line = append(line, b)
			}
		}
		if err != nil {
			return
		}
	}
}
