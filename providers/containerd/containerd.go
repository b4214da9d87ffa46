// Package containerd is the canopy adapter for containerd (kind
// "containerd"), built on containerd's Go client. It implements
// providers.Containers, ContainerIO, ContainerEvents and
// ContainerCommitter over one containerd namespace.
//
// containerd is a lower-level runtime than Docker, so the adapter supplies
// what Docker's daemon would:
//
//   - Names, exit codes and restart counts live in container labels
//     (labels.go): containerd ids are immutable and it forgets a task once
//     the task is deleted.
//   - Logs: every task's stdout and stderr go to a logger process the shim
//     itself starts (containerd's binary:// log URI; logger.go), which
//     writes each line with a timestamp into a per-stream file under the
//     data dir. It lives as long as the task, not as long as canopyd, so
//     logs keep flowing while canopyd restarts.
//   - Restart policies and auto-remove: a monitor (monitor.go) watches task
//     exits and restarts or removes per the policy in the labels; it
//     rescans when it (re)connects, so exits missed while canopyd was down
//     are handled when it opens.
//   - Healthchecks (health.go) are exec'd in the task by the adapter,
//     Docker's rules; the state is in memory and the checks resume for
//     every running container with a healthcheck label when the adapter
//     opens.
//
// Containers get a network namespace holding only loopback (or the host's
// with network_mode: host); the adapter never touches networking. The
// adapter must run on the containerd host (logs, volumes and top are
// local files).
package containerd

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	containerd "github.com/containerd/containerd"
	"github.com/containerd/containerd/namespaces"

	"github.com/canopy-cloud/canopy/providers"
)

func init() {
	providers.Register("containerd", Open)
}

// Adapter is one containerd namespace as a canopy cloud.
type Adapter struct {
	name    string
	opts    Options
	client  *containerd.Client
	dataDir string
	logger  string // the logger script's path (logger.go)
	// hostRoot is where the host's /proc and /sys are ("": /); tests
	// point it at a made-up tree (hosts.go).
	hostRoot string

	locks  keyedMutex // one per container id: lifecycle calls and the monitor take turns
	nameMu sync.Mutex // held while a name is checked and claimed (create, rename)
	volMu  sync.Mutex // held while a volume is created, deleted or resized (volumes.go)
	health *healthSet
	events *broker // the adapter's own events (health, restart)

	stop   context.CancelFunc // ends the monitor and the health checks
	wg     sync.WaitGroup
	closed atomic.Bool
}

var (
	_ providers.Provider           = (*Adapter)(nil)
	_ providers.Containers         = (*Adapter)(nil)
	_ providers.ContainerIO        = (*Adapter)(nil)
	_ providers.ContainerEvents    = (*Adapter)(nil)
	_ providers.ContainerCommitter = (*Adapter)(nil)
)

// Open is the providers.Opener of kind "containerd".
func Open(ctx context.Context, cfg providers.Config) (providers.Provider, error) {
	opts, err := ParseOptions(cfg.Options, cfg.Regions, cfg.Zones)
	if err != nil {
		return nil, err
	}
	if opts.DataDir == "" {
		if cfg.DataDir == "" {
			return nil, fmt.Errorf("containerd: %w: no data dir (option data_dir or canopyd's data dir) for logs and volumes", providers.ErrInvalid)
		}
		opts.DataDir = filepath.Join(cfg.DataDir, "containerd", cfg.Name)
	}
	return New(ctx, cfg.Name, opts)
}

// New connects to containerd, prepares the data dir and starts the monitor
// (restart policies, auto-remove) and the healthchecks of running
// containers.
func New(ctx context.Context, name string, opts Options) (*Adapter, error) {
	dataDir, err := filepath.Abs(opts.DataDir)
	if err != nil {
		return nil, fmt.Errorf("containerd: data dir: %w", err)
	}
	for _, d := range []string{logsRoot(dataDir), volumesRoot(dataDir)} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("containerd: data dir: %w", err)
		}
	}
	logger, err := installLogger(dataDir)
	if err != nil {
		return nil, err
	}
	client, err := containerd.New(opts.Address, containerd.WithDefaultNamespace(opts.Namespace), containerd.WithTimeout(opts.Timeout))
	if err != nil {
		return nil, &Error{Op: "connect to " + opts.Address, Kind: providers.ErrUnavailable, Err: err}
	}
	a := &Adapter{
		name: name, opts: opts, client: client, dataDir: dataDir, logger: logger,
		events: newBroker(),
	}
	a.health = newHealthSet(a)
	mctx, cancel := context.WithCancel(context.Background())
	a.stop = cancel
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		a.monitor(mctx)
	}()
	return a, nil
}

// ns puts the adapter's namespace on ctx (every containerd call needs one).
func (a *Adapter) ns(ctx context.Context) context.Context {
	return namespaces.WithNamespace(ctx, a.opts.Namespace)
}

// Info asks containerd for its version: the health check.
func (a *Adapter) Info(ctx context.Context) (providers.Info, error) {
	if _, err := a.client.Version(a.ns(ctx)); err != nil {
		return providers.Info{}, wrap(err, "version")
	}
	info := providers.Info{Regions: []string{a.opts.Region}}
	if a.opts.Zone != "" {
		info.Zones = []string{a.opts.Zone}
	}
	return info, nil
}

// Close stops the monitor and the healthchecks and closes the connection.
// Containers, their tasks and their loggers keep running.
func (a *Adapter) Close() error {
	if a.closed.Swap(true) {
		return nil
	}
	a.stop()
	a.health.stopAll()
	a.wg.Wait()
	a.events.close()
	return a.client.Close()
}

// keyedMutex is a mutex per key, dropped when nobody holds or waits for it.
type keyedMutex struct {
	mu sync.Mutex
	m  map[string]*keyedEntry
}

type keyedEntry struct {
	mu   sync.Mutex
	refs int
}

// lock locks key and returns the unlock.
func (k *keyedMutex) lock(key string) func() {
	k.mu.Lock()
	if k.m == nil {
		k.m = map[string]*keyedEntry{}
	}
	e := k.m[key]
	if e == nil {
		e = &keyedEntry{}
		k.m[key] = e
	}
	e.refs++
	k.mu.Unlock()
	e.mu.Lock()
	return func() {
		e.mu.Unlock()
		k.mu.Lock()
		if e.refs--; e.refs == 0 {
			delete(k.m, key)
		}
		k.mu.Unlock()
	}
}

// Client is the containerd client (for tests and tools that need what the
// adapter does not offer, e.g. deleting images).
func (a *Adapter) Client() *containerd.Client { return a.client }

// Namespaced puts the adapter's namespace on ctx.
func (a *Adapter) Namespaced(ctx context.Context) context.Context { return a.ns(ctx) }
