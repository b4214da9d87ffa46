//go:build openstack

package openstack_test

// What the conformance suite does not cover, against the real lab:
// openstacksdk-style configuration (application credentials, secure.yaml,
// OS_CLOUD), auth and region errors, microversion, pagination with small
// pages, idempotent creates, hard reboot and Nova fault messages.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/flavors"
	"gopkg.in/yaml.v3"

	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/providers/openstack"
)

func openLab(t *testing.T, opts map[string]any, regions ...string) *openstack.Cloud {
	t.Helper()
	c, err := openstack.Open(context.Background(), providers.Config{Name: "os-lab", Regions: regions, Options: opts})
	if err != nil {
		t.Fatalf("Open(%v): %v", opts, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// labEntry returns the lab's clouds.yaml entry for a cloud.
func labEntry(t *testing.T, path, cloud string) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Clouds map[string]map[string]any `yaml:"clouds"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Clouds[cloud]
}

func writeYAML(t *testing.T, path string, v any) {
	t.Helper()
	raw, err := yaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestLabConfiguration(t *testing.T) {
	path, cloud := labCloud(t)
	ctx := context.Background()

	t.Run("ApplicationCredential", func(t *testing.T) {
		name := envOr("CANOPY_OS_APPCRED_CLOUD", "canopy-test-appcred")
		if labEntry(t, path, name) == nil {
			t.Skipf("no %s cloud in %s", name, path)
		}
		c := openLab(t, map[string]any{"clouds_yaml": path, "cloud": name})
		info, err := c.Info(ctx)
		if err != nil || len(info.Regions) == 0 || len(info.Zones) == 0 {
			t.Fatalf("Info with an application credential = %+v, %v", info, err)
		}
		if _, err := c.ListServers(ctx); err != nil {
			t.Fatalf("ListServers with an application credential: %v", err)
		}
	})

	t.Run("SecureYAML", func(t *testing.T) {
		entry := labEntry(t, path, cloud)
		auth, _ := entry["auth"].(map[string]any)
		password, _ := auth["password"].(string)
		if password == "" {
			t.Skip("the lab cloud has no password to move into secure.yaml")
		}
		public := map[string]any{}
		for k, v := range entry {
			public[k] = v
		}
		publicAuth := map[string]any{}
		for k, v := range auth {
			if k != "password" {
				publicAuth[k] = v
			}
		}
		public["auth"] = publicAuth
		dir := t.TempDir()
		writeYAML(t, filepath.Join(dir, "clouds.yaml"), map[string]any{"clouds": map[string]any{"split": public}})
		writeYAML(t, filepath.Join(dir, "secure.yaml"), map[string]any{"clouds": map[string]any{"split": map[string]any{"auth": map[string]any{"password": password}}}})
		c := openLab(t, map[string]any{"clouds_yaml": filepath.Join(dir, "clouds.yaml"), "cloud": "split"})
		if _, err := c.Info(ctx); err != nil {
			t.Fatalf("Info with the password from secure.yaml: %v", err)
		}
	})

	t.Run("EnvironmentOSCloud", func(t *testing.T) {
		t.Setenv("OS_CLIENT_CONFIG_FILE", path)
		t.Setenv("OS_CLOUD", cloud)
		c := openLab(t, nil)
		if _, err := c.Info(ctx); err != nil {
			t.Fatalf("Info from OS_CLIENT_CONFIG_FILE + OS_CLOUD: %v", err)
		}
	})

	t.Run("WrongPassword", func(t *testing.T) {
		entry := labEntry(t, path, cloud)
		auth := map[string]any{}
		for k, v := range entry["auth"].(map[string]any) {
			auth[k] = v
		}
		auth["password"] = "certainly-wrong"
		bad := map[string]any{}
		for k, v := range entry {
			bad[k] = v
		}
		bad["auth"] = auth
		p := filepath.Join(t.TempDir(), "clouds.yaml")
		writeYAML(t, p, map[string]any{"clouds": map[string]any{"bad": bad}})
		c := openLab(t, map[string]any{"clouds_yaml": p, "cloud": "bad"})
		if _, err := c.Info(ctx); !errors.Is(err, providers.ErrUnauthenticated) {
			t.Fatalf("Info with a wrong password: err = %v, want ErrUnauthenticated", err)
		}
	})

	t.Run("UnknownRegion", func(t *testing.T) {
		c := openLab(t, map[string]any{"clouds_yaml": path, "cloud": cloud}, "NoSuchRegion")
		_, err := c.Info(ctx)
		if !errors.Is(err, providers.ErrUnavailable) || !strings.Contains(err.Error(), "NoSuchRegion") {
			t.Fatalf("Info in an unknown region: err = %v, want ErrUnavailable naming the region", err)
		}
	})

	t.Run("EndpointOverride", func(t *testing.T) {
		c := openLab(t, map[string]any{"clouds_yaml": path, "cloud": cloud, "interface": "public",
			"endpoint_override": map[string]any{"compute": "http://127.0.0.1:8774/v2.1", "image": "http://127.0.0.1:9292"}})
		if _, err := c.ListFlavors(ctx); err != nil {
			t.Fatalf("ListFlavors through an endpoint override: %v", err)
		}
		if _, err := c.ListImages(ctx); err != nil {
			t.Fatalf("ListImages through an endpoint override: %v", err)
		}
		broken := openLab(t, map[string]any{"clouds_yaml": path, "cloud": cloud, "endpoint_override": map[string]any{"compute": "http://127.0.0.1:1/v2.1"}})
		if _, err := broken.ListFlavors(ctx); !errors.Is(err, providers.ErrUnavailable) {
			t.Fatalf("a dead compute endpoint: err = %v, want ErrUnavailable", err)
		}
	})
}

func TestLabMicroversionAndPaging(t *testing.T) {
	path, cloud := labCloud(t)
	ctx := context.Background()
	c := openLab(t, map[string]any{"clouds_yaml": path, "cloud": cloud})
	if mv, err := c.Microversion(ctx); err != nil || mv != openstack.DefaultMicroversion {
		t.Errorf("Microversion = %q, %v; want %s (Zed supports up to 2.93)", mv, err, openstack.DefaultMicroversion)
	}
	small := openLab(t, map[string]any{"clouds_yaml": path, "cloud": cloud, "page_size": 1})

	flv, err := c.ListFlavors(ctx)
	if err != nil {
		t.Fatal(err)
	}
	flv1, err := small.ListFlavors(ctx)
	if err != nil || len(flv1) != len(flv) || len(flv) < 2 {
		t.Errorf("flavors in pages of 1: %d (%v), in one page: %d", len(flv1), err, len(flv))
	}
	im, err := c.ListImages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	im1, err := small.ListImages(ctx)
	if err != nil || len(im1) != len(im) {
		t.Errorf("images in pages of 1: %d (%v), in one page: %d", len(im1), err, len(im))
	}
	for _, f := range flv {
		if f.Name == envOr("CANOPY_OS_FLAVOR", "canopy.tiny") && (f.VCPUs != 1 || f.RAMMiB != 256 || f.DiskGiB != 1 || f.GPUs != 0) {
			t.Errorf("flavor %s normalized as %+v", f.Name, f)
		}
	}

	// Keypairs and servers in pages of 1.
	pub := "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
	prefix := fmt.Sprintf("ptest-os-page-%d", time.Now().UnixNano()%1e9)
	for i := 0; i < 3; i++ {
		name := fmt.Sprintf("%s-%d", prefix, i)
		if _, err := c.CreateKeypair(ctx, name, pub); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.DeleteKeypair(context.Background(), name) })
	}
	kps, err := small.ListKeypairs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, k := range kps {
		if strings.HasPrefix(k.Name, prefix) {
			n++
		}
	}
	if n != 3 {
		t.Errorf("keypairs in pages of 1: %d of ours, want 3", n)
	}
}

func waitServer(t *testing.T, c *openstack.Cloud, id string, cond func(providers.Server, error) bool) providers.Server {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		s, err := c.GetServer(context.Background(), id)
		if cond(s, err) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("server %s: condition not met after 3m (last %+v, %v)", id, s, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// labFlavorImage returns the ids of the lab's flavor and image.
func labFlavorImage(t *testing.T, c *openstack.Cloud) (flavorID, imageID string) {
	t.Helper()
	ctx := context.Background()
	flv, err := c.ListFlavors(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range flv {
		if f.Name == envOr("CANOPY_OS_FLAVOR", "canopy.tiny") {
			flavorID = f.NativeID
		}
	}
	ims, err := c.ListImages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, im := range ims {
		if im.Name == labImage() {
			imageID = im.NativeID
		}
	}
	if flavorID == "" || imageID == "" {
		t.Fatalf("lab flavor/image not found")
	}
	return flavorID, imageID
}

func TestLabServerExtras(t *testing.T) {
	path, cloud := labCloud(t)
	ctx := context.Background()
	c := openLab(t, map[string]any{"clouds_yaml": path, "cloud": cloud})
	flavorID, imageID := labFlavorImage(t, c)
	run := fmt.Sprintf("ptest-os-x-%d", time.Now().UnixNano()%1e9)

	t.Run("IdempotentCreateAndHardReboot", func(t *testing.T) {
		spec := providers.ServerSpec{Name: run + "-idem", FlavorID: flavorID, ImageID: imageID, Networks: []string{labNetwork()},
			UserData: []byte("#cloud-config\n"), IdempotencyToken: run + "-token"}
		a, err := c.CreateServer(ctx, spec)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.DeleteServer(context.Background(), a.NativeID) })
		b, err := c.CreateServer(ctx, spec)
		if err != nil {
			t.Fatal(err)
		}
		if b.NativeID != a.NativeID {
			_ = c.DeleteServer(ctx, b.NativeID)
			t.Fatalf("a retried create with the same token made a second server: %s, %s", a.NativeID, b.NativeID)
		}
		s := waitServer(t, c, a.NativeID, func(s providers.Server, err error) bool { return err == nil && s.Status == providers.StatusActive })
		if s.Properties["client_token"] != run+"-token" || len(s.Labels) != 0 {
			t.Errorf("token not kept apart from labels: props %v labels %v", s.Properties, s.Labels)
		}
		if err := c.ServerAction(ctx, a.NativeID, providers.ActionHardReboot); err != nil {
			t.Fatalf("hard reboot: %v", err)
		}
		waitServer(t, c, a.NativeID, func(s providers.Server, err error) bool { return err == nil && s.Status == providers.StatusActive })
		if err := c.DeleteServer(ctx, a.NativeID); err != nil {
			t.Fatal(err)
		}
		waitServer(t, c, a.NativeID, func(s providers.Server, err error) bool {
			return errors.Is(err, providers.ErrNotFound) || (err == nil && s.Status == providers.StatusDeleting)
		})
		waitServer(t, c, a.NativeID, func(_ providers.Server, err error) bool { return errors.Is(err, providers.ErrNotFound) })
	})

	t.Run("FaultMessageAndQuota", func(t *testing.T) {
		admin := envOr("CANOPY_OS_ADMIN_CLOUD", "canopy-admin")
		if labEntry(t, path, admin) == nil {
			t.Skipf("no %s cloud in %s to make an unschedulable flavor", admin, path)
		}
		ctx := context.Background()
		nova := dial(t, ctx, path, admin)
		mkFlavor := func(suffix string, ram, disk int) string {
			f, err := flavors.Create(ctx, nova.compute, flavors.CreateOpts{Name: run + suffix, RAM: ram, VCPUs: 1, Disk: &disk}).Extract()
			if err != nil {
				t.Fatalf("create flavor %s: %v", suffix, err)
			}
			t.Cleanup(func() { _ = flavors.Delete(context.Background(), nova.compute, f.ID).ExtractErr() })
			return f.ID
		}
		// More RAM than the project's quota: Nova's 403 "Quota exceeded".
		overQuota := mkFlavor("-overquota", 64*1024*1024, 1)
		if _, err := c.CreateServer(ctx, providers.ServerSpec{Name: run + "-quota", FlavorID: overQuota, ImageID: imageID, Networks: []string{labNetwork()}}); !errors.Is(err, providers.ErrQuota) {
			t.Errorf("create over quota: err = %v, want ErrQuota", err)
		}
		// More disk than the fake hypervisor has (600000 GB): no valid host.
		noHost := mkFlavor("-nohost", 256, 700000)
		s, err := c.CreateServer(ctx, providers.ServerSpec{Name: run + "-nohost", FlavorID: noHost, ImageID: imageID, Networks: []string{labNetwork()}})
		if err != nil {
			t.Fatalf("create on an unschedulable flavor: %v", err)
		}
		t.Cleanup(func() { _ = c.DeleteServer(context.Background(), s.NativeID) })
		s = waitServer(t, c, s.NativeID, func(s providers.Server, err error) bool { return err == nil && s.Status == providers.StatusError })
		if s.ProviderStatus != "ERROR" || !strings.Contains(s.StatusMessage, "No valid host") {
			t.Errorf("ERROR server: raw %q message %q, want Nova's fault", s.ProviderStatus, s.StatusMessage)
		}
		if err := c.DeleteServer(ctx, s.NativeID); err != nil {
			t.Fatalf("delete an ERROR server: %v", err)
		}
		waitServer(t, c, s.NativeID, func(_ providers.Server, err error) bool { return errors.Is(err, providers.ErrNotFound) })
	})
}
