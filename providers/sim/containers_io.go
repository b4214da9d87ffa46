package sim

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/canopy-cloud/canopy/providers"
)

// What comes out of a simulated container: its logs, exec'd processes,
// stats and process list.

// simulatedProcMemory is what each simulated process counts for in stats.
const simulatedProcMemory = 512 << 10

// ContainerLogs implements providers.ContainerIO. Tail counts per stream;
// Since is inclusive; a follower ends (io.EOF) when the run it followed
// ends, or at once when the container is not running.
func (c *Cloud) ContainerLogs(ctx context.Context, id string, opts providers.LogOptions) (providers.LogReader, error) {
	if err := c.call(ctx, "ContainerLogs"); err != nil {
		return nil, err
	}
	st := c.ctr
	st.mu.Lock()
	defer st.mu.Unlock()
	r, err := st.lookup("logs", id)
	if err != nil {
		return nil, err
	}
	if err := allowed(r, providers.ActLogs); err != nil {
		return nil, err
	}
	lr := &logReader{st: st, r: r, opts: opts, ctx: ctx, closed: make(chan struct{}), skip: map[int]bool{}}
	if opts.Follow {
		lr.run = r.main
	}
	if opts.Tail >= 0 { // keep only the last Tail lines of each stream
		seen := map[int]int{}
		for i := len(r.logs) - 1; i >= 0; i-- {
			e := r.logs[i]
			if !lr.wants(e) {
				continue
			}
			if seen[e.Stream]++; seen[e.Stream] > opts.Tail {
				lr.skip[i] = true
			}
		}
	}
	return lr, nil
}

type logReader struct {
	st     *containerState
	r      *ctr
	opts   providers.LogOptions
	ctx    context.Context
	run    *proc // the main process followed; nil: no following
	pos    int
	skip   map[int]bool // entries the tail leaves out
	once   sync.Once
	closed chan struct{}
}

func (lr *logReader) wants(e providers.LogEntry) bool {
	if (e.Stream == providers.StreamStdout && !lr.opts.Stdout) || (e.Stream == providers.StreamStderr && !lr.opts.Stderr) {
		return false
	}
	return lr.opts.Since.IsZero() || !e.Time.Before(lr.opts.Since)
}

// Next implements providers.LogReader.
func (lr *logReader) Next() (providers.LogEntry, error) {
	for {
		lr.st.mu.Lock()
		for lr.pos < len(lr.r.logs) {
			e, i := lr.r.logs[lr.pos], lr.pos
			lr.pos++
			if lr.skip[i] || !lr.wants(e) {
				continue
			}
			lr.st.mu.Unlock()
			e.Data = append([]byte(nil), e.Data...) // Time is set whatever opts.Timestamps says: the sim keeps it
			return e, nil
		}
		if lr.run == nil || lr.r.main != lr.run || lr.st.containers[lr.r.c.NativeID] != lr.r {
			lr.st.mu.Unlock()
			return providers.LogEntry{}, io.EOF
		}
		wake := lr.r.logWake
		lr.st.mu.Unlock()
		select {
		case <-wake:
		case <-lr.closed:
			return providers.LogEntry{}, fmt.Errorf("sim: logs: %w", io.ErrClosedPipe)
		case <-lr.ctx.Done():
			return providers.LogEntry{}, lr.ctx.Err()
		}
	}
}

// Close implements providers.LogReader.
func (lr *logReader) Close() error {
	lr.once.Do(func() { close(lr.closed) })
	return nil
}

// ContainerStats implements providers.ContainerIO. A simulated process
// uses no CPU and 512 KiB of memory; the container's writable layer (its
// filesystem) is in memory too.
func (c *Cloud) ContainerStats(ctx context.Context, id string) (providers.ContainerStats, error) {
	if err := c.call(ctx, "ContainerStats"); err != nil {
		return providers.ContainerStats{}, err
	}
	st := c.ctr
	st.mu.Lock()
	defer st.mu.Unlock()
	r, err := st.lookup("stats", id)
	if err != nil {
		return providers.ContainerStats{}, err
	}
	if err := allowed(r, providers.ActStats); err != nil {
		return providers.ContainerStats{}, err
	}
	limit := r.c.MemoryBytes
	if limit == 0 {
		limit = containerHostMemory
	}
	return providers.ContainerStats{Time: time.Now(), MemoryBytes: r.memory(), MemoryLimitBytes: limit,
		PIDs: int64(r.procs()), BlockWriteBytes: r.fs.size()}, nil
}

// procs counts r's processes; callers hold st.mu.
func (r *ctr) procs() int {
	n := len(r.execs)
	if r.main != nil {
		n++
	}
	return n
}

// memory is what r uses; callers hold st.mu.
func (r *ctr) memory() int64 {
	return int64(r.procs())*simulatedProcMemory + r.fs.size()
}

// ContainerTop implements providers.ContainerIO, as `ps -ef` prints (the
// options are not interpreted).
func (c *Cloud) ContainerTop(ctx context.Context, id string, psArgs []string) (providers.Top, error) {
	if err := c.call(ctx, "ContainerTop"); err != nil {
		return providers.Top{}, err
	}
	st := c.ctr
	st.mu.Lock()
	defer st.mu.Unlock()
	r, err := st.lookup("top", id)
	if err != nil {
		return providers.Top{}, err
	}
	if err := allowed(r, providers.ActTop); err != nil {
		return providers.Top{}, err
	}
	top := providers.Top{Titles: []string{"UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"}}
	row := func(p *proc, ppid int) []string {
		return []string{p.user, fmt.Sprint(p.pid), fmt.Sprint(ppid), "0", p.started.Format("15:04"), "?", "00:00:00", strings.Join(p.argv, " ")}
	}
	if r.main != nil {
		top.Processes = append(top.Processes, row(r.main, 0))
	}
	for p := range r.execs {
		top.Processes = append(top.Processes, row(p, 0))
	}
	return top, nil
}

// ExecContainer implements providers.ContainerIO.
func (c *Cloud) ExecContainer(ctx context.Context, id string, spec providers.ExecSpec) (providers.Exec, error) {
	if err := c.call(ctx, "ExecContainer"); err != nil {
		return nil, err
	}
	if len(spec.Cmd) == 0 {
		return nil, fmt.Errorf("sim: exec in container %q: %w: no command", id, providers.ErrInvalid)
	}
	st := c.ctr
	st.mu.Lock()
	defer st.mu.Unlock()
	r, err := st.lookup("exec in", id)
	if err != nil {
		return nil, err
	}
	if err := allowed(r, providers.ActExec); err != nil {
		return nil, err
	}
	env := cloneMap(r.c.Env)
	for k, v := range spec.Env {
		env[k] = v
	}
	workdir, user := spec.Workdir, spec.User
	if workdir == "" {
		workdir = r.c.Workdir
	}
	if user == "" {
		user = r.c.User
	}
	p, err := st.newProc(r, spec.Cmd, env, workdir, user)
	if err != nil {
		return nil, fmt.Errorf("sim: exec in container %q: %w: %v", id, providers.ErrInvalid, err)
	}
	x := newExec(p, spec)
	r.execs[p] = true
	go func() {
		code := 127
		if isApplet(spec.Cmd[0]) {
			code = runProgram(p, spec.Cmd)
		} else {
			fmt.Fprintf(p.stderr, "exec: %q: executable file not found in $PATH\n", spec.Cmd[0])
		}
		close(p.ended)
		x.finish()
		st.mu.Lock()
		delete(r.execs, p)
		p.code = code
		st.mu.Unlock()
		close(p.done)
	}()
	st.publish(id, "exec_start: "+strings.Join(spec.Cmd, " "))
	return x, nil
}
