package docker

import (
	"context"
	"fmt"
	"strings"

	cerrdefs "github.com/containerd/errdefs"

	"github.com/canopy-cloud/canopy/providers"
)

// Native ids.
//
// A cloud of one host uses Docker's ids as they are. A cloud of several
// uses "<host name>/<docker id>": host names never contain "/" (options.go
// refuses them) and Docker ids and names never do, so the split is
// unambiguous, and a call reaches the container's host without asking the
// others. A bare id on a cloud of several hosts is looked for on each.

// nativeID is the id canopy sees for container dockerID on h.
func (c *Cloud) nativeID(h *host, dockerID string) string {
	if len(c.hosts) == 1 {
		return dockerID
	}
	return h.name + "/" + dockerID
}

// splitID parses a native id into a host name ("" when the id names none)
// and Docker's id.
func splitID(id string) (hostName, dockerID string) {
	if i := strings.IndexByte(id, '/'); i >= 0 {
		return id[:i], id[i+1:]
	}
	return "", id
}

// locate finds the host of a native id. A host-qualified id is trusted
// without a call; a bare one on a cloud of several hosts costs an inspect
// per host until one has it.
func (c *Cloud) locate(ctx context.Context, id string) (*host, string, error) {
	hostName, dockerID := splitID(id)
	if dockerID == "" || strings.ContainsAny(dockerID, "/ ") {
		return nil, "", fmt.Errorf("docker: container %q: %w", id, providers.ErrNotFound)
	}
	if hostName != "" {
		h, ok := c.byName[hostName]
		if !ok {
			return nil, "", fmt.Errorf("docker: container %q: no host named %q in cloud %s: %w", id, hostName, c.name, providers.ErrNotFound)
		}
		return h, dockerID, nil
	}
	if len(c.hosts) == 1 {
		return c.hosts[0], dockerID, nil
	}
	for _, h := range c.hosts {
		_, err := h.cli.ContainerInspect(ctx, dockerID)
		if err == nil {
			return h, dockerID, nil
		}
		if !cerrdefs.IsNotFound(err) {
			return nil, "", mapErr(err, h, "inspect", dockerID)
		}
	}
	return nil, "", fmt.Errorf("docker: container %q: on none of the hosts %v: %w", id, c.Hosts(), providers.ErrNotFound)
}

// hostFor picks the host of a new container: the one the spec names (the
// cloud's zone names any), else the one with the fewest containers (the
// first on a tie; hosts that do not answer are passed over).
func (c *Cloud) hostFor(ctx context.Context, name string) (*host, error) {
	if _, isHost := c.byName[name]; !isHost && name == c.opts.Zone {
		// The cloud's zone (a servers-view create's location.zone), not a
		// host: any host of it.
		name = ""
	}
	if name != "" {
		h, ok := c.byName[name]
		if !ok {
			return nil, fmt.Errorf("docker: host %q: cloud %s has hosts %v: %w", name, c.name, c.Hosts(), providers.ErrInvalid)
		}
		return h, nil
	}
	if len(c.hosts) == 1 {
		return c.hosts[0], nil
	}
	var best *host
	bestN := -1
	var lastErr error
	for _, h := range c.hosts {
		n, err := h.count(ctx)
		if err != nil {
			lastErr = err
			continue
		}
		if bestN < 0 || n < bestN {
			best, bestN = h, n
		}
	}
	if best == nil {
		return nil, fmt.Errorf("docker: no host of cloud %s answers: %w", c.name, lastErr)
	}
	return best, nil
}
