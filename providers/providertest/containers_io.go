package providertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/canopy-cloud/canopy/providers"
)

// What runs inside and comes out of a container (providers.ContainerIO):
// logs, exec, stats and processes. Every read has a deadline: a reader
// that never ends fails the test instead of hanging it.

// logStream reads a LogReader on its own goroutine so each read can time out.
type logStream struct {
	r       providers.LogReader
	entries chan providers.LogEntry
	err     chan error // the error that ended the stream (io.EOF when it ended well)
}

func (cs *ctrSuite) openLogs(t *testing.T, id string, opts providers.LogOptions) *logStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r, err := cs.io.ContainerLogs(ctx, id, opts)
	if err != nil {
		cancel()
		t.Fatalf("ContainerLogs(%s, %+v): %v", id, opts, err)
	}
	ls := &logStream{r: r, entries: make(chan providers.LogEntry), err: make(chan error, 1)}
	done := make(chan struct{})
	go func() {
		for {
			e, err := r.Next()
			if err != nil {
				ls.err <- err
				return
			}
			select {
			case ls.entries <- e:
			case <-done:
				return
			}
		}
	}()
	t.Cleanup(func() { close(done); cancel(); _ = r.Close() })
	return ls
}

// next returns the next entry, or nil at the end of the stream (failing
// the test unless the end is io.EOF), failing at the deadline.
func (ls *logStream) next(t *testing.T, timeout time.Duration) *providers.LogEntry {
	t.Helper()
	select {
	case e := <-ls.entries:
		return &e
	case err := <-ls.err:
		if !errors.Is(err, io.EOF) {
			t.Fatalf("LogReader.Next: %v, want entries then io.EOF", err)
		}
		return nil
	case <-time.After(timeout):
		t.Fatalf("LogReader.Next: nothing after %s", timeout)
		return nil
	}
}

// logs reads a container's whole log selected by opts.
func (cs *ctrSuite) logs(t *testing.T, id string, opts providers.LogOptions) []providers.LogEntry {
	t.Helper()
	ls := cs.openLogs(t, id, opts)
	var out []providers.LogEntry
	deadline := time.Now().Add(cs.fx.WaitTimeout)
	for {
		e := ls.next(t, time.Until(deadline))
		if e == nil {
			return out
		}
		out = append(out, *e)
	}
}

// text joins the data of one stream's entries.
func text(entries []providers.LogEntry, stream int) string {
	var b strings.Builder
	for _, e := range entries {
		if e.Stream == stream {
			b.Write(e.Data)
		}
	}
	return b.String()
}

// show prints entries for a failure message.
func show(entries []providers.LogEntry) string {
	parts := make([]string, len(entries))
	for i, e := range entries {
		parts[i] = fmt.Sprintf("%d:%q", e.Stream, e.Data)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

func (cs *ctrSuite) testLogs(t *testing.T) {
	cs.needIO(t)
	all := providers.LogOptions{Stdout: true, Stderr: true, Tail: -1}
	t.Run("NeverStarted", func(t *testing.T) {
		c := cs.create(t, cs.spec(t, "lognew", "sh", "-c", "echo never"))
		if got := cs.logs(t, c.NativeID, all); len(got) != 0 {
			t.Errorf("logs of a container never started: %s, want none", show(got))
		}
	})
	t.Run("Streams", func(t *testing.T) {
		c := cs.run(t, cs.spec(t, "logs", "sh", "-c", "echo one; echo two >&2; echo three; echo four >&2"))
		c = cs.wait(t, c.NativeID, "exited", exited(0))
		got := cs.logs(t, c.NativeID, all)
		if out, errs := text(got, providers.StreamStdout), text(got, providers.StreamStderr); out != "one\nthree\n" || errs != "two\nfour\n" {
			t.Errorf("logs: stdout %q stderr %q, want %q and %q", out, errs, "one\nthree\n", "two\nfour\n")
		}
		for _, e := range got {
			if e.Stream != providers.StreamStdout && e.Stream != providers.StreamStderr {
				t.Errorf("log entry %q on stream %d", e.Data, e.Stream)
			}
		}
		onlyOut := cs.logs(t, c.NativeID, providers.LogOptions{Stdout: true, Tail: -1})
		if text(onlyOut, providers.StreamStderr) != "" || text(onlyOut, providers.StreamStdout) != "one\nthree\n" {
			t.Errorf("stdout only: %s", show(onlyOut))
		}
		onlyErr := cs.logs(t, c.NativeID, providers.LogOptions{Stderr: true, Tail: -1})
		if text(onlyErr, providers.StreamStdout) != "" || text(onlyErr, providers.StreamStderr) != "two\nfour\n" {
			t.Errorf("stderr only: %s", show(onlyErr))
		}
		stamped := cs.logs(t, c.NativeID, providers.LogOptions{Stdout: true, Stderr: true, Tail: -1, Timestamps: true})
		if text(stamped, providers.StreamStdout) != "one\nthree\n" {
			t.Errorf("with timestamps, stdout = %q: the time belongs in LogEntry.Time, not the data", text(stamped, providers.StreamStdout))
		}
		last := map[int]time.Time{}
		for _, e := range stamped {
			if e.Time.IsZero() || !near(e.Time, c.StartedAt, c.FinishedAt) {
				t.Errorf("entry %q: time %v, want one between the start %v and the finish %v", e.Data, e.Time, c.StartedAt, c.FinishedAt)
			}
			if e.Time.Before(last[e.Stream]) {
				t.Errorf("entry %q: time %v before the previous entry's %v", e.Data, e.Time, last[e.Stream])
			}
			last[e.Stream] = e.Time
		}
	})
	t.Run("Tail", func(t *testing.T) {
		c := cs.run(t, cs.spec(t, "logtail", "sh", "-c", "echo a; echo b; echo c"))
		cs.wait(t, c.NativeID, "exited", exited(0))
		if got := text(cs.logs(t, c.NativeID, providers.LogOptions{Stdout: true, Stderr: true, Tail: 2}), providers.StreamStdout); got != "b\nc\n" {
			t.Errorf("Tail 2: %q, want %q", got, "b\nc\n")
		}
		if got := text(cs.logs(t, c.NativeID, providers.LogOptions{Stdout: true, Tail: -1}), providers.StreamStdout); got != "a\nb\nc\n" {
			t.Errorf("Tail -1: %q, want everything", got)
		}
	})
	t.Run("Since", func(t *testing.T) {
		c := cs.run(t, cs.spec(t, "logsince", "sh", "-c", "echo early; sleep 1; echo late"))
		cs.wait(t, c.NativeID, "exited", exited(0))
		got := cs.logs(t, c.NativeID, providers.LogOptions{Stdout: true, Tail: -1, Timestamps: true})
		if len(got) != 2 || string(got[0].Data) != "early\n" || string(got[1].Data) != "late\n" {
			t.Fatalf("logs = %s, want early and late", show(got))
		}
		if gap := got[1].Time.Sub(got[0].Time); gap < 900*time.Millisecond {
			t.Fatalf("late came %v after early, want about the 1s slept", gap)
		}
		since := got[0].Time.Add(500 * time.Millisecond)
		if got := text(cs.logs(t, c.NativeID, providers.LogOptions{Stdout: true, Tail: -1, Since: since}), providers.StreamStdout); got != "late\n" {
			t.Errorf("Since %v: %q, want only the late line", since, got)
		}
	})
	t.Run("Follow", func(t *testing.T) {
		c := cs.run(t, cs.spec(t, "logfollow", "sh", "-c", "echo first; sleep 2; echo second"))
		ls := cs.openLogs(t, c.NativeID, providers.LogOptions{Stdout: true, Stderr: true, Tail: -1, Follow: true, Timestamps: true})
		first := ls.next(t, cs.fx.WaitTimeout)
		gotFirst := time.Now()
		second := ls.next(t, cs.fx.WaitTimeout)
		if first == nil || second == nil || string(first.Data) != "first\n" || string(second.Data) != "second\n" {
			t.Fatalf("followed %v then %v, want first then second", first, second)
		}
		// The first line arrived while the container still slept: the
		// reader streams as lines come, not when the container ends.
		if !gotFirst.Before(second.Time) {
			t.Errorf("first line read at %v, after the second was written (%v): not streamed", gotFirst, second.Time)
		}
		if end := ls.next(t, cs.fx.WaitTimeout); end != nil {
			t.Errorf("after the container exited: entry %q, want io.EOF", end.Data)
		}
	})
}

// execResult is what a finished exec said.
type execResult struct {
	stdout, stderr string
	code           int
}

// exec runs a process in a container, writes input to its stdin (when the
// spec asks for stdin) and closes it, and reads until it ends.
func (cs *ctrSuite) exec(t *testing.T, id string, spec providers.ExecSpec, input ...string) execResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cs.fx.WaitTimeout)
	defer cancel()
	x, err := cs.io.ExecContainer(ctx, id, spec)
	if err != nil {
		t.Fatalf("ExecContainer(%q): %v", spec.Cmd, err)
	}
	defer x.Close()
	if spec.TTY && x.Stderr() != nil {
		t.Errorf("exec with a TTY: Stderr is not nil")
	}
	if !spec.Stdin && x.Stdin() != nil {
		t.Errorf("exec without stdin: Stdin is not nil")
	}
	var res execResult
	var wg sync.WaitGroup
	var outErr, errErr error
	read := func(r io.Reader, dst *string, rerr *error) {
		defer wg.Done()
		if r == nil {
			return
		}
		var b bytes.Buffer
		_, *rerr = io.Copy(&b, r)
		*dst = b.String()
	}
	wg.Add(2)
	go read(x.Stdout(), &res.stdout, &outErr)
	go read(x.Stderr(), &res.stderr, &errErr)
	if spec.Stdin {
		in := x.Stdin()
		if in == nil {
			t.Fatalf("exec with stdin: Stdin is nil")
		}
		for i, s := range input {
			if _, err := io.WriteString(in, s); err != nil {
				t.Fatalf("exec stdin write: %v", err)
			}
			if spec.TTY && i == 0 {
				if err := x.Resize(ctx, 120, 40); err != nil {
					t.Errorf("Resize: %v", err)
				}
			}
		}
		if err := in.Close(); err != nil {
			t.Errorf("exec stdin close: %v", err)
		}
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		_ = x.Close()
		t.Fatalf("exec %q: output did not end within %s", spec.Cmd, cs.fx.WaitTimeout)
	}
	if outErr != nil || errErr != nil {
		t.Errorf("exec %q: reading stdout: %v; stderr: %v", spec.Cmd, outErr, errErr)
	}
	if res.code, err = x.Wait(ctx); err != nil {
		t.Fatalf("exec %q: Wait: %v", spec.Cmd, err)
	}
	return res
}

func (cs *ctrSuite) testExec(t *testing.T) {
	cs.needIO(t)
	id := cs.running(t, cs.spec(t, "exec", "sleep", "300")).NativeID
	got := cs.exec(t, id, providers.ExecSpec{Cmd: []string{"sh", "-c", "cat /etc/passwd; echo err >&2; exit 7"}})
	if !strings.Contains(got.stdout, "root:x:0:0:") || !strings.Contains(got.stdout, "nobody:x:65534:") || got.stderr != "err\n" || got.code != 7 {
		t.Errorf("exec = stdout %q stderr %q exit %d; want /etc/passwd, \"err\\n\", 7", got.stdout, got.stderr, got.code)
	}
	got = cs.exec(t, id, providers.ExecSpec{Cmd: []string{"cat"}, Stdin: true}, "hello\n", "world\n")
	if got.stdout != "hello\nworld\n" || got.stderr != "" || got.code != 0 {
		t.Errorf("exec cat with stdin = stdout %q stderr %q exit %d; want the input back, 0", got.stdout, got.stderr, got.code)
	}
	got = cs.exec(t, id, providers.ExecSpec{Cmd: []string{"sh", "-c", `echo "$CANOPY_X"; pwd; id -u`},
		Env: map[string]string{"CANOPY_X": "from exec"}, Workdir: "/tmp", User: "nobody"})
	if want := "from exec\n/tmp\n65534\n"; got.stdout != want || got.code != 0 {
		t.Errorf("exec with env, workdir and user = %q exit %d, want %q", got.stdout, got.code, want)
	}
	got = cs.exec(t, id, providers.ExecSpec{Cmd: []string{"sh", "-c", "exit 0"}})
	if got.stdout != "" || got.stderr != "" || got.code != 0 {
		t.Errorf("exec exit 0 = %+v", got)
	}
	t.Run("TTY", func(t *testing.T) {
		cs.need(t, UnsupportedTTY)
		// One terminal carries both streams, \n written as \r\n.
		got := cs.exec(t, id, providers.ExecSpec{Cmd: []string{"sh", "-c", "echo out; echo err >&2"}, TTY: true, Width: 80, Height: 24})
		if got.stdout != "out\r\nerr\r\n" || got.code != 0 {
			t.Errorf("exec with a TTY = %q exit %d, want %q, 0", got.stdout, got.code, "out\r\nerr\r\n")
		}
		// What is typed is echoed, then cat writes it back; ^D at the
		// start of a line is the terminal's end of input. (Nothing else
		// writes meanwhile: the echo would interleave with it.)
		got = cs.exec(t, id, providers.ExecSpec{Cmd: []string{"cat"}, TTY: true, Stdin: true, Width: 80, Height: 24}, "ping\n", "\x04")
		if got.stdout != "ping\r\nping\r\n" || got.code != 0 {
			t.Errorf("exec cat with a TTY = %q exit %d, want %q (the echo, then cat's), 0", got.stdout, got.code, "ping\r\nping\r\n")
		}
	})
	if _, err := cs.io.ExecContainer(context.Background(), cs.missing(), providers.ExecSpec{Cmd: []string{"true"}}); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("ExecContainer(missing): err = %v, want ErrNotFound", err)
	}
}

func (cs *ctrSuite) testStatsTop(t *testing.T) {
	cs.needIO(t)
	ctx := context.Background()
	spec := cs.spec(t, "stats", "sleep", "300")
	limits := cs.supports(UnsupportedLimits)
	if limits {
		spec.MemoryBytes = 64 << 20
	}
	id := cs.running(t, spec).NativeID
	before := time.Now()
	st, err := cs.io.ContainerStats(ctx, id)
	if err != nil {
		t.Fatalf("ContainerStats: %v", err)
	}
	if !near(st.Time, before, time.Now()) || st.MemoryBytes <= 0 || st.PIDs < 1 || st.CPUPercent < 0 {
		t.Errorf("stats = %+v: want a time of now, memory > 0, pids >= 1, cpu >= 0", st)
	}
	if limits && st.MemoryLimitBytes != spec.MemoryBytes {
		t.Errorf("stats: memory limit %d, want the container's %d", st.MemoryLimitBytes, spec.MemoryBytes)
	}
	if st.MemoryLimitBytes < st.MemoryBytes {
		t.Errorf("stats: memory %d above the limit %d", st.MemoryBytes, st.MemoryLimitBytes)
	}
	top, err := cs.io.ContainerTop(ctx, id, nil)
	if err != nil {
		t.Fatalf("ContainerTop: %v", err)
	}
	if len(top.Titles) == 0 || len(top.Processes) == 0 {
		t.Fatalf("top = %+v: want titles and processes", top)
	}
	found := false
	for _, p := range top.Processes {
		if len(p) != len(top.Titles) {
			t.Errorf("top: process %q has %d columns, titles %d", p, len(p), len(top.Titles))
		}
		found = found || slices.ContainsFunc(p, func(col string) bool { return strings.Contains(col, "sleep 300") })
	}
	if !found {
		t.Errorf("top lists no 'sleep 300': %q", top.Processes)
	}
	if _, err := cs.io.ContainerStats(ctx, cs.missing()); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("ContainerStats(missing): err = %v, want ErrNotFound", err)
	}
}
