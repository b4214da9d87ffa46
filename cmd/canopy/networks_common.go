package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
)

// The six networking kinds (network, subnet, port, router, security group,
// floating IP) share one shape: create as an operation, list with paging
// and cloud errors, get by id or name, delete as an operation. That shape
// is written once here; each kind's file supplies its flags, its request
// and its table.

func (a *app) networking(ctx context.Context) (canopyv1.NetworkServiceClient, error) {
	conn, err := a.dial(ctx)
	if err != nil {
		return nil, err
	}
	return canopyv1.NewNetworkServiceClient(conn), nil
}

// startOp runs one call that starts an operation and prints it (or, with
// --wait, what it left).
func (a netCmds) startOp(cmd *cobra.Command, of opFlags, call func(ctx context.Context, c canopyv1.NetworkServiceClient) (*canopyv1.Operation, error)) error {
	c, err := a.networking(cmd.Context())
	if err != nil {
		return err
	}
	ctx, cancel := a.rpcCtx(cmd.Context(), of.wait)
	defer cancel()
	op, err := call(ctx, c)
	if err != nil {
		return err
	}
	return a.finishOp(cmd.Context(), op)
}

// change runs one call that changes a resource at once (a router's
// gateway, a group's rules, a floating IP's association) and shows the
// resource it answers with.
func change[T proto.Message](a netCmds, cmd *cobra.Command, call func(ctx context.Context, c canopyv1.NetworkServiceClient) (T, error), show func(io.Writer, T)) error {
	c, err := a.networking(cmd.Context())
	if err != nil {
		return err
	}
	ctx, cancel := a.rpcCtx(cmd.Context(), false)
	defer cancel()
	x, err := call(ctx, c)
	if err != nil {
		return err
	}
	return a.emit(x, func(w io.Writer) { show(w, x) })
}

// netGetCmd is `canopy KIND get ID|NAME`.
func netGetCmd[T proto.Message](a netCmds, what, ref string, get func(ctx context.Context, c canopyv1.NetworkServiceClient, id string) (T, error), show func(io.Writer, T)) *cobra.Command {
	return &cobra.Command{
		Use:   "get " + ref,
		Short: "Show one " + what,
		Args:  args(1, 1, "one "+what+" "+ref),
		RunE: a.cmdRun(func(cmd *cobra.Command, args []string) error {
			return change(a, cmd, func(ctx context.Context, c canopyv1.NetworkServiceClient) (T, error) {
				return get(ctx, c, args[0])
			}, show)
		}),
	}
}

// netDeleteCmd is `canopy KIND delete ID|NAME...` (or `fip release`).
func netDeleteCmd(a netCmds, verb, what, ref, long string, del func(ctx context.Context, c canopyv1.NetworkServiceClient, id string, wait bool, reqID string) (*canopyv1.Operation, error)) *cobra.Command {
	var of opFlags
	cmd := &cobra.Command{
		Use:   verb + " " + ref + "...",
		Short: fmt.Sprintf("%s %ss", capitalize(verb), what),
		Long: long + ` Several are handled concurrently; a failure is printed and
the others proceed (exit 1 at the end). With -o json/yaml one prints as its
operation, several as {"operations": [...]}.` + opHelp,
		Args: args(1, -1, "one or more "+what+" "+ref),
		RunE: a.cmdRun(func(cmd *cobra.Command, args []string) error {
			c, err := a.networking(cmd.Context())
			if err != nil {
				return err
			}
			return a.fanOutOps(cmd.Context(), args, of, func(ctx context.Context, id, reqID string) (*canopyv1.Operation, error) {
				return del(ctx, c, id, of.wait, reqID)
			})
		}),
	}
	if verb == "delete" {
		cmd.Aliases = []string{"rm"}
	}
	a.addOpFlags(cmd, &of, "they are gone")
	return cmd
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}

// fanOutOps starts one operation per id, concurrently (forEach), and prints
// them in argument order: one as finishOp does, several as a table of
// operations. Failures (a refused call, or with --wait an operation that
// failed) are printed and the others proceed (exit 1 at the end). With a
// request id, each gets "ID/N" so a retry of the whole command stays safe.
func (a *app) fanOutOps(ctx context.Context, ids []string, of opFlags, call func(ctx context.Context, id, reqID string) (*canopyv1.Operation, error)) error {
	if len(ids) == 1 {
		rctx, cancel := a.rpcCtx(ctx, of.wait)
		defer cancel()
		op, err := call(rctx, ids[0], of.requestID)
		if err != nil {
			return err
		}
		return a.finishOp(ctx, op)
	}
	ops, errs := forEach(len(ids), func(i int) (*canopyv1.Operation, error) {
		reqID := ""
		if of.requestID != "" {
			reqID = fmt.Sprintf("%s/%d", of.requestID, i)
		}
		rctx, cancel := a.rpcCtx(ctx, of.wait)
		defer cancel()
		return call(rctx, ids[i], reqID)
	})
	var started []*canopyv1.Operation
	failed := false
	for i, id := range ids {
		if errs[i] != nil {
			a.printError(id, errs[i])
			failed = true
			continue
		}
		started = append(started, ops[i])
	}
	if len(started) > 0 {
		if err := a.emit(&canopyv1.ListOperationsResponse{Operations: started}, func(w io.Writer) { operationRows(w, started) }); err != nil {
			return err
		}
	}
	for _, op := range started {
		if err := opError(op); err != nil {
			a.printError("", err)
			failed = true
		}
	}
	if failed {
		return errReported
	}
	return nil
}

// netFilters are the flags every networking list takes: a cloud (and
// region, and zone for kinds that live in one), a name, labels.
type netFilters struct {
	lf     listFlags
	loc    locFlags
	name   string
	labels []string
	// lm is labels parsed, for the request.
	lm map[string]string
}

// netListCmd is `canopy KIND list`: fetch builds the kind's request from
// the filters (and from flags of its own the caller adds to the command);
// out wraps what all pages returned for json/yaml and the table.
func netListCmd[T any](a netCmds, plural string, zone, byName bool, fetch func(ctx context.Context, c canopyv1.NetworkServiceClient, f *netFilters, size int32, token string) (page[T], error),
	out func(ctx context.Context, all []T, errs []*canopyv1.CloudError) (proto.Message, func(io.Writer))) *cobra.Command {
	var f netFilters
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List " + plural + " in every cloud",
		Long:  "List " + plural + " in every cloud (or the one selected)." + listHelp,
		Args:  args(0, 0, "no arguments"),
		RunE: a.cmdRun(func(cmd *cobra.Command, _ []string) error {
			if err := f.lf.check(); err != nil {
				return err
			}
			var err error
			if f.lm, err = parseLabels("label", f.labels); err != nil {
				return err
			}
			c, err := a.networking(cmd.Context())
			if err != nil {
				return err
			}
			all, errs, err := listAll(cmd.Context(), a.app, f.lf.limit, func(ctx context.Context, size int32, token string) (page[T], error) {
				return fetch(ctx, c, &f, size, token)
			})
			if err != nil {
				return err
			}
			a.warnCloudErrors(errs)
			m, table := out(cmd.Context(), all, errs)
			return a.emit(m, table)
		}),
	}
	f.lf.add(cmd)
	f.loc.add(cmd, "only", zone)
	if byName {
		cmd.Flags().StringVar(&f.name, "name", "", "only "+plural+" with this exact name")
	}
	cmd.Flags().StringArrayVar(&f.labels, "label", nil, "only "+plural+" with this label `key=value` (repeatable)")
	return cmd
}

// networkNames maps network ids to names, for the NETWORK columns: one
// list (canopyd caches it). On any error the columns show ids.
func (a *app) networkNames(ctx context.Context) map[string]string {
	c, err := a.networking(ctx)
	if err != nil {
		return nil
	}
	req := &canopyv1.ListNetworksRequest{}
	all, _, err := listAll(ctx, a, 0, func(ctx context.Context, size int32, token string) (page[*canopyv1.Network], error) {
		req.PageSize, req.PageToken = size, token
		r, err := c.ListNetworks(ctx, req)
		return page[*canopyv1.Network]{items: r.GetNetworks(), next: r.GetNextPageToken()}, err
	})
	if err != nil {
		return nil
	}
	names := make(map[string]string, len(all))
	for _, n := range all {
		names[n.GetId()] = n.GetName()
	}
	return names
}

// named is a network's name when known, else its id.
func named(names map[string]string, id string) string {
	if n := names[id]; n != "" {
		return n
	}
	return id
}
