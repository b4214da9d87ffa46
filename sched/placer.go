package sched

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/canopy-cloud/canopy/internal/failpoint"
	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/store"
)

// RecordNamespace holds placements: key "<cloud>/<token>", value the host.
const RecordNamespace = "placement"

// Options are a cloud's scheduler settings (config: scheduler:).
type Options struct {
	// TenantIsolation: containers of different projects never share a
	// host.
	TenantIsolation bool
}

// Placer is a container cloud's Containers with placement: a create that
// names no host (or names a zone rather than a host) is placed by the
// filters and weigher over the hosts' own reports, and the choice is
// recorded under the create's idempotency token before the runtime is
// asked, so a replayed create (a retried step, canopyd restarted) lands
// on the host the first attempt chose, whatever the hosts report by then.
// A create pinned to a host still passes the filters on that host (tenant
// isolation is a promise, not a default). Every other call passes through.
type Placer struct {
	providers.Containers
	hosts   providers.HostReporter
	records store.RecordStore
	cloud   string
	opts    Options
	// mu makes place-then-create one step per cloud in this process: a
	// host's report counts a container only once it exists, so two
	// concurrent creates of different projects could otherwise both take
	// the same empty host.
	mu sync.Mutex
	// shared makes it one step across the replicas of a shared store
	// (nil: this process is the only one placing).
	shared Mutex
}

// Mutex is a lock every replica placing on a cloud takes for the same
// name (ownership.Etcd: a claim under the replica's lease, so a replica
// that dies holding it frees it when its lease ends). Lock blocks until
// it holds the lock or ctx ends; unlock releases it.
type Mutex interface {
	Lock(ctx context.Context, name string) (unlock func(), err error)
}

// SetMutex shares the place-then-create step with other replicas; call it
// before the first create. Tenant isolation across replicas rests on it:
// with it, the host reports the next placement reads (any replica's)
// include every container placed before.
func (p *Placer) SetMutex(m Mutex) { p.shared = m }

// NewPlacer wraps c, whose hosts report through h.
func NewPlacer(cloud string, c providers.Containers, h providers.HostReporter, records store.RecordStore, opts Options) *Placer {
	return &Placer{Containers: c, hosts: h, records: records, cloud: cloud, opts: opts}
}

// CreateContainer places, records, then creates on the chosen host.
func (p *Placer) CreateContainer(ctx context.Context, spec providers.ContainerSpec) (providers.Container, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shared != nil {
		unlock, err := p.shared.Lock(ctx, "sched/"+p.cloud)
		if err != nil {
			return providers.Container{}, fmt.Errorf("placement on cloud %s: take the replicas' placement lock: %w", p.cloud, err)
		}
		defer unlock()
	}
	host, err := p.Place(ctx, spec)
	if err != nil {
		return providers.Container{}, err
	}
	spec.Host = host
	return p.Containers.CreateContainer(ctx, spec)
}

// Place returns the host for spec: the recorded one when the token was
// placed before, else the scheduler's choice, recorded.
func (p *Placer) Place(ctx context.Context, spec providers.ContainerSpec) (string, error) {
	key := p.cloud + "/" + spec.IdempotencyToken
	if spec.IdempotencyToken != "" {
		v, err := p.records.GetRecord(ctx, RecordNamespace, key)
		switch {
		case err == nil:
			return string(v), nil
		case !errors.Is(err, store.ErrNotFound):
			return "", fmt.Errorf("placement of %s: read the record: %w", spec.IdempotencyToken, err)
		}
	}
	reports, err := p.hosts.HostReports(ctx)
	if err != nil {
		return "", fmt.Errorf("placement: hosts' reports: %w", err)
	}
	req := Request{CPU: spec.CPU, MemoryBytes: spec.MemoryBytes, Runtime: spec.Runtime, Labels: spec.HostLabels, Project: spec.Project, TenantIsolation: p.opts.TenantIsolation}
	if spec.Host != "" {
		pinned := false
		for _, r := range reports {
			if r.Name == spec.Host {
				reports, pinned = []providers.HostReport{r}, true
				break
			}
		}
		if !pinned {
			req.Zone = spec.Host // a zone, not a host name
		}
	}
	host, err := Place(reports, req)
	if err != nil {
		return "", err
	}
	if spec.IdempotencyToken == "" {
		return host, nil
	}
	// Of two racing attempts (replicas) the first record wins; both
	// create on its host.
	cur, _, err := p.records.CreateRecord(ctx, RecordNamespace, key, []byte(host))
	if err != nil {
		return "", fmt.Errorf("placement of %s: record host %s: %w", spec.IdempotencyToken, host, err)
	}
	failpoint.Hit("sched.place:recorded")
	return string(cur), nil
}

// DeleteContainer deletes, then forgets the container's placement.
func (p *Placer) DeleteContainer(ctx context.Context, id string, force bool) error {
	c, gerr := p.Containers.GetContainer(ctx, id)
	if err := p.Containers.DeleteContainer(ctx, id, force); err != nil {
		return err
	}
	if gerr == nil && c.Token != "" {
		if err := p.records.DeleteRecord(ctx, RecordNamespace, p.cloud+"/"+c.Token); err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("container %s deleted; forgetting its placement: %w", id, err)
		}
	}
	return nil
}
