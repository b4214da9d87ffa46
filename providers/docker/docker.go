// Package docker is canopy's adapter for Docker Engines, written with the
// Docker Engine API's Go client (API version negotiated, so daemons as old
// as Debian 12's 20.10, API 1.41, work). It implements the container
// capabilities: Containers, ContainerIO (logs, exec, stats, top),
// ContainerCommitter and ContainerEvents, and Volumes over Docker named
// volumes with their data as a tar (volumes.go, volume_data.go; attach
// and detach recreate a stopped container, recreate.go), over which
// canopy emulates snapshots and backups; it has no Compute or objects.
//
// One canopy cloud is one or more Docker hosts (option `hosts`), seen as
// one region. With a single host a container's native id is Docker's own
// 64-hex id, exactly what `docker ps --no-trunc` prints. With several hosts
// it is "<host name>/<docker id>" (ids.go), so every call goes straight to
// the host that has the container; a bare Docker id is still accepted and
// looked for on every host, so ids handed out while the cloud had one host
// keep working after a second is added. Container.Host names the host.
//
// Where Docker differs from the other runtimes the adapter shields it: the
// one state table (providers.ContainerAllowed) is checked before every
// action, so stopping a stopped container is a conflict naming the state
// even though Docker would quietly accept it; an image the host does not
// have is a bad argument naming the image (nothing is pulled: canopy's test
// hosts reach no registry, and a pull behind a create would make creates
// slow and non-deterministic); and canopy's own labels (the idempotency
// token) live under the "canopy." prefix, hidden from Container.Labels.
//
// Every container gets the cloud's network_mode (options.go), "none" by
// default: canopy's test daemon runs with --bridge=none and no iptables,
// so it has no default bridge, and such a container has no address. With
// "none" or "host" there is nothing to publish a port on: a create with
// ports is ErrUnsupported (FAILED_PRECONDITION, naming the cloud and
// network_mode) rather than Docker's quiet discard (host) or its conflict
// (none). A cloud whose daemon has a bridge sets network_mode: bridge.
package docker

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/docker/docker/client"
	"golang.org/x/sync/errgroup"

	"github.com/canopy-cloud/canopy/providers"
)

// Kind is the adapter kind in canopy's config.
const Kind = "docker"

func init() {
	providers.Register(Kind, Open)
}

// The capabilities the adapter implements, checked by the compiler.
var (
	_ providers.Provider           = (*Cloud)(nil)
	_ providers.Containers         = (*Cloud)(nil)
	_ providers.ContainerIO        = (*Cloud)(nil)
	_ providers.ContainerCommitter = (*Cloud)(nil)
	_ providers.ContainerEvents    = (*Cloud)(nil)
)

// host is one Docker Engine of the cloud.
type host struct {
	name string
	cli  *client.Client
}

// Cloud is one or more Docker hosts.
type Cloud struct {
	name   string
	opts   Options
	hosts  []*host
	byName map[string]*host
	// replays makes creates safe to repeat: Docker has no server-side
	// token, so a replay looks for the canopy.token label first.
	replays *providers.ReplayGuard
	closed  atomic.Bool
}

// Open is the providers.Opener of kind "docker".
func Open(ctx context.Context, cfg providers.Config) (providers.Provider, error) {
	opts, err := ParseOptions(cfg.Options, cfg.Regions, cfg.Zones)
	if err != nil {
		return nil, err
	}
	return New(ctx, cfg.Name, opts)
}

// New builds a client per host without calling any of them (Info is the
// health check; the API version is negotiated on each client's first call).
func New(_ context.Context, name string, opts Options) (*Cloud, error) {
	c := &Cloud{name: name, opts: opts, byName: map[string]*host{}, replays: providers.NewReplayGuard(opts.CreateWindow)}
	hosts := opts.Hosts
	if len(hosts) == 0 {
		hosts = []HostOptions{{Name: "local"}} // from the environment
	}
	for _, ho := range hosts {
		cli, err := newClient(ho)
		if err != nil {
			_ = c.Close()
			return nil, fmt.Errorf("docker: host %s (%s): %w: %w", ho.Name, ho.URL, providers.ErrInvalid, err)
		}
		h := &host{name: ho.Name, cli: cli}
		c.hosts = append(c.hosts, h)
		c.byName[h.name] = h
	}
	return c, nil
}

// newClient makes the API client of one host: from the environment when
// the host has no URL (DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH).
func newClient(ho HostOptions) (*client.Client, error) {
	o := []client.Opt{client.WithAPIVersionNegotiation()}
	if ho.URL == "" {
		o = append(o, client.FromEnv)
	} else {
		o = append(o, client.WithHost(ho.URL))
		if ho.TLSCA != "" || ho.TLSCert != "" {
			o = append(o, client.WithTLSClientConfig(ho.TLSCA, ho.TLSCert, ho.TLSKey))
		}
	}
	return client.NewClientWithOpts(o...)
}

// Info pings every host: the cloud is healthy only when all answer (a
// container on a host that does not would be unreachable).
func (c *Cloud) Info(ctx context.Context) (providers.Info, error) {
	g, gctx := errgroup.WithContext(ctx)
	for _, h := range c.hosts {
		g.Go(func() error {
			_, err := h.cli.Ping(gctx)
			return mapErr(err, h, "ping", "")
		})
	}
	if err := g.Wait(); err != nil {
		return providers.Info{}, err
	}
	return providers.Info{Regions: []string{c.opts.Region}, Zones: []string{c.opts.Zone}}, nil
}

// Close closes every host's client; it is safe to call twice.
func (c *Cloud) Close() error {
	if c.closed.Swap(true) {
		return nil
	}
	var first error
	for _, h := range c.hosts {
		if err := h.cli.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// Hosts returns the names of the cloud's hosts, in configured order.
func (c *Cloud) Hosts() []string {
	names := make([]string, len(c.hosts))
	for i, h := range c.hosts {
		names[i] = h.name
	}
	return names
}
