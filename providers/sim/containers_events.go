package sim

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"github.com/canopy-cloud/canopy/providers"
)

// Container events and commits.

// subscriber is one ContainerEvents stream. A subscriber that falls
// eventBuffer events behind is cut off with an error, as a broken stream.
type subscriber struct {
	ch   chan providers.ContainerEvent
	errc chan error
}

const eventBuffer = 1024

// publish sends an event to every subscriber; callers hold st.mu. The
// actions are Docker's words: create, start, die, kill, stop, restart,
// pause, unpause, rename, update, destroy, exec_start: CMD and
// health_status: healthy|unhealthy.
func (st *containerState) publish(id, action string) {
	e := providers.ContainerEvent{NativeID: id, Action: action, Time: time.Now()}
	for s := range st.subs {
		select {
		case s.ch <- e:
		default:
			s.errc <- fmt.Errorf("sim: container events: %w: the reader fell %d events behind", providers.ErrUnavailable, eventBuffer)
			delete(st.subs, s)
			close(s.ch)
		}
	}
}

// ContainerEvents implements providers.ContainerEvents.
func (c *Cloud) ContainerEvents(ctx context.Context) (<-chan providers.ContainerEvent, <-chan error, error) {
	if err := c.call(ctx, "ContainerEvents"); err != nil {
		return nil, nil, err
	}
	st := c.ctr
	s := &subscriber{ch: make(chan providers.ContainerEvent, eventBuffer), errc: make(chan error, 1)}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.closed {
		return nil, nil, fmt.Errorf("sim: container events: %w: cloud closed", providers.ErrUnavailable)
	}
	st.subs[s] = struct{}{}
	go func() {
		<-ctx.Done()
		st.mu.Lock()
		defer st.mu.Unlock()
		if _, ok := st.subs[s]; ok {
			delete(st.subs, s)
			close(s.ch)
		}
	}()
	return s.ch, s.errc, nil
}

var imageRef = regexp.MustCompile(`^[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*)*(:[a-zA-Z0-9_][a-zA-Z0-9_.-]{0,127})?$`)

// CommitContainer implements providers.ContainerCommitter: the new image
// holds the container's filesystem and its environment. Pausing is
// instant in the sim, so CommitSpec.Pause changes nothing visible.
func (c *Cloud) CommitContainer(ctx context.Context, id string, spec providers.CommitSpec) (providers.Image, error) {
	if err := c.call(ctx, "CommitContainer"); err != nil {
		return providers.Image{}, err
	}
	st := c.ctr
	st.mu.Lock()
	defer st.mu.Unlock()
	r, err := st.lookup("commit", id)
	if err != nil {
		return providers.Image{}, err
	}
	if err := allowed(r, providers.ActCommit); err != nil {
		return providers.Image{}, err
	}
	ref := ""
	if spec.Reference != "" {
		if !imageRef.MatchString(spec.Reference) {
			return providers.Image{}, fmt.Errorf("sim: commit container %q: %w: invalid reference format %q", id, providers.ErrInvalid, spec.Reference)
		}
		ref = normalizeRef(spec.Reference)
	}
	img := &ctrImage{fs: r.fs.clone(), env: cloneMap(r.c.Env), created: time.Now()}
	img.id = img.fs.digest()
	if old := st.images[img.id]; old != nil { // the same content is the same image
		img = old
	} else {
		st.images[img.id] = img
	}
	name := img.id
	if ref != "" {
		if prev := st.images[ref]; prev != nil && prev != img { // the tag moves
			prev.refs = deleteString(prev.refs, ref)
		}
		st.images[ref] = img
		img.refs = append(deleteString(img.refs, ref), ref)
		name = ref
	}
	st.publish(id, "commit")
	return providers.Image{Common: providers.Common{NativeID: name, Name: name, Region: c.opts.Regions[0],
		Status: providers.StatusActive, ProviderStatus: "active", Created: img.created,
		Properties: map[string]string{"id": img.id, "message": spec.Message, "author": spec.Author}},
		SizeBytes: img.fs.size(), ContainerFormat: "docker"}, nil
}

func deleteString(list []string, s string) []string {
	out := list[:0]
	for _, v := range list {
		if v != s {
			out = append(out, v)
		}
	}
	return out
}

// DropContainerImage removes a container image by reference or id (the
// provider interfaces have none; tests clean up the commits they make).
// An image a container uses stays until the container is gone, as its
// layers would.
func (c *Cloud) DropContainerImage(ref string) error {
	st := c.ctr
	st.mu.Lock()
	defer st.mu.Unlock()
	img := st.images[normalizeRef(ref)]
	if img == nil {
		img = st.images[ref]
	}
	if img == nil {
		return fmt.Errorf("sim: container image %q: %w", ref, providers.ErrNotFound)
	}
	for _, r := range img.refs {
		delete(st.images, r)
	}
	delete(st.images, img.id)
	return nil
}

// shutdown kills every container process and ends every event stream:
// the simulated host goes away with its cloud.
func (st *containerState) shutdown() {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.closed = true
	for _, r := range st.containers {
		if r.restart != nil {
			r.restart.Stop()
		}
		r.manual = true
		if r.main != nil {
			r.main.kill()
		}
		for x := range r.execs {
			x.kill()
		}
	}
	for s := range st.subs {
		delete(st.subs, s)
		close(s.ch)
	}
}
