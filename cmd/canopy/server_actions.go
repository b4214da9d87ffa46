package main

import (
	"context"
	"io"
	"sync"

	"github.com/spf13/cobra"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
)

// maxParallel bounds how many resources one command acts on at once.
const maxParallel = 8

// forEach calls fn for each of n items, at most maxParallel at once, and
// returns the results and errors in item order.
func forEach[T any](n int, fn func(i int) (T, error)) ([]T, []error) {
	results, errs := make([]T, n), make([]error, n)
	sem := make(chan struct{}, maxParallel)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			results[i], errs[i] = fn(i)
		}()
	}
	wg.Wait()
	return results, errs
}

const multiHelp = `

Several servers may be named; they are handled concurrently. A failure on one
is printed and the others still proceed; the command then exits 1. With -o
json/yaml one server prints as itself, several as {"servers": [...]}.`

func (a serverCmds) serverDeleteCmd() *cobra.Command {
	var wait bool
	cmd := &cobra.Command{
		Use:     "delete ID|NAME...",
		Aliases: []string{"rm"},
		Short:   "Delete servers",
		Long:    "Delete servers. With --wait the command returns once they are gone (status deleted)." + multiHelp,
		Args:    args(1, -1, "one or more server ID|NAME"),
		RunE: a.cmdRun(func(cmd *cobra.Command, args []string) error {
			return a.eachServer(cmd.Context(), args, wait, func(ctx context.Context, c canopyv1.ComputeServiceClient, id string) (*canopyv1.Server, error) {
				return c.DeleteServer(ctx, &canopyv1.DeleteServerRequest{Id: id, Wait: wait})
			})
		}),
	}
	a.addWait(cmd, &wait, "gone")
	return cmd
}

// serverActionCmd builds start, stop and reboot.
func (a serverCmds) serverActionCmd(verb, short, until string) *cobra.Command {
	var wait, hard bool
	cmd := &cobra.Command{
		Use:   verb + " ID|NAME...",
		Short: short,
		Long:  short + ". With --wait the command returns once they are " + until + "; a server that ends in ERROR makes it exit 1." + multiHelp,
		Args:  args(1, -1, "one or more server ID|NAME"),
		RunE: a.cmdRun(func(cmd *cobra.Command, args []string) error {
			return a.eachServer(cmd.Context(), args, wait, func(ctx context.Context, c canopyv1.ComputeServiceClient, id string) (*canopyv1.Server, error) {
				switch verb {
				case "start":
					return c.StartServer(ctx, &canopyv1.StartServerRequest{Id: id, Wait: wait})
				case "stop":
					return c.StopServer(ctx, &canopyv1.StopServerRequest{Id: id, Wait: wait})
				}
				return c.RebootServer(ctx, &canopyv1.RebootServerRequest{Id: id, Hard: hard, Wait: wait})
			})
		}),
	}
	if verb == "reboot" {
		cmd.Flags().BoolVar(&hard, "hard", false, "power-cycle instead of a soft (guest) reboot")
	}
	a.addWait(cmd, &wait, until)
	return cmd
}

// eachServer calls call for every id concurrently, each with its own
// deadline, prints the servers that succeeded (in argument order) and
// reports the failures.
func (a *app) eachServer(ctx context.Context, ids []string, wait bool, call func(context.Context, canopyv1.ComputeServiceClient, string) (*canopyv1.Server, error)) error {
	c, err := a.compute(ctx)
	if err != nil {
		return err
	}
	results, errs := forEach(len(ids), func(i int) (*canopyv1.Server, error) {
		rctx, cancel := a.rpcCtx(ctx, wait)
		defer cancel()
		return call(rctx, c, ids[i])
	})

	if len(ids) == 1 {
		if errs[0] != nil {
			return errs[0]
		}
		if err := a.emit(results[0], func(w io.Writer) { serverRows(w, results, a.flavorNames(ctx, results)) }); err != nil {
			return err
		}
		if wait {
			return inError(results[0])
		}
		return nil
	}

	var ok []*canopyv1.Server
	failed := false
	for i, id := range ids {
		if errs[i] != nil {
			a.printError(id, errs[i])
			failed = true
			continue
		}
		ok = append(ok, results[i])
	}
	if len(ok) > 0 {
		if err := a.emit(&canopyv1.ListServersResponse{Servers: ok}, func(w io.Writer) { serverRows(w, ok, a.flavorNames(ctx, ok)) }); err != nil {
			return err
		}
	}
	if wait {
		for _, sv := range ok {
			if err := inError(sv); err != nil {
				a.printError("", err)
				failed = true
			}
		}
	}
	if failed {
		return errReported
	}
	return nil
}
