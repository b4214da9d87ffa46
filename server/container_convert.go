package server

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/store"
)

// containerNamespace holds what canopy knows of a container beyond what
// its runtime keeps (containerRecord), keyed by canopy id.
const containerNamespace = "containers"

// containerRecord is canopy's side of a container: its dependencies and
// ready probe, the create operation while it runs, and when the probe last
// passed.
type containerRecord struct {
	DependsOn   []containerDep `json:"depends_on,omitempty"`
	Probe       *readyProbe    `json:"probe,omitempty"`
	Operation   string         `json:"operation,omitempty"`
	ProbePassed time.Time      `json:"probe_passed,omitempty"`
}

// containerDep is a dependency, resolved to a canopy id at request time.
type containerDep struct {
	ID        string `json:"id"`
	Name      string `json:"name,omitempty"`
	Condition int32  `json:"condition"`
}

// readyProbe is canopy's readiness check (canopyv1.ReadyProbe).
type readyProbe struct {
	TCPPort  int32         `json:"tcp_port,omitempty"`
	Command  []string      `json:"command,omitempty"`
	Interval time.Duration `json:"interval,omitempty"`
	Timeout  time.Duration `json:"timeout,omitempty"`
}

func (v *containerViews) record(ctx context.Context, id string) containerRecord {
	raw, err := v.store.GetRecord(ctx, containerNamespace, id)
	if err != nil {
		return containerRecord{}
	}
	return decodeRecord(raw)
}

func (v *containerViews) putRecord(ctx context.Context, id string, r containerRecord) error {
	raw, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return v.store.PutRecord(ctx, containerNamespace, id, raw)
}

func (v *containerViews) forget(ctx context.Context, id string) {
	if err := v.store.DeleteRecord(ctx, containerNamespace, id); err != nil && !errors.Is(err, store.ErrNotFound) {
		v.log.Warn("forget container record", "id", id, "err", err)
	}
	_ = v.store.Delete(ctx, id)
}

// ready says whether a container is ready: running, healthy when it has a
// healthcheck, and its ready probe passed since it last started.
func (r containerRecord) ready(c providers.Container) bool {
	if c.State != providers.ContainerRunning || c.Health == providers.HealthStarting || c.Health == providers.HealthUnhealthy {
		return false
	}
	// With a healthcheck, only its verdict counts: a runtime may not have
	// begun checking yet (NONE) when it reports the start.
	if c.Healthcheck != nil && c.Health != providers.HealthHealthy {
		return false
	}
	if r.Probe != nil {
		return !r.ProbePassed.IsZero() && !r.ProbePassed.Before(c.StartedAt)
	}
	return true
}

func containerPB(cloud, id, proj string, c providers.Container, rec containerRecord) *canopyv1.Container {
	out := &canopyv1.Container{
		Id: id, NativeId: c.NativeID, Location: location(cloud, c.Common), Name: c.Name,
		Status: statusPB(c.State.Status()), ProviderStatus: c.ProviderStatus, CreateTime: ts(c.Created), Labels: c.Labels,
		State: canopyv1.Container_State(c.State), Health: canopyv1.Container_Health(c.Health), Ready: rec.ready(c),
		ExitCode: int32(c.ExitCode), StatusMessage: c.StatusMessage, Host: c.Host, Image: c.Image, ImageId: c.ImageID,
		Command: c.Command, Entrypoint: c.Entrypoint, Env: c.Env, Cpu: c.CPU, MemoryMib: c.MemoryBytes >> 20,
		RestartPolicy: restartPB(c.Restart), Healthcheck: healthcheckPB(c.Healthcheck), AutoRemove: c.AutoRemove,
		Interactive: c.Interactive, Tty: c.TTY, Workdir: c.Workdir, User: c.User, Hostname: c.Hostname,
		StartTime: ts(c.StartedAt), FinishTime: ts(c.FinishedAt), RestartCount: int32(c.RestartCount), Operation: rec.Operation,
	}
	out.Location.Project = proj
	if out.Location.Zone == "" {
		out.Location.Zone = c.Host
	}
	for _, p := range c.Ports {
		out.Ports = append(out.Ports, &canopyv1.PortBinding{ContainerPort: int32(p.ContainerPort), Protocol: p.Protocol, HostIp: p.HostIP, HostPort: int32(p.HostPort)})
	}
	for _, m := range c.Mounts {
		out.Mounts = append(out.Mounts, &canopyv1.ContainerMount{Type: m.Type, Source: m.Source, Target: m.Target, ReadOnly: m.ReadOnly})
	}
	for _, a := range c.Addresses {
		out.Addresses = append(out.Addresses, &canopyv1.Address{Network: a.Network, Ip: a.IP, Version: a.Version, Type: a.Type})
	}
	for _, d := range rec.DependsOn {
		out.DependsOn = append(out.DependsOn, &canopyv1.Dependency{Container: d.ID, Condition: canopyv1.Dependency_Condition(d.Condition)})
	}
	if p := rec.Probe; p != nil {
		out.ReadyProbe = &canopyv1.ReadyProbe{Interval: durationpb.New(p.Interval), Timeout: durationpb.New(p.Timeout)}
		if p.TCPPort != 0 {
			out.ReadyProbe.Check = &canopyv1.ReadyProbe_TcpPort{TcpPort: p.TCPPort}
		} else {
			out.ReadyProbe.Check = &canopyv1.ReadyProbe_Command{Command: &canopyv1.ExecCommand{Argv: p.Command}}
		}
	}
	return out
}

var restartModes = map[string]canopyv1.RestartPolicy_Mode{
	"": canopyv1.RestartPolicy_MODE_UNSPECIFIED, "no": canopyv1.RestartPolicy_MODE_UNSPECIFIED,
	"always": canopyv1.RestartPolicy_MODE_ALWAYS, "on-failure": canopyv1.RestartPolicy_MODE_ON_FAILURE,
	"unless-stopped": canopyv1.RestartPolicy_MODE_UNLESS_STOPPED,
}

func restartPB(r providers.RestartPolicy) *canopyv1.RestartPolicy {
	if r.Name == "" || r.Name == "no" {
		return nil
	}
	return &canopyv1.RestartPolicy{Mode: restartModes[r.Name], MaxRetries: int32(r.MaxRetries)}
}

func restartFromPB(r *canopyv1.RestartPolicy) providers.RestartPolicy {
	switch r.GetMode() {
	case canopyv1.RestartPolicy_MODE_ALWAYS:
		return providers.RestartPolicy{Name: "always"}
	case canopyv1.RestartPolicy_MODE_ON_FAILURE:
		return providers.RestartPolicy{Name: "on-failure", MaxRetries: int(r.GetMaxRetries())}
	case canopyv1.RestartPolicy_MODE_UNLESS_STOPPED:
		return providers.RestartPolicy{Name: "unless-stopped"}
	}
	return providers.RestartPolicy{Name: "no"}
}

func healthcheckPB(h *providers.Healthcheck) *canopyv1.Healthcheck {
	if h == nil {
		return nil
	}
	return &canopyv1.Healthcheck{Cmd: h.Cmd, Interval: durationpb.New(h.Interval), Timeout: durationpb.New(h.Timeout),
		Retries: int32(h.Retries), StartPeriod: durationpb.New(h.StartPeriod)}
}

func statsPB(id string, s providers.ContainerStats) *canopyv1.ContainerStats {
	return &canopyv1.ContainerStats{Id: id, Time: ts(s.Time), CpuPercent: s.CPUPercent, MemoryBytes: s.MemoryBytes,
		MemoryLimitBytes: s.MemoryLimitBytes, Pids: s.PIDs, NetRxBytes: s.NetRxBytes, NetTxBytes: s.NetTxBytes,
		BlockReadBytes: s.BlockReadBytes, BlockWriteBytes: s.BlockWriteBytes}
}
