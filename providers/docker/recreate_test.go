package docker

import (
	"errors"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/mount"

	"github.com/canopy-cloud/canopy/providers"
)

// TestStableID: a recreated container reports, and its events name, the
// id it had first.
func TestStableID(t *testing.T) {
	if got := stableID("new", &container.Config{Labels: map[string]string{labelID: "first"}}); got != "first" {
		t.Errorf("stableID of a recreated container = %q, want first", got)
	}
	if got := stableID("own", &container.Config{}); got != "own" {
		t.Errorf("stableID = %q, want own", got)
	}
	if got := stableID("own", nil); got != "own" {
		t.Errorf("stableID without config = %q, want own", got)
	}
	if got := eventID(events.Message{Actor: events.Actor{ID: "new", Attributes: map[string]string{labelID: "first"}}}); got != "first" {
		t.Errorf("eventID = %q, want first", got)
	}
	if _, tok := splitLabels(map[string]string{labelID: "x", labelToken: "t", "team": "a"}); tok != "t" {
		t.Errorf("token = %q", tok)
	}
	if user, _ := splitLabels(map[string]string{labelID: "x", "team": "a"}); len(user) != 1 {
		t.Errorf("user labels = %v: canopy.id must be hidden", user)
	}
}

// TestKeptMounts: a recreate keeps every mount by name — anonymous volumes
// too, so their data stays — binds by source, tmpfs as they were.
func TestKeptMounts(t *testing.T) {
	in := container.InspectResponse{
		ContainerJSONBase: &container.ContainerJSONBase{HostConfig: &container.HostConfig{Mounts: []mount.Mount{{Type: mount.TypeTmpfs, Target: "/tmp"}}}},
		Mounts: []container.MountPoint{
			{Type: mount.TypeVolume, Name: "named", Destination: "/data", RW: true},
			{Type: mount.TypeVolume, Name: "0123abcd", Destination: "/anon", RW: false},
			{Type: mount.TypeBind, Source: "/srv", Destination: "/srv", RW: true},
		},
	}
	got := keptMounts(in)
	want := []mount.Mount{
		{Type: mount.TypeVolume, Source: "named", Target: "/data"},
		{Type: mount.TypeVolume, Source: "0123abcd", Target: "/anon", ReadOnly: true},
		{Type: mount.TypeBind, Source: "/srv", Target: "/srv"},
		{Type: mount.TypeTmpfs, Target: "/tmp"},
	}
	if len(got) != len(want) {
		t.Fatalf("keptMounts = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i].Type != want[i].Type || got[i].Source != want[i].Source || got[i].Target != want[i].Target || got[i].ReadOnly != want[i].ReadOnly {
			t.Errorf("mount %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestVolumeNameFor(t *testing.T) {
	for _, tc := range []struct {
		spec providers.VolumeSpec
		want string
		ok   bool
	}{
		{providers.VolumeSpec{Name: "data", IdempotencyToken: "123e4567-e89b-12d3-a456-426614174000"}, "canopy-123e4567-e89b-12d3-a456-426614174000", true},
		{providers.VolumeSpec{Name: "data"}, "data", true},
		{providers.VolumeSpec{Name: "a b"}, "", false},
		{providers.VolumeSpec{Name: "x"}, "", false},
	} {
		got, err := volumeNameFor(tc.spec)
		if (err == nil) != tc.ok || (tc.ok && got != tc.want) {
			t.Errorf("volumeNameFor(%+v) = %q, %v; want %q ok %v", tc.spec, got, err, tc.want, tc.ok)
		}
	}
	if got, err := volumeNameFor(providers.VolumeSpec{IdempotencyToken: "has spaces/and slashes"}); err != nil || !dockerVolumeName.MatchString(got) {
		t.Errorf("volumeNameFor(odd token) = %q, %v; want a valid Docker name", got, err)
	}
}

// TestPlaceByVolumes: on a cloud of several hosts a container goes where
// the volumes it mounts are.
func TestPlaceByVolumes(t *testing.T) {
	c := &Cloud{name: "d", byName: map[string]*host{"a": {name: "a"}, "b": {name: "b"}}}
	vol := func(src string) providers.Mount {
		return providers.Mount{Type: "volume", Source: src, Target: "/" + src[len(src)-1:]}
	}
	got, err := c.placeByVolumes(providers.ContainerSpec{Mounts: []providers.Mount{vol("a/x"), vol("plain"), {Type: "bind", Source: "/srv", Target: "/srv"}}})
	if err != nil || got.Host != "a" || got.Mounts[0].Source != "x" || got.Mounts[1].Source != "plain" || got.Mounts[2].Source != "/srv" {
		t.Errorf("placeByVolumes = %+v, %v; want host a, volume x", got, err)
	}
	for name, spec := range map[string]providers.ContainerSpec{
		"two hosts":    {Mounts: []providers.Mount{vol("a/x"), vol("b/y")}},
		"another host": {Host: "b", Mounts: []providers.Mount{vol("a/x")}},
		"no such host": {Mounts: []providers.Mount{vol("c/x")}},
	} {
		if _, err := c.placeByVolumes(spec); !errors.Is(err, providers.ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", name, err)
		}
	}
}
