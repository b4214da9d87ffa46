package docker

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/canopy-cloud/canopy/providers"
)

func TestNativeIDs(t *testing.T) {
	one := &Cloud{}
	a := &host{name: "a"}
	one.hosts = []*host{a}
	if got := one.nativeID(a, "abc"); got != "abc" {
		t.Errorf("one host: %q, want the Docker id", got)
	}
	two := &Cloud{byName: map[string]*host{}}
	b := &host{name: "10.0.0.7:2376"}
	two.hosts = []*host{a, b}
	two.byName["a"], two.byName[b.name] = a, b
	id := two.nativeID(b, "abc")
	if id != "10.0.0.7:2376/abc" {
		t.Errorf("two hosts: %q", id)
	}
	// A host-qualified id reaches its host without a call.
	h, did, err := two.locate(context.Background(), id)
	if err != nil || h != b || did != "abc" {
		t.Errorf("locate(%q) = %v %q %v", id, h, did, err)
	}
	for _, bad := range []string{"", "nohost/abc", "a/", "a/b/c"} {
		if _, _, err := two.locate(context.Background(), bad); !errors.Is(err, providers.ErrNotFound) {
			t.Errorf("locate(%q): err = %v, want ErrNotFound", bad, err)
		}
	}
	if _, err := two.hostFor(context.Background(), "zzz"); !errors.Is(err, providers.ErrInvalid) {
		t.Errorf("hostFor(unknown): err = %v, want ErrInvalid", err)
	}
	if h, err := two.hostFor(context.Background(), "a"); err != nil || h != a {
		t.Errorf("hostFor(a) = %v, %v", h, err)
	}
}

func TestValidateSpec(t *testing.T) {
	c := &Cloud{name: "d", opts: Options{NetworkMode: "none"}}
	ok := providers.ContainerSpec{Image: "busybox"}
	if err := c.validateSpec(ok); err != nil {
		t.Fatalf("valid spec: %v", err)
	}
	for name, tc := range map[string]struct {
		mod  func(*providers.ContainerSpec)
		want error
	}{
		"no image":          {func(s *providers.ContainerSpec) { s.Image = "" }, providers.ErrInvalid},
		"memory below 6MiB": {func(s *providers.ContainerSpec) { s.MemoryBytes = 4 << 20 }, providers.ErrInvalid},
		"negative cpu":      {func(s *providers.ContainerSpec) { s.CPU = -1 }, providers.ErrInvalid},
		"bad restart":       {func(s *providers.ContainerSpec) { s.RestartPolicy.Name = "sometimes" }, providers.ErrInvalid},
		"retries w/o policy": {func(s *providers.ContainerSpec) {
			s.RestartPolicy = providers.RestartPolicy{Name: "always", MaxRetries: 2}
		}, providers.ErrInvalid},
		"autoremove+restart": {func(s *providers.ContainerSpec) { s.AutoRemove, s.RestartPolicy.Name = true, "always" }, providers.ErrInvalid},
		"canopy label":       {func(s *providers.ContainerSpec) { s.Labels = map[string]string{"canopy.token": "x"} }, providers.ErrInvalid},
		"bad mount type":     {func(s *providers.ContainerSpec) { s.Mounts = []providers.Mount{{Type: "nfs", Target: "/x"}} }, providers.ErrInvalid},
		"relative bind": {func(s *providers.ContainerSpec) {
			s.Mounts = []providers.Mount{{Type: "bind", Source: "x", Target: "/x"}}
		}, providers.ErrInvalid},
		"ports without bridge": {func(s *providers.ContainerSpec) { s.Ports = []providers.PortBinding{{ContainerPort: 80}} },
			providers.ErrUnsupported},
	} {
		s := ok
		tc.mod(&s)
		if err := c.validateSpec(s); !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", name, err, tc.want)
		}
	}
	if err := c.validateSpec(providers.ContainerSpec{Image: "x", MemoryBytes: 1}); err == nil || !strings.Contains(err.Error(), "memory") {
		t.Errorf("memory error does not name memory: %v", err)
	}
}
