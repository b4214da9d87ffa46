package containerd

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"sort"
	"strings"

	containerd "github.com/containerd/containerd"
	tasks "github.com/containerd/containerd/api/services/tasks/v1"
	tasktypes "github.com/containerd/containerd/api/types/task"
	"github.com/containerd/containerd/containers"
	"github.com/containerd/containerd/errdefs"
	"github.com/containerd/containerd/identifiers"
	"github.com/containerd/containerd/oci"
	"github.com/containerd/typeurl/v2"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/canopy-cloud/canopy/providers"
)

// nativeID picks a new container's id. With a token it is derived from it
// (the token itself when it is a valid containerd id, a UUID is), so a
// replayed create collides with what an earlier attempt made, in this
// process or any other, instead of making a second container.
func nativeID(token string) string {
	if token == "" {
		var b [16]byte
		_, _ = rand.Read(b[:])
		return hex.EncodeToString(b[:])
	}
	if len(token) <= 64 && identifiers.Validate(token) == nil {
		return token
	}
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:16])
}

// task returns what containerd says about a container's task.
func (a *Adapter) task(ctx context.Context, id string) (taskInfo, error) {
	resp, err := a.client.TaskService().Get(ctx, &tasks.GetRequest{ContainerID: id})
	if err != nil {
		err = errdefs.FromGRPC(err)
		if errdefs.IsNotFound(err) {
			return taskInfo{}, nil
		}
		return taskInfo{}, wrap(err, "get task %s", id)
	}
	p := resp.GetProcess()
	t := taskInfo{Exists: true, Status: p.GetStatus(), Pid: p.GetPid(), ExitStatus: p.GetExitStatus()}
	if p.GetExitedAt() != nil {
		t.ExitedAt = p.GetExitedAt().AsTime()
	}
	return t, nil
}

// info returns a container's record in containerd's metadata.
func (a *Adapter) info(ctx context.Context, id string) (containers.Container, error) {
	c, err := a.client.ContainerService().Get(ctx, id)
	if err != nil {
		return c, wrap(err, "container %s", id)
	}
	return c, nil
}

// current returns a container's record, its task and its state.
func (a *Adapter) current(ctx context.Context, id string) (containers.Container, taskInfo, providers.ContainerState, error) {
	c, err := a.info(ctx, id)
	if err != nil {
		return c, taskInfo{}, 0, err
	}
	t, err := a.task(ctx, id)
	if err != nil {
		return c, t, 0, err
	}
	s, _, _ := stateOf(t, c.Labels)
	return c, t, s, nil
}

// currentFor is current, refused (ErrConflict naming the state) when the
// state table does not allow action there.
func (a *Adapter) currentFor(ctx context.Context, id, action string) (containers.Container, taskInfo, providers.ContainerState, error) {
	info, t, state, err := a.current(ctx, id)
	if err == nil {
		err = providers.ContainerAllowed(action, state)
	}
	return info, t, state, err
}

// view makes the canopy container of a containerd container and its task.
func (a *Adapter) view(ctx context.Context, c containers.Container, t taskInfo) providers.Container {
	state, code, finished := stateOf(t, c.Labels)
	var spec oci.Spec
	if c.Spec != nil {
		_ = json.Unmarshal(c.Spec.GetValue(), &spec)
	}
	var rec record
	if any, ok := c.Extensions[recordExtension]; ok && any != nil {
		if v, err := typeurl.UnmarshalAny(any); err == nil {
			if r, ok := v.(*record); ok {
				rec = *r
			}
		}
	}
	out := providers.Container{
		Common: providers.Common{
			NativeID: c.ID, Name: c.Labels[labelName], Region: a.opts.Region, Zone: a.opts.Zone,
			Status: state.Status(), ProviderStatus: providerStatus(t),
			Created: c.CreatedAt, Updated: c.UpdatedAt, Labels: userLabels(c.Labels),
		},
		State: state, ExitCode: code, Image: rec.Image, Host: a.opts.Host,
		Command: rec.Command, Entrypoint: rec.Entrypoint,
		Restart: parseRestart(c.Labels[labelRestart]), Healthcheck: parseHealthcheck(c.Labels[labelHealthcheck]),
		AutoRemove: c.Labels[labelAutoRemove] == "true", Interactive: rec.Interactive, TTY: rec.TTY,
		User: rec.User, Hostname: spec.Hostname, Ports: rec.Ports, Mounts: rec.Mounts,
		StartedAt: parseTime(c.Labels[labelStartedAt]), FinishedAt: finished, Token: c.Labels[labelToken],
	}
	out.RestartCount = atoi(c.Labels[labelRestartCount])
	if spec.Process != nil {
		out.Env = envMap(spec.Process.Env)
		out.Workdir = spec.Process.Cwd
	}
	out.CPU, out.MemoryBytes = limits(&spec)
	if out.Healthcheck != nil {
		out.Health = a.health.get(c.ID)
	}
	out.ImageID = rec.ImageID
	if out.ImageID == "" { // a container canopy did not make
		if img, err := a.client.ImageService().Get(ctx, c.Image); err == nil {
			out.ImageID = img.Target.Digest.String()
		}
	}
	return out
}

// ListContainers lists the namespace's containers, oldest first.
func (a *Adapter) ListContainers(ctx context.Context) ([]providers.Container, error) {
	ctx = a.ns(ctx)
	cs, err := a.client.ContainerService().List(ctx)
	if err != nil {
		return nil, wrap(err, "list containers")
	}
	resp, err := a.client.TaskService().List(ctx, &tasks.ListTasksRequest{})
	if err != nil {
		return nil, wrap(errdefs.FromGRPC(err), "list tasks")
	}
	byID := map[string]taskInfo{}
	for _, p := range resp.GetTasks() {
		t := taskInfo{Exists: true, Status: p.GetStatus(), Pid: p.GetPid(), ExitStatus: p.GetExitStatus()}
		if p.GetExitedAt() != nil {
			t.ExitedAt = p.GetExitedAt().AsTime()
		}
		byID[p.GetID()] = t
	}
	out := make([]providers.Container, 0, len(cs))
	for _, c := range cs {
		out = append(out, a.view(ctx, c, byID[c.ID]))
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Created.Before(out[j].Created) })
	return out, nil
}

// GetContainer returns one container; a missing one is ErrNotFound.
func (a *Adapter) GetContainer(ctx context.Context, id string) (providers.Container, error) {
	ctx = a.ns(ctx)
	c, t, _, err := a.current(ctx, id)
	if err != nil {
		return providers.Container{}, err
	}
	return a.view(ctx, c, t), nil
}

// nameTaken reports whether a container other than self has name.
func (a *Adapter) nameTaken(ctx context.Context, name, self string) (bool, error) {
	cs, err := a.client.ContainerService().List(ctx)
	if err != nil {
		return false, wrap(err, "list containers")
	}
	for _, c := range cs {
		if c.ID != self && c.Labels[labelName] == name {
			return true, nil
		}
	}
	return false, nil
}

// image resolves a reference in the namespace's image store (as given,
// then normalized: "busybox" is docker.io/library/busybox:latest) and makes
// sure it is unpacked into the snapshotter. A missing image wraps
// ErrInvalid naming it: the adapter never pulls.
func (a *Adapter) image(ctx context.Context, ref string) (containerd.Image, error) {
	im, err := a.client.GetImage(ctx, ref)
	if errdefs.IsNotFound(err) {
		if norm, nerr := normalizeRef(ref); nerr == nil && norm != ref {
			im, err = a.client.GetImage(ctx, norm)
		}
	}
	if errdefs.IsNotFound(err) {
		return nil, errorf(providers.ErrInvalid, "image %q not found in namespace %s (the adapter does not pull)", ref, a.opts.Namespace)
	}
	if err != nil {
		return nil, wrap(err, "image %s", ref)
	}
	ok, err := im.IsUnpacked(ctx, a.opts.Snapshotter)
	if err != nil {
		return nil, wrap(err, "image %s", ref)
	}
	if !ok {
		if err := im.Unpack(ctx, a.opts.Snapshotter); err != nil {
			return nil, wrap(err, "unpack image %s", ref)
		}
	}
	return im, nil
}

// CreateContainer makes a container (a snapshot of the image and the OCI
// spec) without a task: CREATED. With a token, the container's id derives
// from it, so a replay returns what an earlier attempt made.
func (a *Adapter) CreateContainer(ctx context.Context, spec providers.ContainerSpec) (providers.Container, error) {
	ctx = a.ns(ctx)
	if err := validateSpec(spec, a.opts.NetworkMode == "host"); err != nil {
		return providers.Container{}, err
	}
	if spec.Runtime != "" && spec.Runtime != "runc" {
		return providers.Container{}, errorf(providers.ErrUnsupported, "runtime %q: cloud %s runs containers under its shim %s (runc) only", spec.Runtime, a.name, a.opts.Runtime)
	}
	if spec.Host != "" && spec.Host != a.opts.Host && spec.Host != a.opts.Zone { // the cloud's zone: its one host
		return providers.Container{}, errorf(providers.ErrInvalid, "host %q: cloud %s has the one host %q", spec.Host, a.name, a.opts.Host)
	}
	id := nativeID(spec.IdempotencyToken)
	unlock := a.locks.lock(id)
	defer unlock()
	if spec.IdempotencyToken != "" {
		if c, err := a.GetContainer(ctx, id); err == nil {
			if c.Token == spec.IdempotencyToken {
				return c, nil
			}
			return providers.Container{}, errorf(providers.ErrAlreadyExists, "container id %s (from the token) is taken", id)
		} else if !errors.Is(err, providers.ErrNotFound) {
			return providers.Container{}, err
		}
	}
	name := spec.Name
	if name == "" {
		name = id[:12]
	}
	a.nameMu.Lock()
	defer a.nameMu.Unlock()
	if taken, err := a.nameTaken(ctx, name, ""); err != nil {
		return providers.Container{}, err
	} else if taken {
		return providers.Container{}, errorf(providers.ErrAlreadyExists, "a container named %q exists", name)
	}
	if spec.Replay {
		// An earlier attempt that died between making the snapshot and
		// the container left the snapshot (its lease holds it a day):
		// the id is ours, so it goes.
		_ = a.client.SnapshotService(a.opts.Snapshotter).Remove(ctx, id)
	}
	c, err := a.create(ctx, id, name, spec)
	if errdefs.IsAlreadyExists(err) && spec.IdempotencyToken != "" {
		// Another process made it first, with this token (else the id is
		// someone else's: an error, never their container).
		if got, gerr := a.GetContainer(ctx, id); gerr == nil && got.Token == spec.IdempotencyToken {
			return got, nil
		}
		return providers.Container{}, errorf(providers.ErrAlreadyExists, "container id %s (from the token) is taken", id)
	}
	if err != nil {
		return providers.Container{}, err
	}
	return a.view(ctx, c, taskInfo{}), nil
}

// create makes the container; on failure it leaves nothing behind (unless
// the failure is that the id exists: then what exists is someone else's).
func (a *Adapter) create(ctx context.Context, id, name string, spec providers.ContainerSpec) (_ containers.Container, err error) {
	im, err := a.image(ctx, spec.Image)
	if err != nil {
		return containers.Container{}, err
	}
	cfg, err := im.Spec(ctx)
	if err != nil {
		return containers.Container{}, wrap(err, "image %s config", spec.Image)
	}
	ep, cmd, args := processArgs(cfg.Config, spec.Entrypoint, spec.Command)
	if len(args) == 0 {
		return containers.Container{}, errorf(providers.ErrInvalid, "no command: image %s has neither entrypoint nor command and the request gives none", spec.Image)
	}
	mounts, err := ociMounts(volumesRoot(a.dataDir), spec.Mounts)
	if err != nil {
		return containers.Container{}, err
	}
	hostname := spec.Hostname
	if hostname == "" {
		hostname = id[:12]
	}
	opts := []oci.SpecOpts{
		oci.WithImageConfig(im),
		oci.WithProcessArgs(args...),
		oci.WithEnv(envList(spec.Env)),
		oci.WithHostname(hostname),
		oci.WithMounts(mounts),
		withResources(spec.CPU, spec.MemoryBytes),
	}
	if spec.Workdir != "" {
		opts = append(opts, oci.WithProcessCwd(spec.Workdir))
	}
	if spec.User != "" {
		opts = append(opts, oci.WithUser(spec.User))
	}
	if spec.TTY {
		opts = append(opts, oci.WithTTY)
	}
	if a.opts.NetworkMode == "host" {
		opts = append(opts, oci.WithHostNamespace(specs.NetworkNamespace), oci.WithHostHostsFile, oci.WithHostResolvconf)
	}
	labels := map[string]string{}
	for k, v := range spec.Labels {
		labels[k] = v
	}
	labels[labelName] = name
	labels[labelRestart] = formatRestart(spec.RestartPolicy)
	if spec.IdempotencyToken != "" {
		labels[labelToken] = spec.IdempotencyToken
	}
	if spec.AutoRemove {
		labels[labelAutoRemove] = "true"
	}
	if spec.Project != "" {
		labels[labelProject] = spec.Project // hosts.go: whose containers the host runs
	}
	if spec.Healthcheck != nil {
		if labels[labelHealthcheck], err = formatHealthcheck(spec.Healthcheck); err != nil {
			return containers.Container{}, errorf(providers.ErrInvalid, "healthcheck: %v", err)
		}
	}
	rec := &record{
		Image: spec.Image, ImageID: im.Target().Digest.String(), Command: cmd, Entrypoint: ep, Env: spec.Env, Interactive: spec.Interactive, TTY: spec.TTY,
		Workdir: spec.Workdir, User: spec.User, Hostname: spec.Hostname, Ports: spec.Ports, Mounts: spec.Mounts,
	}
	// The lease keeps the new snapshot from containerd's garbage collector
	// until the container that references it exists.
	lctx, done, err := a.client.WithLease(ctx)
	if err != nil {
		return containers.Container{}, wrap(err, "lease")
	}
	defer func() { _ = done(a.ns(context.Background())) }()
	c, err := a.client.NewContainer(lctx, id,
		containerd.WithImage(im),
		containerd.WithImageName(im.Name()),
		containerd.WithSnapshotter(a.opts.Snapshotter),
		containerd.WithNewSnapshot(id, im),
		containerd.WithImageStopSignal(im, "SIGTERM"),
		containerd.WithRuntime(a.opts.Runtime, nil),
		containerd.WithNewSpec(opts...),
		containerd.WithContainerLabels(labels),
		containerd.WithContainerExtension(recordExtension, rec),
	)
	if err != nil {
		if !errdefs.IsAlreadyExists(err) {
			cctx := a.ns(context.Background())
			_ = a.client.SnapshotService(a.opts.Snapshotter).Remove(cctx, id)
		}
		if spec.User != "" && (strings.Contains(err.Error(), "no users found") || strings.Contains(err.Error(), "no groups found")) {
			return containers.Container{}, errorf(providers.ErrInvalid, "user %q is not in image %s's /etc/passwd or /etc/group", spec.User, spec.Image)
		}
		if errdefs.IsNotFound(err) || errdefs.IsInvalidArgument(err) {
			// e.g. a user name the image's /etc/passwd lacks
			return containers.Container{}, &Error{Op: "create container " + id, Kind: providers.ErrInvalid, Err: err}
		}
		return containers.Container{}, wrap(err, "create container %s", id)
	}
	info, err := c.Info(ctx)
	if err != nil {
		return containers.Container{}, wrap(err, "container %s", id)
	}
	return info, nil
}

// DeleteContainer removes a container, its task, its snapshot and its
// logs; force kills a running or paused one first. Volumes stay.
func (a *Adapter) DeleteContainer(ctx context.Context, id string, force bool) error {
	ctx = a.ns(ctx)
	unlock := a.locks.lock(id)
	defer unlock()
	_, t, state, err := a.current(ctx, id)
	if err != nil {
		return err
	}
	action := providers.ActDelete
	if force {
		action = providers.ActForceDel
	}
	if err := providers.ContainerAllowed(action, state); err != nil {
		return err
	}
	return a.remove(ctx, id, t)
}

// remove deletes a container whatever its state (the caller holds its lock).
func (a *Adapter) remove(ctx context.Context, id string, t taskInfo) error {
	a.health.forget(id)
	c, err := a.client.LoadContainer(ctx, id)
	if err != nil {
		return wrap(err, "load container %s", id)
	}
	if t.Exists {
		task, err := c.Task(ctx, nil)
		if err == nil {
			if t.Status == tasktypes.Status_PAUSED || t.Status == tasktypes.Status_PAUSING {
				_ = task.Resume(ctx)
			}
			if _, err := task.Delete(ctx, containerd.WithProcessKill); err != nil && !errdefs.IsNotFound(err) {
				return wrap(err, "delete task %s", id)
			}
		} else if !errdefs.IsNotFound(err) {
			return wrap(err, "load task %s", id)
		}
	}
	if err := c.Delete(ctx, containerd.WithSnapshotCleanup); err != nil {
		return wrap(err, "delete container %s", id)
	}
	_ = os.RemoveAll(a.logDir(id))
	return nil
}

func atoi(s string) int {
	n := 0
	for _, r := range s {
		if r < '0' || r > '9' {
			return 0
		}
		n = n*10 + int(r-'0')
	}
	return n
}
