//go:build openstack

package openstack_test

// Runs the providertest conformance suite against a real OpenStack (the
// lab test/openstack/up.sh starts). Needs CANOPY_OS_CLOUDS_YAML; under the
// openstack build tag its absence is a failure, never a skip.

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/providers/openstack"
	"github.com/canopy-cloud/canopy/providers/providertest"
)

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// labCloud returns the clouds.yaml path and cloud name of the lab.
func labCloud(t testing.TB) (path, cloud string) {
	t.Helper()
	path = os.Getenv("CANOPY_OS_CLOUDS_YAML")
	if path == "" {
		t.Fatal("CANOPY_OS_CLOUDS_YAML is not set: point it at the lab's clouds.yaml (test/openstack/up.sh prints it; default lab: /var/tmp/canopy-openstack/clouds.yaml)")
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("CANOPY_OS_CLOUDS_YAML: %v", err)
	}
	return path, envOr("CANOPY_OS_CLOUD", "canopy-test")
}

func labImage() string   { return envOr("CANOPY_OS_IMAGE", "canopy-test-image") }
func labNetwork() string { return envOr("CANOPY_OS_NETWORK", "canopy-net") }

type harness struct {
	path, cloud string
	opts        map[string]any
	// extNet is the native id of the lab's external network.
	extNet string
}

func (h harness) MakeProvider(ctx context.Context, t *testing.T) providers.Provider {
	opts := map[string]any{"clouds_yaml": h.path, "cloud": h.cloud}
	for k, v := range h.opts {
		opts[k] = v
	}
	p, err := providers.Open(ctx, openstack.Kind, providers.Config{Name: "os-test", Options: opts})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return p
}

// DeleteImage implements providertest.ImageCleaner.
func (h harness) DeleteImage(ctx context.Context, p providers.Provider, id string) error {
	return p.(*openstack.Cloud).DeleteImage(ctx, id)
}

// PendingUploads implements providertest.UploadInspector: the SLO segments
// of key left in the bucket's segments container ("<bucket>+segments",
// names "<key>/<upload>/<n>"), listed in Swift itself. No segments
// container is none left.
func (h harness) PendingUploads(ctx context.Context, p providers.Provider, bucket, key string) ([]string, error) {
	page, err := p.(*openstack.Cloud).ListObjects(ctx, bucket+"+segments", providers.ListObjectsOptions{Prefix: key + "/", PageSize: 1000})
	if errors.Is(err, providers.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var left []string
	for _, o := range page.Objects {
		left = append(left, bucket+"+segments/"+o.Key)
	}
	return left, nil
}

func (h harness) Fixture() providertest.Fixture {
	return providertest.Fixture{
		ImageName:   labImage(),
		Networks:    []string{labNetwork()},
		WaitTimeout: 3 * time.Minute,
		Poll:        500 * time.Millisecond,
		Prefix:      "ptest-os",
		// Swift: SLO segments of 1 MiB (its minimum) keep the suite fast.
		ObjectPartSize: 1 << 20,
		ETagStyle:      "swift",
		// Neutron does every part of the Networks section.
		ExternalNetwork: h.extNet,
		// Glance keeps container images with container_format docker/oci.
		ContainerImageFormats: []string{"docker", "oci"},
	}
}

// labExternalNetwork returns the id of the lab's external network
// (CANOPY_OS_EXTERNAL_NETWORK, by name, as up.sh writes it), read through
// the adapter.
func labExternalNetwork(t *testing.T, h harness) string {
	t.Helper()
	name := envOr("CANOPY_OS_EXTERNAL_NETWORK", "canopy-public")
	ctx := context.Background()
	p := h.MakeProvider(ctx, t)
	defer p.Close()
	nets, err := p.(providers.Networks).ListNetworks(ctx)
	if err != nil {
		t.Fatalf("list networks for the external network %q: %v", name, err)
	}
	for _, n := range nets {
		if n.Name == name || n.NativeID == name {
			if !n.External {
				t.Fatalf("network %s (%s) is not external", name, n.NativeID)
			}
			return n.NativeID
		}
	}
	t.Fatalf("the lab has no network %q (CANOPY_OS_EXTERNAL_NETWORK)", name)
	return ""
}

func TestConformance(t *testing.T) {
	path, cloud := labCloud(t)
	h := harness{path: path, cloud: cloud}
	h.extNet = labExternalNetwork(t, h)
	providertest.RunConformanceTests(t, h)
}
