package containerd

import (
	"context"
	"errors"
	"strconv"
	"syscall"
	"time"

	containerd "github.com/containerd/containerd"
	tasktypes "github.com/containerd/containerd/api/types/task"
	"github.com/containerd/containerd/containers"
	"github.com/containerd/containerd/errdefs"
	"github.com/containerd/typeurl/v2"

	"github.com/canopy-cloud/canopy/providers"
)

// StartContainer creates and starts the container's task (a stopped one
// left by an exit is deleted first, its exit kept in the labels).
func (a *Adapter) StartContainer(ctx context.Context, id string) error {
	ctx = a.ns(ctx)
	unlock := a.locks.lock(id)
	defer unlock()
	info, t, _, err := a.currentFor(ctx, id, providers.ActStart)
	if err != nil {
		return err
	}
	// A start by a user clears the stop mark and the restart count (Docker
	// counts the restarts of one run of the policy).
	if _, err := a.setLabels(ctx, id, map[string]string{labelStopped: "", labelRestartCount: ""}); err != nil {
		return err
	}
	return a.startTask(ctx, info, t)
}

// startTask deletes a finished task and starts a new one (the caller holds
// the container's lock).
func (a *Adapter) startTask(ctx context.Context, info containers.Container, t taskInfo) error {
	id := info.ID
	c, err := a.client.LoadContainer(ctx, id)
	if err != nil {
		return wrap(err, "load container %s", id)
	}
	if t.Exists {
		if err := a.deleteTask(ctx, c); err != nil {
			return err
		}
	}
	var rec record
	if any, ok := info.Extensions[recordExtension]; ok && any != nil {
		if v, err := typeurl.UnmarshalAny(any); err == nil {
			if r, ok := v.(*record); ok {
				rec = *r
			}
		}
	}
	creator, undo, err := a.taskIO(id, rec.TTY, rec.Interactive)
	if err != nil {
		return err
	}
	task, err := c.NewTask(ctx, creator)
	if err != nil {
		undo()
		return wrap(err, "create task %s", id)
	}
	// Taken before the start: a process that exits at once must not seem
	// to finish before it started.
	startedAt := time.Now()
	if err := task.Start(ctx); err != nil {
		_, _ = task.Delete(a.ns(context.Background()), containerd.WithProcessKill)
		undo()
		return wrap(err, "start task %s", id)
	}
	if _, err := a.setLabels(ctx, id, map[string]string{labelStartedAt: formatTime(startedAt)}); err != nil {
		return err
	}
	if hc := parseHealthcheck(info.Labels[labelHealthcheck]); hc != nil {
		a.health.start(id, *hc)
	}
	return nil
}

// deleteTask deletes a container's task and keeps its exit in the labels.
func (a *Adapter) deleteTask(ctx context.Context, c containerd.Container) error {
	task, err := c.Task(ctx, nil)
	if errdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return wrap(err, "load task %s", c.ID())
	}
	st, err := task.Delete(ctx, containerd.WithProcessKill)
	if err != nil && !errdefs.IsNotFound(err) {
		return wrap(err, "delete task %s", c.ID())
	}
	if st == nil {
		return nil
	}
	at := st.ExitTime()
	if at.IsZero() || at.Year() < 2000 {
		at = time.Now()
	}
	_, err = a.setLabels(ctx, c.ID(), map[string]string{
		labelExitCode: strconv.Itoa(int(st.ExitCode())), labelFinishedAt: formatTime(at),
	})
	return err
}

// setLabels changes some labels ("" removes one), leaving the rest.
func (a *Adapter) setLabels(ctx context.Context, id string, labels map[string]string) (map[string]string, error) {
	c, err := a.client.LoadContainer(ctx, id)
	if err != nil {
		return nil, wrap(err, "load container %s", id)
	}
	all, err := c.SetLabels(ctx, labels)
	if err != nil {
		return nil, wrap(err, "set labels of %s", id)
	}
	return all, nil
}

// StopContainer sends the stop signal (the image's, else SIGTERM), then
// SIGKILL after timeout, and deletes the task; the exit code and time stay
// in the labels. The restart policy leaves a stopped container alone.
func (a *Adapter) StopContainer(ctx context.Context, id string, timeout time.Duration) error {
	ctx = a.ns(ctx)
	unlock := a.locks.lock(id)
	defer unlock()
	_, _, _, err := a.currentFor(ctx, id, providers.ActStop)
	if err != nil {
		return err
	}
	return a.stopTask(ctx, id, timeout)
}

// stopTask stops and deletes the task (the caller holds the lock).
func (a *Adapter) stopTask(ctx context.Context, id string, timeout time.Duration) error {
	if _, err := a.setLabels(ctx, id, map[string]string{labelStopped: "true"}); err != nil {
		return err
	}
	a.health.stop(id)
	c, err := a.client.LoadContainer(ctx, id)
	if err != nil {
		return wrap(err, "load container %s", id)
	}
	task, err := c.Task(ctx, nil)
	if errdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return wrap(err, "load task %s", id)
	}
	exited, err := task.Wait(ctx)
	if err != nil {
		return wrap(err, "wait for task %s", id)
	}
	if st, err := task.Status(ctx); err == nil && st.Status != containerd.Stopped {
		if st.Status == containerd.Paused || st.Status == containerd.Pausing {
			if err := task.Resume(ctx); err != nil && !errdefs.IsNotFound(err) {
				return wrap(err, "resume task %s", id)
			}
		}
		sig, err := containerd.GetStopSignal(ctx, c, syscall.SIGTERM)
		if err != nil {
			sig = syscall.SIGTERM
		}
		if err := task.Kill(ctx, sig); err != nil && !errdefs.IsNotFound(err) {
			return wrap(err, "signal task %s", id)
		}
		if timeout < 0 {
			timeout = 0
		}
		select {
		case <-exited:
		case <-time.After(timeout):
			if err := task.Kill(ctx, syscall.SIGKILL, containerd.WithKillAll); err != nil && !errdefs.IsNotFound(err) {
				return wrap(err, "kill task %s", id)
			}
			select {
			case <-exited:
			case <-ctx.Done():
				return wrap(ctx.Err(), "wait for task %s to die", id)
			}
		case <-ctx.Done():
			return wrap(ctx.Err(), "wait for task %s to stop", id)
		}
	}
	return a.deleteTask(ctx, c)
}

// RestartContainer stops a running container (as StopContainer) and
// starts it again.
func (a *Adapter) RestartContainer(ctx context.Context, id string, timeout time.Duration) error {
	ctx = a.ns(ctx)
	unlock := a.locks.lock(id)
	defer unlock()
	_, _, _, err := a.currentFor(ctx, id, providers.ActRestart)
	if err != nil {
		return err
	}
	if err := a.stopTask(ctx, id, timeout); err != nil {
		return err
	}
	info, t, _, err := a.current(ctx, id)
	if err != nil {
		return err
	}
	if _, err := a.setLabels(ctx, id, map[string]string{labelStopped: ""}); err != nil {
		return err
	}
	return a.startTask(ctx, info, t)
}

// PauseContainer freezes the task (the cgroup freezer).
func (a *Adapter) PauseContainer(ctx context.Context, id string) error {
	return a.taskAction(ctx, id, providers.ActPause, func(ctx context.Context, t containerd.Task) error { return t.Pause(ctx) })
}

// UnpauseContainer thaws it.
func (a *Adapter) UnpauseContainer(ctx context.Context, id string) error {
	return a.taskAction(ctx, id, providers.ActUnpause, func(ctx context.Context, t containerd.Task) error { return t.Resume(ctx) })
}

// KillContainer sends a signal to the main process. SIGKILL or the stop
// signal count as a user's stop: the restart policy leaves the container
// alone (Docker's rule); other signals do not.
func (a *Adapter) KillContainer(ctx context.Context, id, signal string) error {
	sig, err := parseSignal(signal)
	if err != nil {
		return err
	}
	return a.taskAction(ctx, id, providers.ActKill, func(ctx context.Context, t containerd.Task) error {
		c, err := a.client.LoadContainer(ctx, id)
		if err != nil {
			return err
		}
		stopSig, _ := containerd.GetStopSignal(ctx, c, syscall.SIGTERM)
		if sig == syscall.SIGKILL || sig == stopSig {
			if _, err := a.setLabels(ctx, id, map[string]string{labelStopped: "true"}); err != nil {
				return err
			}
		}
		return t.Kill(ctx, sig)
	})
}

// taskAction checks the state table and runs fn on the container's task.
func (a *Adapter) taskAction(ctx context.Context, id, action string, fn func(context.Context, containerd.Task) error) error {
	ctx = a.ns(ctx)
	unlock := a.locks.lock(id)
	defer unlock()
	_, _, _, err := a.currentFor(ctx, id, action)
	if err != nil {
		return err
	}
	c, err := a.client.LoadContainer(ctx, id)
	if err != nil {
		return wrap(err, "load container %s", id)
	}
	task, err := c.Task(ctx, nil)
	if err != nil {
		return wrap(err, "load task %s", id)
	}
	if err := fn(ctx, task); err != nil {
		var mapped *Error
		if errors.As(err, &mapped) {
			return err
		}
		return wrap(err, "%s %s", action, id)
	}
	return nil
}

// RenameContainer changes the name label (containerd ids are immutable).
// Names are unique in the namespace: a taken one is ErrAlreadyExists.
func (a *Adapter) RenameContainer(ctx context.Context, id, name string) error {
	ctx = a.ns(ctx)
	if name == "" {
		return errorf(providers.ErrInvalid, "empty name")
	}
	unlock := a.locks.lock(id)
	defer unlock()
	info, _, _, err := a.currentFor(ctx, id, providers.ActRename)
	if err != nil {
		return err
	}
	if info.Labels[labelName] == name {
		return nil
	}
	a.nameMu.Lock()
	defer a.nameMu.Unlock()
	if taken, err := a.nameTaken(ctx, name, id); err != nil {
		return err
	} else if taken {
		return errorf(providers.ErrAlreadyExists, "a container named %q exists", name)
	}
	_, err = a.setLabels(ctx, id, map[string]string{labelName: name})
	return err
}

// UpdateContainer changes the CPU and memory limits (in the stored spec,
// so the next start keeps them, and on a running task through its cgroup)
// and the restart policy.
func (a *Adapter) UpdateContainer(ctx context.Context, id string, u providers.ContainerUpdate) error {
	ctx = a.ns(ctx)
	unlock := a.locks.lock(id)
	defer unlock()
	_, t, _, err := a.currentFor(ctx, id, providers.ActUpdate)
	if err != nil {
		return err
	}
	if u.RestartPolicy != nil {
		if err := validRestart(*u.RestartPolicy); err != nil {
			return err
		}
	}
	c, err := a.client.LoadContainer(ctx, id)
	if err != nil {
		return wrap(err, "load container %s", id)
	}
	if u.CPU != nil || u.MemoryBytes != nil {
		spec, err := c.Spec(ctx)
		if err != nil {
			return wrap(err, "spec of %s", id)
		}
		cpu, mem := limits(spec)
		if u.CPU != nil {
			cpu = *u.CPU
		}
		if u.MemoryBytes != nil {
			mem = *u.MemoryBytes
		}
		if err := validateSpec(providers.ContainerSpec{Image: "-", CPU: cpu, MemoryBytes: mem}, false); err != nil {
			return err
		}
		if err := withResources(cpu, mem)(ctx, a.client, nil, spec); err != nil {
			return err
		}
		if t.Exists && t.Status != tasktypes.Status_STOPPED {
			task, err := c.Task(ctx, nil)
			if err != nil {
				return wrap(err, "load task %s", id)
			}
			if err := task.Update(ctx, containerd.WithResources(spec.Linux.Resources)); err != nil {
				return wrap(err, "update task %s", id)
			}
		}
		if err := c.Update(ctx, containerd.UpdateContainerOpts(containerd.WithSpec(spec))); err != nil {
			return wrap(err, "update container %s", id)
		}
	}
	if u.RestartPolicy != nil {
		if _, err := a.setLabels(ctx, id, map[string]string{labelRestart: formatRestart(*u.RestartPolicy)}); err != nil {
			return err
		}
	}
	return nil
}
