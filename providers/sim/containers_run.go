package sim

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/canopy-cloud/canopy/providers"
)

// Running containers: start, stop, restart, pause, kill, the end of the
// main process (exit code, restart policy, auto-remove) and healthchecks.

// Docker's restart back-off: 100 ms, doubled at each restart, reset after a
// run of 10 s.
const (
	restartBackoff    = 100 * time.Millisecond
	restartBackoffMax = time.Minute
	restartResetAfter = 10 * time.Second
)

// startLocked starts r's main process; callers hold st.mu.
func (st *containerState) startLocked(r *ctr) error {
	argv := append(append([]string(nil), r.c.Entrypoint...), r.c.Command...)
	if !isApplet(argv[0]) {
		r.c.ExitCode = 127
		return fmt.Errorf("sim: start container %s: %w: exec: %q: executable file not found in $PATH", r.c.Name, providers.ErrInvalid, argv[0])
	}
	p, err := st.newProc(r, argv, r.c.Env, r.c.Workdir, r.c.User)
	if err != nil {
		r.c.ExitCode = 128
		return fmt.Errorf("sim: start container %s: %w: %v", r.c.Name, providers.ErrInvalid, err)
	}
	out := &logWriter{st: st, r: r, stream: providers.StreamStdout}
	errw := &logWriter{st: st, r: r, stream: providers.StreamStderr}
	p.stdout, p.stderr = out, errw
	if r.c.TTY { // one terminal: everything on stdout, newlines as \r\n
		t := &ttyWriter{w: out}
		p.stdout, p.stderr = t, t
	}
	now := time.Now()
	r.main, r.failures = p, 0
	r.c.State, r.c.ExitCode, r.c.StartedAt, r.c.Updated = providers.ContainerRunning, 0, now, now
	r.c.Health = providers.HealthNone
	if r.c.Healthcheck != nil {
		r.c.Health = providers.HealthStarting
		go st.healthLoop(r, p, *r.c.Healthcheck)
	}
	r.gate.resume()
	go func() {
		code := runProgram(p, argv)
		close(p.ended)
		out.flush()
		errw.flush()
		st.exited(r, p, code)
		close(p.done)
	}()
	st.publish(r.c.NativeID, "start")
	return nil
}

// exited records the end of r's main process p.
func (st *containerState) exited(r *ctr, p *proc, code int) {
	st.mu.Lock()
	defer st.mu.Unlock()
	p.code = code
	if r.main != p {
		return
	}
	now := time.Now()
	r.main = nil
	for x := range r.execs { // the pid namespace ends with its init
		x.kill()
	}
	clear(r.listen)
	r.c.State, r.c.ExitCode, r.c.FinishedAt, r.c.Updated = providers.ContainerStopped, code, now, now
	st.publish(r.c.NativeID, "die")
	st.wakeLogs(r)
	if r.c.AutoRemove && st.containers[r.c.NativeID] == r {
		st.remove(r)
		return
	}
	rp := r.c.Restart
	restart := !r.manual && (rp.Name == "always" || rp.Name == "unless-stopped" ||
		(rp.Name == "on-failure" && code != 0 && (rp.MaxRetries == 0 || r.c.RestartCount < rp.MaxRetries)))
	if !restart {
		return
	}
	if r.backoff == 0 || now.Sub(r.c.StartedAt) >= restartResetAfter {
		r.backoff = restartBackoff
	} else {
		r.backoff = min(2*r.backoff, restartBackoffMax)
	}
	delay := r.backoff
	r.c.State = providers.ContainerRestarting
	var t *time.Timer
	t = time.AfterFunc(delay, func() {
		st.mu.Lock()
		defer st.mu.Unlock()
		if r.restart != t || st.containers[r.c.NativeID] != r || st.closed {
			return
		}
		r.restart = nil
		r.c.RestartCount++
		if err := st.startLocked(r); err != nil {
			r.c.State = providers.ContainerStopped
			r.c.StatusMessage = err.Error()
			return
		}
		st.publish(r.c.NativeID, "restart")
	})
	r.restart = t
}

// cancelRestart drops a pending policy restart; callers hold st.mu.
func (st *containerState) cancelRestart(r *ctr) {
	if r.restart != nil {
		r.restart.Stop()
		r.restart = nil
		if r.c.State == providers.ContainerRestarting {
			r.c.State = providers.ContainerStopped
		}
	}
}

// StartContainer implements providers.Containers.
func (c *Cloud) StartContainer(ctx context.Context, id string) error {
	if err := c.call(ctx, "StartContainer"); err != nil {
		return err
	}
	st := c.ctr
	st.mu.Lock()
	defer st.mu.Unlock()
	r, err := st.lookup("start", id)
	if err != nil {
		return err
	}
	if err := allowed(r, providers.ActStart); err != nil {
		return err
	}
	r.manual = false
	return st.startLocked(r)
}

// StopContainer implements providers.Containers: SIGTERM, which a PID 1
// without a handler ignores, then SIGKILL after timeout (< 0: no timeout).
func (c *Cloud) StopContainer(ctx context.Context, id string, timeout time.Duration) error {
	if err := c.call(ctx, "StopContainer"); err != nil {
		return err
	}
	return c.ctr.stop(ctx, id, timeout, providers.ActStop)
}

func (st *containerState) stop(ctx context.Context, id string, timeout time.Duration, action string) error {
	st.mu.Lock()
	r, err := st.lookup(action, id)
	if err == nil {
		err = allowed(r, action)
	}
	if err != nil {
		st.mu.Unlock()
		return err
	}
	r.manual = true
	st.cancelRestart(r)
	p := r.main
	if p == nil { // nothing running (created, stopped, or was waiting to restart)
		st.mu.Unlock()
		return nil
	}
	st.publish(id, "kill")
	st.mu.Unlock()
	var expired <-chan time.Time
	if timeout >= 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		expired = t.C
	}
	select {
	case <-p.done:
	case <-expired:
		st.mu.Lock()
		st.publish(id, "kill")
		st.mu.Unlock()
		p.kill()
		if err := p.waitDone(ctx); err != nil {
			return fmt.Errorf("sim: %s container %q: %w", action, id, err)
		}
	case <-ctx.Done():
		return fmt.Errorf("sim: %s container %q: %w", action, id, ctx.Err())
	}
	st.mu.Lock()
	st.publish(id, "stop")
	st.mu.Unlock()
	return nil
}

// RestartContainer implements providers.Containers: a stop (as
// StopContainer) if it runs, then a start.
func (c *Cloud) RestartContainer(ctx context.Context, id string, timeout time.Duration) error {
	if err := c.call(ctx, "RestartContainer"); err != nil {
		return err
	}
	st := c.ctr
	if err := st.stop(ctx, id, timeout, providers.ActRestart); err != nil {
		return err
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	r, err := st.lookup("restart", id)
	if err != nil {
		return err
	}
	if r.main != nil { // started by someone else meanwhile
		return fmt.Errorf("sim: restart container %q: %w: started while it restarted", id, providers.ErrConflict)
	}
	r.manual = false
	if err := st.startLocked(r); err != nil {
		return err
	}
	st.publish(id, "restart")
	return nil
}

// PauseContainer implements providers.Containers.
func (c *Cloud) PauseContainer(ctx context.Context, id string) error {
	return c.pause(ctx, id, "PauseContainer", providers.ActPause, providers.ContainerPaused)
}

// UnpauseContainer implements providers.Containers.
func (c *Cloud) UnpauseContainer(ctx context.Context, id string) error {
	return c.pause(ctx, id, "UnpauseContainer", providers.ActUnpause, providers.ContainerRunning)
}

func (c *Cloud) pause(ctx context.Context, id, method, action string, to providers.ContainerState) error {
	if err := c.call(ctx, method); err != nil {
		return err
	}
	st := c.ctr
	st.mu.Lock()
	defer st.mu.Unlock()
	r, err := st.lookup(action, id)
	if err != nil {
		return err
	}
	if err := allowed(r, action); err != nil {
		return err
	}
	if to == providers.ContainerPaused {
		r.gate.pause()
	} else {
		r.gate.resume()
	}
	r.c.State, r.c.Updated = to, time.Now()
	st.publish(id, action)
	return nil
}

// KillContainer implements providers.Containers. Only SIGKILL ends a
// simulated main process (a PID 1 without handlers); the others are
// delivered and ignored.
func (c *Cloud) KillContainer(ctx context.Context, id, signal string) error {
	if err := c.call(ctx, "KillContainer"); err != nil {
		return err
	}
	sig, err := parseSignal(signal)
	if err != nil {
		return fmt.Errorf("sim: kill container %q: %w", id, err)
	}
	st := c.ctr
	st.mu.Lock()
	r, err := st.lookup("kill", id)
	if err == nil {
		err = allowed(r, providers.ActKill)
	}
	if err != nil {
		st.mu.Unlock()
		return err
	}
	r.manual = true
	st.publish(id, "kill")
	p := r.main
	if p == nil { // restarting: the pending restart is what the signal stops
		st.cancelRestart(r)
		st.mu.Unlock()
		return nil
	}
	st.mu.Unlock()
	if sig != signals["KILL"] {
		return nil
	}
	p.kill()
	if err := p.waitDone(ctx); err != nil {
		return fmt.Errorf("sim: kill container %q: %w", id, err)
	}
	return nil
}

// healthLoop probes r's health while its main process p runs, with
// Docker's defaults (30 s interval and timeout, 3 retries). A paused
// container is not probed.
func (st *containerState) healthLoop(r *ctr, p *proc, hc providers.Healthcheck) {
	interval, timeout, retries := hc.Interval, hc.Timeout, hc.Retries
	if interval <= 0 {
		interval = 30 * time.Second
	}
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	if retries <= 0 {
		retries = 3
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-p.ended:
			return
		case <-tick.C:
		}
		if r.gate.paused() {
			continue
		}
		ok := st.probe(r, hc.Cmd, timeout)
		st.mu.Lock()
		if r.main != p {
			st.mu.Unlock()
			return
		}
		h := r.c.Health
		switch {
		case ok:
			r.failures, h = 0, providers.HealthHealthy
		case h == providers.HealthStarting && time.Since(r.c.StartedAt) < hc.StartPeriod:
			// failures in the start period do not count
		default:
			r.failures++
			if r.failures >= retries {
				h = providers.HealthUnhealthy
			}
		}
		if h != r.c.Health {
			r.c.Health = h
			st.publish(r.c.NativeID, "health_status: "+strings.ToLower(h.String()))
		}
		st.mu.Unlock()
	}
}

// probe runs a healthcheck command in r; true when it exits 0 in time.
func (st *containerState) probe(r *ctr, cmd []string, timeout time.Duration) bool {
	st.mu.Lock()
	if r.main == nil {
		st.mu.Unlock()
		return false
	}
	p, err := st.newProc(r, cmd, r.c.Env, r.c.Workdir, r.c.User)
	if err != nil {
		st.mu.Unlock()
		return false
	}
	r.execs[p] = true
	st.mu.Unlock()
	go func() {
		p.code = runProgram(p, cmd)
		st.mu.Lock()
		delete(r.execs, p)
		st.mu.Unlock()
		close(p.done)
	}()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-p.done:
		return p.code == 0
	case <-t.C:
		p.kill()
		return false
	}
}
