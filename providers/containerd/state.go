package containerd

import (
	"strconv"
	"time"

	tasktypes "github.com/containerd/containerd/api/types/task"

	"github.com/canopy-cloud/canopy/providers"
)

// taskInfo is what containerd says about a container's task; Exists is
// false when it has none (never started, or stopped and deleted).
type taskInfo struct {
	Exists     bool
	Status     tasktypes.Status
	Pid        uint32
	ExitStatus uint32
	ExitedAt   time.Time
}

// stateOf maps a task to a container state: no task is CREATED when the
// container never ran and STOPPED (with the exit code kept in the labels)
// when it did; a task maps by its status. It also returns the exit code
// and when the container last finished (zero while it never did).
func stateOf(t taskInfo, labels map[string]string) (providers.ContainerState, int, time.Time) {
	finished := parseTime(labels[labelFinishedAt])
	code, _ := strconv.Atoi(labels[labelExitCode])
	if !t.Exists {
		if labels[labelFinishedAt] != "" || labels[labelExitCode] != "" {
			return providers.ContainerStopped, code, finished
		}
		return providers.ContainerCreated, 0, time.Time{}
	}
	switch t.Status {
	case tasktypes.Status_RUNNING:
		return providers.ContainerRunning, code, finished
	case tasktypes.Status_PAUSED, tasktypes.Status_PAUSING:
		return providers.ContainerPaused, code, finished
	case tasktypes.Status_STOPPED:
		return providers.ContainerStopped, int(t.ExitStatus), t.ExitedAt
	case tasktypes.Status_CREATED:
		// A task made but not started yet: the adapter's own start is
		// in progress, or one was interrupted.
		if labels[labelFinishedAt] != "" {
			return providers.ContainerStopped, code, finished
		}
		return providers.ContainerCreated, 0, time.Time{}
	}
	return providers.ContainerUnknown, code, finished
}

// providerStatus is the raw status shown beside the normalized one.
func providerStatus(t taskInfo) string {
	if !t.Exists {
		return "no task"
	}
	switch t.Status {
	case tasktypes.Status_RUNNING:
		return "running"
	case tasktypes.Status_PAUSED:
		return "paused"
	case tasktypes.Status_PAUSING:
		return "pausing"
	case tasktypes.Status_STOPPED:
		return "stopped"
	case tasktypes.Status_CREATED:
		return "created"
	}
	return "unknown"
}

// shouldRestart is the restart policy's decision after the main process
// exited with code, the container having been restarted count times. A
// container a user stopped is never restarted (every policy; Docker's
// "always" would restart it when the daemon restarts, which for canopy
// would mean whenever canopyd opens: surprising, so not done).
func shouldRestart(p providers.RestartPolicy, code, count int, stoppedByUser bool) bool {
	if stoppedByUser {
		return false
	}
	switch p.Name {
	case "always", "unless-stopped":
		return true
	case "on-failure":
		return code != 0 && (p.MaxRetries == 0 || count < p.MaxRetries)
	}
	return false
}

// restartDelay is the wait before the n-th restart (n from 0): Docker's
// back-off, doubling from 100 ms, at most 10 s here (a container that
// keeps dying costs little, and tests see the restarts quickly).
func restartDelay(n int) time.Duration {
	if n > 7 {
		n = 7
	}
	d := 100 * time.Millisecond << n
	if d > 10*time.Second {
		d = 10 * time.Second
	}
	return d
}
