package docker

import (
	"context"
	"sort"
	"strings"
	"sync"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"

	"github.com/canopy-cloud/canopy/providers"
)

// labelProject carries ContainerSpec.Project on a container, so each
// host can say which projects it runs (tenant isolation).
const labelProject = labelPrefix + "project"

var _ providers.HostReporter = (*Cloud)(nil)

// HostReports implements providers.HostReporter: each engine's own
// `docker info` (CPUs, memory, runtimes, its --label labels; a label
// "zone" is the host's zone) and its containers (the limits of the
// running ones, the projects of all). Every host must answer.
func (c *Cloud) HostReports(ctx context.Context) ([]providers.HostReport, error) {
	out := make([]providers.HostReport, len(c.hosts))
	idx := make(map[*host]int, len(c.hosts))
	for i, h := range c.hosts {
		idx[h] = i
	}
	var mu sync.Mutex
	err := c.hostsDo(ctx, func(ctx context.Context, h *host) error {
		r, err := c.report(ctx, h)
		if err != nil {
			return err
		}
		mu.Lock()
		out[idx[h]] = r
		mu.Unlock()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// report asks one engine about itself.
func (c *Cloud) report(ctx context.Context, h *host) (providers.HostReport, error) {
	info, err := h.cli.Info(ctx)
	if err != nil {
		return providers.HostReport{}, mapErr(err, h, "info", "")
	}
	r := providers.HostReport{Name: h.name, Zone: c.opts.Zone, CPUs: float64(info.NCPU), MemoryBytes: info.MemTotal, Labels: map[string]string{}}
	for _, l := range info.Labels {
		k, v, _ := strings.Cut(l, "=")
		r.Labels[k] = v
	}
	if z := r.Labels["zone"]; z != "" {
		r.Zone = z
	}
	for name := range info.Runtimes {
		r.Runtimes = append(r.Runtimes, name)
	}
	sort.Strings(r.Runtimes)
	sums, err := h.cli.ContainerList(ctx, container.ListOptions{All: true})
	if err != nil {
		return providers.HostReport{}, mapErr(err, h, "list containers", "")
	}
	r.Containers = len(sums)
	projects := map[string]bool{}
	for _, s := range sums {
		if p := s.Labels[labelProject]; p != "" {
			projects[p] = true
		}
	}
	for p := range projects {
		r.Projects = append(r.Projects, p)
	}
	sort.Strings(r.Projects)
	// Limits are not in the list: inspect the running containers.
	running, err := h.cli.ContainerList(ctx, container.ListOptions{Filters: filters.NewArgs(filters.Arg("status", "running"))})
	if err != nil {
		return providers.HostReport{}, mapErr(err, h, "list running containers", "")
	}
	for _, s := range running {
		in, err := h.cli.ContainerInspect(ctx, s.ID)
		if err != nil {
			continue // gone since the list: it holds nothing now
		}
		if in.HostConfig != nil {
			r.UsedCPU += float64(in.HostConfig.NanoCPUs) / 1e9
			r.UsedMemoryBytes += in.HostConfig.Memory
		}
	}
	return r, nil
}
