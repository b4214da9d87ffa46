package providers

import "context"

// HostReport is what one host of a container cloud says of itself, for
// the scheduler (package sched): its capacity from the engine (`docker
// info`), and what its running containers hold.
type HostReport struct {
	Name string
	// Zone is the host's zone: its engine label "zone" when it has one,
	// else the cloud's zone.
	Zone string
	// Runtimes are the OCI runtimes the engine offers (runc, …).
	Runtimes []string
	// Labels are the engine's own labels (dockerd --label k=v).
	Labels map[string]string
	// CPUs and MemoryBytes are the host's capacity.
	CPUs        float64
	MemoryBytes int64
	// UsedCPU and UsedMemoryBytes are the limits of its running
	// containers (a container without a limit holds none).
	UsedCPU         float64
	UsedMemoryBytes int64
	// Containers counts every container on the host.
	Containers int
	// Projects are the projects (ContainerSpec.Project) with a container
	// on the host, running or not.
	Projects []string
}

// HostReporter is a container cloud whose hosts can be scheduled on:
// each reports itself. A host that does not answer fails the call (a
// placement must not be made on half the truth).
type HostReporter interface {
	HostReports(ctx context.Context) ([]HostReport, error)
}
