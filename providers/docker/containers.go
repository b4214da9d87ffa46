package docker

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"golang.org/x/sync/errgroup"

	"github.com/canopy-cloud/canopy/providers"
)

// inspectConcurrency bounds the inspects one list runs at once per host.
const inspectConcurrency = 8

// ListContainers lists every container of every host, running or not,
// including those canopy did not create (canopy adopts them).
func (c *Cloud) ListContainers(ctx context.Context) ([]providers.Container, error) {
	per := make([][]providers.Container, len(c.hosts))
	g, gctx := errgroup.WithContext(ctx)
	for i, h := range c.hosts {
		g.Go(func() error {
			cts, err := c.listHost(gctx, h, container.ListOptions{All: true})
			per[i] = cts
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	var out []providers.Container
	for _, cts := range per {
		out = append(out, cts...)
	}
	return out, nil
}

// listHost lists one host's containers and inspects each (a list entry
// lacks most of what a Container carries). A container removed between
// the two calls is left out.
func (c *Cloud) listHost(ctx context.Context, h *host, opts container.ListOptions) ([]providers.Container, error) {
	sums, err := h.cli.ContainerList(ctx, opts)
	if err != nil {
		return nil, mapErr(err, h, "list containers", "")
	}
	out := make([]providers.Container, len(sums))
	found := make([]bool, len(sums))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(inspectConcurrency)
	for i, s := range sums {
		if s.Labels[labelHelper] != "" {
			continue // VolumeData's, gone in a moment (volume_data.go)
		}
		g.Go(func() error {
			in, err := h.cli.ContainerInspect(gctx, s.ID)
			if cerrdefs.IsNotFound(err) {
				return nil
			}
			if err != nil {
				return mapErr(err, h, "inspect", s.ID)
			}
			out[i], found[i] = c.toContainer(h, in), true
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	kept := out[:0]
	for i, ct := range out {
		if found[i] {
			kept = append(kept, ct)
		}
	}
	return kept, nil
}

// count is how many containers a host has, for placement.
func (h *host) count(ctx context.Context) (int, error) {
	sums, err := h.cli.ContainerList(ctx, container.ListOptions{All: true})
	if err != nil {
		return 0, mapErr(err, h, "list containers", "")
	}
	return len(sums), nil
}

// GetContainer inspects one container.
func (c *Cloud) GetContainer(ctx context.Context, id string) (providers.Container, error) {
	h, _, in, err := c.inspect(ctx, id)
	if err != nil {
		return providers.Container{}, err
	}
	return c.toContainer(h, in), nil
}

// inspect finds a container's host and inspects it.
func (c *Cloud) inspect(ctx context.Context, id string) (*host, string, container.InspectResponse, error) {
	h, did, err := c.locate(ctx, id)
	if err != nil {
		return nil, "", container.InspectResponse{}, err
	}
	in, err := h.cli.ContainerInspect(ctx, did)
	if cerrdefs.IsNotFound(err) {
		in, err = c.inspectRecreated(ctx, h, did, err) // recreate.go
	}
	if err != nil {
		return nil, "", in, mapErr(err, h, "inspect", did)
	}
	return h, in.ID, in, nil
}

// allowed inspects a container and checks the state table for action, so
// every runtime refuses the same things the same way (Docker itself would
// accept some, such as stopping a stopped container).
func (c *Cloud) allowed(ctx context.Context, id, action string) (*host, string, container.InspectResponse, error) {
	h, did, in, err := c.inspect(ctx, id)
	if err != nil {
		return nil, "", in, err
	}
	st := providers.ContainerUnknown
	if in.State != nil {
		st = stateOf(in.State.Status)
	}
	if err := providers.ContainerAllowed(action, st); err != nil {
		return nil, "", in, fmt.Errorf("docker: container %s: %w", id, err)
	}
	return h, did, in, nil
}

// DeleteContainer removes a container and its anonymous volumes (named
// volumes and bind sources stay, as with `docker rm -v`). A removal
// already under way (an auto-remove container that exited) is waited out.
func (c *Cloud) DeleteContainer(ctx context.Context, id string, force bool) error {
	action := providers.ActDelete
	if force {
		action = providers.ActForceDel
	}
	h, did, _, err := c.allowed(ctx, id, action)
	if err != nil {
		return err
	}
	err = h.cli.ContainerRemove(ctx, did, container.RemoveOptions{Force: force, RemoveVolumes: true})
	if cerrdefs.IsConflict(err) && strings.Contains(err.Error(), "already in progress") {
		return c.waitGone(ctx, h, did)
	}
	return mapErr(err, h, "remove", did)
}

// waitGone polls until a container being removed is gone.
func (c *Cloud) waitGone(ctx context.Context, h *host, did string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		_, err := h.cli.ContainerInspect(ctx, did)
		if cerrdefs.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return mapErr(err, h, "wait for removal of", did)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("docker: waiting for removal of %s on host %s: %w", did, h.name, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// StartContainer starts a created or stopped container. A command the
// image does not have is Docker's 400, a bad argument.
func (c *Cloud) StartContainer(ctx context.Context, id string) error {
	h, did, _, err := c.allowed(ctx, id, providers.ActStart)
	if err != nil {
		return err
	}
	return mapErr(h.cli.ContainerStart(ctx, did, container.StartOptions{}), h, "start", did)
}

// stopSeconds is Docker's stop timeout: whole seconds, rounded up so a
// container always gets at least the grace asked for; 0 kills at once.
func stopSeconds(d time.Duration) *int {
	s := 0
	if d > 0 {
		s = int(math.Ceil(d.Seconds()))
	}
	return &s
}

// StopContainer sends SIGTERM (or the image's stop signal) and SIGKILL
// after timeout.
func (c *Cloud) StopContainer(ctx context.Context, id string, timeout time.Duration) error {
	h, did, _, err := c.allowed(ctx, id, providers.ActStop)
	if err != nil {
		return err
	}
	return mapErr(h.cli.ContainerStop(ctx, did, container.StopOptions{Timeout: stopSeconds(timeout)}), h, "stop", did)
}

// RestartContainer stops (as StopContainer) and starts again.
func (c *Cloud) RestartContainer(ctx context.Context, id string, timeout time.Duration) error {
	h, did, _, err := c.allowed(ctx, id, providers.ActRestart)
	if err != nil {
		return err
	}
	return mapErr(h.cli.ContainerRestart(ctx, did, container.StopOptions{Timeout: stopSeconds(timeout)}), h, "restart", did)
}

// PauseContainer freezes a running container's processes (cgroup freezer).
func (c *Cloud) PauseContainer(ctx context.Context, id string) error {
	h, did, _, err := c.allowed(ctx, id, providers.ActPause)
	if err != nil {
		return err
	}
	return mapErr(h.cli.ContainerPause(ctx, did), h, "pause", did)
}

// UnpauseContainer thaws a paused container.
func (c *Cloud) UnpauseContainer(ctx context.Context, id string) error {
	h, did, _, err := c.allowed(ctx, id, providers.ActUnpause)
	if err != nil {
		return err
	}
	return mapErr(h.cli.ContainerUnpause(ctx, did), h, "unpause", did)
}

// KillContainer sends a signal. The signal is checked before the state,
// so a bad one is a bad argument whatever the container's state; it goes
// to Docker as a number, which every daemon version reads the same way.
func (c *Cloud) KillContainer(ctx context.Context, id, signal string) error {
	n, err := parseSignal(signal)
	if err != nil {
		return err
	}
	h, did, _, err := c.allowed(ctx, id, providers.ActKill)
	if err != nil {
		return err
	}
	return mapErr(h.cli.ContainerKill(ctx, did, fmt.Sprint(n)), h, "kill", did)
}

// RenameContainer renames; a name another container has is ErrAlreadyExists,
// the container's own name is a no-op (Docker would refuse it).
func (c *Cloud) RenameContainer(ctx context.Context, id, name string) error {
	name = strings.TrimPrefix(name, "/")
	if name == "" {
		return fmt.Errorf("docker: rename %s: empty name: %w", id, providers.ErrInvalid)
	}
	h, did, in, err := c.allowed(ctx, id, providers.ActRename)
	if err != nil {
		return err
	}
	if in.ContainerJSONBase != nil && strings.TrimPrefix(in.Name, "/") == name {
		return nil
	}
	err = h.cli.ContainerRename(ctx, did, name)
	if cerrdefs.IsConflict(err) {
		return fmt.Errorf("docker: rename %s to %q on host %s: %w: %w", did, name, h.name, providers.ErrAlreadyExists, err)
	}
	return mapErr(err, h, "rename", did)
}

// UpdateContainer changes CPU, memory and the restart policy in place.
// Docker reads 0 as "unchanged", so a limit cannot be lifted in place (a
// bad argument saying so). Docker refuses a memory limit above the
// container's swap limit unless both change, so the swap limit moves along
// to twice the memory, what Docker sets at create (unlimited stays so).
func (c *Cloud) UpdateContainer(ctx context.Context, id string, u providers.ContainerUpdate) error {
	if err := validateUpdate(u); err != nil {
		return fmt.Errorf("docker: update %s: %w", id, err)
	}
	h, did, in, err := c.allowed(ctx, id, providers.ActUpdate)
	if err != nil {
		return err
	}
	var uc container.UpdateConfig
	if u.CPU != nil {
		uc.NanoCPUs = int64(math.Round(*u.CPU * 1e9))
	}
	if u.MemoryBytes != nil {
		uc.Memory = *u.MemoryBytes
		uc.MemorySwap = 2 * uc.Memory // what Docker sets at create
		if in.HostConfig != nil && in.HostConfig.MemorySwap < 0 {
			uc.MemorySwap = -1 // unlimited swap stays so
		}
	}
	if u.RestartPolicy != nil {
		uc.RestartPolicy = container.RestartPolicy{Name: container.RestartPolicyMode(u.RestartPolicy.Name), MaximumRetryCount: u.RestartPolicy.MaxRetries}
	}
	_, err = h.cli.ContainerUpdate(ctx, did, uc)
	return mapErr(err, h, "update", did)
}

func validateUpdate(u providers.ContainerUpdate) error {
	var errs []error
	if u.CPU != nil {
		switch {
		case *u.CPU < 0:
			errs = append(errs, fmt.Errorf("cpu %g: negative: %w", *u.CPU, providers.ErrInvalid))
		case *u.CPU == 0:
			errs = append(errs, fmt.Errorf("cpu 0: Docker cannot lift a CPU limit in place (recreate the container): %w", providers.ErrInvalid))
		}
	}
	if u.MemoryBytes != nil {
		switch m := *u.MemoryBytes; {
		case m == 0:
			errs = append(errs, fmt.Errorf("memory 0: Docker cannot lift a memory limit in place (recreate the container): %w", providers.ErrInvalid))
		default:
			if err := validateMemory(m); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if u.RestartPolicy != nil {
		if err := validateRestart(*u.RestartPolicy); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// hostsDo runs f on every host concurrently and returns the first error.
func (c *Cloud) hostsDo(ctx context.Context, f func(context.Context, *host) error) error {
	var mu sync.Mutex
	var first error
	var wg sync.WaitGroup
	for _, h := range c.hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(ctx, h); err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return first
}
