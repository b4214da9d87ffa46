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
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"

	"github.com/canopy-cloud/canopy/providers"
)

// minMemory is the smallest memory limit Docker accepts (linuxMinMemory).
const minMemory = 6 << 20

// CreateContainer creates a container without starting it. The image must
// be on the host already: nothing is pulled, and a missing image is a bad
// argument naming it. The idempotency token is the canopy.token label;
// with Replay set the adapter first looks for a container carrying it on
// every host (an earlier attempt may have placed it elsewhere) and returns
// that instead of making a second. Nothing is left behind when a create
// fails: Docker's create is one call that makes all or nothing, the
// inspect after it removes the container when it fails, and a create cut
// short by its context removes what carries its token.
func (c *Cloud) CreateContainer(ctx context.Context, spec providers.ContainerSpec) (providers.Container, error) {
	if err := c.validateSpec(spec); err != nil {
		return providers.Container{}, fmt.Errorf("docker: create container %q: %w", spec.Name, err)
	}
	spec, err := c.placeByVolumes(spec) // volumes.go
	if err != nil {
		return providers.Container{}, fmt.Errorf("docker: create container %q: %w", spec.Name, err)
	}
	h, err := c.hostFor(ctx, spec.Host)
	if err != nil {
		return providers.Container{}, err
	}
	find := func(ctx context.Context) (providers.Container, bool, error) {
		return c.findToken(ctx, spec.IdempotencyToken)
	}
	create := func(ctx context.Context) (providers.Container, error) {
		return c.create(ctx, h, spec)
	}
	ct, _, err := providers.FindOrCreate(ctx, c.replays, spec.IdempotencyToken, spec.Replay, find, create)
	return ct, err
}

// create makes the container on h.
func (c *Cloud) create(ctx context.Context, h *host, spec providers.ContainerSpec) (providers.Container, error) {
	if _, err := h.cli.ImageInspect(ctx, spec.Image); err != nil {
		if cerrdefs.IsNotFound(err) {
			return providers.Container{}, fmt.Errorf("docker: create container %q: image %q is not on host %s (canopy does not pull): %w", spec.Name, spec.Image, h.name, providers.ErrInvalid)
		}
		return providers.Container{}, mapErr(err, h, "inspect image", spec.Image)
	}
	cfg, hc := c.toConfig(spec)
	resp, err := h.cli.ContainerCreate(ctx, cfg, hc, &network.NetworkingConfig{}, nil, spec.Name)
	if err != nil {
		if cerrdefs.IsConflict(err) && spec.Name != "" {
			// A container of that name: the same create, answered before
			// (its token says so), or another container.
			if ct, ok, ferr := c.findToken(ctx, spec.IdempotencyToken); ferr == nil && ok && ct.Name == spec.Name {
				return ct, nil
			}
			return providers.Container{}, fmt.Errorf("docker: create container %q on host %s: %w: %w", spec.Name, h.name, providers.ErrAlreadyExists, err)
		}
		if cerrdefs.IsNotFound(err) && strings.Contains(strings.ToLower(err.Error()), "image") {
			return providers.Container{}, fmt.Errorf("docker: create container %q: image %q: %w: %w", spec.Name, spec.Image, providers.ErrInvalid, err)
		}
		if ctx.Err() != nil {
			c.discardToken(h, spec.IdempotencyToken)
		}
		return providers.Container{}, mapErr(err, h, "create container", spec.Name)
	}
	in, err := h.cli.ContainerInspect(ctx, resp.ID)
	if err != nil {
		c.discard(h, resp.ID)
		return providers.Container{}, mapErr(err, h, "inspect new container", resp.ID)
	}
	return c.toContainer(h, in), nil
}

// discard removes a container a failed create made, whatever ctx says.
func (c *Cloud) discard(h *host, did string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = h.cli.ContainerRemove(ctx, did, container.RemoveOptions{Force: true, RemoveVolumes: true})
}

// discardToken removes what a create cut short by its context may still
// have made (the daemon finishes a create whose client went away); only a
// container carrying the token is ever removed. Best effort: a create
// still on its way is found by a replay's look-up instead.
func (c *Cloud) discardToken(h *host, token string) {
	if token == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sums, err := h.cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", labelToken+"="+token))})
	if err != nil {
		return
	}
	for _, s := range sums {
		_ = h.cli.ContainerRemove(ctx, s.ID, container.RemoveOptions{Force: true, RemoveVolumes: true})
	}
}

// findToken looks for the container carrying token on every host. A host
// that does not answer makes the look-up fail: "not found" must be sure.
func (c *Cloud) findToken(ctx context.Context, token string) (providers.Container, bool, error) {
	if token == "" {
		return providers.Container{}, false, nil
	}
	var mu sync.Mutex
	var found []providers.Container
	err := c.hostsDo(ctx, func(ctx context.Context, h *host) error {
		cts, err := c.listHost(ctx, h, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", labelToken+"="+token))})
		mu.Lock()
		found = append(found, cts...)
		mu.Unlock()
		return err
	})
	if err != nil {
		return providers.Container{}, false, fmt.Errorf("docker: look for the container with token %s: %w", token, err)
	}
	if len(found) == 0 {
		return providers.Container{}, false, nil
	}
	return found[0], true, nil
}

// validateSpec checks what Docker would refuse, or accept and do
// differently, before any call: the errors name the field.
func (c *Cloud) validateSpec(s providers.ContainerSpec) error {
	var errs []error
	bad := func(format string, a ...any) {
		errs = append(errs, fmt.Errorf(format+": %w", append(a, providers.ErrInvalid)...))
	}
	if strings.TrimSpace(s.Image) == "" {
		bad("image: empty")
	}
	if s.CPU < 0 || math.IsNaN(s.CPU) || math.IsInf(s.CPU, 0) {
		bad("cpu %g: not a number of CPUs", s.CPU)
	}
	if s.MemoryBytes != 0 {
		if err := validateMemory(s.MemoryBytes); err != nil {
			errs = append(errs, err)
		}
	}
	if err := validateRestart(s.RestartPolicy); err != nil {
		errs = append(errs, err)
	}
	if s.AutoRemove && s.RestartPolicy.Name != "" && s.RestartPolicy.Name != "no" {
		bad("auto_remove with restart policy %q: a container removed when it exits cannot restart", s.RestartPolicy.Name)
	}
	for k := range s.Labels {
		if strings.HasPrefix(k, labelPrefix) {
			bad("label %q: the %q prefix is canopy's own", k, labelPrefix)
		}
		if k == "" {
			bad("label: empty key")
		}
	}
	for k := range s.Env {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			bad("env %q: not a variable name", k)
		}
	}
	if hc := s.Healthcheck; hc != nil {
		if len(hc.Cmd) == 0 {
			bad("healthcheck: empty command")
		}
		for name, d := range map[string]time.Duration{"interval": hc.Interval, "timeout": hc.Timeout, "start_period": hc.StartPeriod} {
			if d != 0 && d < time.Millisecond {
				bad("healthcheck %s %s: Docker's minimum is 1ms", name, d)
			}
		}
		if hc.Retries < 0 {
			bad("healthcheck retries %d: negative", hc.Retries)
		}
	}
	for i, m := range s.Mounts {
		switch m.Type {
		case "volume", "bind":
			if m.Type == "bind" && !strings.HasPrefix(m.Source, "/") {
				bad("mounts[%d]: bind source %q is not an absolute host path", i, m.Source)
			}
		case "tmpfs":
			if m.Source != "" {
				bad("mounts[%d]: a tmpfs has no source (got %q)", i, m.Source)
			}
		default:
			bad("mounts[%d]: type %q (want volume, bind or tmpfs)", i, m.Type)
		}
		if !strings.HasPrefix(m.Target, "/") {
			bad("mounts[%d]: target %q is not an absolute path", i, m.Target)
		}
	}
	for i, p := range s.Ports {
		if p.ContainerPort < 1 || p.ContainerPort > 65535 || p.HostPort < 0 || p.HostPort > 65535 {
			bad("ports[%d]: port out of range", i)
		}
		if p.Protocol != "" && p.Protocol != "tcp" && p.Protocol != "udp" && p.Protocol != "sctp" {
			bad("ports[%d]: protocol %q (want tcp or udp)", i, p.Protocol)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if len(s.Ports) > 0 && (c.opts.NetworkMode == "none" || c.opts.NetworkMode == "host") {
		return fmt.Errorf("ports: publishing ports needs a bridge network, and cloud %s runs containers with network_mode %q (set network_mode to a bridge network the daemon has): %w",
			c.name, c.opts.NetworkMode, providers.ErrUnsupported)
	}
	return nil
}

// validateMemory refuses limits below Docker's minimum.
func validateMemory(m int64) error {
	if m < minMemory {
		return fmt.Errorf("memory %d bytes: below Docker's minimum of 6 MiB (%d bytes): %w", m, minMemory, providers.ErrInvalid)
	}
	return nil
}

// validateRestart checks a restart policy as Docker would.
func validateRestart(p providers.RestartPolicy) error {
	switch p.Name {
	case "", "no", "always", "unless-stopped":
		if p.MaxRetries != 0 {
			return fmt.Errorf("restart policy %q: max retries only go with on-failure: %w", p.Name, providers.ErrInvalid)
		}
	case "on-failure":
		if p.MaxRetries < 0 {
			return fmt.Errorf("restart policy on-failure: max retries %d: negative: %w", p.MaxRetries, providers.ErrInvalid)
		}
	default:
		return fmt.Errorf("restart policy %q: want no, always, on-failure or unless-stopped: %w", p.Name, providers.ErrInvalid)
	}
	return nil
}

// toConfig is Docker's form of a spec.
func (c *Cloud) toConfig(s providers.ContainerSpec) (*container.Config, *container.HostConfig) {
	labels := make(map[string]string, len(s.Labels)+1)
	for k, v := range s.Labels {
		labels[k] = v
	}
	if s.IdempotencyToken != "" {
		labels[labelToken] = s.IdempotencyToken
	}
	if s.Project != "" {
		labels[labelProject] = s.Project
	}
	exposed, bindings := toPorts(s.Ports)
	cfg := &container.Config{
		Image:        s.Image,
		Cmd:          s.Command,
		Entrypoint:   s.Entrypoint,
		Env:          envList(s.Env),
		Labels:       labels,
		Healthcheck:  toHealthConfig(s.Healthcheck),
		OpenStdin:    s.Interactive,
		Tty:          s.TTY,
		WorkingDir:   s.Workdir,
		User:         s.User,
		Hostname:     s.Hostname,
		ExposedPorts: exposed,
	}
	hc := &container.HostConfig{
		NetworkMode:   container.NetworkMode(c.opts.NetworkMode),
		PortBindings:  bindings,
		RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyMode(s.RestartPolicy.Name), MaximumRetryCount: s.RestartPolicy.MaxRetries},
		AutoRemove:    s.AutoRemove,
		Mounts:        toMounts(s.Mounts),
	}
	hc.Runtime = s.Runtime
	hc.NanoCPUs = int64(math.Round(s.CPU * 1e9))
	hc.Memory = s.MemoryBytes
	return cfg, hc
}
