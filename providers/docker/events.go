package docker

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"

	"github.com/canopy-cloud/canopy/providers"
)

// ContainerEvents streams `docker events --filter type=container` from
// every host into one channel. Action is Docker's word without its detail
// ("health_status: healthy" is "health_status", "exec_start: sh" is
// "exec_start"). A host whose stream breaks ends the whole stream, its
// error on errc: watchers then re-read and subscribe again. Every host is
// pinged first, so an unreachable one is an error at once.
func (c *Cloud) ContainerEvents(ctx context.Context) (<-chan providers.ContainerEvent, <-chan error, error) {
	if err := c.hostsDo(ctx, func(ctx context.Context, h *host) error {
		_, err := h.cli.Ping(ctx)
		return mapErr(err, h, "ping", "")
	}); err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	out := make(chan providers.ContainerEvent, 64)
	errc := make(chan error, 1)
	var wg sync.WaitGroup
	for _, h := range c.hosts {
		msgs, errs := h.cli.Events(ctx, events.ListOptions{Filters: filters.NewArgs(filters.Arg("type", string(events.ContainerEventType)))})
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case m := <-msgs:
					if m.Actor.Attributes[labelHelper] != "" {
						continue // VolumeData's helper (volume_data.go)
					}
					ev := providers.ContainerEvent{NativeID: c.nativeID(h, eventID(m)), Action: eventAction(string(m.Action)), Time: eventTime(m)}
					select {
					case out <- ev:
					case <-ctx.Done():
						return
					}
				case err := <-errs:
					if ctx.Err() == nil {
						select {
						case errc <- mapErr(err, h, "events", ""):
						default:
						}
					}
					cancel()
					return
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	go func() {
		wg.Wait()
		cancel()
		close(out)
		close(errc)
	}()
	return out, errc, nil
}

// eventAction drops the detail Docker appends to some actions.
func eventAction(a string) string {
	a, _, _ = strings.Cut(a, ":")
	return strings.TrimSpace(a)
}

func eventTime(m events.Message) time.Time {
	if m.TimeNano != 0 {
		return time.Unix(0, m.TimeNano)
	}
	return time.Unix(m.Time, 0)
}
