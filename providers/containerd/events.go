package containerd

import (
	"context"
	"strings"
	"sync"
	"time"

	apievents "github.com/containerd/containerd/api/events"
	"github.com/containerd/containerd/events"
	"github.com/containerd/typeurl/v2"

	"github.com/canopy-cloud/canopy/providers"
)

// eventFilters select the namespace's container and task events.
func (a *Adapter) eventFilters() []string {
	ns := `namespace==` + a.opts.Namespace
	return []string{ns + `,topic~="^/containers/"`, ns + `,topic~="^/tasks/"`}
}

// mapEvent turns a containerd event into a canopy one, in Docker's words
// (start, die, pause, unpause, create, destroy, exec_die …); ok is false
// for events canopy does not pass on.
func mapEvent(env *events.Envelope) (providers.ContainerEvent, bool) {
	v, err := typeurl.UnmarshalAny(env.Event)
	if err != nil {
		return providers.ContainerEvent{}, false
	}
	ev := providers.ContainerEvent{Time: env.Timestamp}
	switch e := v.(type) {
	case *apievents.ContainerCreate:
		ev.NativeID, ev.Action = e.ID, "create"
	case *apievents.ContainerUpdate:
		ev.NativeID, ev.Action = e.ID, "update"
	case *apievents.ContainerDelete:
		ev.NativeID, ev.Action = e.ID, "destroy"
	case *apievents.TaskCreate:
		ev.NativeID, ev.Action = e.ContainerID, "task_create"
	case *apievents.TaskStart:
		ev.NativeID, ev.Action = e.ContainerID, "start"
	case *apievents.TaskExit:
		ev.NativeID, ev.Action = e.ContainerID, "die"
		if e.ID != e.ContainerID {
			ev.Action = "exec_die"
		}
	case *apievents.TaskDelete:
		ev.NativeID, ev.Action = e.ContainerID, "task_delete"
		if e.ID != "" && e.ID != e.ContainerID {
			return ev, false // an exec's process removed
		}
	case *apievents.TaskPaused:
		ev.NativeID, ev.Action = e.ContainerID, "pause"
	case *apievents.TaskResumed:
		ev.NativeID, ev.Action = e.ContainerID, "unpause"
	case *apievents.TaskOOM:
		ev.NativeID, ev.Action = e.ContainerID, "oom"
	case *apievents.TaskExecAdded:
		ev.NativeID, ev.Action = e.ContainerID, "exec_create"
	case *apievents.TaskExecStarted:
		ev.NativeID, ev.Action = e.ContainerID, "exec_start"
	default:
		return ev, false
	}
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	return ev, ev.NativeID != ""
}

// ContainerEvents streams containerd's events of the namespace, mapped,
// merged with the adapter's own (health_status, restart).
func (a *Adapter) ContainerEvents(ctx context.Context) (<-chan providers.ContainerEvent, <-chan error, error) {
	ctx, cancel := context.WithCancel(a.ns(ctx))
	envs, cerrs := a.client.Subscribe(ctx, a.eventFilters()...)
	own, unsub := a.events.subscribe()
	out := make(chan providers.ContainerEvent, 64)
	errc := make(chan error, 1)
	go func() {
		defer close(out)
		defer unsub()
		defer cancel()
		for {
			var ev providers.ContainerEvent
			select {
			case <-ctx.Done():
				return
			case err := <-cerrs:
				if err != nil && ctx.Err() == nil {
					errc <- wrap(err, "events")
				}
				return
			case env := <-envs:
				var ok bool
				if ev, ok = mapEvent(env); !ok {
					continue
				}
			case e, ok := <-own:
				if !ok {
					return
				}
				ev = e
			}
			select {
			case out <- ev:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, errc, nil
}

// broker fans the adapter's own events out to every ContainerEvents
// stream. A slow stream loses events rather than stalling the adapter.
type broker struct {
	mu     sync.Mutex
	subs   map[chan providers.ContainerEvent]struct{}
	closed bool
}

func newBroker() *broker { return &broker{subs: map[chan providers.ContainerEvent]struct{}{}} }

func (b *broker) subscribe() (<-chan providers.ContainerEvent, func()) {
	ch := make(chan providers.ContainerEvent, 64)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		close(ch)
		return ch, func() {}
	}
	b.subs[ch] = struct{}{}
	return ch, func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		if _, ok := b.subs[ch]; ok {
			delete(b.subs, ch)
			close(ch)
		}
	}
}

func (b *broker) publish(id, action string) {
	ev := providers.ContainerEvent{NativeID: id, Action: action, Time: time.Now()}
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs {
		select {
		case ch <- ev:
		default:
		}
	}
}

func (b *broker) close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	for ch := range b.subs {
		close(ch)
		delete(b.subs, ch)
	}
}

// isExitTopic says whether a topic is a task's exit.
func isExitTopic(topic string) bool { return strings.HasSuffix(topic, "/tasks/exit") }
