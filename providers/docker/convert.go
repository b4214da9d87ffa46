package docker

import (
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/go-connections/nat"

	"github.com/canopy-cloud/canopy/providers"
)

// Labels canopy keeps on a container for itself, under one prefix that
// Container.Labels never shows (and users may not set).
const (
	labelPrefix = "canopy."
	labelToken  = labelPrefix + "token"
)

// stateOf maps Docker's State.Status, Zun's words on the right. Docker
// reports a paused container as running and paused; Status says "paused".
func stateOf(status string) providers.ContainerState {
	switch status {
	case "created":
		return providers.ContainerCreated
	case "running":
		return providers.ContainerRunning
	case "paused":
		return providers.ContainerPaused
	case "restarting":
		return providers.ContainerRestarting
	case "exited":
		return providers.ContainerStopped
	case "removing":
		return providers.ContainerDeleting
	case "dead":
		return providers.ContainerDead
	}
	return providers.ContainerUnknown
}

// healthOf maps State.Health (nil when the container has no healthcheck).
func healthOf(h *container.Health) providers.Health {
	if h == nil {
		return providers.HealthNone
	}
	switch h.Status {
	case container.Starting:
		return providers.HealthStarting
	case container.Healthy:
		return providers.HealthHealthy
	case container.Unhealthy:
		return providers.HealthUnhealthy
	}
	return providers.HealthNone
}

// toContainer converts an inspect answer. Docker's inspect is complete:
// every field of providers.Container comes from it.
func (c *Cloud) toContainer(h *host, in container.InspectResponse) providers.Container {
	ct := providers.Container{Host: h.name}
	ct.NativeID = c.nativeID(h, stableID(in.ID, in.Config)) // recreate.go
	ct.Region, ct.Zone = c.opts.Region, c.opts.Zone
	ct.Created = parseTime(in.Created)
	ct.ImageID = in.Image
	ct.RestartCount = in.RestartCount
	if in.ContainerJSONBase != nil {
		ct.Name = strings.TrimPrefix(in.Name, "/")
	}
	if s := in.State; s != nil {
		ct.State = stateOf(s.Status)
		ct.ProviderStatus = s.Status
		ct.Health = healthOf(s.Health)
		ct.ExitCode = s.ExitCode
		ct.StartedAt = parseTime(s.StartedAt)
		ct.FinishedAt = parseTime(s.FinishedAt)
		// Docker stamps StartedAt when containerd's start returns and
		// FinishedAt with the exit event's time, so a process that exits
		// at once (sh -c "exit 3") can seem to finish before it started.
		// Once it has exited, the start is no later than the finish.
		if st := stateOf(s.Status); (st == providers.ContainerStopped || st == providers.ContainerDead) &&
			!ct.StartedAt.IsZero() && ct.FinishedAt.Before(ct.StartedAt) && !ct.FinishedAt.IsZero() {
			ct.StartedAt = ct.FinishedAt
		}
		switch {
		case s.Error != "":
			ct.StatusMessage = s.Error
		case s.OOMKilled:
			ct.StatusMessage = "killed: out of memory"
		}
	} else {
		ct.State = providers.ContainerUnknown
	}
	ct.Status = ct.State.Status()
	if cfg := in.Config; cfg != nil {
		ct.Image = cfg.Image
		ct.Command = cfg.Cmd
		ct.Entrypoint = cfg.Entrypoint
		ct.Env = envMap(cfg.Env)
		ct.Labels, ct.Token = splitLabels(cfg.Labels)
		ct.Healthcheck = fromHealthConfig(cfg.Healthcheck)
		ct.Interactive = cfg.OpenStdin
		ct.TTY = cfg.Tty
		ct.Workdir = cfg.WorkingDir
		ct.User = cfg.User
		ct.Hostname = cfg.Hostname
	}
	if hc := in.HostConfig; hc != nil {
		ct.CPU = float64(hc.NanoCPUs) / 1e9
		ct.MemoryBytes = hc.Memory
		ct.Restart = providers.RestartPolicy{Name: string(hc.RestartPolicy.Name), MaxRetries: hc.RestartPolicy.MaximumRetryCount}
		if ct.Restart.Name == "" {
			ct.Restart.Name = string(container.RestartPolicyDisabled)
		}
		ct.AutoRemove = hc.AutoRemove
		ct.Properties = map[string]string{"network_mode": string(hc.NetworkMode)}
	}
	ct.Mounts = mountsOf(in.Mounts)
	if in.HostConfig != nil {
		ct.Mounts = withTmpfs(ct.Mounts, in.HostConfig.Tmpfs)
	}
	ct.Ports, ct.Addresses = networkOf(in)
	return ct
}

// parseTime reads Docker's RFC 3339 times; Docker's zero time
// ("0001-01-01T00:00:00Z": never started) stays zero.
func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.Year() <= 1 {
		return time.Time{}
	}
	return t
}

// envMap turns KEY=value entries into a map (an entry without "=" is a
// variable set to the empty string).
func envMap(env []string) map[string]string {
	if len(env) == 0 {
		return nil
	}
	m := make(map[string]string, len(env))
	for _, e := range env {
		k, v, _ := strings.Cut(e, "=")
		m[k] = v
	}
	return m
}

// envList is envMap's inverse, sorted so a container's config is stable.
func envList(env map[string]string) []string {
	if len(env) == 0 {
		return nil
	}
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// splitLabels separates the user's labels from canopy's own.
func splitLabels(all map[string]string) (user map[string]string, token string) {
	for k, v := range all {
		if strings.HasPrefix(k, labelPrefix) {
			if k == labelToken {
				token = v
			}
			continue
		}
		if user == nil {
			user = map[string]string{}
		}
		user[k] = v
	}
	return user, token
}

// toHealthConfig is Docker's form of a healthcheck: CMD runs the argv
// without a shell, as Healthcheck.Cmd promises.
func toHealthConfig(hc *providers.Healthcheck) *container.HealthConfig {
	if hc == nil {
		return nil
	}
	return &container.HealthConfig{
		Test:        append([]string{"CMD"}, hc.Cmd...),
		Interval:    hc.Interval,
		Timeout:     hc.Timeout,
		Retries:     hc.Retries,
		StartPeriod: hc.StartPeriod,
	}
}

// fromHealthConfig reads a container's healthcheck back; a shell form
// (CMD-SHELL, from a Dockerfile) becomes sh -c; NONE is none.
func fromHealthConfig(hc *container.HealthConfig) *providers.Healthcheck {
	if hc == nil || len(hc.Test) == 0 {
		return nil
	}
	out := &providers.Healthcheck{Interval: hc.Interval, Timeout: hc.Timeout, Retries: hc.Retries, StartPeriod: hc.StartPeriod}
	switch hc.Test[0] {
	case "CMD":
		out.Cmd = append([]string(nil), hc.Test[1:]...)
	case "CMD-SHELL":
		out.Cmd = append([]string{"/bin/sh", "-c"}, strings.Join(hc.Test[1:], " "))
	default: // "NONE"
		return nil
	}
	return out
}

// mountsOf converts inspect's mount points: a volume's Source is its
// name, a bind's the host path, a tmpfs has none.
func mountsOf(mps []container.MountPoint) []providers.Mount {
	var out []providers.Mount
	for _, mp := range mps {
		m := providers.Mount{Type: string(mp.Type), Target: mp.Destination, ReadOnly: !mp.RW}
		switch mp.Type {
		case mount.TypeVolume:
			m.Source = mp.Name
		case mount.TypeBind:
			m.Source = mp.Source
		}
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Target < out[j].Target })
	return out
}

// withTmpfs adds the tmpfs mounts of `docker run --tmpfs` (HostConfig.Tmpfs,
// which inspect's mount points leave out) to ms.
func withTmpfs(ms []providers.Mount, tmpfs map[string]string) []providers.Mount {
	if len(tmpfs) == 0 {
		return ms
	}
	have := map[string]bool{}
	for _, m := range ms {
		have[m.Target] = true
	}
	for target, opts := range tmpfs {
		if !have[target] {
			ro := false
			for _, o := range strings.Split(opts, ",") {
				ro = ro || o == "ro"
			}
			ms = append(ms, providers.Mount{Type: "tmpfs", Target: target, ReadOnly: ro})
		}
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Target < ms[j].Target })
	return ms
}

// toMounts is the create side of mountsOf.
func toMounts(ms []providers.Mount) []mount.Mount {
	var out []mount.Mount
	for _, m := range ms {
		out = append(out, mount.Mount{Type: mount.Type(m.Type), Source: m.Source, Target: m.Target, ReadOnly: m.ReadOnly})
	}
	return out
}

// networkOf reads published ports (the bound ones once running, else the
// requested ones) and the container's addresses on each network.
func networkOf(in container.InspectResponse) ([]providers.PortBinding, []providers.Address) {
	pm := nat.PortMap(nil)
	if in.NetworkSettings != nil && len(in.NetworkSettings.Ports) > 0 {
		pm = in.NetworkSettings.Ports
	} else if in.HostConfig != nil {
		pm = in.HostConfig.PortBindings
	}
	var ports []providers.PortBinding
	for p, bindings := range pm {
		for _, b := range bindings {
			hp, _ := strconv.Atoi(b.HostPort)
			ports = append(ports, providers.PortBinding{ContainerPort: p.Int(), Protocol: p.Proto(), HostIP: b.HostIP, HostPort: hp})
		}
	}
	sort.Slice(ports, func(i, j int) bool {
		a, b := ports[i], ports[j]
		if a.ContainerPort != b.ContainerPort {
			return a.ContainerPort < b.ContainerPort
		}
		if a.Protocol != b.Protocol {
			return a.Protocol < b.Protocol
		}
		return a.HostIP < b.HostIP
	})
	var addrs []providers.Address
	if in.NetworkSettings != nil {
		names := make([]string, 0, len(in.NetworkSettings.Networks))
		for n := range in.NetworkSettings.Networks {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			ep := in.NetworkSettings.Networks[n]
			if ep == nil {
				continue
			}
			if ep.IPAddress != "" {
				addrs = append(addrs, providers.Address{Network: n, IP: ep.IPAddress, Version: 4, Type: "fixed"})
			}
			if ep.GlobalIPv6Address != "" {
				addrs = append(addrs, providers.Address{Network: n, IP: ep.GlobalIPv6Address, Version: 6, Type: "fixed"})
			}
		}
	}
	return ports, addrs
}

// toPorts is Docker's form of port bindings: the exposed set and the map.
func toPorts(ps []providers.PortBinding) (nat.PortSet, nat.PortMap) {
	if len(ps) == 0 {
		return nil, nil
	}
	set, pm := nat.PortSet{}, nat.PortMap{}
	for _, p := range ps {
		proto := p.Protocol
		if proto == "" {
			proto = "tcp"
		}
		port := nat.Port(strconv.Itoa(p.ContainerPort) + "/" + proto)
		set[port] = struct{}{}
		hp := ""
		if p.HostPort > 0 {
			hp = strconv.Itoa(p.HostPort)
		}
		pm[port] = append(pm[port], nat.PortBinding{HostIP: p.HostIP, HostPort: hp})
	}
	return set, pm
}
