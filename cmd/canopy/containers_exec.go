package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/spf13/cobra"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
)

// execOpts are `container exec`'s flags.
type execOpts struct {
	interactive, tty bool
	env              []string
	workdir, user    string
}

func (a containerCmds) execCmd() *cobra.Command {
	var o execOpts
	cmd := &cobra.Command{
		Use:   "exec [flags] CONTAINER COMMAND [ARG...]",
		Short: "Run a command in a running container",
		Long: `Run a command in a running container and exit with its exit code. Flags go
before CONTAINER: everything after it is the command.

-i sends canopy's stdin to the command (its end closes the command's stdin).
-t gives the command a terminal: canopy's own terminal is put in raw mode
while it runs (so Ctrl-C and the arrow keys reach the command) and its size
follows the window's; stdout and stderr then arrive together.`,
		Example: "  canopy container exec web cat /etc/hostname\n  canopy container exec -it web sh\n  echo hi | canopy container exec -i web cat",
		Args:    args(2, -1, "a CONTAINER and a COMMAND"),
		RunE: a.cmdRun(func(cmd *cobra.Command, args []string) error {
			env, err := parseEnv("env", o.env)
			if err != nil {
				return err
			}
			start := &canopyv1.ExecStart{Container: args[0], Command: args[1:], Env: env, Workdir: o.workdir, User: o.user, Tty: o.tty, Stdin: o.interactive}
			code, err := a.exec(cmd.Context(), start, cmd.InOrStdin())
			if err != nil {
				return err
			}
			return exitWith(code)
		}),
	}
	fs := cmd.Flags()
	fs.SetInterspersed(false)
	fs.BoolVarP(&o.interactive, "interactive", "i", false, "send stdin to the command")
	fs.BoolVarP(&o.tty, "tty", "t", false, "give the command a terminal (raw mode here)")
	fs.StringArrayVarP(&o.env, "env", "e", nil, "environment variable `KEY=VALUE` (repeatable)")
	fs.StringVarP(&o.workdir, "workdir", "w", "", "working directory inside the container")
	fs.StringVarP(&o.user, "user", "u", "", "user: name or uid[:gid]")
	return cmd
}

// exec runs start's command over ExecContainer: stdin (with -i) and window
// resizes (with -t) flow in while stdout and stderr flow out, until the
// exit code, the stream's last message.
func (a containerCmds) exec(ctx context.Context, start *canopyv1.ExecStart, stdin io.Reader) (int, error) {
	c, err := a.containers(ctx)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.ExecContainer(ctx)
	if err != nil {
		return 0, err
	}
	// gRPC allows one sender at a time: stdin, resizes and the close share
	// a lock.
	var sendMu sync.Mutex
	closed := false
	send := func(m *canopyv1.ExecContainerRequest) error {
		sendMu.Lock()
		defer sendMu.Unlock()
		if closed {
			return io.ErrClosedPipe
		}
		return stream.Send(m)
	}
	closeSend := func() {
		sendMu.Lock()
		defer sendMu.Unlock()
		if !closed {
			closed = true
			_ = stream.CloseSend()
		}
	}
	var term *localTerm
	if start.GetTty() {
		if term = openTerm(stdin); term != nil {
			if w, h, ok := term.size(); ok {
				start.Size = &canopyv1.TerminalSize{Width: w, Height: h}
			}
		}
	}
	if err := send(&canopyv1.ExecContainerRequest{Msg: &canopyv1.ExecContainerRequest_Start{Start: start}}); err != nil {
		return 0, a.execErr(stream, err)
	}
	if term != nil {
		restore, err := term.makeRaw()
		if err != nil {
			return 0, fmt.Errorf("put the terminal in raw mode: %w", err)
		}
		defer restore()
		stop := term.onResize(func(w, h uint32) {
			_ = send(&canopyv1.ExecContainerRequest{Msg: &canopyv1.ExecContainerRequest_Resize{Resize: &canopyv1.TerminalSize{Width: w, Height: h}}})
		})
		defer stop()
	}
	switch {
	case start.GetStdin():
		go func() {
			buf := make([]byte, 32<<10)
			for {
				n, err := stdin.Read(buf)
				if n > 0 {
					data := append([]byte(nil), buf[:n]...)
					if send(&canopyv1.ExecContainerRequest{Msg: &canopyv1.ExecContainerRequest_Stdin{Stdin: data}}) != nil {
						return
					}
				}
				if err != nil {
					_ = send(&canopyv1.ExecContainerRequest{Msg: &canopyv1.ExecContainerRequest_CloseStdin{CloseStdin: true}})
					if term == nil {
						closeSend() // no resizes to come
					}
					return
				}
			}
		}()
	case term == nil:
		closeSend() // nothing more to send
	}
	for {
		m, err := stream.Recv()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return 0, errors.New("the exec ended without an exit code")
			}
			return 0, err
		}
		switch x := m.GetMsg().(type) {
		case *canopyv1.ExecContainerResponse_Stdout:
			if _, err := a.stdout.Write(x.Stdout); err != nil {
				return 0, err
			}
		case *canopyv1.ExecContainerResponse_Stderr:
			if _, err := a.stderr.Write(x.Stderr); err != nil {
				return 0, err
			}
		case *canopyv1.ExecContainerResponse_ExitCode:
			return int(x.ExitCode), nil
		}
	}
}

// execErr is the stream's own error when a send failed because the server
// ended the stream (e.g. NOT_FOUND for the container): that says more than
// the send's EOF.
func (a containerCmds) execErr(stream interface {
	Recv() (*canopyv1.ExecContainerResponse, error)
}, sendErr error) error {
	if !errors.Is(sendErr, io.EOF) {
		return sendErr
	}
	if _, err := stream.Recv(); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return sendErr
}
