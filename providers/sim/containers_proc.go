package sim

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/canopy-cloud/canopy/providers"
)

// A simulated process: the container's main process, an exec or a health
// probe. It runs the simulated busybox (containers_shell.go) on its own
// goroutine; kill ends it at its next step, as SIGKILL would.
type proc struct {
	pid     int
	argv    []string
	env     map[string]string
	cwd     string
	user    string
	uid     int
	gid     int
	ctr     *ctr
	st      *containerState
	started time.Time

	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer

	killOnce sync.Once
	killed   chan struct{} // closed by kill
	ended    chan struct{} // closed when the program returned
	done     chan struct{} // closed once its end is recorded
	code     int
	closers  []func() // unblock reads when killed (stdin pipes)
}

// newProc prepares a process in r; callers hold st.mu.
func (st *containerState) newProc(r *ctr, argv []string, env map[string]string, cwd, user string) (*proc, error) {
	name, uid, gid, err := r.fs.lookupUser(user)
	if err != nil {
		return nil, err
	}
	if cwd == "" {
		cwd = "/"
	}
	r.fs.mkdirAll(cwd)
	r.nextPID++
	return &proc{pid: r.nextPID, argv: argv, env: env, cwd: cwd, user: name, uid: uid, gid: gid, ctr: r, st: st,
		started: time.Now(), stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard,
		killed: make(chan struct{}), ended: make(chan struct{}), done: make(chan struct{})}, nil
}

// kill ends the process: SIGKILL, which nothing ignores.
func (p *proc) kill() {
	p.killOnce.Do(func() {
		close(p.killed)
		for _, c := range p.closers {
			c()
		}
	})
}

func (p *proc) isKilled() bool {
	select {
	case <-p.killed:
		return true
	default:
		return false
	}
}

// waitDone waits until the process's end is recorded.
func (p *proc) waitDone(ctx context.Context) error {
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// step is called before each thing a process does: it waits while the
// container is paused and reports false once the process is killed.
func (p *proc) step() bool {
	return p.ctr.gate.wait(p.killed) && !p.isKilled()
}

// gate holds processes while their container is paused (the freezer).
type gate struct {
	mu   sync.Mutex
	open chan struct{} // closed: running
}

func newGate() *gate {
	ch := make(chan struct{})
	close(ch)
	return &gate{open: ch}
}

func (g *gate) pause() {
	g.mu.Lock()
	defer g.mu.Unlock()
	select {
	case <-g.open:
		g.open = make(chan struct{})
	default:
	}
}

func (g *gate) resume() {
	g.mu.Lock()
	defer g.mu.Unlock()
	select {
	case <-g.open:
	default:
		close(g.open)
	}
}

// wait blocks while paused; false when killed meanwhile.
func (g *gate) wait(killed <-chan struct{}) bool {
	g.mu.Lock()
	ch := g.open
	g.mu.Unlock()
	select {
	case <-ch:
		return true
	case <-killed:
		return false
	}
}

func (g *gate) paused() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	select {
	case <-g.open:
		return false
	default:
		return true
	}
}

// logWriter keeps what a main process writes to one stream as log
// entries, a line each, stamped when the line was written.
type logWriter struct {
	st     *containerState
	r      *ctr
	stream int
	mu     sync.Mutex
	buf    []byte
}

func (w *logWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, b...)
	var lines [][]byte
	for {
		i := strings.IndexByte(string(w.buf), '\n')
		if i < 0 {
			break
		}
		lines = append(lines, append([]byte(nil), w.buf[:i+1]...))
		w.buf = w.buf[i+1:]
	}
	w.append(lines...)
	return len(b), nil
}

// flush keeps a last line without its newline, at the process's end.
func (w *logWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		w.append(w.buf)
		w.buf = nil
	}
}

func (w *logWriter) append(lines ...[]byte) {
	if len(lines) == 0 {
		return
	}
	w.st.mu.Lock()
	defer w.st.mu.Unlock()
	now := time.Now()
	for _, l := range lines {
		w.r.logs = append(w.r.logs, providers.LogEntry{Stream: w.stream, Time: now, Data: l})
	}
	w.st.wakeLogs(w.r)
}

// wakeLogs wakes log followers; callers hold st.mu.
func (st *containerState) wakeLogs(r *ctr) {
	close(r.logWake)
	r.logWake = make(chan struct{})
}

// signals are Linux's (x86) by name; numbers 1-64 are valid too.
var signals = map[string]int{"HUP": 1, "INT": 2, "QUIT": 3, "ILL": 4, "TRAP": 5, "ABRT": 6, "IOT": 6, "BUS": 7, "FPE": 8,
	"KILL": 9, "USR1": 10, "SEGV": 11, "USR2": 12, "PIPE": 13, "ALRM": 14, "TERM": 15, "STKFLT": 16, "CHLD": 17,
	"CONT": 18, "STOP": 19, "TSTP": 20, "TTIN": 21, "TTOU": 22, "URG": 23, "XCPU": 24, "XFSZ": 25, "VTALRM": 26,
	"PROF": 27, "WINCH": 28, "IO": 29, "POLL": 29, "PWR": 30, "SYS": 31}

// parseSignal reads "KILL", "SIGKILL", "kill" or "9", as Docker does.
func parseSignal(s string) (int, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n < 1 || n > 64 {
			return 0, fmt.Errorf("%w: invalid signal %q", providers.ErrInvalid, s)
		}
		return n, nil
	}
	name := strings.TrimPrefix(strings.ToUpper(s), "SIG")
	if n, ok := signals[name]; ok {
		return n, nil
	}
	return 0, fmt.Errorf("%w: invalid signal %q", providers.ErrInvalid, s)
}
