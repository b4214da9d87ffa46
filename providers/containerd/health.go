package containerd

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/canopy-cloud/canopy/providers"
)

// Healthchecks.
//
// containerd runs no healthchecks, so the adapter does, Docker's way: the
// command is exec'd in the task every Interval (after a first Interval),
// bounded by Timeout; a zero exit makes the container HEALTHY, Retries
// consecutive failures make it UNHEALTHY, and failures within StartPeriod
// of the start do not count. A paused container is not probed. The status
// lives in memory: it starts as STARTING whenever the task starts, and an
// adapter that opens resumes the checks of every running container with a
// healthcheck label (monitor.go's scan), from STARTING. Each change is
// published as a "health_status: <status>" event, Docker's action.

// Docker's defaults for a healthcheck that leaves them zero.
const (
	defaultHealthInterval = 30 * time.Second
	defaultHealthTimeout  = 30 * time.Second
	defaultHealthRetries  = 3
)

// healthSet holds the running checks, by container id.
type healthSet struct {
	a  *Adapter
	mu sync.Mutex
	m  map[string]*checker
	// last keeps a container's status once its checks stop, so a stopped
	// container still says how it ended.
	last map[string]providers.Health
}

type checker struct {
	cancel context.CancelFunc
	done   chan struct{}
	status providers.Health
}

func newHealthSet(a *Adapter) *healthSet {
	return &healthSet{a: a, m: map[string]*checker{}, last: map[string]providers.Health{}}
}

// get returns a container's health: STARTING when its checks run but have
// not decided yet, the last status once they stopped, else NONE.
func (h *healthSet) get(id string) providers.Health {
	h.mu.Lock()
	defer h.mu.Unlock()
	if c, ok := h.m[id]; ok {
		return c.status
	}
	return h.last[id]
}

func (h *healthSet) running(id string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	_, ok := h.m[id]
	return ok
}

// start (re)starts a container's checks from STARTING.
func (h *healthSet) start(id string, hc providers.Healthcheck) {
	h.stop(id)
	ctx, cancel := context.WithCancel(h.a.ns(context.Background()))
	c := &checker{cancel: cancel, done: make(chan struct{}), status: providers.HealthStarting}
	h.mu.Lock()
	h.m[id] = c
	delete(h.last, id)
	h.mu.Unlock()
	h.a.events.publish(id, "health_status: starting")
	go func() {
		defer close(c.done)
		h.run(ctx, id, c, hc)
	}()
}

// stop ends a container's checks, keeping its last status.
func (h *healthSet) stop(id string) {
	h.mu.Lock()
	c, ok := h.m[id]
	if ok {
		delete(h.m, id)
		h.last[id] = c.status
	}
	h.mu.Unlock()
	if ok {
		c.cancel()
		<-c.done
	}
}

func (h *healthSet) stopAll() {
	h.mu.Lock()
	ids := make([]string, 0, len(h.m))
	for id := range h.m {
		ids = append(ids, id)
	}
	h.mu.Unlock()
	for _, id := range ids {
		h.stop(id)
	}
}

// forget drops what is known of a deleted container.
func (h *healthSet) forget(id string) {
	h.stop(id)
	h.mu.Lock()
	delete(h.last, id)
	h.mu.Unlock()
}

func (h *healthSet) set(id string, c *checker, s providers.Health) {
	h.mu.Lock()
	changed := c.status != s
	c.status = s
	h.mu.Unlock()
	if changed {
		h.a.events.publish(id, "health_status: "+healthWord(s))
	}
}

func healthWord(s providers.Health) string {
	switch s {
	case providers.HealthStarting:
		return "starting"
	case providers.HealthHealthy:
		return "healthy"
	case providers.HealthUnhealthy:
		return "unhealthy"
	}
	return "none"
}

// run probes until ctx ends.
func (h *healthSet) run(ctx context.Context, id string, c *checker, hc providers.Healthcheck) {
	interval, timeout, retries := hc.Interval, hc.Timeout, hc.Retries
	if interval <= 0 {
		interval = defaultHealthInterval
	}
	if timeout <= 0 {
		timeout = defaultHealthTimeout
	}
	if retries <= 0 {
		retries = defaultHealthRetries
	}
	started := time.Now()
	failures := 0
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		_, _, state, err := h.a.current(ctx, id)
		if err != nil || state == providers.ContainerPaused {
			continue
		}
		if state != providers.ContainerRunning {
			return
		}
		ok := h.probe(ctx, id, hc.Cmd, timeout) == nil
		if ctx.Err() != nil {
			return
		}
		next := h.get(id)
		switch {
		case ok:
			failures = 0
			next = providers.HealthHealthy
		case time.Since(started) < hc.StartPeriod:
			// failures while the container starts do not count
		default:
			if failures++; failures >= retries {
				next = providers.HealthUnhealthy
			}
		}
		h.set(id, c, next)
	}
}

// probe runs the check command once; nil means it exited 0 in time.
func (h *healthSet) probe(ctx context.Context, id string, cmd []string, timeout time.Duration) error {
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	code, err := h.a.run(pctx, id, cmd)
	if err != nil {
		return err
	}
	if code != 0 {
		return fmt.Errorf("exit %d", code)
	}
	return nil
}
