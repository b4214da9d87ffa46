package containerd

import (
	"context"
	"strconv"
	"time"

	apievents "github.com/containerd/containerd/api/events"
	tasktypes "github.com/containerd/containerd/api/types/task"
	"github.com/containerd/containerd/errdefs"
	"github.com/containerd/containerd/events"
	"github.com/containerd/typeurl/v2"
)

// Restart policies and auto-remove.
//
// containerd 1.6 has a restart monitor plugin, but it restarts by polling
// labels every 10 s, counts nothing, knows no on-failure retry limit and
// fights any client that stops a container. So the adapter keeps Docker's
// policies itself: the monitor subscribes to the namespace's task exits
// and, for each container whose main process exited, removes it
// (auto-remove) or restarts it per the policy in its labels, counting
// restarts in a label and backing off as Docker does. Whenever the monitor
// (re)subscribes — when the adapter opens, after containerd restarted — it
// first scans every container: exits missed while nobody watched are
// handled then, and the healthchecks of running containers resume. With
// several canopyd on one containerd each would act; the per-container lock
// is per process, so restarts could double: run one.

// monitor runs until ctx ends.
func (a *Adapter) monitor(ctx context.Context) {
	ctx = a.ns(ctx)
	for attempt := 0; ctx.Err() == nil; attempt++ {
		sctx, cancel := context.WithCancel(ctx)
		envs, errs := a.client.Subscribe(sctx, `namespace==`+a.opts.Namespace+`,topic=="/tasks/exit"`)
		a.scan(ctx)
		err := a.watch(sctx, envs, errs)
		cancel()
		if err == nil {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(restartDelay(min(attempt, 5))):
		}
	}
}

// watch handles exits until the subscription breaks (the error) or ctx
// ends (nil).
func (a *Adapter) watch(ctx context.Context, envs <-chan *events.Envelope, errs <-chan error) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-errs:
			if ctx.Err() != nil {
				return nil
			}
			if err == nil {
				err = context.Canceled
			}
			return err
		case env := <-envs:
			if env == nil || !isExitTopic(env.Topic) {
				continue
			}
			v, err := typeurl.UnmarshalAny(env.Event)
			if err != nil {
				continue
			}
			if e, ok := v.(*apievents.TaskExit); ok && e.ID == e.ContainerID {
				a.wg.Add(1)
				go func() {
					defer a.wg.Done()
					a.exited(ctx, e.ContainerID)
				}()
			}
		}
	}
}

// scan handles every container once: stopped tasks go through exited,
// running ones get their healthcheck back.
func (a *Adapter) scan(ctx context.Context) {
	cs, err := a.client.ContainerService().List(ctx)
	if err != nil {
		return
	}
	for _, c := range cs {
		t, err := a.task(ctx, c.ID)
		if err != nil || !t.Exists {
			continue
		}
		switch t.Status {
		case tasktypes.Status_STOPPED:
			a.wg.Add(1)
			go func() {
				defer a.wg.Done()
				a.exited(ctx, c.ID)
			}()
		case tasktypes.Status_RUNNING, tasktypes.Status_PAUSED:
			if hc := parseHealthcheck(c.Labels[labelHealthcheck]); hc != nil && !a.health.running(c.ID) {
				a.health.start(c.ID, *hc)
			}
		}
	}
}

// exited applies auto-remove or the restart policy to a container whose
// main process exited.
func (a *Adapter) exited(ctx context.Context, id string) {
	a.health.stop(id)
	info, err := a.info(ctx, id)
	if err != nil {
		return
	}
	if info.Labels[labelAutoRemove] == "true" {
		unlock := a.locks.lock(id)
		defer unlock()
		if t, err := a.task(ctx, id); err == nil && (!t.Exists || t.Status == tasktypes.Status_STOPPED) {
			_ = a.remove(ctx, id, t)
		}
		return
	}
	policy := parseRestart(info.Labels[labelRestart])
	if policy.Name == "no" {
		return
	}
	count := atoi(info.Labels[labelRestartCount])
	// Docker's back-off, reset once a run lasted 10 s.
	delay := restartDelay(count)
	if t, err := a.task(ctx, id); err == nil && t.ExitedAt.Sub(parseTime(info.Labels[labelStartedAt])) > 10*time.Second {
		delay = restartDelay(0)
	}
	select {
	case <-ctx.Done():
		return
	case <-time.After(delay):
	}
	unlock := a.locks.lock(id)
	defer unlock()
	// Look again under the lock: a user may have stopped, started or
	// deleted it meanwhile.
	info, t, _, err := a.current(ctx, id)
	if err != nil || !t.Exists || t.Status != tasktypes.Status_STOPPED {
		return
	}
	if !shouldRestart(parseRestart(info.Labels[labelRestart]), int(t.ExitStatus), count, info.Labels[labelStopped] == "true") {
		return
	}
	if _, err := a.setLabels(ctx, id, map[string]string{labelRestartCount: strconv.Itoa(count + 1)}); err != nil {
		return
	}
	if err := a.startTask(ctx, info, t); err != nil && !errdefs.IsNotFound(err) {
		a.events.publish(id, "restart_failed")
		return
	}
	a.events.publish(id, "restart")
}
