package containerd

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/containerd/typeurl/v2"

	"github.com/canopy-cloud/canopy/providers"
)

// What canopy keeps on a containerd container. containerd stores a
// container's labels and extensions in its own metadata database, so all of
// this survives canopyd and containerd restarts, and another canopyd on the
// same host reads the same answers. Labels hold what changes (name, exit,
// restart count) and what the adapter looks up by filter (name, token);
// the record extension holds the create request as given, which the OCI
// spec alone cannot tell back (entrypoint vs. command, mounts by type).
const (
	labelPrefix = "canopy."
	// labelName is the container's name: containerd ids are immutable, so
	// a rename only changes this label. Unique per namespace (the adapter
	// checks under its lock).
	labelName = "canopy.name"
	// labelToken is the idempotency token of the create.
	labelToken = "canopy.token"
	// labelRestart is the restart policy, "name" or "on-failure:N".
	labelRestart      = "canopy.restart"
	labelRestartCount = "canopy.restart_count"
	// labelExitCode, labelStartedAt and labelFinishedAt keep what the task
	// said once the adapter deletes it (containerd forgets a deleted task).
	labelExitCode   = "canopy.exit_code"
	labelStartedAt  = "canopy.started_at"
	labelFinishedAt = "canopy.finished_at"
	// labelStopped marks a container a user stopped (or killed), which the
	// restart policy leaves alone until it is started again.
	labelStopped = "canopy.stopped"
	// labelHealthcheck is the healthcheck as JSON; the adapter runs it (a
	// label, so an adapter that opens finds whose checks to resume).
	labelHealthcheck = "canopy.healthcheck"
	labelAutoRemove  = "canopy.auto_remove"

	// recordExtension names the container extension holding record.
	recordExtension = "canopy.record"
)

// record is the create request, kept as the container's extension.
type record struct {
	Image       string                  `json:"image"`
	ImageID     string                  `json:"image_id,omitempty"` // the manifest digest when created
	Command     []string                `json:"command,omitempty"`
	Entrypoint  []string                `json:"entrypoint,omitempty"`
	Env         map[string]string       `json:"env,omitempty"`
	Interactive bool                    `json:"interactive,omitempty"`
	TTY         bool                    `json:"tty,omitempty"`
	Workdir     string                  `json:"workdir,omitempty"`
	User        string                  `json:"user,omitempty"`
	Hostname    string                  `json:"hostname,omitempty"`
	Ports       []providers.PortBinding `json:"ports,omitempty"`
	Mounts      []providers.Mount       `json:"mounts,omitempty"`
}

func init() {
	// typeurl stores non-protobuf types as JSON under this URL; the
	// registration is how it finds the Go type again.
	typeurl.Register(&record{}, "canopy.dev/containerd/record")
}

// userLabels returns the labels a user set (canopy's own left out).
func userLabels(all map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range all {
		if !strings.HasPrefix(k, labelPrefix) {
			out[k] = v
		}
	}
	return out
}

func formatRestart(p providers.RestartPolicy) string {
	if p.Name == "on-failure" && p.MaxRetries > 0 {
		return p.Name + ":" + strconv.Itoa(p.MaxRetries)
	}
	if p.Name == "" {
		return "no"
	}
	return p.Name
}

func parseRestart(s string) providers.RestartPolicy {
	name, n, ok := strings.Cut(s, ":")
	p := providers.RestartPolicy{Name: name}
	if ok {
		p.MaxRetries, _ = strconv.Atoi(n)
	}
	if p.Name == "" {
		p.Name = "no"
	}
	return p
}

func validRestart(p providers.RestartPolicy) error {
	switch p.Name {
	case "", "no", "always", "unless-stopped":
		if p.MaxRetries != 0 {
			return errorf(providers.ErrInvalid, "restart policy %q takes no maximum retry count", p.Name)
		}
		return nil
	case "on-failure":
		if p.MaxRetries < 0 {
			return errorf(providers.ErrInvalid, "restart policy on-failure: negative maximum retry count %d", p.MaxRetries)
		}
		return nil
	}
	return errorf(providers.ErrInvalid, "unknown restart policy %q (no, always, on-failure, unless-stopped)", p.Name)
}

// healthcheckJSON is the label form of a healthcheck (durations in ns).
type healthcheckJSON struct {
	Cmd         []string      `json:"cmd"`
	Interval    time.Duration `json:"interval,omitempty"`
	Timeout     time.Duration `json:"timeout,omitempty"`
	Retries     int           `json:"retries,omitempty"`
	StartPeriod time.Duration `json:"start_period,omitempty"`
}

func formatHealthcheck(h *providers.Healthcheck) (string, error) {
	b, err := json.Marshal(healthcheckJSON(*h))
	return string(b), err
}

func parseHealthcheck(s string) *providers.Healthcheck {
	if s == "" {
		return nil
	}
	var h healthcheckJSON
	if json.Unmarshal([]byte(s), &h) != nil {
		return nil
	}
	hc := providers.Healthcheck(h)
	return &hc
}

func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}
