package emulate

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/canopy-cloud/canopy/providers"
)

// ContainerServers is a container cloud seen as servers: the Compute a
// Docker or containerd cloud lacks, made of its containers, so a script
// written for servers runs unchanged against it (Zun's "capabilities
// shared between containers and VMs").
//
//   - Flavors come from the cloud's configuration; a flavor becomes the
//     container's cpu and memory limits, and a container's flavor is the
//     one whose limits it has.
//   - Images are the runtime's images (providers.ContainerImages).
//   - A server is a container that runs until it is stopped (restart
//     policy unless-stopped); user data, when given, is its command, run
//     by the image's `sh -c` (as cloud-init would run a script at boot);
//     without it the image's own command runs.
//   - Start, stop, reboot and delete are the container's; a hard reboot
//     restarts without a grace period.
//   - Keypairs, networks and boot volumes do not apply: a create that asks
//     for one is ErrInvalid naming it, and the cloud lists no keypairs.
//
// Servers carry Properties["kind"] = "container" (and the host), so a
// cross-cloud list tells them from virtual machines.
type ContainerServers struct {
	c       providers.Containers
	images  providers.ContainerImages // nil: the runtime lists none
	flavors []providers.Flavor
	region  string
	grace   time.Duration
}

// PropKind names what a server is: KindContainerServer for
// ContainerServers (canopy.v1.Server.kind SERVER_KIND_CONTAINER).
const PropKind = "kind"

// KindContainerServer is PropKind's value on a container cloud's servers.
const KindContainerServer = "container"

// StopGrace is how long a server's stop or reboot waits for its process
// to end before SIGKILL: Docker's default.
const StopGrace = 10 * time.Second

// NewContainerServers makes the servers view of a container cloud; grace
// is the stop grace period (StopGrace).
func NewContainerServers(c providers.Containers, images providers.ContainerImages, flavors []providers.Flavor, region string, grace time.Duration) *ContainerServers {
	return &ContainerServers{c: c, images: images, flavors: flavors, region: region, grace: grace}
}

var _ providers.Compute = (*ContainerServers)(nil)

// ListFlavors implements providers.Compute.
func (s *ContainerServers) ListFlavors(context.Context) ([]providers.Flavor, error) {
	return append([]providers.Flavor(nil), s.flavors...), nil
}

// ListImages implements providers.Compute.
func (s *ContainerServers) ListImages(ctx context.Context) ([]providers.Image, error) {
	if s.images == nil {
		return nil, nil
	}
	return s.images.ListContainerImages(ctx)
}

// GetImage implements providers.Compute.
func (s *ContainerServers) GetImage(ctx context.Context, id string) (providers.Image, error) {
	list, err := s.ListImages(ctx)
	if err != nil {
		return providers.Image{}, err
	}
	for _, im := range list {
		if im.NativeID == id {
			return im, nil
		}
	}
	return providers.Image{}, fmt.Errorf("image %q: %w", id, providers.ErrNotFound)
}

// DeleteImage implements providers.ImageDeleter through the runtime's
// (Docker's: the reference off its hosts); a runtime that deletes no
// images is ErrUnsupported.
func (s *ContainerServers) DeleteImage(ctx context.Context, id string) error {
	d, ok := s.images.(providers.ImageDeleter)
	if !ok {
		return fmt.Errorf("image %q: the container runtime deletes no images: %w", id, providers.ErrUnsupported)
	}
	return d.DeleteImage(ctx, id)
}

var _ providers.ImageDeleter = (*ContainerServers)(nil)

func (s *ContainerServers) flavorOf(c providers.Container) string {
	for _, f := range s.flavors {
		if c.CPU == float64(f.VCPUs) && c.MemoryBytes == f.RAMMiB<<20 {
			return f.NativeID
		}
	}
	return ""
}

func (s *ContainerServers) server(c providers.Container) providers.Server {
	sv := providers.Server{Common: c.Common, FlavorID: s.flavorOf(c), ImageID: c.Image, Addresses: c.Addresses}
	sv.Status = c.State.Status()
	if sv.Region == "" {
		sv.Region = s.region
	}
	if sv.Zone == "" {
		sv.Zone = c.Host
	}
	props := make(map[string]string, len(c.Properties)+4)
	for k, v := range c.Properties {
		props[k] = v
	}
	props[PropKind], props["host"], props["container_state"] = KindContainerServer, c.Host, c.State.String()
	if c.Token != "" {
		props[providers.PropToken] = c.Token
	}
	sv.Properties = props
	return sv
}

// ListServers implements providers.Compute: every container.
func (s *ContainerServers) ListServers(ctx context.Context) ([]providers.Server, error) {
	list, err := s.c.ListContainers(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]providers.Server, len(list))
	for i, c := range list {
		out[i] = s.server(c)
	}
	return out, nil
}

// GetServer implements providers.Compute.
func (s *ContainerServers) GetServer(ctx context.Context, id string) (providers.Server, error) {
	c, err := s.c.GetContainer(ctx, id)
	if err != nil {
		return providers.Server{}, err
	}
	return s.server(c), nil
}

// CreateServer implements providers.Compute: create, then start. The
// token rides on the container (the adapter's replay finds it again), and
// a replayed create whose container already runs is not started twice.
func (s *ContainerServers) CreateServer(ctx context.Context, spec providers.ServerSpec) (providers.Server, error) {
	switch {
	case spec.Keypair != "":
		return providers.Server{}, fmt.Errorf("%w: keypair: a container cloud's servers take no keypair", providers.ErrInvalid)
	case len(spec.Networks) > 0:
		return providers.Server{}, fmt.Errorf("%w: networks: a container cloud's servers take no networks", providers.ErrInvalid)
	case spec.BootVolumeID != "" || spec.RootVolumeGiB > 0:
		return providers.Server{}, fmt.Errorf("%w: boot_volume: a container cloud's servers boot from images only", providers.ErrInvalid)
	}
	var flavor *providers.Flavor
	for i := range s.flavors {
		if s.flavors[i].NativeID == spec.FlavorID {
			flavor = &s.flavors[i]
		}
	}
	if flavor == nil {
		return providers.Server{}, fmt.Errorf("%w: flavor %q: no such flavor", providers.ErrInvalid, spec.FlavorID)
	}
	cs := providers.ContainerSpec{
		Name: spec.Name, Image: spec.ImageID, Labels: spec.Labels, CPU: float64(flavor.VCPUs), MemoryBytes: flavor.RAMMiB << 20,
		RestartPolicy: providers.RestartPolicy{Name: "unless-stopped"}, Host: spec.Zone, Hostname: spec.Name,
		IdempotencyToken: spec.IdempotencyToken, Replay: spec.Replay, Project: spec.Project,
	}
	if len(spec.UserData) > 0 {
		cs.Command = []string{"sh", "-c", string(spec.UserData)}
	}
	c, err := s.c.CreateContainer(ctx, cs)
	if err != nil {
		return providers.Server{}, err
	}
	if err := s.c.StartContainer(ctx, c.NativeID); err != nil && !errors.Is(err, providers.ErrConflict) {
		// A server that cannot start is not left behind as a stopped one.
		if derr := s.c.DeleteContainer(context.WithoutCancel(ctx), c.NativeID, true); derr != nil && !errors.Is(derr, providers.ErrNotFound) {
			return providers.Server{}, fmt.Errorf("start container %s: %w (and removing it: %v)", c.NativeID, err, derr)
		}
		return providers.Server{}, fmt.Errorf("start container %s: %w", c.NativeID, err)
	}
	if got, err := s.c.GetContainer(ctx, c.NativeID); err == nil {
		c = got
	}
	return s.server(c), nil
}

// DeleteServer implements providers.Compute.
func (s *ContainerServers) DeleteServer(ctx context.Context, id string) error {
	return s.c.DeleteContainer(ctx, id, true)
}

// ServerAction implements providers.Compute.
func (s *ContainerServers) ServerAction(ctx context.Context, id string, action providers.Action) error {
	switch action {
	case providers.ActionStart:
		return s.c.StartContainer(ctx, id)
	case providers.ActionStop:
		return s.c.StopContainer(ctx, id, s.grace)
	case providers.ActionReboot:
		return s.c.RestartContainer(ctx, id, s.grace)
	case providers.ActionHardReboot:
		return s.c.RestartContainer(ctx, id, 0)
	}
	return fmt.Errorf("%w: action %q", providers.ErrInvalid, action)
}

// ListKeypairs implements providers.Compute: a container cloud has none.
func (s *ContainerServers) ListKeypairs(context.Context) ([]providers.Keypair, error) {
	return nil, nil
}

// GetKeypair implements providers.Compute.
func (s *ContainerServers) GetKeypair(_ context.Context, name string) (providers.Keypair, error) {
	return providers.Keypair{}, fmt.Errorf("keypair %q: %w", name, providers.ErrNotFound)
}

// CreateKeypair implements providers.Compute.
func (s *ContainerServers) CreateKeypair(context.Context, string, string) (providers.Keypair, error) {
	return providers.Keypair{}, fmt.Errorf("%w: keypairs: a container cloud has none", providers.ErrUnsupported)
}

// DeleteKeypair implements providers.Compute.
func (s *ContainerServers) DeleteKeypair(_ context.Context, name string) error {
	return fmt.Errorf("keypair %q: %w", name, providers.ErrNotFound)
}
