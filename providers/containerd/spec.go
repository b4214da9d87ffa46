package containerd

import (
	"context"
	"fmt"
	"math"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/containerd/containerd/containers"
	"github.com/containerd/containerd/oci"
	"github.com/containerd/containerd/reference/docker"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/canopy-cloud/canopy/providers"
)

// cfsPeriod is the CFS period CPU limits are expressed in (Docker's).
const cfsPeriod = 100000

// processArgs applies Docker's rules to what the image says and what the
// request overrides: a new entrypoint drops the image's command, a new
// command keeps the image's entrypoint. It returns the effective
// entrypoint and command (what the container reports) and the process args.
func processArgs(img ocispec.ImageConfig, entrypoint, command []string) (ep, cmd, args []string) {
	ep, cmd = img.Entrypoint, img.Cmd
	if len(entrypoint) > 0 {
		ep, cmd = entrypoint, nil
	}
	if len(command) > 0 {
		cmd = command
	}
	args = append(append([]string{}, ep...), cmd...)
	return ep, cmd, args
}

// envList turns an env map into KEY=value strings, sorted so the spec is
// the same every time.
func envList(env map[string]string) []string {
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// envMap reads KEY=value strings back.
func envMap(env []string) map[string]string {
	out := make(map[string]string, len(env))
	for _, e := range env {
		k, v, _ := strings.Cut(e, "=")
		out[k] = v
	}
	return out
}

// volumeName is what a volume's name may be: one path element, Docker's
// characters.
var volumeName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

// ociMounts turns canopy mounts into OCI ones. A volume is a directory the
// adapter keeps under <data>/volumes/<name>, made on first use and kept
// when containers go (like a Docker named volume); a bind must name an
// existing host path (Docker's --mount rule: no silent mkdir).
func ociMounts(volumes string, mounts []providers.Mount) ([]specs.Mount, error) {
	var out []specs.Mount
	seen := map[string]bool{}
	for i, m := range mounts {
		if !path.IsAbs(m.Target) || path.Clean(m.Target) == "/" {
			return nil, errorf(providers.ErrInvalid, "mounts[%d]: target %q must be an absolute path other than /", i, m.Target)
		}
		target := path.Clean(m.Target)
		if seen[target] {
			return nil, errorf(providers.ErrInvalid, "mounts[%d]: target %s mounted twice", i, target)
		}
		seen[target] = true
		rw := "rw"
		if m.ReadOnly {
			rw = "ro"
		}
		switch m.Type {
		case "bind":
			if !filepath.IsAbs(m.Source) {
				return nil, errorf(providers.ErrInvalid, "mounts[%d]: bind source %q must be an absolute host path", i, m.Source)
			}
			if _, err := os.Stat(m.Source); err != nil {
				return nil, errorf(providers.ErrInvalid, "mounts[%d]: bind source %s: %v", i, m.Source, err)
			}
			out = append(out, specs.Mount{Type: "bind", Source: m.Source, Destination: target, Options: []string{"rbind", rw}})
		case "volume":
			if !volumeName.MatchString(m.Source) {
				return nil, errorf(providers.ErrInvalid, "mounts[%d]: volume name %q (letters, digits, _ . -)", i, m.Source)
			}
			dir := filepath.Join(volumes, m.Source)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return nil, fmt.Errorf("containerd: volume %s: %w", m.Source, err)
			}
			out = append(out, specs.Mount{Type: "bind", Source: dir, Destination: target, Options: []string{"rbind", rw}})
		case "tmpfs":
			if m.Source != "" {
				return nil, errorf(providers.ErrInvalid, "mounts[%d]: a tmpfs has no source (got %q)", i, m.Source)
			}
			out = append(out, specs.Mount{Type: "tmpfs", Source: "tmpfs", Destination: target, Options: []string{"nosuid", "nodev", "mode=1777", rw}})
		default:
			return nil, errorf(providers.ErrInvalid, "mounts[%d]: type %q is not volume, bind or tmpfs", i, m.Type)
		}
	}
	return out, nil
}

// resources is the cgroup resources of a CPU and memory limit (0:
// unlimited; cgroup v1 and v2 alike through runc).
func resources(cpu float64, memory int64) *specs.LinuxResources {
	quota := int64(-1)
	if cpu > 0 {
		quota = int64(math.Round(cpu * cfsPeriod))
	}
	period := uint64(cfsPeriod)
	limit := int64(-1)
	if memory > 0 {
		limit = memory
	}
	return &specs.LinuxResources{
		CPU:    &specs.LinuxCPU{Quota: &quota, Period: &period},
		Memory: &specs.LinuxMemory{Limit: &limit},
	}
}

// withResources sets a CPU and memory limit on a spec.
func withResources(cpu float64, memory int64) oci.SpecOpts {
	r := resources(cpu, memory)
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		if s.Linux == nil {
			s.Linux = &specs.Linux{}
		}
		if s.Linux.Resources == nil {
			s.Linux.Resources = &specs.LinuxResources{}
		}
		s.Linux.Resources.CPU = r.CPU
		s.Linux.Resources.Memory = r.Memory
		return nil
	}
}

// limits reads back the CPU and memory limit of a spec.
func limits(s *oci.Spec) (cpu float64, memory int64) {
	if s == nil || s.Linux == nil || s.Linux.Resources == nil {
		return 0, 0
	}
	r := s.Linux.Resources
	if r.CPU != nil && r.CPU.Quota != nil && *r.CPU.Quota > 0 && r.CPU.Period != nil && *r.CPU.Period > 0 {
		cpu = float64(*r.CPU.Quota) / float64(*r.CPU.Period)
	}
	if r.Memory != nil && r.Memory.Limit != nil && *r.Memory.Limit > 0 {
		memory = *r.Memory.Limit
	}
	return cpu, memory
}

// validateSpec checks what needs no runtime to check.
func validateSpec(spec providers.ContainerSpec, hostNetwork bool) error {
	if spec.Image == "" {
		return errorf(providers.ErrInvalid, "no image")
	}
	if spec.CPU < 0 || math.IsNaN(spec.CPU) || math.IsInf(spec.CPU, 0) {
		return errorf(providers.ErrInvalid, "cpu %v", spec.CPU)
	}
	if spec.MemoryBytes < 0 || (spec.MemoryBytes > 0 && spec.MemoryBytes < 6<<20) {
		return errorf(providers.ErrInvalid, "memory %d bytes (0: unlimited, else at least 6 MiB)", spec.MemoryBytes)
	}
	if err := validRestart(spec.RestartPolicy); err != nil {
		return err
	}
	if spec.AutoRemove && spec.RestartPolicy.Name != "" && spec.RestartPolicy.Name != "no" {
		return errorf(providers.ErrInvalid, "auto-remove and restart policy %q conflict", spec.RestartPolicy.Name)
	}
	if h := spec.Healthcheck; h != nil {
		if len(h.Cmd) == 0 {
			return errorf(providers.ErrInvalid, "healthcheck without a command")
		}
		if h.Interval < 0 || h.Timeout < 0 || h.Retries < 0 || h.StartPeriod < 0 {
			return errorf(providers.ErrInvalid, "healthcheck: negative interval, timeout, retries or start period")
		}
	}
	for k := range spec.Labels {
		if strings.HasPrefix(k, labelPrefix) {
			return errorf(providers.ErrInvalid, "label %q: the prefix %q is canopy's own", k, labelPrefix)
		}
	}
	for k := range spec.Env {
		if k == "" || strings.Contains(k, "=") {
			return errorf(providers.ErrInvalid, "env name %q", k)
		}
	}
	for i, p := range spec.Ports {
		if p.ContainerPort <= 0 || p.ContainerPort > 65535 || (p.Protocol != "" && p.Protocol != "tcp" && p.Protocol != "udp") {
			return errorf(providers.ErrInvalid, "ports[%d]: %d/%s", i, p.ContainerPort, p.Protocol)
		}
		if !hostNetwork {
			return errorf(providers.ErrUnsupported, "ports[%d]: containerd containers have only loopback (network_mode none); "+
				"publishing ports needs network_mode host, where the container uses the host's ports directly", i)
		}
		if p.HostPort != 0 && p.HostPort != p.ContainerPort {
			return errorf(providers.ErrInvalid, "ports[%d]: with network_mode host a container port is its host port (%d ≠ %d)", i, p.HostPort, p.ContainerPort)
		}
	}
	return nil
}

// normalizeRef is Docker's reading of a short reference ("busybox" is
// docker.io/library/busybox:latest).
func normalizeRef(ref string) (string, error) {
	n, err := docker.ParseDockerRef(ref)
	if err != nil {
		return "", err
	}
	return n.String(), nil
}
