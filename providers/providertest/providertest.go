// Package providertest is the one conformance suite every provider adapter
// must pass, the simulator and each real engine alike (gocloud's drivertest
// pattern). An adapter's test supplies a Harness and calls
// RunConformanceTests.
package providertest

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/canopy-cloud/canopy/providers"
)

// Harness builds the adapter under test and says what it may use.
type Harness interface {
	// MakeProvider opens the adapter against its engine.
	MakeProvider(ctx context.Context, t *testing.T) providers.Provider
	// Fixture names resources the suite may use on this cloud.
	Fixture() Fixture
}

// UploadInspector is implemented by harnesses that look at the cloud behind
// the adapter for what an unfinished upload holds there: S3's multipart
// uploads (and so their parts), Swift's segments, the simulator's parts.
// The Objects section requires it: an aborted or cancelled upload must
// leave nothing at the cloud, and only the engine can say so.
type UploadInspector interface {
	// PendingUploads describes every unfinished upload of key in bucket
	// the cloud still holds (nil: none).
	PendingUploads(ctx context.Context, p providers.Provider, bucket, key string) ([]string, error)
}

// Fixture describes the cloud under test.
type Fixture struct {
	// ImageName is an image that boots on the smallest flavor; empty: the
	// first image listed.
	ImageName string
	// Networks to attach new servers to; empty: the cloud's default.
	Networks []string
	// Zone for new servers; empty: the cloud's default.
	Zone string
	// WaitTimeout bounds each wait for a transition (default 2 minutes).
	WaitTimeout time.Duration
	// Poll is the interval between polls while waiting (default 200 ms).
	Poll time.Duration
	// Prefix is prepended to every name the suite creates, so runs can be
	// told apart and cleaned up.
	Prefix string
	// ObjectPartSize is the part size object uploads use (default 5 MiB);
	// "many parts" is 2 parts and a byte.
	ObjectPartSize int64
	// OpaqueETags: the cloud's ETags are not md5-based (not checked).
	OpaqueETags bool
	// ETagStyle is how a multipart ETag is made: "s3" (default: md5 of the
	// part md5s and "-N") or "swift" (SLO: md5 of the hex segment md5s).
	ETagStyle string
	// SignaturesUnchecked, when set, says why the engine does not reject
	// tampered or expired presigned URLs (those checks are then skipped).
	SignaturesUnchecked string
	// VolumeDataUnreadable, when set, says why the engine cannot give a
	// volume's bytes back (ReadVolumeData), though the adapter implements
	// it: the Data part's read checks are then skipped, named.
	VolumeDataUnreadable string
	// VolumeDataTar says a volume's data (VolumeData) is a tar of its
	// files, not its blocks: container runtimes' volumes are directories.
	// The suite then writes a tar holding one file and checks that the
	// tar read back holds that file with the same bytes.
	VolumeDataTar bool
	// VolumeUnsupported names parts of the Volumes section the cloud
	// cannot do, each with why (keys: the UnsupportedVol* constants in
	// volumes.go); those parts check ErrUnsupported and say so.
	VolumeUnsupported map[string]string
	// ContainerImage is a busybox image the container runtime already has:
	// every applet in /bin, an /etc/passwd with root and nobody, httpd's
	// /www/index.html (default canopy-test/busybox:latest, built from
	// test/containers/rootfs.sh). It has no CMD: the suite names commands.
	ContainerImage string
	// ContainerHealthInterval is the healthchecks' interval (default 1s).
	ContainerHealthInterval time.Duration
	// ContainerUnsupported names parts of the Containers section the
	// runtime cannot do, each with why; those parts are skipped saying so.
	// The keys are the Unsupported* constants (containers.go).
	ContainerUnsupported map[string]string
	// ExternalNetwork is the native id of the external network routers'
	// gateways and floating IPs use (Neutron's public network; on EC2 the
	// "amazon" public pool the adapter lists as an external network);
	// empty: the cloud has none, and those parts check ErrUnsupported.
	ExternalNetwork string
	// NetworkUnsupported names parts of the Networks section the cloud
	// cannot do, each with why (keys: the UnsupportedNet* constants in
	// networks.go); those parts are skipped saying so.
	NetworkUnsupported map[string]string
	// KeypairsUnsupported, when set, says why the cloud has no keypairs
	// (a container cloud's servers view): the Keypairs part then checks
	// that an import is ErrUnsupported and a lookup ErrNotFound.
	KeypairsUnsupported string
	// ContainerImageFormats are the container formats (docker, oci) the
	// cloud's image store takes as container images (Glance, an AWS
	// cloud's S3 bucket, the simulator); the ImageTransfer section
	// round-trips one image of each. Empty: not tested.
	ContainerImageFormats []string
	// ServerUserData is the user data new servers get; empty: none. A
	// container cloud's servers need it when the image has no program of
	// its own (the busybox fixture image has no CMD): it is their script.
	ServerUserData []byte
}

func (f *Fixture) defaults() {
	if f.WaitTimeout == 0 {
		f.WaitTimeout = 2 * time.Minute
	}
	if f.Poll == 0 {
		f.Poll = 200 * time.Millisecond
	}
	if f.Prefix == "" {
		f.Prefix = "ptest"
	}
	if f.ContainerImage == "" {
		f.ContainerImage = "canopy-test/busybox:latest"
	}
	if f.ContainerHealthInterval == 0 {
		f.ContainerHealthInterval = time.Second
	}
}

// RunConformanceTests runs the whole suite against the adapter.
func RunConformanceTests(t *testing.T, h Harness) {
	ctx := context.Background()
	p := h.MakeProvider(ctx, t)
	t.Cleanup(func() { _ = p.Close() })
	fx := h.Fixture()
	fx.defaults()
	s := &suite{p: p, fx: fx, h: h}
	s.cleaner, _ = h.(ImageCleaner)
	s.uploads, _ = h.(UploadInspector)

	t.Run("Info", s.testInfo)
	if o, ok := p.(providers.Objects); ok {
		t.Run("Objects", func(t *testing.T) { s.testObjects(t, o) })
	}
	// Container runtimes (docker, containerd) usually have no Compute, so
	// their section runs before the compute ones may return.
	if _, ok := p.(providers.Containers); ok {
		t.Run("Containers", s.testContainers) // containers.go
	}
	if _, ok := p.(providers.Networks); ok {
		t.Run("Networks", s.testNetworks) // networks*.go
	}
	compute, ok := p.(providers.Compute)
	if !ok {
		t.Logf("adapter has no Compute capability; compute tests not run")
		return
	}
	s.c = compute
	s.computeSection(t)
	t.Run("Volumes", s.testVolumes) // volumes.go
	if it, ok := p.(providers.ImageTransfer); ok {
		t.Run("ImageTransfer", func(t *testing.T) { s.testImageTransfer(t, it) }) // images.go
	} else {
		t.Logf("adapter has no ImageTransfer capability; image transfer tests not run")
	}
	if d, ok := p.(providers.ImageDeleter); ok {
		t.Run("ImageDelete", func(t *testing.T) { s.testImageDelete(t, d) }) // images_delete.go
	}
}

type suite struct {
	h       Harness
	p       providers.Provider
	c       providers.Compute
	v       providers.Volumes
	fx      Fixture
	cleaner ImageCleaner    // nil: the harness cannot delete images
	uploads UploadInspector // nil: the harness cannot see the cloud's uploads
}

func (s *suite) name(t *testing.T, what string) string {
	return fmt.Sprintf("%s-%s-%d", s.fx.Prefix, what, time.Now().UnixNano()%1e9)
}

func (s *suite) testInfo(t *testing.T) {
	info, err := s.p.Info(context.Background())
	if err != nil {
		t.Fatalf("Info: %v", err)
	}
	if len(info.Regions) == 0 {
		t.Errorf("Info: no regions")
	}
	for _, r := range info.Regions {
		if r == "" {
			t.Errorf("Info: empty region name in %q", info.Regions)
		}
	}
}

func (s *suite) testFlavors(t *testing.T) {
	flavors, err := s.c.ListFlavors(context.Background())
	if err != nil {
		t.Fatalf("ListFlavors: %v", err)
	}
	if len(flavors) == 0 {
		t.Fatal("ListFlavors: empty")
	}
	seen := map[string]bool{}
	for _, f := range flavors {
		if f.NativeID == "" || f.Name == "" {
			t.Errorf("flavor %+v: empty id or name", f)
		}
		if seen[f.NativeID] {
			t.Errorf("flavor id %q listed twice", f.NativeID)
		}
		seen[f.NativeID] = true
		if f.VCPUs <= 0 || f.RAMMiB <= 0 || f.DiskGiB < 0 || f.GPUs < 0 {
			t.Errorf("flavor %s: not normalized: vcpus=%d ram=%d disk=%d gpus=%d", f.Name, f.VCPUs, f.RAMMiB, f.DiskGiB, f.GPUs)
		}
		if f.Status != providers.StatusActive {
			t.Errorf("flavor %s: status %v, want ACTIVE", f.Name, f.Status)
		}
	}
}

func (s *suite) testImages(t *testing.T) {
	ctx := context.Background()
	images, err := s.c.ListImages(ctx)
	if err != nil {
		t.Fatalf("ListImages: %v", err)
	}
	if len(images) == 0 {
		t.Fatal("ListImages: empty")
	}
	for _, im := range images {
		if im.NativeID == "" {
			t.Errorf("image %+v: empty id", im)
		}
		if im.Status == providers.StatusUnspecified {
			t.Errorf("image %s: status not normalized (raw %q)", im.NativeID, im.ProviderStatus)
		}
	}
	im := s.image(t)
	got, err := s.c.GetImage(ctx, im.NativeID)
	if err != nil {
		t.Fatalf("GetImage(%s): %v", im.NativeID, err)
	}
	if got.NativeID != im.NativeID || got.Name != im.Name {
		t.Errorf("GetImage = %s/%s, want %s/%s", got.NativeID, got.Name, im.NativeID, im.Name)
	}
	if _, err := s.c.GetImage(ctx, missingID(im.NativeID)); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("GetImage(missing): err = %v, want ErrNotFound", err)
	}
}

// image returns the fixture image, or the first one.
func (s *suite) image(t *testing.T) providers.Image {
	t.Helper()
	images, err := s.c.ListImages(context.Background())
	if err != nil {
		t.Fatalf("ListImages: %v", err)
	}
	for _, im := range images {
		if s.fx.ImageName == "" || im.Name == s.fx.ImageName {
			return im
		}
	}
	t.Fatalf("image %q not found among %d images", s.fx.ImageName, len(images))
	return providers.Image{}
}

// smallestFlavor returns the flavor with the least memory.
func (s *suite) smallestFlavor(t *testing.T) providers.Flavor {
	t.Helper()
	flavors, err := s.c.ListFlavors(context.Background())
	if err != nil || len(flavors) == 0 {
		t.Fatalf("ListFlavors: %v (%d)", err, len(flavors))
	}
	best := flavors[0]
	for _, f := range flavors[1:] {
		if f.RAMMiB < best.RAMMiB || (f.RAMMiB == best.RAMMiB && f.VCPUs < best.VCPUs) {
			best = f
		}
	}
	return best
}

// missingID returns an id shaped like a real one that does not exist.
func missingID(like string) string {
	if len(like) >= 36 && strings.Count(like, "-") == 4 {
		return "00000000-0000-4000-8000-000000000000"
	}
	return like + "-missing"
}

func newPublicKey(t *testing.T) string {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sp, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sp)))
}

func (s *suite) testKeypairs(t *testing.T) {
	ctx := context.Background()
	if why := s.fx.KeypairsUnsupported; why != "" {
		if _, err := s.c.CreateKeypair(ctx, s.name(t, "key"), newPublicKey(t)); !errors.Is(err, providers.ErrUnsupported) {
			t.Errorf("CreateKeypair on a cloud without keypairs: err = %v, want ErrUnsupported", err)
		}
		if _, err := s.c.GetKeypair(ctx, s.name(t, "key")); !errors.Is(err, providers.ErrNotFound) {
			t.Errorf("GetKeypair on a cloud without keypairs: err = %v, want ErrNotFound", err)
		}
		t.Skipf("keypairs: %s", why)
	}
	name := s.name(t, "key")
	pub := newPublicKey(t)
	k, err := s.c.CreateKeypair(ctx, name, pub)
	if err != nil {
		t.Fatalf("CreateKeypair: %v", err)
	}
	t.Cleanup(func() { _ = s.c.DeleteKeypair(context.Background(), name) })
	if k.Name != name || k.NativeID == "" || k.Fingerprint == "" {
		t.Errorf("CreateKeypair = %+v: want name %s, an id and a fingerprint", k, name)
	}
	if !strings.HasPrefix(k.PublicKey, strings.Join(strings.Fields(pub)[:2], " ")) {
		t.Errorf("public key = %q, want %q", k.PublicKey, pub)
	}
	got, err := s.c.GetKeypair(ctx, k.NativeID)
	if err != nil || got.Fingerprint != k.Fingerprint {
		t.Errorf("GetKeypair = %+v, %v; want fingerprint %s", got, err, k.Fingerprint)
	}
	list, err := s.c.ListKeypairs(ctx)
	if err != nil {
		t.Fatalf("ListKeypairs: %v", err)
	}
	if !containsKey(list, name) {
		t.Errorf("ListKeypairs does not list %s", name)
	}
	if _, err := s.c.CreateKeypair(ctx, name, newPublicKey(t)); !errors.Is(err, providers.ErrAlreadyExists) {
		t.Errorf("CreateKeypair(duplicate): err = %v, want ErrAlreadyExists", err)
	}
	if _, err := s.c.CreateKeypair(ctx, s.name(t, "badkey"), "ssh-ed25519 not-base64!"); !errors.Is(err, providers.ErrInvalid) {
		t.Errorf("CreateKeypair(bad key): err = %v, want ErrInvalid", err)
	}
	if err := s.c.DeleteKeypair(ctx, k.NativeID); err != nil {
		t.Fatalf("DeleteKeypair: %v", err)
	}
	if _, err := s.c.GetKeypair(ctx, k.NativeID); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("GetKeypair after delete: err = %v, want ErrNotFound", err)
	}
	if err := s.c.DeleteKeypair(ctx, k.NativeID); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("DeleteKeypair twice: err = %v, want ErrNotFound", err)
	}
}

func containsKey(list []providers.Keypair, name string) bool {
	for _, k := range list {
		if k.Name == name {
			return true
		}
	}
	return false
}
