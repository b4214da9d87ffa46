package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/types/known/durationpb"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
)

// The lifecycle verbs. Like docker's they take several containers, handled
// concurrently; a failure on one is printed and the others proceed.

const containersHelp = `

Several containers may be named; they are handled concurrently. A failure on
one is printed and the others still proceed; the command then exits 1. With
-o json/yaml one container prints as itself, several as {"containers": [...]}.`

// containerCall is one action on one container.
type containerCall func(ctx context.Context, c canopyv1.ContainerServiceClient, id string) (*canopyv1.Container, error)

// eachContainer calls call for every id concurrently, each within bound
// (0: the call bounds itself), prints the containers that succeeded (in
// argument order) with table, and reports the failures.
func (a containerCmds) eachContainer(ctx context.Context, ids []string, bound time.Duration, table func(io.Writer, []*canopyv1.Container), call containerCall) error {
	c, err := a.containers(ctx)
	if err != nil {
		return err
	}
	results, errs := forEach(len(ids), func(i int) (*canopyv1.Container, error) {
		rctx, cancel := ctx, context.CancelFunc(func() {})
		if bound > 0 {
			rctx, cancel = context.WithTimeout(ctx, bound)
		}
		defer cancel()
		return call(rctx, c, ids[i])
	})
	if len(ids) == 1 {
		if errs[0] != nil {
			return errs[0]
		}
		return a.emit(results[0], func(w io.Writer) { table(w, results) })
	}
	var done []*canopyv1.Container
	failed := false
	for i, id := range ids {
		if errs[i] != nil {
			a.printError(id, errs[i])
			failed = true
			continue
		}
		done = append(done, results[i])
	}
	if len(done) > 0 {
		if err := a.emit(&canopyv1.ListContainersResponse{Containers: done}, func(w io.Writer) { table(w, done) }); err != nil {
			return err
		}
	}
	if failed {
		return errReported
	}
	return nil
}

// actionCmd is a verb over one or more containers that prints them after.
func (a containerCmds) actionCmd(use, short, long string, call containerCall) *cobra.Command {
	return a.actionCmdWithin(use, short, long, func() time.Duration { return a.timeout }, call)
}

// actionCmdWithin is actionCmd with each call's bound computed once the
// flags are read.
func (a containerCmds) actionCmdWithin(use, short, long string, bound func() time.Duration, call containerCall) *cobra.Command {
	return &cobra.Command{
		Use:   use + " CONTAINER...",
		Short: short,
		Long:  long + containersHelp,
		Args:  args(1, -1, "one or more CONTAINER (id or name)"),
		RunE: a.cmdRun(func(cmd *cobra.Command, args []string) error {
			return a.eachContainer(cmd.Context(), args, bound(), containerRows, call)
		}),
	}
}

func (a containerCmds) startCmd() *cobra.Command {
	return a.actionCmd("start", "Start created or stopped containers", "Start created or stopped containers.",
		func(ctx context.Context, c canopyv1.ContainerServiceClient, id string) (*canopyv1.Container, error) {
			return c.StartContainer(ctx, &canopyv1.StartContainerRequest{Id: id})
		})
}

// stopTime is docker's -t/--time: seconds between SIGTERM and SIGKILL.
type stopTime struct{ secs int }

func (s *stopTime) add(cmd *cobra.Command) {
	cmd.Flags().IntVarP(&s.secs, "time", "t", -1, "seconds between SIGTERM and SIGKILL (default 10)")
}

// pb is the timeout to send (nil: canopyd's default of 10 seconds).
func (s *stopTime) pb() *durationpb.Duration {
	if s.secs < 0 {
		return nil
	}
	return durationpb.New(time.Duration(s.secs) * time.Second)
}

// bound leaves each call the grace period beyond --timeout: a stop may
// take that long before the SIGKILL.
func (s *stopTime) bound(a *app) func() time.Duration {
	return func() time.Duration {
		if s.secs < 0 {
			return a.timeout + 10*time.Second
		}
		return a.timeout + time.Duration(s.secs)*time.Second
	}
}

func (a containerCmds) stopCmd() *cobra.Command {
	var t stopTime
	cmd := a.actionCmdWithin("stop", "Stop running containers", "Stop running containers: SIGTERM, then SIGKILL after -t seconds.", t.bound(a.app),
		func(ctx context.Context, c canopyv1.ContainerServiceClient, id string) (*canopyv1.Container, error) {
			return c.StopContainer(ctx, &canopyv1.StopContainerRequest{Id: id, Timeout: t.pb()})
		})
	t.add(cmd)
	return cmd
}

func (a containerCmds) restartCmd() *cobra.Command {
	var t stopTime
	cmd := a.actionCmdWithin("restart", "Restart containers", "Restart containers: stop them (SIGTERM, then SIGKILL after -t seconds) and start them again.", t.bound(a.app),
		func(ctx context.Context, c canopyv1.ContainerServiceClient, id string) (*canopyv1.Container, error) {
			return c.RestartContainer(ctx, &canopyv1.RestartContainerRequest{Id: id, Timeout: t.pb()})
		})
	t.add(cmd)
	return cmd
}

func (a containerCmds) killCmd() *cobra.Command {
	var signal string
	cmd := a.actionCmd("kill", "Send a signal to containers (default KILL)", "Send a signal to running containers' main processes.",
		func(ctx context.Context, c canopyv1.ContainerServiceClient, id string) (*canopyv1.Container, error) {
			return c.KillContainer(ctx, &canopyv1.KillContainerRequest{Id: id, Signal: signal})
		})
	cmd.Flags().StringVarP(&signal, "signal", "s", "KILL", "the signal: a name (KILL, TERM, HUP, SIGUSR1) or a number")
	return cmd
}

func (a containerCmds) rmCmd() *cobra.Command {
	var force bool
	cmd := a.actionCmd("rm", "Remove containers", "Remove containers; a running one only with -f, which kills it first.",
		func(ctx context.Context, c canopyv1.ContainerServiceClient, id string) (*canopyv1.Container, error) {
			return c.DeleteContainer(ctx, &canopyv1.DeleteContainerRequest{Id: id, Force: force})
		})
	cmd.Aliases = []string{"delete", "remove"}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "kill a running container first")
	return cmd
}

func (a containerCmds) pauseCmd() *cobra.Command {
	return a.actionCmd("pause", "Freeze containers' processes", "Freeze running containers' processes.",
		func(ctx context.Context, c canopyv1.ContainerServiceClient, id string) (*canopyv1.Container, error) {
			return c.PauseContainer(ctx, &canopyv1.PauseContainerRequest{Id: id})
		})
}

func (a containerCmds) unpauseCmd() *cobra.Command {
	return a.actionCmd("unpause", "Thaw paused containers", "Thaw paused containers.",
		func(ctx context.Context, c canopyv1.ContainerServiceClient, id string) (*canopyv1.Container, error) {
			return c.UnpauseContainer(ctx, &canopyv1.UnpauseContainerRequest{Id: id})
		})
}

func (a containerCmds) renameCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "rename CONTAINER NEW_NAME",
		Short: "Rename a container",
		Args:  args(2, 2, "CONTAINER and NEW_NAME"),
		RunE: a.cmdRun(func(cmd *cobra.Command, args []string) error {
			return a.eachContainer(cmd.Context(), args[:1], a.timeout, containerRows, func(ctx context.Context, c canopyv1.ContainerServiceClient, id string) (*canopyv1.Container, error) {
				return c.RenameContainer(ctx, &canopyv1.RenameContainerRequest{Id: id, Name: args[1]})
			})
		}),
	}
}

func (a containerCmds) updateCmd() *cobra.Command {
	var (
		cpus            float64
		memory, restart string
	)
	cmd := &cobra.Command{
		Use:   "update [--cpus N] [-m SIZE] [--restart POLICY] CONTAINER...",
		Short: "Change containers' CPUs, memory or restart policy in place",
		Long: "Change containers' CPUs, memory limit or restart policy in place; what is not given stays as it is " +
			"(0 makes cpus or memory unlimited)." + containersHelp,
		Example: "  canopy container update -m 1g --cpus 2 web\n  canopy container update --restart on-failure:3 worker-1 worker-2",
		Args:    args(1, -1, "one or more CONTAINER (id or name)"),
		RunE: a.cmdRun(func(cmd *cobra.Command, args []string) error {
			tmpl := &canopyv1.UpdateContainerRequest{}
			fs := cmd.Flags()
			if fs.Changed("cpus") {
				if cpus < 0 {
					return usageErrorf("--cpus %v: must not be negative (0: unlimited)", cpus)
				}
				tmpl.Cpu = &cpus
			}
			if fs.Changed("memory") {
				m, err := parseMemory("memory", memory)
				if err != nil {
					return err
				}
				tmpl.MemoryMib = &m
			}
			if fs.Changed("restart") {
				p, err := parseRestart("restart", restart)
				if err != nil {
					return err
				}
				tmpl.RestartPolicy = p
			}
			if tmpl.Cpu == nil && tmpl.MemoryMib == nil && tmpl.RestartPolicy == nil {
				return usageErrorf("%s: nothing to change: give --cpus, --memory or --restart", cmd.CommandPath())
			}
			return a.eachContainer(cmd.Context(), args, a.timeout, containerRows, func(ctx context.Context, c canopyv1.ContainerServiceClient, id string) (*canopyv1.Container, error) {
				return c.UpdateContainer(ctx, &canopyv1.UpdateContainerRequest{Id: id, Cpu: tmpl.Cpu, MemoryMib: tmpl.MemoryMib, RestartPolicy: tmpl.RestartPolicy})
			})
		}),
	}
	cmd.Flags().Float64Var(&cpus, "cpus", 0, "CPUs (fractions allowed; 0: unlimited)")
	cmd.Flags().StringVarP(&memory, "memory", "m", "", "memory limit: 64m, 1g, or a number of MiB (0: unlimited)")
	cmd.Flags().StringVar(&restart, "restart", "", "restart policy: no, always, on-failure[:max-retries], unless-stopped")
	return cmd
}

func (a containerCmds) waitCmd() *cobra.Command {
	var (
		condition string
		timeout   time.Duration
	)
	cmd := &cobra.Command{
		Use:   "wait CONTAINER...",
		Short: "Wait until containers exit (and print their exit codes)",
		Long: `Wait until containers meet a condition, fed by the runtimes' events (no
polling): exited (the default; prints each exit code, one per line, as docker
does), running, ready (healthy and its ready probe passed; fails when it will
not be), or deleted. Several containers are waited for concurrently.`,
		Example: "  canopy container wait job-1\n  canopy container wait --condition ready db",
		Args:    args(1, -1, "one or more CONTAINER (id or name)"),
		RunE: a.cmdRun(func(cmd *cobra.Command, args []string) error {
			cond, ok := waitConditions[strings.ToLower(condition)]
			if !ok {
				return usageErrorf("--condition %q: want exited, running, ready or deleted", condition)
			}
			if timeout < 0 {
				return usageErrorf("--wait-timeout %s: must not be negative (0: as long as it takes)", timeout)
			}
			table := containerRows
			switch cond {
			case canopyv1.WaitContainerRequest_CONDITION_EXITED:
				table = func(w io.Writer, cs []*canopyv1.Container) {
					for _, c := range cs {
						fmt.Fprintln(w, c.GetExitCode())
					}
				}
			case canopyv1.WaitContainerRequest_CONDITION_DELETED:
				table = func(w io.Writer, cs []*canopyv1.Container) {
					for _, c := range cs {
						fmt.Fprintf(w, "deleted %s\n", c.GetId())
					}
				}
			}
			return a.eachContainer(cmd.Context(), args, 0, table, func(ctx context.Context, c canopyv1.ContainerServiceClient, id string) (*canopyv1.Container, error) {
				return a.waitFor(ctx, c, id, cond, timeout)
			})
		}),
	}
	cmd.Flags().StringVar(&condition, "condition", "exited", "exited, running, ready or deleted")
	cmd.Flags().DurationVar(&timeout, "wait-timeout", 0, "give up after this long (0: as long as it takes)")
	return cmd
}
