//go:build docker

package docker_test

// Runs the providertest conformance suite against a real dockerd (the one
// test/docker/up.sh starts: --bridge=none, so containers run with network
// mode none). Needs CANOPY_DOCKER_HOST; test/docker/test.sh sets it.

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"

	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/providers/docker"
	"github.com/canopy-cloud/canopy/providers/providertest"
)

// dockerHost returns the daemon under test, skipping when there is none.
func dockerHost(t *testing.T) string {
	t.Helper()
	host := os.Getenv("CANOPY_DOCKER_HOST")
	if host == "" {
		t.Skip("CANOPY_DOCKER_HOST is not set: run test/docker/test.sh, or export the unix://… line test/docker/up.sh prints")
	}
	return host
}

type harness struct {
	host string
	opts map[string]any
}

func (h harness) MakeProvider(ctx context.Context, t *testing.T) providers.Provider {
	opts := map[string]any{"hosts": []any{h.host}}
	for k, v := range h.opts {
		opts[k] = v
	}
	p, err := providers.Open(ctx, docker.Kind, providers.Config{Name: "docker-test", Regions: []string{"lab"}, Options: opts})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return p
}

func (h harness) Fixture() providertest.Fixture {
	return providertest.Fixture{
		ContainerImage: testImage,
		WaitTimeout:    time.Minute,
		Poll:           100 * time.Millisecond,
		Prefix:         "ptest-docker",
	}
}

const testImage = "canopy-test/busybox:latest"

// MakeImage implements providertest.ImageMaker: ImageDelete's image is a
// new reference to the test image (a Docker host takes `docker save`
// tarballs, not the raw bytes the suite uploads).
func (h harness) MakeImage(ctx context.Context, t *testing.T, _ providers.Provider, name string) string {
	cli, err := client.NewClientWithOpts(client.WithHost(h.host), client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ref := strings.ToLower(name) + ":del"
	if err := cli.ImageTag(ctx, testImage, ref); err != nil {
		t.Fatalf("tag %s as %s: %v", testImage, ref, err)
	}
	return ref
}

// DeleteImage implements providertest.ImageCleaner for the images the
// suite commits, with the Engine client directly (not the adapter's
// DeleteImage, which the suite tests).
func (h harness) DeleteImage(ctx context.Context, _ providers.Provider, ref string) error {
	return removeImage(ctx, h.host, ref)
}

func removeImage(ctx context.Context, dockerHost, ref string) error {
	cli, err := client.NewClientWithOpts(client.WithHost(dockerHost), client.WithAPIVersionNegotiation())
	if err != nil {
		return err
	}
	defer cli.Close()
	_, err = cli.ImageRemove(ctx, ref, image.RemoveOptions{PruneChildren: true})
	return err
}

func TestConformance(t *testing.T) {
	providertest.RunConformanceTests(t, harness{host: dockerHost(t)})
}

// volumeHarness is the harness with the Volumes section's facts of Docker:
// a volume's data is a tar of its files, and its size cannot change.
type volumeHarness struct{ harness }

func (h volumeHarness) Fixture() providertest.Fixture {
	fx := h.harness.Fixture()
	fx.VolumeDataTar = true
	fx.VolumeUnsupported = map[string]string{providertest.UnsupportedVolExtend: "Docker's local volumes have no size, and a volume's labels (where canopy records it) cannot change"}
	return fx
}

// TestVolumeConformance runs the Volumes section (RunConformanceTests
// runs it only for clouds with Compute): lifecycle, errors, attach as a
// mount on a stopped container, and the data as a tar.
func TestVolumeConformance(t *testing.T) {
	providertest.RunVolumeTests(t, volumeHarness{harness{host: dockerHost(t)}})
}
