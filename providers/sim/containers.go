package sim

import (
	"context"
	"crypto/sha256"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/canopy-cloud/canopy/providers"
)

// Containers in the simulator: one simulated container host, in memory.
//
// The lifecycle is real: the state table (providers.ContainerAllowed) is
// enforced, processes start and end, exit codes, restart policies with
// Docker's back-off, auto-remove, healthchecks, logs, exec, stats, top,
// commits and events all follow from what the container's command does.
// What the command does is decided by a small simulated busybox, not by
// running anything on the host (containers_shell.go has its contract): the
// applets echo, cat, sleep, true, false, exit, pwd, id, env, hostname,
// touch, wget and httpd, and `sh -c` scripts of those joined by ;, && and
// || with quotes, $VAR and redirections (>, >>, <, >&2, 2>&1). Anything
// else is "not found" (127), as in a busybox without that applet.
//
// Signals follow Linux for a PID 1 without handlers: only SIGKILL ends the
// main process (exit 137); other valid signals are delivered and ignored.
// So StopContainer waits out its timeout before it kills, as Docker does
// with a busybox that installs no SIGTERM handler.
//
// Containers are not persisted (Options.Persist keeps servers, keypairs and
// volumes): a restarted sim is a rebooted host whose containers are gone.

// ContainerHost is the simulated host's name (Container.Host).
const ContainerHost = "sim-host"

// containerHostMemory is the simulated host's memory, the limit stats
// report for a container without one.
const containerHostMemory = 16 << 30

// minContainerMemory is Docker's smallest memory limit.
const minContainerMemory = 6 << 20

// DefaultContainerImage is the busybox image every simulated host has, named
// as the real engines' tests name theirs (test/containers/rootfs.sh).
const DefaultContainerImage = "canopy-test/busybox:latest"

// containerState is the simulated container host.
type containerState struct {
	mu         sync.Mutex
	containers map[string]*ctr
	images     map[string]*ctrImage // by reference and by id
	subs       map[*subscriber]struct{}
	closed     bool
}

// ctrImage is a container image: a filesystem and the env it sets.
type ctrImage struct {
	id      string // "sha256:…"
	refs    []string
	fs      *memFS
	env     map[string]string
	created time.Time
}

// ctr is one container; c is what Get reports, the rest its machinery.
type ctr struct {
	c        providers.Container
	fs       *memFS
	main     *proc          // the running main process; nil when none
	execs    map[*proc]bool // exec'd processes alive
	listen   map[int]string // ports an httpd listens on → its home
	gate     *gate          // closed while paused
	logs     []providers.LogEntry
	logWake  chan struct{} // closed and replaced when logs grow or a run ends
	manual   bool          // stopped by the user: the restart policy does not apply
	restart  *time.Timer   // pending policy restart
	failures int           // consecutive failed health probes
	backoff  time.Duration // the policy's next restart delay
	nextPID  int
}

func newContainerState() *containerState {
	st := &containerState{containers: map[string]*ctr{}, images: map[string]*ctrImage{}, subs: map[*subscriber]struct{}{}}
	img := &ctrImage{refs: []string{DefaultContainerImage}, fs: busyboxFS(),
		env:     map[string]string{"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
		created: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}
	img.id = img.fs.digest()
	st.images[DefaultContainerImage] = img
	st.images[img.id] = img
	return st
}

// normalizeRef adds the tag a reference without one means.
func normalizeRef(ref string) string {
	if strings.HasPrefix(ref, "sha256:") || strings.Contains(ref, "@") {
		return ref
	}
	if i := strings.LastIndex(ref, ":"); i < 0 || strings.Contains(ref[i:], "/") {
		return ref + ":latest"
	}
	return ref
}

// view is the container as a client sees it (a copy).
func (r *ctr) view() providers.Container {
	c := r.c
	c.Labels = cloneMap(c.Labels)
	c.Env = cloneMap(c.Env)
	c.Command = append([]string(nil), c.Command...)
	c.Entrypoint = append([]string(nil), c.Entrypoint...)
	c.Ports = append([]providers.PortBinding(nil), c.Ports...)
	c.Mounts = append([]providers.Mount(nil), c.Mounts...)
	if c.Healthcheck != nil {
		h := *c.Healthcheck
		h.Cmd = append([]string(nil), h.Cmd...)
		c.Healthcheck = &h
	}
	c.Status = c.State.Status()
	c.ProviderStatus = rawContainerStatus(c.State)
	return c
}

// rawContainerStatus is Docker's word for a state.
func rawContainerStatus(s providers.ContainerState) string {
	switch s {
	case providers.ContainerCreated:
		return "created"
	case providers.ContainerRunning:
		return "running"
	case providers.ContainerPaused:
		return "paused"
	case providers.ContainerRestarting:
		return "restarting"
	case providers.ContainerStopped:
		return "exited"
	case providers.ContainerDeleting:
		return "removing"
	case providers.ContainerDead:
		return "dead"
	}
	return strings.ToLower(s.String())
}

// lookup returns a container by id; callers hold st.mu.
func (st *containerState) lookup(op, id string) (*ctr, error) {
	r := st.containers[id]
	if r == nil {
		return nil, fmt.Errorf("sim: %s container %q: %w", op, id, providers.ErrNotFound)
	}
	return r, nil
}

// allowed checks the state table; callers hold st.mu.
func allowed(r *ctr, action string) error {
	if err := providers.ContainerAllowed(action, r.c.State); err != nil {
		return fmt.Errorf("sim: container %s: %w", r.c.Name, err)
	}
	return nil
}

// ListContainers implements providers.Containers.
func (c *Cloud) ListContainers(ctx context.Context) ([]providers.Container, error) {
	if err := c.call(ctx, "ListContainers"); err != nil {
		return nil, err
	}
	st := c.ctr
	st.mu.Lock()
	defer st.mu.Unlock()
	out := make([]providers.Container, 0, len(st.containers))
	for _, r := range st.containers {
		out = append(out, r.view())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].NativeID < out[j].NativeID })
	return out, nil
}

// GetContainer implements providers.Containers.
func (c *Cloud) GetContainer(ctx context.Context, id string) (providers.Container, error) {
	if err := c.call(ctx, "GetContainer"); err != nil {
		return providers.Container{}, err
	}
	st := c.ctr
	st.mu.Lock()
	defer st.mu.Unlock()
	r, err := st.lookup("get", id)
	if err != nil {
		return providers.Container{}, err
	}
	return r.view(), nil
}

var containerName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]+$`)

var restartPolicies = map[string]bool{"": true, "no": true, "always": true, "on-failure": true, "unless-stopped": true}

// validateSpec refuses what Docker refuses at create.
func validateSpec(spec providers.ContainerSpec) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("sim: create container: %w: %s", providers.ErrInvalid, fmt.Sprintf(format, args...))
	}
	if spec.Name != "" && !containerName.MatchString(spec.Name) {
		return bad("name %q: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", spec.Name)
	}
	if len(spec.Entrypoint)+len(spec.Command) == 0 {
		return bad("no command specified (image %s has none)", spec.Image)
	}
	if err := validateResources(spec.CPU, spec.MemoryBytes, spec.RestartPolicy); err != nil {
		return err
	}
	if spec.AutoRemove && spec.RestartPolicy.Name != "" && spec.RestartPolicy.Name != "no" {
		return bad("auto-remove and restart policy %q cannot be combined", spec.RestartPolicy.Name)
	}
	if spec.Workdir != "" && !strings.HasPrefix(spec.Workdir, "/") {
		return bad("working directory %q is not an absolute path", spec.Workdir)
	}
	if h := spec.Healthcheck; h != nil {
		if len(h.Cmd) == 0 || h.Interval < 0 || h.Timeout < 0 || h.StartPeriod < 0 || h.Retries < 0 {
			return bad("healthcheck %+v: a command and no negative durations or retries", *h)
		}
	}
	for _, m := range spec.Mounts {
		if (m.Type != "volume" && m.Type != "bind" && m.Type != "tmpfs") || !strings.HasPrefix(m.Target, "/") {
			return bad("mount %+v: type volume, bind or tmpfs at an absolute target", m)
		}
	}
	for _, p := range spec.Ports {
		if p.ContainerPort <= 0 || p.ContainerPort > 65535 || (p.Protocol != "" && p.Protocol != "tcp" && p.Protocol != "udp") {
			return bad("port %+v", p)
		}
	}
	if spec.Host != "" && spec.Host != ContainerHost {
		return bad("host %q does not exist (the sim has %s)", spec.Host, ContainerHost)
	}
	return nil
}

func validateResources(cpu float64, mem int64, rp providers.RestartPolicy) error {
	switch {
	case cpu < 0:
		return fmt.Errorf("sim: %w: cpu %v is negative", providers.ErrInvalid, cpu)
	case mem < 0 || (mem > 0 && mem < minContainerMemory):
		return fmt.Errorf("sim: %w: memory %d: the minimum limit is 6 MiB", providers.ErrInvalid, mem)
	case !restartPolicies[rp.Name]:
		return fmt.Errorf("sim: %w: restart policy %q (no, always, on-failure or unless-stopped)", providers.ErrInvalid, rp.Name)
	case rp.MaxRetries < 0 || (rp.MaxRetries > 0 && rp.Name != "on-failure"):
		return fmt.Errorf("sim: %w: maximum retry count %d only goes with on-failure", providers.ErrInvalid, rp.MaxRetries)
	}
	return nil
}

// CreateContainer implements providers.Containers. A token seen before
// returns the container made with it, so a replayed create never makes a
// second one.
func (c *Cloud) CreateContainer(ctx context.Context, spec providers.ContainerSpec) (providers.Container, error) {
	if err := c.call(ctx, "CreateContainer"); err != nil {
		return providers.Container{}, err
	}
	if err := validateSpec(spec); err != nil {
		return providers.Container{}, err
	}
	c.mu.Lock()
	id := c.newID("ctr")
	c.mu.Unlock()
	st := c.ctr
	st.mu.Lock()
	defer st.mu.Unlock()
	if spec.IdempotencyToken != "" {
		for _, r := range st.containers {
			if r.c.Token == spec.IdempotencyToken {
				return r.view(), nil
			}
		}
	}
	img := st.images[normalizeRef(spec.Image)]
	if img == nil {
		return providers.Container{}, fmt.Errorf("sim: create container: %w: image %q not found on %s", providers.ErrInvalid, spec.Image, ContainerHost)
	}
	name := spec.Name
	if name == "" {
		name = "sim_" + strings.TrimPrefix(id, "ctr-")
	}
	if st.byName(name) != nil {
		return providers.Container{}, fmt.Errorf("sim: create container: %w: the name %q is already in use", providers.ErrAlreadyExists, name)
	}
	env := cloneMap(img.env)
	for k, v := range spec.Env {
		env[k] = v
	}
	rp := spec.RestartPolicy
	if rp.Name == "" {
		rp.Name = "no"
	}
	now := time.Now()
	r := &ctr{
		c: providers.Container{
			Common: providers.Common{NativeID: id, Name: name, Region: c.opts.Regions[0], Created: now, Updated: now,
				Labels: cloneMap(spec.Labels)},
			State: providers.ContainerCreated, Image: spec.Image, ImageID: img.id, Host: ContainerHost,
			Command: spec.Command, Entrypoint: spec.Entrypoint, Env: env, CPU: spec.CPU, MemoryBytes: spec.MemoryBytes,
			Restart: rp, Healthcheck: spec.Healthcheck, AutoRemove: spec.AutoRemove, Interactive: spec.Interactive,
			TTY: spec.TTY, Workdir: spec.Workdir, User: spec.User, Hostname: spec.Hostname, Ports: spec.Ports,
			Mounts: spec.Mounts, Token: spec.IdempotencyToken,
		},
		fs: img.fs.clone(), execs: map[*proc]bool{}, listen: map[int]string{}, gate: newGate(),
		logWake: make(chan struct{}),
	}
	if r.c.Hostname == "" {
		r.c.Hostname = strings.TrimPrefix(id, "ctr-")[:12]
	}
	r.c = r.view() // own copies of the spec's slices and maps
	for i, p := range r.c.Ports {
		if p.HostPort == 0 {
			r.c.Ports[i].HostPort = p.ContainerPort // published on the simulated host as is
		}
	}
	st.containers[id] = r
	st.publish(id, "create")
	return r.view(), nil
}

// byName finds a container by name; callers hold st.mu.
func (st *containerState) byName(name string) *ctr {
	for _, r := range st.containers {
		if r.c.Name == name {
			return r
		}
	}
	return nil
}

// DeleteContainer implements providers.Containers.
func (c *Cloud) DeleteContainer(ctx context.Context, id string, force bool) error {
	if err := c.call(ctx, "DeleteContainer"); err != nil {
		return err
	}
	st := c.ctr
	st.mu.Lock()
	r, err := st.lookup("delete", id)
	if err == nil && !force {
		err = allowed(r, providers.ActDelete)
	}
	if err != nil {
		st.mu.Unlock()
		return err
	}
	st.cancelRestart(r)
	r.manual = true
	p := r.main
	st.mu.Unlock()
	if p != nil {
		p.kill()
		if err := p.waitDone(ctx); err != nil {
			return fmt.Errorf("sim: delete container %q: %w", id, err)
		}
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.containers[id] == r { // else auto-removed as it died: deleted all the same
		st.remove(r)
	}
	return nil
}

// remove drops a container whose processes have ended; callers hold st.mu.
func (st *containerState) remove(r *ctr) {
	delete(st.containers, r.c.NativeID)
	st.wakeLogs(r)
	st.publish(r.c.NativeID, "destroy")
}

// RenameContainer implements providers.Containers.
func (c *Cloud) RenameContainer(ctx context.Context, id, name string) error {
	if err := c.call(ctx, "RenameContainer"); err != nil {
		return err
	}
	st := c.ctr
	st.mu.Lock()
	defer st.mu.Unlock()
	r, err := st.lookup("rename", id)
	if err != nil {
		return err
	}
	if err := allowed(r, providers.ActRename); err != nil {
		return err
	}
	if !containerName.MatchString(name) {
		return fmt.Errorf("sim: rename container %q: %w: name %q: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", id, providers.ErrInvalid, name)
	}
	if r.c.Name == name {
		return fmt.Errorf("sim: rename container %q: %w: it is already named %q", id, providers.ErrInvalid, name)
	}
	if st.byName(name) != nil {
		return fmt.Errorf("sim: rename container %q: %w: the name %q is already in use", id, providers.ErrAlreadyExists, name)
	}
	r.c.Name, r.c.Updated = name, time.Now()
	st.publish(id, "rename")
	return nil
}

// UpdateContainer implements providers.Containers.
func (c *Cloud) UpdateContainer(ctx context.Context, id string, u providers.ContainerUpdate) error {
	if err := c.call(ctx, "UpdateContainer"); err != nil {
		return err
	}
	st := c.ctr
	st.mu.Lock()
	defer st.mu.Unlock()
	r, err := st.lookup("update", id)
	if err != nil {
		return err
	}
	if err := allowed(r, providers.ActUpdate); err != nil {
		return err
	}
	cpu, mem, rp := r.c.CPU, r.c.MemoryBytes, r.c.Restart
	if u.CPU != nil {
		cpu = *u.CPU
	}
	if u.MemoryBytes != nil {
		mem = *u.MemoryBytes
	}
	if u.RestartPolicy != nil {
		rp = *u.RestartPolicy
		if rp.Name == "" {
			rp.Name = "no"
		}
	}
	if err := validateResources(cpu, mem, rp); err != nil {
		return fmt.Errorf("sim: update container %q: %w", id, err)
	}
	if r.c.AutoRemove && rp.Name != "no" {
		return fmt.Errorf("sim: update container %q: %w: restart policy %q on an auto-remove container", id, providers.ErrInvalid, rp.Name)
	}
	if mem > 0 && r.c.State == providers.ContainerRunning && r.memory() > mem {
		return fmt.Errorf("sim: update container %q: %w: memory limit %d is below the %d in use", id, providers.ErrInvalid, mem, r.memory())
	}
	r.c.CPU, r.c.MemoryBytes, r.c.Restart, r.c.Updated = cpu, mem, rp, time.Now()
	st.publish(id, "update")
	return nil
}

// digest names a filesystem by its content, as an image id.
func (fs *memFS) digest() string {
	h := sha256.New()
	for _, p := range fs.paths() {
		fmt.Fprintf(h, "%s\x00%d\x00", p, len(fs.files[p]))
		h.Write(fs.files[p])
	}
	return fmt.Sprintf("sha256:%x", h.Sum(nil))
}
