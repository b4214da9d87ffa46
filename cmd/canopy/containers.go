package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
)

// containerCmds are `canopy container …`: docker's verbs and flags over
// canopyd's ContainerService, so muscle memory carries over
// (containers.go: the group, ls, inspect and how a container prints;
// containers_run.go: run and create; containers_actions.go: the lifecycle
// verbs; containers_io.go: logs, stats, top, commit and watch;
// containers_exec.go and containers_term*.go: exec and the local terminal;
// containers_spec.go: the flag parsers).
type containerCmds struct{ *app }

func (a *app) containers(ctx context.Context) (canopyv1.ContainerServiceClient, error) {
	conn, err := a.dial(ctx)
	if err != nil {
		return nil, err
	}
	return canopyv1.NewContainerServiceClient(conn), nil
}

func (a containerCmds) containerCmd() *cobra.Command {
	c := group("container", "Containers, docker-style: run, ls, logs, exec, stop, rm, …",
		a.runCmd(), a.createCmd(), a.lsCmd(), a.inspectCmd(), a.logsCmd(), a.execCmd(),
		a.startCmd(), a.stopCmd(), a.restartCmd(), a.killCmd(), a.rmCmd(), a.pauseCmd(), a.unpauseCmd(),
		a.renameCmd(), a.updateCmd(), a.waitCmd(), a.statsCmd(), a.topCmd(), a.commitCmd(), a.watchCmd())
	c.Aliases = []string{"containers"}
	c.Long = `Containers on the container hosts (Docker, containerd) of every cloud canopyd
fronts, with docker's verbs and flags: 'canopy container run', 'ls', 'logs',
'exec', 'stop', 'rm'. Containers are named by canopy id or by name.

Each action is allowed only in some states (a running container cannot be
started, a stopped one cannot be paused); in another state canopyd refuses it
with FAILED_PRECONDITION naming the state.`
	return c
}

// exitStatus ends the command with a status of its own (a container's or an
// exec'd process's exit code) without printing anything.
type exitStatus struct{ code int }

func (e exitStatus) Error() string { return "exit status " + strconv.Itoa(e.code) }

// exitStatusOf is the status an exitStatus error asks for.
func exitStatusOf(err error) (int, bool) {
	if e, ok := err.(exitStatus); ok {
		return e.code, true
	}
	return 0, false
}

// exitWith is nil for 0, else the exitStatus.
func exitWith(code int) error {
	if code == 0 {
		return nil
	}
	return exitStatus{code}
}

// containerName is the name of a container run without --name (canopyd
// requires one): derived from the request id when there is one, so that a
// retry asks for the same container, else random.
func containerName(requestID string) string {
	if requestID != "" {
		sum := sha256.Sum256([]byte(requestID))
		return "c-" + hex.EncodeToString(sum[:5])
	}
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	return "c-" + hex.EncodeToString(b)
}

func (a containerCmds) lsCmd() *cobra.Command {
	var (
		lf      listFlags
		loc     locFlags
		all     bool
		quiet   bool
		filters []string
	)
	cmd := &cobra.Command{
		Use:     "ls",
		Aliases: []string{"ps", "list"},
		Short:   "List containers (running ones; -a: all)",
		Long: `List running containers in every cloud (or the one selected); -a lists them
all, stopped and created too.

--filter takes name=NAME (exact), label=KEY or label=KEY=VALUE, and
status=STATE (created, running, paused, restarting, exited, dead, error).` + listHelp,
		Example: "  canopy container ls\n  canopy container ps -a --filter label=app=web\n  canopy container rm $(canopy container ls -aq --filter status=exited)",
		Args:    args(0, 0, "no arguments"),
		RunE: a.cmdRun(func(cmd *cobra.Command, _ []string) error {
			if err := lf.check(); err != nil {
				return err
			}
			f, err := parseFilters("filter", filters)
			if err != nil {
				return err
			}
			if f.state == canopyv1.Container_STATE_UNSPECIFIED && !all {
				f.state = canopyv1.Container_STATE_RUNNING
			}
			cs, errs, err := a.listContainers(cmd.Context(), lf.limit, &canopyv1.ListContainersRequest{Location: loc.pb(), Name: f.name, State: f.state, Labels: f.labels})
			if err != nil {
				return err
			}
			kept := cs[:0]
			for _, c := range cs {
				if f.keep(c) {
					kept = append(kept, c)
				}
			}
			a.warnCloudErrors(errs)
			if quiet && a.output == "table" {
				for _, c := range kept {
					fmt.Fprintln(a.stdout, c.GetId())
				}
				return nil
			}
			return a.emit(&canopyv1.ListContainersResponse{Containers: kept, CloudErrors: errs}, func(w io.Writer) { containerRows(w, kept) })
		}),
	}
	lf.add(cmd)
	loc.add(cmd, "only", true)
	cmd.Flags().BoolVarP(&all, "all", "a", false, "show all containers, not only running ones")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print only ids")
	cmd.Flags().StringArrayVarP(&filters, "filter", "f", nil, "name=NAME, label=KEY[=VALUE] or status=STATE (repeatable)")
	return cmd
}

// listContainers fetches every page (or limit containers).
func (a containerCmds) listContainers(ctx context.Context, limit int, req *canopyv1.ListContainersRequest) ([]*canopyv1.Container, []*canopyv1.CloudError, error) {
	c, err := a.containers(ctx)
	if err != nil {
		return nil, nil, err
	}
	return listAll(ctx, a.app, limit, func(ctx context.Context, size int32, token string) (page[*canopyv1.Container], error) {
		req.PageSize, req.PageToken = size, token
		r, err := c.ListContainers(ctx, req)
		return page[*canopyv1.Container]{items: r.GetContainers(), next: r.GetNextPageToken(), errs: r.GetCloudErrors()}, err
	})
}

func (a containerCmds) inspectCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "inspect CONTAINER...",
		Aliases: []string{"get"},
		Short:   "Show containers in full",
		Long: `Show containers in full: a detail view, or with -o json/yaml the whole
Container (one container as itself, several as {"containers": [...]}).`,
		Example: "  canopy container inspect web -o json",
		Args:    args(1, -1, "one or more CONTAINER (id or name)"),
		RunE: a.cmdRun(func(cmd *cobra.Command, args []string) error {
			return a.eachContainer(cmd.Context(), args, a.timeout, containerDetailsAll, func(ctx context.Context, c canopyv1.ContainerServiceClient, id string) (*canopyv1.Container, error) {
				return c.GetContainer(ctx, &canopyv1.GetContainerRequest{Id: id})
			})
		}),
	}
}

// containerState is the state as one lower-case word, with the exit code
// once it exited: "running", "stopped (0)".
func containerState(c *canopyv1.Container) string {
	s := strings.ToLower(strings.TrimPrefix(c.GetState().String(), "STATE_"))
	switch c.GetState() {
	case canopyv1.Container_STATE_STOPPED, canopyv1.Container_STATE_DEAD:
		s += fmt.Sprintf(" (%d)", c.GetExitCode())
	case canopyv1.Container_STATE_CREATED:
		if c.GetOperation() != "" {
			s += " (waiting)" // its create operation waits for a dependency
		}
	}
	return s
}

func containerHealth(c *canopyv1.Container) string {
	if c.GetHealth() == canopyv1.Container_HEALTH_UNSPECIFIED {
		return ""
	}
	return strings.ToLower(strings.TrimPrefix(c.GetHealth().String(), "HEALTH_"))
}

func containerRows(w io.Writer, cs []*canopyv1.Container) {
	rs := make([][]string, len(cs))
	for i, c := range cs {
		rs[i] = []string{c.GetId(), c.GetName(), c.GetImage(), containerState(c), containerHealth(c), c.GetLocation().GetCloud(), c.GetHost()}
	}
	rows(w, []string{"ID", "NAME", "IMAGE", "STATE", "HEALTH", "CLOUD", "HOST"}, rs)
}

// containerDetailsAll shows containers one detail view after another.
func containerDetailsAll(w io.Writer, cs []*canopyv1.Container) {
	for i, c := range cs {
		if i > 0 {
			fmt.Fprintln(w)
		}
		containerDetails(w, c)
	}
}

func containerDetails(w io.Writer, c *canopyv1.Container) {
	var cpu, mem, ready string
	if c.GetCpu() > 0 {
		cpu = strconv.FormatFloat(c.GetCpu(), 'f', -1, 64)
	}
	if c.GetMemoryMib() > 0 {
		mem = mib(c.GetMemoryMib())
	}
	if c.GetState() == canopyv1.Container_STATE_RUNNING {
		ready = yesNo(c.GetReady())
	}
	var restart string
	if rp := c.GetRestartPolicy(); rp != nil {
		restart = restartWord(rp)
	}
	details(w, []field{
		{"ID", c.GetId()}, {"Name", c.GetName()}, {"State", containerState(c)}, {"Status", statusWithRaw(c.GetStatus(), c.GetProviderStatus())},
		{"Health", containerHealth(c)}, {"Ready", ready}, {"Message", c.GetStatusMessage()},
		{"Cloud", c.GetLocation().GetCloud()}, {"Region", c.GetLocation().GetRegion()}, {"Zone", c.GetLocation().GetZone()}, {"Host", c.GetHost()},
		{"Image", c.GetImage()}, {"Image ID", c.GetImageId()}, {"Entrypoint", shellJoin(c.GetEntrypoint())}, {"Command", shellJoin(c.GetCommand())},
		{"Env", kv(c.GetEnv())}, {"Labels", kv(c.GetLabels())}, {"CPUs", cpu}, {"Memory", mem}, {"Restart", restart},
		{"Restarts", nonZero(c.GetRestartCount())}, {"Healthcheck", healthcheckText(c.GetHealthcheck())}, {"Ready probe", probeText(c.GetReadyProbe())},
		{"Auto remove", trueOnly(c.GetAutoRemove())}, {"Interactive", trueOnly(c.GetInteractive())}, {"TTY", trueOnly(c.GetTty())},
		{"Workdir", c.GetWorkdir()}, {"User", c.GetUser()}, {"Hostname", c.GetHostname()},
		{"Ports", portsText(c.GetPorts())}, {"Mounts", mountsText(c.GetMounts())}, {"Addresses", containerAddresses(c)},
		{"Depends on", dependsText(c.GetDependsOn())}, {"Operation", c.GetOperation()},
		{"Created", when(c.GetCreateTime())}, {"Started", when(c.GetStartTime())}, {"Finished", when(c.GetFinishTime())},
		{"Native ID", c.GetNativeId()},
	})
}

func trueOnly(b bool) string {
	if b {
		return "yes"
	}
	return ""
}

// shellJoin writes an argv so that it reads (and pastes) like a command
// line: arguments with spaces or quotes are quoted.
func shellJoin(argv []string) string {
	parts := make([]string, len(argv))
	for i, s := range argv {
		if s == "" || strings.ContainsAny(s, " \t\n\"'\\$`|&;<>()*?") {
			s = strconv.Quote(s)
		}
		parts[i] = s
	}
	return strings.Join(parts, " ")
}

func healthcheckText(h *canopyv1.Healthcheck) string {
	if h == nil || len(h.GetCmd()) == 0 {
		return ""
	}
	s := shellJoin(h.GetCmd())
	var opts []string
	if h.Interval != nil {
		opts = append(opts, "every "+h.GetInterval().AsDuration().String())
	}
	if h.Timeout != nil {
		opts = append(opts, "timeout "+h.GetTimeout().AsDuration().String())
	}
	if h.GetRetries() > 0 {
		opts = append(opts, fmt.Sprintf("%d retries", h.GetRetries()))
	}
	if h.StartPeriod != nil {
		opts = append(opts, "start period "+h.GetStartPeriod().AsDuration().String())
	}
	if len(opts) > 0 {
		s += " (" + strings.Join(opts, ", ") + ")"
	}
	return s
}

func probeText(p *canopyv1.ReadyProbe) string {
	switch {
	case p == nil:
		return ""
	case p.GetTcpPort() != 0:
		return fmt.Sprintf("tcp port %d", p.GetTcpPort())
	case p.GetCommand() != nil:
		return shellJoin(p.GetCommand().GetArgv())
	}
	return ""
}

func portsText(ps []*canopyv1.PortBinding) string {
	out := make([]string, len(ps))
	for i, p := range ps {
		host := "*"
		if p.GetHostPort() != 0 {
			host = strconv.Itoa(int(p.GetHostPort()))
		}
		if ip := p.GetHostIp(); ip != "" {
			if strings.Contains(ip, ":") {
				ip = "[" + ip + "]"
			}
			host = ip + ":" + host
		}
		proto := p.GetProtocol()
		if proto == "" {
			proto = "tcp"
		}
		out[i] = fmt.Sprintf("%s->%d/%s", host, p.GetContainerPort(), proto)
	}
	return strings.Join(out, ", ")
}

func mountsText(ms []*canopyv1.ContainerMount) string {
	out := make([]string, len(ms))
	for i, m := range ms {
		s := m.GetTarget()
		if m.GetSource() != "" {
			s = m.GetSource() + ":" + s
		}
		typ := m.GetType()
		if typ == "" {
			typ = "volume"
		}
		s = typ + " " + s
		if m.GetReadOnly() {
			s += ":ro"
		}
		out[i] = s
	}
	return strings.Join(out, ", ")
}

func containerAddresses(c *canopyv1.Container) string {
	out := make([]string, len(c.GetAddresses()))
	for i, ad := range c.GetAddresses() {
		out[i] = ad.GetIp()
	}
	return strings.Join(out, ", ")
}

func dependsText(ds []*canopyv1.Dependency) string {
	out := make([]string, len(ds))
	for i, d := range ds {
		cond := "started"
		switch d.GetCondition() {
		case canopyv1.Dependency_CONDITION_HEALTHY:
			cond = "healthy"
		case canopyv1.Dependency_CONDITION_COMPLETED_SUCCESSFULLY:
			cond = "completed"
		}
		out[i] = d.GetContainer() + ":" + cond
	}
	return strings.Join(out, ", ")
}
