package docker

import (
	"reflect"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/go-connections/nat"

	"github.com/canopy-cloud/canopy/providers"
)

func TestStateOf(t *testing.T) {
	for docker, want := range map[string]providers.ContainerState{
		"created":    providers.ContainerCreated,
		"running":    providers.ContainerRunning,
		"paused":     providers.ContainerPaused,
		"restarting": providers.ContainerRestarting,
		"exited":     providers.ContainerStopped,
		"removing":   providers.ContainerDeleting,
		"dead":       providers.ContainerDead,
		"":           providers.ContainerUnknown,
		"frozen":     providers.ContainerUnknown,
	} {
		if got := stateOf(docker); got != want {
			t.Errorf("stateOf(%q) = %v, want %v", docker, got, want)
		}
	}
}

func TestHealthOf(t *testing.T) {
	for _, tc := range []struct {
		h    *container.Health
		want providers.Health
	}{
		{nil, providers.HealthNone},
		{&container.Health{Status: container.NoHealthcheck}, providers.HealthNone},
		{&container.Health{Status: container.Starting}, providers.HealthStarting},
		{&container.Health{Status: container.Healthy}, providers.HealthHealthy},
		{&container.Health{Status: container.Unhealthy}, providers.HealthUnhealthy},
	} {
		if got := healthOf(tc.h); got != tc.want {
			t.Errorf("healthOf(%+v) = %v, want %v", tc.h, got, tc.want)
		}
	}
}

func TestToContainer(t *testing.T) {
	c := &Cloud{opts: Options{Region: "lab", Zone: "lab-a"}}
	h := &host{name: "local"}
	c.hosts = []*host{h}
	in := container.InspectResponse{
		ContainerJSONBase: &container.ContainerJSONBase{
			ID: "abc", Created: "2026-01-02T03:04:05.123456789Z", Name: "/web", Image: "sha256:1111", RestartCount: 2,
			State: &container.State{Status: "exited", ExitCode: 137, StartedAt: "2026-01-02T03:04:06Z", FinishedAt: "2026-01-02T03:05:06Z",
				OOMKilled: true, Health: &container.Health{Status: container.Unhealthy}},
			HostConfig: &container.HostConfig{
				Resources:     container.Resources{NanoCPUs: 1_500_000_000, Memory: 64 << 20},
				RestartPolicy: container.RestartPolicy{Name: "on-failure", MaximumRetryCount: 3},
				AutoRemove:    false, NetworkMode: "none",
				Tmpfs: map[string]string{"/run": "ro,size=1m"},
			},
		},
		Config: &container.Config{
			Image: "busybox:latest", Cmd: []string{"sleep", "60"}, Entrypoint: []string{"/bin/sh", "-c"},
			Env:    []string{"A=1", "B=x=y", "EMPTY"},
			Labels: map[string]string{"team": "blue", labelToken: "tok-1", "canopy.other": "x"},
			Healthcheck: &container.HealthConfig{Test: []string{"CMD", "true"}, Interval: time.Second, Timeout: 2 * time.Second, Retries: 3,
				StartPeriod: 5 * time.Second},
			OpenStdin: true, Tty: true, WorkingDir: "/w", User: "nobody", Hostname: "h1",
		},
		Mounts: []container.MountPoint{
			{Type: mount.TypeVolume, Name: "data", Source: "/var/lib/docker/volumes/data/_data", Destination: "/data", RW: true},
			{Type: mount.TypeBind, Source: "/srv", Destination: "/srv", RW: false},
		},
		NetworkSettings: &container.NetworkSettings{
			NetworkSettingsBase: container.NetworkSettingsBase{Ports: nat.PortMap{"80/tcp": {{HostIP: "0.0.0.0", HostPort: "8080"}}}},
			Networks:            map[string]*network.EndpointSettings{"bridge": {IPAddress: "172.17.0.2", GlobalIPv6Address: "fd00::2"}},
		},
	}
	got := c.toContainer(h, in)
	want := providers.Container{
		Common: providers.Common{
			NativeID: "abc", Name: "web", Region: "lab", Zone: "lab-a", Status: providers.StatusStopped, ProviderStatus: "exited",
			StatusMessage: "killed: out of memory",
			Created:       time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC),
			Labels:        map[string]string{"team": "blue"},
			Properties:    map[string]string{"network_mode": "none"},
		},
		State: providers.ContainerStopped, Health: providers.HealthUnhealthy, ExitCode: 137,
		Image: "busybox:latest", ImageID: "sha256:1111", Host: "local",
		Command: []string{"sleep", "60"}, Entrypoint: []string{"/bin/sh", "-c"},
		Env: map[string]string{"A": "1", "B": "x=y", "EMPTY": ""},
		CPU: 1.5, MemoryBytes: 64 << 20,
		Restart:     providers.RestartPolicy{Name: "on-failure", MaxRetries: 3},
		Healthcheck: &providers.Healthcheck{Cmd: []string{"true"}, Interval: time.Second, Timeout: 2 * time.Second, Retries: 3, StartPeriod: 5 * time.Second},
		Interactive: true, TTY: true, Workdir: "/w", User: "nobody", Hostname: "h1",
		Ports: []providers.PortBinding{{ContainerPort: 80, Protocol: "tcp", HostIP: "0.0.0.0", HostPort: 8080}},
		Mounts: []providers.Mount{
			{Type: "volume", Source: "data", Target: "/data"},
			{Type: "tmpfs", Target: "/run", ReadOnly: true},
			{Type: "bind", Source: "/srv", Target: "/srv", ReadOnly: true},
		},
		Addresses:    []providers.Address{{Network: "bridge", IP: "172.17.0.2", Version: 4, Type: "fixed"}, {Network: "bridge", IP: "fd00::2", Version: 6, Type: "fixed"}},
		StartedAt:    time.Date(2026, 1, 2, 3, 4, 6, 0, time.UTC),
		FinishedAt:   time.Date(2026, 1, 2, 3, 5, 6, 0, time.UTC),
		RestartCount: 2,
		Token:        "tok-1",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("toContainer:\n got %+v\nwant %+v", got, want)
	}
}

func TestToContainerNeverStarted(t *testing.T) {
	c := &Cloud{}
	h := &host{name: "a"}
	c.hosts = []*host{h, {name: "b"}}
	got := c.toContainer(h, container.InspectResponse{
		ContainerJSONBase: &container.ContainerJSONBase{ID: "abc", Name: "/x",
			State:      &container.State{Status: "created", StartedAt: "0001-01-01T00:00:00Z", FinishedAt: "0001-01-01T00:00:00Z"},
			HostConfig: &container.HostConfig{}},
		Config: &container.Config{},
	})
	if got.NativeID != "a/abc" || got.Host != "a" {
		t.Errorf("id/host = %q/%q, want a/abc and a", got.NativeID, got.Host)
	}
	if !got.StartedAt.IsZero() || !got.FinishedAt.IsZero() {
		t.Errorf("times of a container never started: %v %v", got.StartedAt, got.FinishedAt)
	}
	if got.State != providers.ContainerCreated || got.Status != providers.StatusStopped || got.Restart.Name != "no" {
		t.Errorf("state %v status %v restart %q", got.State, got.Status, got.Restart.Name)
	}
}

func TestHealthConfigRoundTrip(t *testing.T) {
	hc := &providers.Healthcheck{Cmd: []string{"sh", "-c", "test -e /ok"}, Interval: time.Second, Timeout: time.Second, Retries: 2}
	if got := fromHealthConfig(toHealthConfig(hc)); !reflect.DeepEqual(got, hc) {
		t.Errorf("round trip = %+v, want %+v", got, hc)
	}
	if got := fromHealthConfig(&container.HealthConfig{Test: []string{"CMD-SHELL", "curl -f localhost"}}); !reflect.DeepEqual(got.Cmd, []string{"/bin/sh", "-c", "curl -f localhost"}) {
		t.Errorf("CMD-SHELL = %q", got.Cmd)
	}
	if got := fromHealthConfig(&container.HealthConfig{Test: []string{"NONE"}}); got != nil {
		t.Errorf("NONE = %+v, want nil", got)
	}
}

func TestPortsRoundTrip(t *testing.T) {
	in := []providers.PortBinding{{ContainerPort: 53, Protocol: "udp", HostPort: 5353}, {ContainerPort: 80, Protocol: "tcp", HostIP: "127.0.0.1"}}
	set, pm := toPorts(in)
	if len(set) != 2 || pm["80/tcp"][0].HostPort != "" || pm["53/udp"][0].HostPort != "5353" {
		t.Errorf("toPorts = %v %v", set, pm)
	}
	got, _ := networkOf(container.InspectResponse{ContainerJSONBase: &container.ContainerJSONBase{HostConfig: &container.HostConfig{PortBindings: pm}}})
	if !reflect.DeepEqual(got, in) {
		t.Errorf("ports back = %+v, want %+v", got, in)
	}
}

func TestEnvAndLabels(t *testing.T) {
	if got := envList(map[string]string{"B": "2", "A": "1"}); !reflect.DeepEqual(got, []string{"A=1", "B=2"}) {
		t.Errorf("envList = %q", got)
	}
	user, tok := splitLabels(map[string]string{labelToken: "t", "canopy.x": "y"})
	if user != nil || tok != "t" {
		t.Errorf("splitLabels = %v %q", user, tok)
	}
}

// TestStartNotAfterFinish: Docker may stamp an instant exit's start after
// its finish; an exited container's start is clamped, a running one's
// (whose finish is its previous run's) is not.
func TestStartNotAfterFinish(t *testing.T) {
	c := &Cloud{}
	h := &host{name: "a"}
	c.hosts = []*host{h}
	in := func(status string) container.InspectResponse {
		return container.InspectResponse{ContainerJSONBase: &container.ContainerJSONBase{ID: "x",
			State: &container.State{Status: status, StartedAt: "2026-01-01T00:00:01.5Z", FinishedAt: "2026-01-01T00:00:01.2Z"}}}
	}
	if got := c.toContainer(h, in("exited")); !got.StartedAt.Equal(got.FinishedAt) {
		t.Errorf("exited: start %v finish %v, want the start clamped to the finish", got.StartedAt, got.FinishedAt)
	}
	if got := c.toContainer(h, in("running")); !got.StartedAt.After(got.FinishedAt) {
		t.Errorf("running: start %v finish %v, want Docker's times", got.StartedAt, got.FinishedAt)
	}
}
