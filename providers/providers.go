// Package providers defines the driver interfaces every cloud adapter
// implements, and the registry that opens adapters by kind.
//
// The shape follows the Go Cloud Development Kit: each capability (Compute,
// Volumes, Snapshots, Backups, VolumeData, Objects, ImageTransfer; later
// Networks and Containers) is a small interface; an adapter implements the
// ones its cloud has, and callers discover them by type assertion (Has,
// Capabilities). Adapters speak native ids only: canopy ids and routing
// live above them (package router), and so do caching and rate limits
// (package cache) and the emulation of what a cloud lacks (package
// emulate). Every adapter must pass the one conformance suite in
// providers/providertest.
package providers

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"
)

// Kind names of the resources adapters return; the id map keys on them.
const (
	KindFlavor  = "flavor"
	KindImage   = "image"
	KindServer  = "server"
	KindKeypair = "keypair"
)

// Status is the normalized lifecycle shared by every resource kind. It
// mirrors canopy.v1.Status so adapters need not import generated code.
type Status int

const (
	StatusUnspecified Status = iota
	StatusPending
	StatusActive
	StatusStopped
	StatusUpdating
	StatusDeleting
	StatusDeleted
	StatusError
	StatusUnknown
)

var statusNames = [...]string{"UNSPECIFIED", "PENDING", "ACTIVE", "STOPPED", "UPDATING", "DELETING", "DELETED", "ERROR", "UNKNOWN"}

func (s Status) String() string {
	if s < 0 || int(s) >= len(statusNames) {
		return fmt.Sprintf("Status(%d)", int(s))
	}
	return statusNames[s]
}

// Transitional reports whether the status is expected to change on its own.
func (s Status) Transitional() bool {
	return s == StatusPending || s == StatusUpdating || s == StatusDeleting
}

// Common holds the fields every resource carries.
type Common struct {
	NativeID       string
	Name           string
	Region         string
	Zone           string
	Status         Status
	ProviderStatus string
	StatusMessage  string
	Created        time.Time
	Updated        time.Time
	Labels         map[string]string
	Properties     map[string]string
}

// Flavor is a server size, normalized.
type Flavor struct {
	Common
	VCPUs   int32
	RAMMiB  int64
	DiskGiB int64
	GPUs    int32
}

// Image is a bootable image.
type Image struct {
	Common
	SizeBytes       int64
	DiskFormat      string
	ContainerFormat string
	MinDiskGiB      int64
	MinRAMMiB       int64
}

// Address is one IP of a server.
type Address struct {
	Network string
	IP      string
	Version int32
	Type    string // "fixed" or "floating"
}

// Server is a virtual machine.
type Server struct {
	Common
	FlavorID  string // native flavor id
	ImageID   string // native image id
	Keypair   string
	Addresses []Address
	// RootVolumeID is the native id of the volume the server boots from,
	// when it boots from a volume.
	RootVolumeID string
}

// Keypair is a registered SSH public key.
type Keypair struct {
	Common
	PublicKey   string
	Fingerprint string
	Type        string
}

// ServerSpec is what CreateServer needs; every id in it is native.
type ServerSpec struct {
	Name     string
	Zone     string
	FlavorID string
	ImageID  string
	Keypair  string
	Networks []string
	UserData []byte
	Labels   map[string]string
	// IdempotencyToken is passed to clouds that have one (EC2 ClientToken);
	// it is the canopy id allocated for the server.
	IdempotencyToken string
	// Replay is set when an earlier attempt with the same token may have
	// reached the cloud (a resumed or retried create): an adapter without
	// a server-side token must find what that attempt made, waiting out
	// the window in which it may still be invisible (ReplayGuard), before
	// it creates.
	Replay bool
	// BootVolumeID, when set, boots the server from that volume (native
	// id) instead of ImageID.
	BootVolumeID string
	// RootVolumeGiB, when set with ImageID, asks for a root volume of that
	// size made from the image (EC2's block device mapping); the server's
	// RootVolumeID names it. RootVolumeName, when set, is its name (EC2: a
	// Name tag on the volume).
	RootVolumeGiB  int64
	RootVolumeName string
	// Ports are existing ports (native ids) to attach, after Networks'
	// new ones; SecurityGroupIDs apply to the ports the create makes.
	// Adapters of clouds without networking (the containers view) refuse
	// them with ErrUnsupported.
	Ports            []string
	SecurityGroupIDs []string
	// Project is the canopy project creating the server; a container
	// cloud's servers view passes it on (ContainerSpec.Project) for its
	// scheduler's tenant isolation. VM adapters ignore it.
	Project string
}

// Action is a server power action.
type Action string

const (
	ActionStart      Action = "start"
	ActionStop       Action = "stop"
	ActionReboot     Action = "reboot"
	ActionHardReboot Action = "hard-reboot"
)

// Info describes a cloud as its adapter sees it.
type Info struct {
	Regions []string
	Zones   []string
}

// Provider is what every adapter implements.
type Provider interface {
	// Info returns regions and zones; it is also the health check, so it
	// must reach the cloud.
	Info(ctx context.Context) (Info, error)
	// Close releases connections.
	Close() error
}

// Compute is servers, flavors, images and keypairs.
type Compute interface {
	ListFlavors(ctx context.Context) ([]Flavor, error)
	ListImages(ctx context.Context) ([]Image, error)
	GetImage(ctx context.Context, id string) (Image, error)

	ListServers(ctx context.Context) ([]Server, error)
	GetServer(ctx context.Context, id string) (Server, error)
	// CreateServer returns as soon as the cloud accepted the request; the
	// server is usually PENDING.
	CreateServer(ctx context.Context, spec ServerSpec) (Server, error)
	// DeleteServer starts deleting; a server already gone is ErrNotFound.
	DeleteServer(ctx context.Context, id string) error
	ServerAction(ctx context.Context, id string, action Action) error

	ListKeypairs(ctx context.Context) ([]Keypair, error)
	GetKeypair(ctx context.Context, name string) (Keypair, error)
	// CreateKeypair imports publicKey; adapters never generate keys (canopy
	// does, so every cloud behaves the same).
	CreateKeypair(ctx context.Context, name, publicKey string) (Keypair, error)
	DeleteKeypair(ctx context.Context, name string) error
}

// Capabilities lists what an adapter offers (each capability for which Has
// is true), sorted; the names appear in canopy.v1.Cloud.capabilities.
func Capabilities(p Provider) []string {
	var caps []string
	for _, c := range capabilityNames {
		if Has(p, c) {
			caps = append(caps, c)
		}
	}
	sort.Strings(caps)
	return caps
}

// Config is one cloud's configuration as the adapter receives it.
type Config struct {
	// Name is the canopy cloud name.
	Name string
	// Regions and Zones the config declares (adapters may discover more).
	Regions []string
	Zones   []string
	// Options are adapter-specific settings from the YAML config.
	Options map[string]any
	// DataDir is where an adapter may keep local state (canopyd's data dir).
	DataDir string
}

// Opener creates an adapter from its configuration.
type Opener func(ctx context.Context, cfg Config) (Provider, error)

// Expander turns one configured cloud into the canopy clouds it stands for,
// e.g. one per OpenStack region. Kinds without one map 1:1.
type Expander func(cfg Config) ([]Config, error)

// registry is the one global: adapters register themselves in init.
var registry = struct {
	sync.RWMutex
	m   map[string]Opener
	exp map[string]Expander
}{m: map[string]Opener{}, exp: map[string]Expander{}}

// RegisterExpander sets the expander of an adapter kind.
func RegisterExpander(kind string, e Expander) {
	registry.Lock()
	defer registry.Unlock()
	registry.exp[kind] = e
}

// Expand returns the canopy clouds one configured cloud stands for.
func Expand(kind string, cfg Config) ([]Config, error) {
	registry.RLock()
	e, ok := registry.exp[kind]
	registry.RUnlock()
	if !ok {
		return []Config{cfg}, nil
	}
	out, err := e(cfg)
	if err != nil {
		return nil, fmt.Errorf("providers: expand %s cloud %q: %w", kind, cfg.Name, err)
	}
	return out, nil
}

// Register makes an adapter kind available. It panics on a duplicate kind,
// which is a programming error.
func Register(kind string, open Opener) {
	registry.Lock()
	defer registry.Unlock()
	if _, dup := registry.m[kind]; dup {
		panic("providers: duplicate kind " + kind)
	}
	registry.m[kind] = open
}

// Kinds returns the registered adapter kinds, sorted.
func Kinds() []string {
	registry.RLock()
	defer registry.RUnlock()
	kinds := make([]string, 0, len(registry.m))
	for k := range registry.m {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	return kinds
}

// Open creates an adapter of the given kind.
func Open(ctx context.Context, kind string, cfg Config) (Provider, error) {
	registry.RLock()
	open, ok := registry.m[kind]
	registry.RUnlock()
	if !ok {
		return nil, fmt.Errorf("providers: unknown kind %q (known: %v)", kind, Kinds())
	}
	p, err := open(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("providers: open %s cloud %q: %w", kind, cfg.Name, err)
	}
	return p, nil
}

// Sentinel errors adapters wrap so the server maps them to gRPC codes.
var (
	ErrNotFound        = errors.New("not found")
	ErrAlreadyExists   = errors.New("already exists")
	ErrInvalid         = errors.New("invalid argument")
	ErrConflict        = errors.New("conflict") // wrong state for the action
	ErrUnavailable     = errors.New("unavailable")
	ErrUnauthenticated = errors.New("unauthenticated")
	ErrPermission      = errors.New("permission denied")
	ErrQuota           = errors.New("quota exceeded")
	ErrRateLimited     = errors.New("rate limited")
	ErrUnsupported     = errors.New("unsupported")
)

// RetryAfterError carries a cloud's Retry-After hint with a rate-limit error.
type RetryAfterError struct {
	After time.Duration
	Err   error
}

func (e *RetryAfterError) Error() string {
	return fmt.Sprintf("%v (retry after %s)", e.Err, e.After)
}

func (e *RetryAfterError) Unwrap() error { return e.Err }
