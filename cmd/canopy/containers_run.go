package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
)

// createFlags are the flags of `container run` and `container create`,
// docker's names and shorthands.
type createFlags struct {
	loc                                      locFlags
	name, workdir, user, hostname, requestID string
	entrypoint                               string
	env, labels, ports, volumes, tmpfs       []string
	dependsOn                                []string
	cpus                                     float64
	memory, restart                          string
	healthCmd                                string
	healthInterval, healthTimeout            time.Duration
	healthStartPeriod                        time.Duration
	healthRetries                            int
	readyTCP                                 int
	readyCmd                                 string
	readyTimeout                             time.Duration
	autoRemove, interactive, tty             bool
	detach, attach                           bool
}

func (f *createFlags) add(a *app, cmd *cobra.Command, run bool) {
	fs := cmd.Flags()
	// IMAGE [COMMAND [ARG...]]: flags after the image belong to the command.
	fs.SetInterspersed(false)
	fs.StringVar(&f.name, "name", "", "the container's name (default: a generated one)")
	fs.StringArrayVarP(&f.env, "env", "e", nil, "environment variable `KEY=VALUE` (KEY alone: canopy's own value; repeatable)")
	fs.StringArrayVarP(&f.labels, "label", "l", nil, "label `key=value` (repeatable)")
	fs.Float64Var(&f.cpus, "cpus", 0, "CPUs it may use (fractions allowed; 0: unlimited)")
	fs.StringVarP(&f.memory, "memory", "m", "", "memory limit: 64m, 1g, or a number of MiB")
	fs.StringVar(&f.restart, "restart", "", "restart policy: no, always, on-failure[:max-retries], unless-stopped")
	fs.StringVar(&f.healthCmd, "health-cmd", "", "healthcheck command, run with sh -c inside the container")
	fs.DurationVar(&f.healthInterval, "health-interval", 0, "between healthchecks (default 30s)")
	fs.DurationVar(&f.healthTimeout, "health-timeout", 0, "for one healthcheck (default 30s)")
	fs.IntVar(&f.healthRetries, "health-retries", 0, "failures in a row that make it unhealthy (default 3)")
	fs.DurationVar(&f.healthStartPeriod, "health-start-period", 0, "failures within this time from the start do not count")
	fs.BoolVar(&f.autoRemove, "rm", false, "remove the container when it exits")
	fs.BoolVarP(&f.interactive, "interactive", "i", false, "keep its stdin open")
	fs.BoolVarP(&f.tty, "tty", "t", false, "give it a terminal")
	fs.StringVarP(&f.workdir, "workdir", "w", "", "working directory inside it")
	fs.StringVarP(&f.user, "user", "u", "", "user: name or uid[:gid]")
	fs.StringVar(&f.hostname, "hostname", "", "its hostname")
	fs.StringVar(&f.entrypoint, "entrypoint", "", "override the image's entrypoint (one program)")
	fs.StringArrayVarP(&f.ports, "publish", "p", nil, "publish a port: `[HOST_IP:][HOST_PORT:]PORT[/udp]` (repeatable)")
	fs.StringArrayVarP(&f.volumes, "volume", "v", nil, "mount `SRC:DST[:ro]`: a volume's name or an absolute host path (repeatable)")
	fs.StringArrayVar(&f.tmpfs, "tmpfs", nil, "mount a tmpfs at `PATH[:ro]` (repeatable)")
	fs.IntVar(&f.readyTCP, "ready-tcp", 0, "canopy's ready probe: this port inside accepts connections")
	fs.StringVar(&f.readyCmd, "ready-cmd", "", "canopy's ready probe: this command (sh -c) exits 0 inside")
	fs.DurationVar(&f.readyTimeout, "ready-timeout", 0, "the create fails when the ready probe has not passed after this long (default 5m)")
	fs.StringVar(&f.requestID, "request-id", "", "idempotency key: retrying with the same key returns the same operation")
	fs.DurationVar(&a.waitTimeout, "wait-timeout", defaultWaitTimeout, "how long to wait for the create operation")
	fs.BoolVarP(&f.detach, "detach", "d", false, "do not wait: print the id at once (the create operation goes on; see 'canopy operation')")
	if run {
		fs.StringArrayVar(&f.dependsOn, "depends-on", nil, "start only once `CONTAINER[:COND]` is started (the default COND), healthy or completed (repeatable)")
		fs.BoolVarP(&f.attach, "attach", "a", false, "follow its output until it exits, then exit with its exit code")
	}
	f.loc.add(cmd, "in", true)
	cmd.Flags().Lookup("zone").Usage = "on this host (the cloud's zone names its container hosts)"
}

// request builds the CreateContainerRequest from the flags and
// IMAGE [COMMAND [ARG...]]; a bad value is a usage error naming its flag.
func (f *createFlags) request(cmd *cobra.Command, args []string, run bool) (*canopyv1.CreateContainerRequest, error) {
	req := &canopyv1.CreateContainerRequest{
		Name: f.name, Location: f.loc.pb(), Image: args[0], Command: args[1:], Cpu: f.cpus,
		AutoRemove: f.autoRemove, Interactive: f.interactive, Tty: f.tty, Workdir: f.workdir, User: f.user,
		Hostname: f.hostname, Run: run, Wait: !f.detach, RequestId: f.requestID,
	}
	if req.Name == "" {
		req.Name = containerName(f.requestID)
	}
	if f.entrypoint != "" {
		req.Entrypoint = []string{f.entrypoint}
	}
	if f.detach && f.attach {
		return nil, usageErrorf("--detach and --attach: pick one")
	}
	if f.cpus < 0 {
		return nil, usageErrorf("--cpus %v: must not be negative (0: unlimited)", f.cpus)
	}
	var err error
	if req.Env, err = parseEnv("env", f.env); err != nil {
		return nil, err
	}
	if req.Labels, err = parseLabels("label", f.labels); err != nil {
		return nil, err
	}
	if f.memory != "" {
		if req.MemoryMib, err = parseMemory("memory", f.memory); err != nil {
			return nil, err
		}
	}
	if f.restart != "" {
		if req.RestartPolicy, err = parseRestart("restart", f.restart); err != nil {
			return nil, err
		}
	}
	if req.Healthcheck, err = f.healthcheck(cmd); err != nil {
		return nil, err
	}
	if req.ReadyProbe, err = f.readyProbe(); err != nil {
		return nil, err
	}
	for _, v := range f.ports {
		p, err := parsePort("publish", v)
		if err != nil {
			return nil, err
		}
		req.Ports = append(req.Ports, p)
	}
	for _, v := range f.volumes {
		m, err := parseVolume("volume", v)
		if err != nil {
			return nil, err
		}
		req.Mounts = append(req.Mounts, m)
	}
	for _, v := range f.tmpfs {
		m, err := parseTmpfs("tmpfs", v)
		if err != nil {
			return nil, err
		}
		req.Mounts = append(req.Mounts, m)
	}
	for _, v := range f.dependsOn {
		d, err := parseDependsOn("depends-on", v)
		if err != nil {
			return nil, err
		}
		req.DependsOn = append(req.DependsOn, d)
	}
	return req, nil
}

// healthcheck is the Healthcheck the --health-* flags describe; the
// command runs through sh -c, as docker's --health-cmd does.
func (f *createFlags) healthcheck(cmd *cobra.Command) (*canopyv1.Healthcheck, error) {
	if f.healthCmd == "" {
		for _, name := range []string{"health-interval", "health-timeout", "health-retries", "health-start-period"} {
			if cmd.Flags().Changed(name) {
				return nil, usageErrorf("--%s needs --health-cmd", name)
			}
		}
		return nil, nil
	}
	h := &canopyv1.Healthcheck{Cmd: []string{"sh", "-c", f.healthCmd}}
	for _, d := range []struct {
		flag string
		v    time.Duration
		set  **durationpb.Duration
	}{{"health-interval", f.healthInterval, &h.Interval}, {"health-timeout", f.healthTimeout, &h.Timeout}, {"health-start-period", f.healthStartPeriod, &h.StartPeriod}} {
		if d.v < 0 {
			return nil, usageErrorf("--%s %s: must not be negative", d.flag, d.v)
		}
		if cmd.Flags().Changed(d.flag) {
			*d.set = durationpb.New(d.v)
		}
	}
	if f.healthRetries < 0 {
		return nil, usageErrorf("--health-retries %d: must not be negative", f.healthRetries)
	}
	h.Retries = int32(f.healthRetries)
	return h, nil
}

// readyProbe is canopy's ready probe from --ready-tcp or --ready-cmd.
func (f *createFlags) readyProbe() (*canopyv1.ReadyProbe, error) {
	switch {
	case f.readyTCP != 0 && f.readyCmd != "":
		return nil, usageErrorf("--ready-tcp and --ready-cmd: pick one")
	case f.readyTCP < 0 || f.readyTCP > 65535:
		return nil, usageErrorf("--ready-tcp %d: a port from 1 to 65535", f.readyTCP)
	case f.readyTCP == 0 && f.readyCmd == "":
		if f.readyTimeout != 0 {
			return nil, usageErrorf("--ready-timeout needs --ready-tcp or --ready-cmd")
		}
		return nil, nil
	}
	p := &canopyv1.ReadyProbe{}
	if f.readyTCP != 0 {
		p.Check = &canopyv1.ReadyProbe_TcpPort{TcpPort: int32(f.readyTCP)}
	} else {
		p.Check = &canopyv1.ReadyProbe_Command{Command: &canopyv1.ExecCommand{Argv: []string{"sh", "-c", f.readyCmd}}}
	}
	if f.readyTimeout != 0 {
		p.Timeout = durationpb.New(f.readyTimeout)
	}
	return p, nil
}

const createLong = `Create a container from IMAGE (a reference its host has), with COMMAND
overriding the image's; flags follow docker's. Flags go before IMAGE:
everything after it is the command.

The create is an operation (see 'canopy operation'); by default the command
waits until it is done and prints the container's id (-o json/yaml: the
Container). With -d it prints the id at once and the operation goes on.
--request-id makes a retry safe: the same id returns the same operation and
never makes a second container.`

func (a containerCmds) runCmd() *cobra.Command {
	var f createFlags
	cmd := &cobra.Command{
		Use:   "run [flags] IMAGE [COMMAND [ARG...]]",
		Short: "Create and start a container",
		Long: `Create and start a container from IMAGE (a reference its host has), with
COMMAND overriding the image's; flags follow docker's. Flags go before IMAGE:
everything after it is the command.

The create is an operation (see 'canopy operation'): it starts the container
once every --depends-on is met, and ends once it runs and, with a
healthcheck (--health-cmd) or a ready probe (--ready-tcp, --ready-cmd), is
ready. By default the command waits for that and prints the container's id
(-o json/yaml: the Container). With -d it prints the id at once. With -a it
then follows the container's output until it exits and exits with its exit
code. --request-id makes a retry safe: the same id returns the same
operation and never makes a second container.`,
		Example: "  canopy container run --name web -p 8080:80 --restart unless-stopped nginx:latest\n" +
			"  canopy container run --name db -e POSTGRES_PASSWORD=x --health-cmd 'pg_isready' postgres:16\n" +
			"  canopy container run --name app --depends-on db:healthy -m 512m --cpus 1.5 app:v2\n" +
			"  canopy container run --rm -a busybox:latest echo hello",
		Args: args(1, -1, "an IMAGE (and optionally a COMMAND)"),
		RunE: a.cmdRun(func(cmd *cobra.Command, args []string) error {
			return a.create(cmd, args, &f, true)
		}),
	}
	f.add(a.app, cmd, true)
	return cmd
}

func (a containerCmds) createCmd() *cobra.Command {
	var f createFlags
	cmd := &cobra.Command{
		Use:     "create [flags] IMAGE [COMMAND [ARG...]]",
		Short:   "Create a container without starting it",
		Long:    createLong,
		Example: "  canopy container create --name job -e MODE=batch busybox:latest sh -c 'echo done'",
		Args:    args(1, -1, "an IMAGE (and optionally a COMMAND)"),
		RunE: a.cmdRun(func(cmd *cobra.Command, args []string) error {
			return a.create(cmd, args, &f, false)
		}),
	}
	f.add(a.app, cmd, false)
	return cmd
}

// create starts the create operation and finishes as the flags say: the
// id at once (-d), the container once done, or its output and exit code
// (-a).
func (a containerCmds) create(cmd *cobra.Command, args []string, f *createFlags, run bool) error {
	req, err := f.request(cmd, args, run)
	if err != nil {
		return err
	}
	c, err := a.containers(cmd.Context())
	if err != nil {
		return err
	}
	ctx, cancel := a.rpcCtx(cmd.Context(), req.Wait)
	defer cancel()
	began := time.Now()
	op, err := c.CreateContainer(ctx, req)
	if err != nil {
		return err
	}
	if f.detach {
		if a.output == "table" {
			fmt.Fprintln(a.stdout, op.GetMetadata().GetTargetId())
			return opError(op)
		}
		return a.finishOp(cmd.Context(), op)
	}
	if !op.GetDone() {
		return status.Errorf(codes.DeadlineExceeded, "container %s: its create operation %s is not done after %s (step %s); see 'canopy operation wait %s'",
			op.GetMetadata().GetTargetId(), op.GetId(), time.Since(began).Round(time.Second), op.GetMetadata().GetStep(), op.GetId())
	}
	if err := opError(op); err != nil {
		return err
	}
	ctr := &canopyv1.Container{}
	if r := op.GetResponse(); r == nil || r.UnmarshalTo(ctr) != nil {
		return fmt.Errorf("operation %s is done but holds no container", op.GetId())
	}
	if f.attach {
		return a.attach(cmd.Context(), c, ctr.GetId())
	}
	return a.emit(ctr, func(w io.Writer) { fmt.Fprintln(w, ctr.GetId()) })
}

// attach follows a started container's output until it exits and returns
// its exit code as the command's. The wait begins before the output does,
// so a container run with --rm is seen exiting before it is removed.
func (a containerCmds) attach(ctx context.Context, c canopyv1.ContainerServiceClient, id string) error {
	type waited struct {
		ctr *canopyv1.Container
		err error
	}
	done := make(chan waited, 1)
	go func() {
		ctr, err := a.waitFor(ctx, c, id, canopyv1.WaitContainerRequest_CONDITION_EXITED, 0)
		done <- waited{ctr, err}
	}()
	if err := a.streamLogs(ctx, c, &canopyv1.ContainerLogsRequest{Id: id, Follow: true}); err != nil {
		return err
	}
	if ctx.Err() != nil {
		return nil // interrupted: canopy stops following; the container goes on
	}
	w := <-done
	if w.err != nil {
		return w.err
	}
	return exitWith(int(w.ctr.GetExitCode()))
}

// waitCallBound bounds one WaitContainer call; waits longer than that are
// several calls, so no proxy or server bound cuts a long wait.
const waitCallBound = 5 * time.Minute

// waitFor waits until the container meets cond, for at most total (0: as
// long as it takes), one bounded WaitContainer call after another.
func (a containerCmds) waitFor(ctx context.Context, c canopyv1.ContainerServiceClient, id string, cond canopyv1.WaitContainerRequest_Condition, total time.Duration) (*canopyv1.Container, error) {
	var deadline time.Time
	if total > 0 {
		deadline = time.Now().Add(total)
	}
	for {
		d := waitCallBound
		if !deadline.IsZero() {
			if left := time.Until(deadline); left < d {
				d = left
			}
		}
		if d <= 0 {
			return nil, status.Errorf(codes.DeadlineExceeded, "container %s did not become %s within %s", id, condWord(cond), total)
		}
		rctx, cancel := context.WithTimeout(ctx, d)
		ctr, err := c.WaitContainer(rctx, &canopyv1.WaitContainerRequest{Id: id, Condition: cond})
		cancel()
		if status.Code(err) == codes.DeadlineExceeded || errors.Is(err, context.DeadlineExceeded) {
			if ctx.Err() == nil {
				continue
			}
		}
		return ctr, err
	}
}

func condWord(c canopyv1.WaitContainerRequest_Condition) string {
	for w, v := range waitConditions {
		if v == c {
			return w
		}
	}
	return c.String()
}

// waitConditions are the words `container wait --condition` takes.
var waitConditions = map[string]canopyv1.WaitContainerRequest_Condition{
	"running": canopyv1.WaitContainerRequest_CONDITION_RUNNING,
	"ready":   canopyv1.WaitContainerRequest_CONDITION_READY,
	"exited":  canopyv1.WaitContainerRequest_CONDITION_EXITED,
	"deleted": canopyv1.WaitContainerRequest_CONDITION_DELETED,
}
