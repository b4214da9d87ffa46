package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/router"
)

// maxRunOutput bounds what RunInContainer keeps of each stream.
const maxRunOutput = 4 << 20

// ioOf finds a container and its cloud's IO driver, in a state that allows
// the action.
func (s *containerService) ioOf(ctx context.Context, ref, action string) (found, providers.ContainerIO, error) {
	f, err := s.find(ctx, "id", ref)
	if err != nil {
		return f, nil, err
	}
	if f.drv.IO == nil {
		return f, nil, router.CapabilityErr(f.cl.Name, "container_io")
	}
	if err := allowed(f, action); err != nil {
		return f, nil, err
	}
	if err := f.drv.Limit(ctx); err != nil {
		return f, nil, err
	}
	return f, f.drv.IO, nil
}

// ContainerLogs implements canopyv1.ContainerServiceServer.
func (s *containerService) ContainerLogs(req *canopyv1.ContainerLogsRequest, stream canopyv1.ContainerService_ContainerLogsServer) error {
	ctx := stream.Context()
	if req.GetTail() < 0 {
		return router.BadRequest("tail", "must not be negative (0: all), got %d", req.GetTail())
	}
	if req.GetNoStdout() && req.GetNoStderr() {
		return router.BadRequest("no_stderr", "no_stdout and no_stderr together leave nothing to stream")
	}
	f, cio, err := s.ioOf(ctx, req.GetId(), providers.ActLogs)
	if err != nil {
		return err
	}
	opts := providers.LogOptions{Follow: req.GetFollow(), Tail: -1, Timestamps: req.GetTimestamps(), Stdout: !req.GetNoStdout(), Stderr: !req.GetNoStderr()}
	if req.GetTail() > 0 {
		opts.Tail = int(req.GetTail())
	}
	if req.Since != nil {
		opts.Since = req.GetSince().AsTime()
	}
	r, err := cio.ContainerLogs(ctx, f.m.NativeID, opts)
	if err != nil {
		return router.CloudErr(f.cl.Name, "logs of container "+f.m.NativeID, err)
	}
	defer r.Close()
	for {
		e, err := r.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil // the caller hung up (logs -f ended by Ctrl-C)
			}
			return router.CloudErr(f.cl.Name, "logs of container "+f.m.NativeID, err)
		}
		msg := &canopyv1.ContainerLogsResponse{Stream: canopyv1.ContainerLogsResponse_Stream(e.Stream), Data: e.Data}
		if req.GetTimestamps() {
			msg.Time = ts(e.Time)
		}
		if err := stream.Send(msg); err != nil {
			return err
		}
	}
}

// execSpecOf validates an exec's start message.
func execSpecOf(st *canopyv1.ExecStart) (providers.ExecSpec, error) {
	if st == nil {
		return providers.ExecSpec{}, router.BadRequest("start", "required: the first message says what to run")
	}
	if err := checkArgv("start.command", st.GetCommand(), true); err != nil {
		return providers.ExecSpec{}, err
	}
	if err := checkEnv("start.env", st.GetEnv()); err != nil {
		return providers.ExecSpec{}, err
	}
	spec := providers.ExecSpec{Cmd: st.GetCommand(), Env: st.GetEnv(), Workdir: st.GetWorkdir(), User: st.GetUser(), TTY: st.GetTty(), Stdin: st.GetStdin()}
	if sz := st.GetSize(); sz != nil {
		spec.Width, spec.Height = uint(sz.GetWidth()), uint(sz.GetHeight())
	}
	return spec, nil
}

// ExecContainer implements canopyv1.ContainerServiceServer: stdin and
// resizes flow in while stdout and stderr flow out; the exit code is the
// last message.
func (s *containerService) ExecContainer(stream canopyv1.ContainerService_ExecContainerServer) error {
	ctx, cancel := context.WithCancel(stream.Context())
	defer cancel()
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	spec, err := execSpecOf(first.GetStart())
	if err != nil {
		return err
	}
	f, cio, err := s.ioOf(ctx, first.GetStart().GetContainer(), providers.ActExec)
	if err != nil {
		return err
	}
	ex, err := cio.ExecContainer(ctx, f.m.NativeID, spec)
	if err != nil {
		return router.CloudErr(f.cl.Name, "exec in container "+f.m.NativeID, err)
	}
	defer ex.Close()

	var sendMu sync.Mutex
	send := func(m *canopyv1.ExecContainerResponse) error {
		sendMu.Lock()
		defer sendMu.Unlock()
		return stream.Send(m)
	}
	var wg sync.WaitGroup
	pump := func(r io.Reader, wrap func([]byte) *canopyv1.ExecContainerResponse) {
		defer wg.Done()
		if r == nil {
			return
		}
		buf := make([]byte, 32<<10)
		for {
			n, err := r.Read(buf)
			if n > 0 {
				if serr := send(wrap(bytes.Clone(buf[:n]))); serr != nil {
					cancel()
					return
				}
			}
			if err != nil {
				return
			}
		}
	}
	wg.Add(2)
	go pump(ex.Stdout(), func(b []byte) *canopyv1.ExecContainerResponse {
		return &canopyv1.ExecContainerResponse{Msg: &canopyv1.ExecContainerResponse_Stdout{Stdout: b}}
	})
	go pump(ex.Stderr(), func(b []byte) *canopyv1.ExecContainerResponse {
		return &canopyv1.ExecContainerResponse{Msg: &canopyv1.ExecContainerResponse_Stderr{Stderr: b}}
	})
	// Input: stdin bytes, its close, and resizes, until the client half-
	// closes or the process ends.
	go func() {
		stdin := ex.Stdin()
		for {
			in, err := stream.Recv()
			if err != nil {
				if stdin != nil {
					_ = stdin.Close()
				}
				return
			}
			switch m := in.GetMsg().(type) {
			case *canopyv1.ExecContainerRequest_Stdin:
				if stdin != nil {
					if _, err := stdin.Write(m.Stdin); err != nil {
						return
					}
				}
			case *canopyv1.ExecContainerRequest_CloseStdin:
				if stdin != nil && m.CloseStdin {
					_ = stdin.Close()
				}
			case *canopyv1.ExecContainerRequest_Resize:
				_ = ex.Resize(ctx, uint(m.Resize.GetWidth()), uint(m.Resize.GetHeight()))
			}
		}
	}()
	wg.Wait()
	code, err := ex.Wait(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return status.FromContextError(ctx.Err()).Err()
		}
		return router.CloudErr(f.cl.Name, "exec in container "+f.m.NativeID, err)
	}
	return send(&canopyv1.ExecContainerResponse{Msg: &canopyv1.ExecContainerResponse_ExitCode{ExitCode: int32(code)}})
}

// capped keeps the first max bytes written to it.
type capped struct {
	buf       bytes.Buffer
	max       int
	truncated bool
}

func (c *capped) Write(p []byte) (int, error) {
	if room := c.max - c.buf.Len(); room < len(p) {
		c.truncated = true
		if room > 0 {
			c.buf.Write(p[:room])
		}
		return len(p), nil
	}
	return c.buf.Write(p)
}

// run runs a process to its end with bounded output.
func run(ctx context.Context, cio providers.ContainerIO, native string, spec providers.ExecSpec, stdin []byte) (int, *capped, *capped, error) {
	spec.Stdin = len(stdin) > 0
	ex, err := cio.ExecContainer(ctx, native, spec)
	if err != nil {
		return 0, nil, nil, err
	}
	defer ex.Close()
	if w := ex.Stdin(); w != nil {
		go func() {
			_, _ = w.Write(stdin)
			_ = w.Close()
		}()
	}
	out, errb := &capped{max: maxRunOutput}, &capped{max: maxRunOutput}
	var wg sync.WaitGroup
	for _, p := range []struct {
		r io.Reader
		w io.Writer
	}{{ex.Stdout(), out}, {ex.Stderr(), errb}} {
		if p.r == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = io.Copy(p.w, p.r)
		}()
	}
	wg.Wait()
	code, err := ex.Wait(ctx)
	return code, out, errb, err
}

// RunInContainer implements canopyv1.ContainerServiceServer.
func (s *containerService) RunInContainer(ctx context.Context, req *canopyv1.RunInContainerRequest) (*canopyv1.RunInContainerResponse, error) {
	spec, err := execSpecOf(req.GetStart())
	if err != nil {
		return nil, err
	}
	if spec.TTY {
		return nil, router.BadRequest("start.tty", "RunInContainer keeps stdout and stderr apart: use ExecContainer for a terminal")
	}
	if len(req.GetStdin()) > maxRunOutput {
		return nil, router.BadRequest("stdin", "at most %d bytes, got %d", maxRunOutput, len(req.GetStdin()))
	}
	f, cio, err := s.ioOf(ctx, req.GetStart().GetContainer(), providers.ActExec)
	if err != nil {
		return nil, err
	}
	code, out, errb, err := run(ctx, cio, f.m.NativeID, spec, req.GetStdin())
	if err != nil {
		return nil, router.CloudErr(f.cl.Name, "exec in container "+f.m.NativeID, err)
	}
	return &canopyv1.RunInContainerResponse{ExitCode: int32(code), Stdout: out.buf.Bytes(), Stderr: errb.buf.Bytes(), Truncated: out.truncated || errb.truncated}, nil
}

// GetContainerStats implements canopyv1.ContainerServiceServer.
func (s *containerService) GetContainerStats(ctx context.Context, req *canopyv1.GetContainerStatsRequest) (*canopyv1.ContainerStats, error) {
	f, cio, err := s.ioOf(ctx, req.GetId(), providers.ActStats)
	if err != nil {
		return nil, err
	}
	st, err := cio.ContainerStats(ctx, f.m.NativeID)
	if err != nil {
		return nil, router.CloudErr(f.cl.Name, "stats of container "+f.m.NativeID, err)
	}
	return statsPB(f.m.ID, st), nil
}

// StreamContainerStats implements canopyv1.ContainerServiceServer: one
// sample per interval until the container stops or the caller hangs up.
func (s *containerService) StreamContainerStats(req *canopyv1.StreamContainerStatsRequest, stream canopyv1.ContainerService_StreamContainerStatsServer) error {
	ctx := stream.Context()
	every, err := durationIn("interval", req.GetInterval(), req.Interval != nil, time.Second, time.Second, time.Hour)
	if err != nil {
		return err
	}
	f, cio, err := s.ioOf(ctx, req.GetId(), providers.ActStats)
	if err != nil {
		return err
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		st, err := cio.ContainerStats(ctx, f.m.NativeID)
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, providers.ErrConflict) || errors.Is(err, providers.ErrNotFound) {
			return nil // it stopped or went away: the stream ends
		}
		if err != nil {
			return router.CloudErr(f.cl.Name, "stats of container "+f.m.NativeID, err)
		}
		if err := stream.Send(statsPB(f.m.ID, st)); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		if err := f.drv.Limit(ctx); err != nil {
			return nil
		}
	}
}

// TopContainer implements canopyv1.ContainerServiceServer.
func (s *containerService) TopContainer(ctx context.Context, req *canopyv1.TopContainerRequest) (*canopyv1.TopContainerResponse, error) {
	if err := checkArgv("ps_args", req.GetPsArgs(), false); err != nil {
		return nil, err
	}
	f, cio, err := s.ioOf(ctx, req.GetId(), providers.ActTop)
	if err != nil {
		return nil, err
	}
	top, err := cio.ContainerTop(ctx, f.m.NativeID, req.GetPsArgs())
	if err != nil {
		return nil, router.CloudErr(f.cl.Name, "top of container "+f.m.NativeID, err)
	}
	out := &canopyv1.TopContainerResponse{Titles: top.Titles}
	for _, p := range top.Processes {
		out.Processes = append(out.Processes, &canopyv1.ProcessRow{Fields: p})
	}
	return out, nil
}

// CommitContainer implements canopyv1.ContainerServiceServer.
func (s *containerService) CommitContainer(ctx context.Context, req *canopyv1.CommitContainerRequest) (*canopyv1.Image, error) {
	ref := req.GetReference()
	if ref == "" || len(ref) > 255 || !validReference(ref) {
		return nil, router.BadRequest("reference", "required: name:tag in lower case, e.g. myapp:v2; got %q", ref)
	}
	f, err := s.find(ctx, "id", req.GetId())
	if err != nil {
		return nil, err
	}
	if f.drv.Commit == nil {
		return nil, router.CapabilityErr(f.cl.Name, "container_commit")
	}
	if err := allowed(f, providers.ActCommit); err != nil {
		return nil, err
	}
	if err := f.drv.Limit(ctx); err != nil {
		return nil, err
	}
	im, err := f.drv.Commit.CommitContainer(ctx, f.m.NativeID, providers.CommitSpec{Reference: ref, Message: req.GetMessage(), Author: req.GetAuthor(), Pause: !req.GetNoPause()})
	if err != nil {
		return nil, router.CloudErr(f.cl.Name, "commit container "+f.m.NativeID, err)
	}
	ids, err := s.rt.Adopt(ctx, f.cl, providers.KindImage, []string{im.NativeID})
	if err != nil {
		return nil, err
	}
	return imagePB(f.cl.Name, ids[im.NativeID].ID, im), nil
}

// validReference is a Docker reference: lower-case path components of
// [a-z0-9._-] separated by '/', an optional :tag of [A-Za-z0-9_.-].
func validReference(ref string) bool {
	name, tag := ref, ""
	if i := lastColonAfterSlash(ref); i >= 0 {
		name, tag = ref[:i], ref[i+1:]
		if tag == "" || len(tag) > 128 {
			return false
		}
		for _, r := range tag {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-') {
				return false
			}
		}
	}
	if name == "" {
		return false
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-' || r == '/') {
			return false
		}
	}
	return true
}

func lastColonAfterSlash(ref string) int {
	for i := len(ref) - 1; i >= 0; i-- {
		switch ref[i] {
		case ':':
			return i
		case '/':
			return -1
		}
	}
	return -1
}

// probeUntilReady runs a ready probe every interval until it passes (the
// pass is recorded, so `ready` shows it) or its timeout ends.
func (s containerSteps) probeUntilReady(ctx context.Context, cl *router.Cloud, id, native string, p readyProbe) error {
	if cl.Containers.IO == nil {
		return router.CapabilityErr(cl.Name, "container_io (ready probes run inside the container)")
	}
	ctx, cancel := context.WithTimeout(ctx, p.Timeout)
	defer cancel()
	var last string
	for {
		c, err := cl.Containers.GetContainer(ctx, native)
		if errors.Is(err, providers.ErrNotFound) {
			return status.Errorf(codes.Aborted, "container %s was deleted before it became ready", id)
		}
		if err == nil && (c.State == providers.ContainerStopped || c.State == providers.ContainerDead) {
			return status.Errorf(codes.FailedPrecondition, "container %s exited with code %d before its ready probe passed (last: %s)", id, c.ExitCode, last)
		}
		if err == nil && c.State == providers.ContainerRunning {
			ok, why := probeOnce(ctx, cl.Containers.IO, c, p)
			if ok {
				rec := s.record(ctx, id)
				rec.ProbePassed = time.Now()
				if err := s.putRecord(ctx, id, rec); err != nil {
					return router.StoreErr("record container "+id, err)
				}
				return nil
			}
			last = why
		}
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return status.Errorf(codes.DeadlineExceeded, "container %s: ready probe did not pass within %s (last: %s)", id, p.Timeout, last)
			}
			return ctx.Err()
		case <-time.After(p.Interval):
		}
	}
}

// probeOnce runs a ready probe once. A TCP probe dials the container's
// address when it has one reachable from canopyd; without one (a container
// in its own network namespace with only loopback) it connects from inside
// with the image's `nc`.
func probeOnce(ctx context.Context, cio providers.ContainerIO, c providers.Container, p readyProbe) (bool, string) {
	pctx, cancel := context.WithTimeout(ctx, p.Interval+5*time.Second)
	defer cancel()
	argv := p.Command
	if p.TCPPort != 0 {
		for _, a := range c.Addresses {
			conn, err := (&net.Dialer{Timeout: time.Second}).DialContext(pctx, "tcp", net.JoinHostPort(a.IP, strconv.Itoa(int(p.TCPPort))))
			if err == nil {
				conn.Close()
				return true, ""
			}
			return false, err.Error()
		}
		argv = []string{"nc", "-w", "1", "127.0.0.1", strconv.Itoa(int(p.TCPPort))}
	}
	code, _, errb, err := run(pctx, cio, c.NativeID, providers.ExecSpec{Cmd: argv}, nil)
	if err != nil {
		return false, err.Error()
	}
	if code != 0 {
		return false, fmt.Sprintf("%v exited %d: %s", argv, code, bytes.TrimSpace(errb.buf.Bytes()))
	}
	return true, ""
}
