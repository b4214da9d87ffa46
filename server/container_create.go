package server

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/router"
	"github.com/canopy-cloud/canopy/store"
)

// CreateContainer's request side: validation into the runtime's spec,
// dependencies resolved (and cycles refused) at request time. The steps
// that make the container are in container_jobs.go.

// CreateContainer implements canopyv1.ContainerServiceServer: validated
// here, made by the durable operation's steps (create, depends, start,
// ready), each idempotent so canopyd can die anywhere and resume.
func (s *containerService) CreateContainer(ctx context.Context, req *canopyv1.CreateContainerRequest) (*canopyv1.Operation, error) {
	spec, err := containerSpecOf(req)
	if err != nil {
		return nil, err
	}
	probe, err := probeOf(req.GetReadyProbe())
	if err != nil {
		return nil, err
	}
	if err := placementOf(req, &spec); err != nil { // container_placement.go
		return nil, err
	}
	if len(req.GetDependsOn()) > 0 && !req.GetRun() {
		return nil, router.BadRequest("depends_on", "only with run: dependencies decide when canopy starts the container")
	}
	return s.ops.asOperation(ctx, opContainerCreate, req, func() (opRequest, error) {
		cl, err := s.rt.RouteCreate(req.GetLocation())
		if err != nil {
			return opRequest{}, err
		}
		if _, err := cl.ContainersOrFail(); err != nil {
			return opRequest{}, err
		}
		if err := checkPlaced(cl, spec); err != nil {
			return opRequest{}, err
		}
		if z := req.GetLocation().GetZone(); z != "" && spec.Host == "" {
			spec.Host = z
		}
		if spec.Image, err = containerImageRef(ctx, s.images, cl, spec.Image); err != nil { // container_image.go
			return opRequest{}, err
		}
		spec.Project = project(ctx) // the scheduler's tenant isolation (sched)
		deps, err := s.resolveDeps(ctx, cl, req)
		if err != nil {
			return opRequest{}, err
		}
		if err := resolveVolumeMounts(ctx, s.rt, s.store, cl, spec.Mounts); err != nil { // volume_mounts.go
			return opRequest{}, err
		}
		// A name taken on the host is refused now, not after the operation
		// began (the runtime would refuse it too: this is the clear error).
		if list, err := cl.Containers.ListContainers(ctx); err == nil {
			for _, c := range list {
				if c.Name == spec.Name && (spec.Host == "" || c.Host == spec.Host) {
					return opRequest{}, status.Errorf(codes.AlreadyExists, "name: a container named %q already exists in cloud %q", spec.Name, cl.Name)
				}
			}
		}
		return opRequest{cl: cl, target: store.NewID(), reserve: providers.KindContainer,
			spec: containerJob{Spec: spec, Run: req.GetRun(), DependsOn: deps, Probe: probe}}, nil
	})
}

// containerSpecOf validates a request into the runtime's spec.
func containerSpecOf(req *canopyv1.CreateContainerRequest) (providers.ContainerSpec, error) {
	var spec providers.ContainerSpec
	if err := checkContainerName("name", req.GetName()); err != nil {
		return spec, err
	}
	if req.GetImage() == "" {
		return spec, router.BadRequest("image", "required: an image reference the host has, e.g. busybox:latest")
	}
	if len(req.GetImage()) > 512 || strings.ContainsAny(req.GetImage(), " \t\n\x00") {
		return spec, router.BadRequest("image", "%q is not an image reference", req.GetImage())
	}
	for field, argv := range map[string][]string{"command": req.GetCommand(), "entrypoint": req.GetEntrypoint()} {
		if err := checkArgv(field, argv, false); err != nil {
			return spec, err
		}
	}
	if err := checkEnv("env", req.GetEnv()); err != nil {
		return spec, err
	}
	if err := router.CheckLabels("labels", req.GetLabels()); err != nil {
		return spec, err
	}
	for k := range req.GetLabels() {
		if strings.HasPrefix(k, "canopy.") {
			return spec, router.BadRequest("labels", "%q: the canopy. prefix is canopy's own", k)
		}
	}
	if err := checkCPU("cpu", req.GetCpu()); err != nil {
		return spec, err
	}
	mem, err := memoryOf("memory_mib", req.GetMemoryMib())
	if err != nil {
		return spec, err
	}
	if err := checkRestart("restart_policy", req.GetRestartPolicy()); err != nil {
		return spec, err
	}
	if req.GetAutoRemove() && req.GetRestartPolicy().GetMode() != canopyv1.RestartPolicy_MODE_UNSPECIFIED {
		return spec, router.BadRequest("auto_remove", "conflicts with a restart policy")
	}
	hc, err := healthcheckOf(req.GetHealthcheck())
	if err != nil {
		return spec, err
	}
	if len(req.GetPorts()) > maxContainerPorts {
		return spec, router.BadRequest("ports", "at most %d, got %d", maxContainerPorts, len(req.GetPorts()))
	}
	for i, p := range req.GetPorts() {
		f := fmt.Sprintf("ports[%d]", i)
		if p.GetContainerPort() < 1 || p.GetContainerPort() > 65535 || p.GetHostPort() < 0 || p.GetHostPort() > 65535 {
			return spec, router.BadRequest(f, "ports go from 1 to 65535 (host_port 0: any)")
		}
		proto := p.GetProtocol()
		if proto == "" {
			proto = "tcp"
		}
		if proto != "tcp" && proto != "udp" {
			return spec, router.BadRequest(f+".protocol", "tcp or udp, got %q", proto)
		}
		spec.Ports = append(spec.Ports, providers.PortBinding{ContainerPort: int(p.GetContainerPort()), Protocol: proto, HostIP: p.GetHostIp(), HostPort: int(p.GetHostPort())})
	}
	if len(req.GetMounts()) > maxContainerMnts {
		return spec, router.BadRequest("mounts", "at most %d, got %d", maxContainerMnts, len(req.GetMounts()))
	}
	for i, m := range req.GetMounts() {
		f := fmt.Sprintf("mounts[%d]", i)
		typ := m.GetType()
		if typ == "" {
			typ = "volume"
		}
		switch {
		case typ != "volume" && typ != "bind" && typ != "tmpfs":
			return spec, router.BadRequest(f+".type", "volume, bind or tmpfs, got %q", typ)
		case !strings.HasPrefix(m.GetTarget(), "/"):
			return spec, router.BadRequest(f+".target", "an absolute path inside the container, got %q", m.GetTarget())
		case typ == "bind" && !strings.HasPrefix(m.GetSource(), "/"):
			return spec, router.BadRequest(f+".source", "a bind mount's source is an absolute host path, got %q", m.GetSource())
		case typ == "volume" && m.GetSource() == "":
			return spec, router.BadRequest(f+".source", "required: the volume's name")
		}
		spec.Mounts = append(spec.Mounts, providers.Mount{Type: typ, Source: m.GetSource(), Target: m.GetTarget(), ReadOnly: m.GetReadOnly()})
	}
	for field, v := range map[string]string{"workdir": req.GetWorkdir(), "user": req.GetUser(), "hostname": req.GetHostname()} {
		if len(v) > 255 || strings.ContainsAny(v, "\x00\n") {
			return spec, router.BadRequest(field, "at most 255 characters, without NUL or newline")
		}
	}
	if w := req.GetWorkdir(); w != "" && !strings.HasPrefix(w, "/") {
		return spec, router.BadRequest("workdir", "an absolute path, got %q", w)
	}
	spec.Name, spec.Image, spec.Command, spec.Entrypoint = req.GetName(), req.GetImage(), req.GetCommand(), req.GetEntrypoint()
	spec.Env, spec.Labels, spec.CPU, spec.MemoryBytes = req.GetEnv(), req.GetLabels(), req.GetCpu(), mem
	spec.RestartPolicy, spec.Healthcheck, spec.AutoRemove = restartFromPB(req.GetRestartPolicy()), hc, req.GetAutoRemove()
	spec.Interactive, spec.TTY, spec.Workdir, spec.User, spec.Hostname = req.GetInteractive(), req.GetTty(), req.GetWorkdir(), req.GetUser(), req.GetHostname()
	return spec, nil
}

func healthcheckOf(h *canopyv1.Healthcheck) (*providers.Healthcheck, error) {
	if h == nil {
		return nil, nil
	}
	if err := checkArgv("healthcheck.cmd", h.GetCmd(), true); err != nil {
		return nil, err
	}
	out := &providers.Healthcheck{Cmd: h.GetCmd(), Retries: int(h.GetRetries())}
	var err error
	if out.Interval, err = durationIn("healthcheck.interval", h.GetInterval(), h.Interval != nil, 30*time.Second, 100*time.Millisecond, time.Hour); err != nil {
		return nil, err
	}
	if out.Timeout, err = durationIn("healthcheck.timeout", h.GetTimeout(), h.Timeout != nil, 30*time.Second, 100*time.Millisecond, time.Hour); err != nil {
		return nil, err
	}
	if out.StartPeriod, err = durationIn("healthcheck.start_period", h.GetStartPeriod(), h.StartPeriod != nil, 0, 0, time.Hour); err != nil {
		return nil, err
	}
	switch {
	case h.GetRetries() == 0:
		out.Retries = 3
	case h.GetRetries() < 0 || h.GetRetries() > 100:
		return nil, router.BadRequest("healthcheck.retries", "between 1 and 100, got %d", h.GetRetries())
	}
	return out, nil
}

func probeOf(p *canopyv1.ReadyProbe) (*readyProbe, error) {
	if p == nil {
		return nil, nil
	}
	out := &readyProbe{}
	switch c := p.GetCheck().(type) {
	case *canopyv1.ReadyProbe_TcpPort:
		if c.TcpPort < 1 || c.TcpPort > 65535 {
			return nil, router.BadRequest("ready_probe.tcp_port", "ports go from 1 to 65535, got %d", c.TcpPort)
		}
		out.TCPPort = c.TcpPort
	case *canopyv1.ReadyProbe_Command:
		if err := checkArgv("ready_probe.command.argv", c.Command.GetArgv(), true); err != nil {
			return nil, err
		}
		out.Command = c.Command.GetArgv()
	default:
		return nil, router.BadRequest("ready_probe", "set tcp_port or command")
	}
	var err error
	if out.Interval, err = durationIn("ready_probe.interval", p.GetInterval(), p.Interval != nil, time.Second, 100*time.Millisecond, time.Minute); err != nil {
		return nil, err
	}
	if out.Timeout, err = durationIn("ready_probe.timeout", p.GetTimeout(), p.Timeout != nil, 5*time.Minute, time.Second, 24*time.Hour); err != nil {
		return nil, err
	}
	return out, nil
}

// resolveDeps resolves depends_on to containers of the caller in the same
// cloud, and refuses cycles: a new container can only close a cycle
// through containers whose own creates still wait, so the walk follows
// their recorded dependencies.
func (s *containerService) resolveDeps(ctx context.Context, cl *router.Cloud, req *canopyv1.CreateContainerRequest) ([]containerDep, error) {
	if len(req.GetDependsOn()) > maxDependencies {
		return nil, router.BadRequest("depends_on", "at most %d, got %d", maxDependencies, len(req.GetDependsOn()))
	}
	var out []containerDep
	seen := map[string]bool{}
	for i, d := range req.GetDependsOn() {
		field := fmt.Sprintf("depends_on[%d].container", i)
		if d.GetContainer() == "" {
			return nil, router.BadRequest(field, "required: a canopy id or a name")
		}
		if d.GetContainer() == req.GetName() {
			return nil, router.BadRequest(field, "dependency cycle: %s → %s", req.GetName(), req.GetName())
		}
		if _, ok := canopyv1.Dependency_Condition_name[int32(d.GetCondition())]; !ok {
			return nil, router.BadRequest(fmt.Sprintf("depends_on[%d].condition", i), "unknown condition %d", d.GetCondition())
		}
		f, err := s.find(ctx, field, d.GetContainer())
		if status.Code(err) == codes.NotFound {
			// Perhaps one whose create has not reached the runtime yet
			// (created a moment ago, in the same breath as this one).
			f, err = s.pendingByName(ctx, cl, d.GetContainer())
			if err == nil && f.cl == nil {
				return nil, router.BadRequest(field, "no container %q", d.GetContainer())
			}
		}
		if err != nil {
			return nil, err
		}
		if f.cl != cl {
			return nil, router.BadRequest(field, "container %q is in cloud %q; dependencies must be in the same cloud (%q)", d.GetContainer(), f.cl.Name, cl.Name)
		}
		if seen[f.m.ID] {
			return nil, router.BadRequest(field, "container %q is listed twice", d.GetContainer())
		}
		seen[f.m.ID] = true
		cond := int32(d.GetCondition())
		if cond == 0 {
			cond = int32(canopyv1.Dependency_CONDITION_STARTED)
		}
		name := f.c.Name
		if name == "" {
			name = d.GetContainer()
		}
		out = append(out, containerDep{ID: f.m.ID, Name: name, Condition: cond})
	}
	// Walk the pending dependencies of the dependencies: reaching the new
	// container's name again is a cycle.
	path := []string{req.GetName()}
	var walk func(deps []containerDep, depth int) error
	walk = func(deps []containerDep, depth int) error {
		if depth > 64 {
			return nil
		}
		for _, d := range deps {
			if d.Name == req.GetName() {
				return router.BadRequest("depends_on", "dependency cycle: %s → %s", strings.Join(path, " → "), d.Name)
			}
			path = append(path, d.Name)
			if err := walk(s.record(ctx, d.ID).DependsOn, depth+1); err != nil {
				return err
			}
			path = path[:len(path)-1]
		}
		return nil
	}
	return out, walk(out, 0)
}

// pendingByName finds a container of the caller by name among the creates
// still running in a cloud; found.cl is nil when there is none.
func (v *containerViews) pendingByName(ctx context.Context, cl *router.Cloud, name string) (found, error) {
	ops, err := v.store.ListOperations(ctx, store.OperationFilter{Project: project(ctx), Unfinished: true})
	if err != nil {
		return found{}, router.StoreErr("list operations", err)
	}
	for _, op := range ops {
		if op.Kind != opContainerCreate || op.Cloud != cl.Name {
			continue
		}
		var job containerJob
		if json.Unmarshal(op.Spec, &job) != nil || job.Spec.Name != name {
			continue
		}
		m, err := v.store.Get(ctx, op.TargetID)
		if err != nil {
			continue
		}
		return found{cl: cl, drv: cl.Containers, m: m, c: providers.Container{Common: providers.Common{Name: name}}}, nil
	}
	return found{}, nil
}
