package providers

import (
	"context"
	"fmt"
	"io"
	"time"
)

// KindContainer names containers in the id map.
const KindContainer = "container"

// Capability names of the container interfaces.
const (
	CapContainers      = "containers"
	CapContainerIO     = "container_io"
	CapContainerEvents = "container_events"
	CapContainerCommit = "container_commit"
	CapContainerImages = "container_images"
)

// ContainerState is a container's lifecycle, Zun's words. It mirrors
// canopy.v1.Container.State.
type ContainerState int

const (
	ContainerUnspecified ContainerState = iota
	ContainerCreating
	ContainerCreated
	ContainerRunning
	ContainerPaused
	ContainerRestarting
	ContainerStopped
	ContainerDeleting
	ContainerDead
	ContainerError
	ContainerUnknown
)

var containerStateNames = [...]string{"UNSPECIFIED", "CREATING", "CREATED", "RUNNING", "PAUSED", "RESTARTING", "STOPPED", "DELETING", "DEAD", "ERROR", "UNKNOWN"}

func (s ContainerState) String() string {
	if s < 0 || int(s) >= len(containerStateNames) {
		return fmt.Sprintf("ContainerState(%d)", int(s))
	}
	return containerStateNames[s]
}

// Status is the normalized status shared with every other kind, for the
// generic code (lists filtered by status, waits on ACTIVE).
func (s ContainerState) Status() Status {
	switch s {
	case ContainerCreating:
		return StatusPending
	case ContainerCreated, ContainerStopped, ContainerPaused, ContainerDead:
		return StatusStopped
	case ContainerRunning:
		return StatusActive
	case ContainerRestarting:
		return StatusUpdating
	case ContainerDeleting:
		return StatusDeleting
	case ContainerError:
		return StatusError
	}
	return StatusUnknown
}

// Health is what a container's healthcheck says.
type Health int

const (
	HealthNone Health = iota // no healthcheck
	HealthStarting
	HealthHealthy
	HealthUnhealthy
)

var healthNames = [...]string{"NONE", "STARTING", "HEALTHY", "UNHEALTHY"}

func (h Health) String() string {
	if h < 0 || int(h) >= len(healthNames) {
		return fmt.Sprintf("Health(%d)", int(h))
	}
	return healthNames[h]
}

// RestartPolicy is Docker's: Name is "no", "always", "on-failure" (with
// MaxRetries, 0 meaning unlimited) or "unless-stopped".
type RestartPolicy struct {
	Name       string
	MaxRetries int
}

// Healthcheck is a command run inside the container, Docker's semantics:
// HEALTHY after one success, UNHEALTHY after Retries consecutive failures
// (failures within StartPeriod do not count).
type Healthcheck struct {
	Cmd         []string // run without a shell; use ["sh","-c","…"] for one
	Interval    time.Duration
	Timeout     time.Duration
	Retries     int
	StartPeriod time.Duration
}

// PortBinding publishes a container port on the host.
type PortBinding struct {
	ContainerPort int
	Protocol      string // "tcp" or "udp"
	HostIP        string
	HostPort      int // 0: the runtime picks
}

// Mount puts a volume, a host directory or a tmpfs at Target.
type Mount struct {
	Type     string // "volume", "bind" or "tmpfs"
	Source   string // the runtime's volume name, or the host path
	Target   string
	ReadOnly bool
}

// ContainerSpec is what CreateContainer needs.
type ContainerSpec struct {
	Name          string
	Image         string // a reference the runtime resolves (name:tag or digest)
	Command       []string
	Entrypoint    []string
	Env           map[string]string
	Labels        map[string]string
	CPU           float64 // in CPUs; 0: unlimited
	MemoryBytes   int64   // 0: unlimited
	RestartPolicy RestartPolicy
	Healthcheck   *Healthcheck
	AutoRemove    bool
	Interactive   bool // keep stdin open
	TTY           bool
	Workdir       string
	User          string
	Hostname      string
	Ports         []PortBinding
	Mounts        []Mount
	// Host picks one of the cloud's hosts; empty: the adapter chooses.
	Host string
	// Runtime is the OCI runtime to run it under ("runc", …); empty: the
	// engine's default. An adapter that cannot honour it wraps
	// ErrUnsupported.
	Runtime string
	// HostLabels restrict placement to hosts whose engine labels include
	// them (package sched); adapters themselves ignore them.
	HostLabels map[string]string
	// Project is the canopy project that owns the container; adapters
	// whose hosts are scheduled (HostReporter) record it on the container
	// so a host can say whose containers it runs.
	Project string
	// IdempotencyToken is the canopy id allocated for the container;
	// adapters record it on the container (a label) so a replayed create
	// finds what an earlier attempt made instead of making a second one.
	IdempotencyToken string
	// Replay is set when an earlier attempt with the same token may have
	// reached the runtime.
	Replay bool
}

// Container is a container as its runtime reports it.
type Container struct {
	Common
	State        ContainerState
	Health       Health
	ExitCode     int
	Image        string // the reference it was created from
	ImageID      string // the runtime's id (digest) of that image
	Host         string
	Command      []string
	Entrypoint   []string
	Env          map[string]string
	CPU          float64
	MemoryBytes  int64
	Restart      RestartPolicy
	Healthcheck  *Healthcheck
	AutoRemove   bool
	Interactive  bool
	TTY          bool
	Workdir      string
	User         string
	Hostname     string
	Ports        []PortBinding
	Mounts       []Mount
	Addresses    []Address
	StartedAt    time.Time
	FinishedAt   time.Time
	RestartCount int
	// Token is the idempotency token the container was created with
	// (empty for containers canopy did not create).
	Token string
}

// ContainerUpdate changes a container's resources in place; nil fields
// stay as they are.
type ContainerUpdate struct {
	CPU           *float64
	MemoryBytes   *int64
	RestartPolicy *RestartPolicy
}

// Containers is the lifecycle of containers on a runtime (Docker,
// containerd, the simulator). Ids are native. A call in a state the action
// does not allow (ContainerAllowed) wraps ErrConflict; an image the runtime
// does not have wraps ErrInvalid naming the image.
type Containers interface {
	ListContainers(ctx context.Context) ([]Container, error)
	GetContainer(ctx context.Context, id string) (Container, error)
	// CreateContainer creates without starting; the container is CREATED.
	CreateContainer(ctx context.Context, spec ContainerSpec) (Container, error)
	// DeleteContainer removes a container; force kills a running one
	// first. A container already gone is ErrNotFound.
	DeleteContainer(ctx context.Context, id string, force bool) error
	StartContainer(ctx context.Context, id string) error
	// StopContainer sends SIGTERM and, after timeout, SIGKILL.
	StopContainer(ctx context.Context, id string, timeout time.Duration) error
	RestartContainer(ctx context.Context, id string, timeout time.Duration) error
	PauseContainer(ctx context.Context, id string) error
	UnpauseContainer(ctx context.Context, id string) error
	// KillContainer sends a signal by name ("KILL", "SIGTERM", "HUP") or
	// number ("9"); an unknown name wraps ErrInvalid.
	KillContainer(ctx context.Context, id, signal string) error
	RenameContainer(ctx context.Context, id, name string) error
	UpdateContainer(ctx context.Context, id string, u ContainerUpdate) error
}

// LogOptions selects a container's output.
type LogOptions struct {
	Follow     bool
	Since      time.Time // zero: from the start
	Tail       int       // last n lines per stream; < 0: all
	Timestamps bool      // LogEntry.Time set (always set when the runtime keeps it)
	Stdout     bool
	Stderr     bool
}

// Stream numbers as in Docker's multiplexed stream.
const (
	StreamStdout = 1
	StreamStderr = 2
)

// LogEntry is a chunk of one stream (a line when the runtime keeps lines).
type LogEntry struct {
	Stream int
	Time   time.Time
	Data   []byte
}

// LogReader yields log entries until io.EOF (the container's output ended
// and Follow is off, or the followed container exited).
type LogReader interface {
	Next() (LogEntry, error)
	Close() error
}

// ExecSpec is a process to run in a running container.
type ExecSpec struct {
	Cmd     []string
	Env     map[string]string
	Workdir string
	User    string
	TTY     bool
	Stdin   bool
	Width   uint // terminal size, with TTY
	Height  uint
}

// Exec is a running process in a container. Stdout and Stderr must be read
// concurrently until io.EOF; with TTY, Stderr is nil and everything comes
// on Stdout. Stdin is nil unless the spec asked for it; closing it sends
// EOF to the process.
type Exec interface {
	Stdin() io.WriteCloser
	Stdout() io.Reader
	Stderr() io.Reader
	Resize(ctx context.Context, width, height uint) error
	// Wait returns the exit code once the process ended and its output
	// was read.
	Wait(ctx context.Context) (int, error)
	Close() error
}

// ContainerStats is one sample of a container's resource use.
type ContainerStats struct {
	Time             time.Time
	CPUPercent       float64 // of one CPU, Docker's way (100 = one full CPU)
	MemoryBytes      int64
	MemoryLimitBytes int64
	PIDs             int64
	NetRxBytes       int64
	NetTxBytes       int64
	BlockReadBytes   int64
	BlockWriteBytes  int64
}

// Top is a container's processes, as `ps` prints them.
type Top struct {
	Titles    []string
	Processes [][]string
}

// ContainerIO is what runs inside and comes out of a container: logs,
// exec, stats and processes.
type ContainerIO interface {
	ContainerLogs(ctx context.Context, id string, opts LogOptions) (LogReader, error)
	ExecContainer(ctx context.Context, id string, spec ExecSpec) (Exec, error)
	// ContainerStats samples once; CPU needs two readings, so it may take
	// up to a second.
	ContainerStats(ctx context.Context, id string) (ContainerStats, error)
	ContainerTop(ctx context.Context, id string, psArgs []string) (Top, error)
}

// CommitSpec makes an image of a container's filesystem.
type CommitSpec struct {
	Reference string // name:tag of the new image
	Message   string
	Author    string
	Pause     bool // pause the container while committing
}

// ContainerCommitter turns a container into an image.
type ContainerCommitter interface {
	// CommitContainer returns the new image; NativeID is the reference a
	// ContainerSpec.Image can name.
	CommitContainer(ctx context.Context, id string, spec CommitSpec) (Image, error)
}

// ContainerImages lists the images a runtime can run containers from.
// NativeID and Name are a reference ContainerSpec.Image takes
// (name:tag); ContainerFormat is "docker" or "oci". With several hosts an
// image is listed once, Properties["hosts"] naming the hosts that have it.
type ContainerImages interface {
	ListContainerImages(ctx context.Context) ([]Image, error)
}

// ContainerEvent says a container changed; Action is the runtime's word
// (start, die, health_status, destroy, …). Watchers read the container
// again to learn its state.
type ContainerEvent struct {
	NativeID string
	Action   string
	Time     time.Time
}

// ContainerEvents pushes changes as the runtime reports them.
type ContainerEvents interface {
	// ContainerEvents streams events until ctx ends; the channel is closed
	// then, or when the stream breaks (the error is on errc).
	ContainerEvents(ctx context.Context) (events <-chan ContainerEvent, errc <-chan error, err error)
}

// Container actions, as the state table names them.
const (
	ActCreate   = "create"
	ActStart    = "start"
	ActStop     = "stop"
	ActRestart  = "restart"
	ActPause    = "pause"
	ActUnpause  = "unpause"
	ActKill     = "kill"
	ActDelete   = "delete"
	ActForceDel = "delete (force)"
	ActRename   = "rename"
	ActUpdate   = "update"
	ActLogs     = "logs"
	ActExec     = "exec"
	ActStats    = "stats"
	ActTop      = "top"
	ActCommit   = "commit"
)

// ContainerActions is the one state table (Zun's VALID_STATES): the states
// in which each action is allowed. canopy enforces it before calling a
// runtime, so every runtime refuses the same things the same way.
var ContainerActions = map[string][]ContainerState{
	ActStart:    {ContainerCreated, ContainerStopped, ContainerDead},
	ActStop:     {ContainerRunning, ContainerRestarting, ContainerPaused},
	ActRestart:  {ContainerCreated, ContainerRunning, ContainerStopped, ContainerDead, ContainerRestarting},
	ActPause:    {ContainerRunning},
	ActUnpause:  {ContainerPaused},
	ActKill:     {ContainerRunning, ContainerRestarting},
	ActDelete:   {ContainerCreated, ContainerStopped, ContainerDead, ContainerError, ContainerUnknown},
	ActForceDel: {ContainerCreated, ContainerRunning, ContainerPaused, ContainerRestarting, ContainerStopped, ContainerDead, ContainerError, ContainerUnknown, ContainerDeleting, ContainerCreating},
	ActRename:   {ContainerCreated, ContainerRunning, ContainerPaused, ContainerRestarting, ContainerStopped, ContainerDead, ContainerError},
	ActUpdate:   {ContainerCreated, ContainerRunning, ContainerPaused, ContainerStopped, ContainerDead},
	ActLogs:     {ContainerCreated, ContainerRunning, ContainerPaused, ContainerRestarting, ContainerStopped, ContainerDead, ContainerError},
	ActExec:     {ContainerRunning},
	ActStats:    {ContainerRunning, ContainerPaused, ContainerRestarting},
	ActTop:      {ContainerRunning, ContainerPaused},
	ActCommit:   {ContainerCreated, ContainerRunning, ContainerPaused, ContainerStopped, ContainerDead},
}

// ContainerAllowed reports whether action may run on a container in state
// s; the error wraps ErrConflict and names both.
func ContainerAllowed(action string, s ContainerState) error {
	allowed, ok := ContainerActions[action]
	if !ok {
		return fmt.Errorf("%w: unknown container action %q", ErrInvalid, action)
	}
	for _, a := range allowed {
		if a == s {
			return nil
		}
	}
	return fmt.Errorf("%w: cannot %s a container that is %s (allowed when %v)", ErrConflict, action, s, allowed)
}
