package cache

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"

	"github.com/canopy-cloud/canopy/providers"
)

// Containers is a cloud's container driver as canopy calls it: every call
// to the runtime passes the cloud's rate limiter, and lists, waits and
// watches are answered from an event-fed view (ContainerHub) instead of
// asking the runtime again. IO, Events and Commit are nil when the adapter
// lacks them.
type Containers struct {
	providers.Containers
	IO     providers.ContainerIO
	Commit providers.ContainerCommitter
	Hub    *ContainerHub
	lim    *Limiter
}

// NewContainers wraps an adapter's container interfaces. poll is how often
// the view is relisted when the adapter pushes no events.
func NewContainers(cloud string, c providers.Containers, p providers.Provider, lim *Limiter, poll time.Duration) *Containers {
	cc := &Containers{Containers: c, lim: lim}
	cc.IO, _ = p.(providers.ContainerIO)
	cc.Commit, _ = p.(providers.ContainerCommitter)
	ev, _ := p.(providers.ContainerEvents)
	cc.Hub = newContainerHub(cloud, cc, ev, poll)
	return cc
}

// Limit waits for the cloud's rate limiter; every call below does it.
func (c *Containers) Limit(ctx context.Context) error { return c.lim.Wait(ctx) }

// ListContainersFresh lists at the runtime.
func (c *Containers) ListContainersFresh(ctx context.Context) ([]providers.Container, error) {
	if err := c.lim.Wait(ctx); err != nil {
		return nil, err
	}
	return c.Containers.ListContainers(ctx)
}

// ListContainers answers from the event-fed view once it is synced, and
// lists at the runtime until then.
func (c *Containers) ListContainers(ctx context.Context) ([]providers.Container, error) {
	if items, ok := c.Hub.Current(ctx); ok {
		return items, nil
	}
	return c.ListContainersFresh(ctx)
}

// GetContainer reads at the runtime.
func (c *Containers) GetContainer(ctx context.Context, id string) (providers.Container, error) {
	if err := c.lim.Wait(ctx); err != nil {
		return providers.Container{}, err
	}
	return c.Containers.GetContainer(ctx, id)
}

// ContainerHub keeps one cloud's containers as the runtime's event stream
// reports them: a full list when it starts (and after the stream breaks),
// then one read of each container an event names. Any number of lists,
// waits and Watch streams cost the runtime nothing more. Runtimes without
// events are relisted every poll interval instead.
type ContainerHub struct {
	cloud  string
	drv    *Containers
	events providers.ContainerEvents
	poll   time.Duration

	mu      sync.Mutex
	items   map[string]providers.Container
	synced  bool
	lastErr error
	subs    map[chan Snapshot[providers.Container]]struct{}
	started bool
	cancel  context.CancelFunc
	done    chan struct{}
	changed chan struct{}
}

func newContainerHub(cloud string, drv *Containers, ev providers.ContainerEvents, poll time.Duration) *ContainerHub {
	if poll <= 0 {
		poll = time.Second
	}
	return &ContainerHub{cloud: cloud, drv: drv, events: ev, poll: poll, items: map[string]providers.Container{},
		subs: map[chan Snapshot[providers.Container]]struct{}{}, changed: make(chan struct{})}
}

// start runs the hub from its first use until Close.
func (h *ContainerHub) start() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.started {
		return
	}
	h.started = true
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel, h.done = cancel, make(chan struct{})
	go h.loop(ctx)
}

// Close stops the hub.
func (h *ContainerHub) Close() {
	h.mu.Lock()
	cancel, done := h.cancel, h.done
	h.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// Current returns every container once the view is synced; it waits up to
// a second for the first sync.
func (h *ContainerHub) Current(ctx context.Context) ([]providers.Container, bool) {
	h.start()
	deadline := time.NewTimer(time.Second)
	defer deadline.Stop()
	for {
		h.mu.Lock()
		if h.synced {
			items := h.snapshotLocked()
			h.mu.Unlock()
			return items, true
		}
		ch := h.changed
		h.mu.Unlock()
		select {
		case <-ch:
		case <-deadline.C:
			return nil, false
		case <-ctx.Done():
			return nil, false
		}
	}
}

func (h *ContainerHub) snapshotLocked() []providers.Container {
	out := make([]providers.Container, 0, len(h.items))
	for _, c := range h.items {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].NativeID < out[j].NativeID })
	return out
}

// Subscribe sends the whole view now (once synced) and after every change
// until ctx ends. A slow subscriber gets the latest view, not every one.
func (h *ContainerHub) Subscribe(ctx context.Context) <-chan Snapshot[providers.Container] {
	h.start()
	ch := make(chan Snapshot[providers.Container], 1)
	h.mu.Lock()
	h.subs[ch] = struct{}{}
	if h.synced || h.lastErr != nil {
		ch <- Snapshot[providers.Container]{Items: h.snapshotLocked(), Err: h.lastErr, At: time.Now()}
	}
	h.mu.Unlock()
	go func() {
		<-ctx.Done()
		h.mu.Lock()
		delete(h.subs, ch)
		close(ch)
		h.mu.Unlock()
	}()
	return ch
}

// Wait blocks until done holds for the container with that native id (or
// ctx ends); present is false once it is gone.
func (h *ContainerHub) Wait(ctx context.Context, id string, done func(c providers.Container, present bool) bool) (providers.Container, bool, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var lastErr error
	for snap := range h.Subscribe(ctx) {
		if snap.Err != nil {
			lastErr = snap.Err
			continue
		}
		lastErr = nil
		var cur providers.Container
		present := false
		for _, c := range snap.Items {
			if c.NativeID == id {
				cur, present = c, true
				break
			}
		}
		if done(cur, present) {
			return cur, present, nil
		}
	}
	if lastErr != nil {
		return providers.Container{}, false, lastErr
	}
	return providers.Container{}, false, ctx.Err()
}

// publishLocked tells every subscriber the view changed.
func (h *ContainerHub) publishLocked() {
	close(h.changed)
	h.changed = make(chan struct{})
	snap := Snapshot[providers.Container]{Items: h.snapshotLocked(), Err: h.lastErr, At: time.Now()}
	for ch := range h.subs {
		select {
		case <-ch: // drop the older view the subscriber has not read
		default:
		}
		ch <- snap
	}
}

func (h *ContainerHub) loop(ctx context.Context) {
	defer close(h.done)
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := h.session(ctx)
		if ctx.Err() != nil {
			return
		}
		h.mu.Lock()
		h.lastErr = fmt.Errorf("cloud %s: container events: %w", h.cloud, err)
		h.publishLocked()
		h.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		if backoff *= 2; backoff > 5*time.Second {
			backoff = 5 * time.Second
		}
	}
}

// session subscribes to the runtime's events, lists, and applies events
// until the stream breaks. Subscribing first means no change between the
// list and the first event is lost.
func (h *ContainerHub) session(ctx context.Context) error {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		evs  <-chan providers.ContainerEvent
		errc <-chan error
	)
	if h.events != nil {
		var err error
		if evs, errc, err = h.events.ContainerEvents(sctx); err != nil {
			return err
		}
	}
	if err := h.relist(ctx); err != nil {
		return err
	}
	var tick <-chan time.Time
	if evs == nil {
		t := time.NewTicker(h.poll)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick:
			if err := h.relist(ctx); err != nil {
				return err
			}
		case err := <-errc:
			if err == nil {
				err = io.ErrUnexpectedEOF
			}
			return err
		case e, ok := <-evs:
			if !ok {
				return errors.New("event stream ended")
			}
			if err := h.refresh(ctx, e.NativeID); err != nil {
				return err
			}
		}
	}
}

func (h *ContainerHub) relist(ctx context.Context) error {
	list, err := h.drv.ListContainersFresh(ctx)
	if err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.items = make(map[string]providers.Container, len(list))
	for _, c := range list {
		h.items[c.NativeID] = c
	}
	h.synced, h.lastErr = true, nil
	h.publishLocked()
	return nil
}

// refresh reads the container an event named; only a failure to reach the
// runtime ends the session (a container gone is a deletion).
func (h *ContainerHub) refresh(ctx context.Context, id string) error {
	c, err := h.drv.GetContainer(ctx, id)
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case errors.Is(err, providers.ErrNotFound):
		if _, ok := h.items[id]; !ok {
			return nil
		}
		delete(h.items, id)
	case err != nil:
		return err
	default:
		if prev, ok := h.items[id]; ok && sameContainer(prev, c) {
			return nil
		}
		h.items[id] = c
	}
	h.publishLocked()
	return nil
}

// Observe puts a container canopy just read after changing it into the
// view, so the caller's next list shows its own change even before the
// runtime's event arrives (read your writes). A view not yet synced
// ignores it: its first list will have it.
func (h *ContainerHub) Observe(c providers.Container) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.synced {
		return
	}
	if prev, ok := h.items[c.NativeID]; ok && sameContainer(prev, c) {
		return
	}
	h.items[c.NativeID] = c
	h.publishLocked()
}

// Forget drops a container canopy just deleted from the view.
func (h *ContainerHub) Forget(id string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.items[id]; !ok {
		return
	}
	delete(h.items, id)
	h.publishLocked()
}

// sameContainer reports whether a read changed nothing a watcher sees.
func sameContainer(a, b providers.Container) bool {
	return a.State == b.State && a.Health == b.Health && a.Name == b.Name && a.ExitCode == b.ExitCode &&
		a.StartedAt.Equal(b.StartedAt) && a.FinishedAt.Equal(b.FinishedAt) && a.RestartCount == b.RestartCount &&
		a.CPU == b.CPU && a.MemoryBytes == b.MemoryBytes && a.Restart == b.Restart && a.ProviderStatus == b.ProviderStatus
}
