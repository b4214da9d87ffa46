package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
)

// watchMsg is one event of a Watch stream (WatchServersResponse,
// WatchVolumesResponse).
type watchMsg interface {
	proto.Message
	GetCloudError() *canopyv1.CloudError
}

// watchFilters are the flags every watch command takes.
type watchFilters struct {
	loc    *canopyv1.Location
	name   string
	labels map[string]string
	ids    []string
}

// watchSpec is what one watch command says of its kind; the command, its
// flags and its output are watchCmd's.
type watchSpec[E watchMsg] struct {
	kind                 string // "server", "volume"
	short, long, example string
	// open starts the stream and returns its receive function.
	open func(ctx context.Context, f watchFilters) (func() (E, error), error)
	// typ is an event's type name (EVENT_TYPE_ADDED, ...).
	typ func(E) string
	// header and row are the table's; row is false for an event without
	// a resource.
	header []any
	format string
	row    func(E) ([]any, bool)
}

// watchCmd builds a watch command: every matching resource as it is now,
// then every change, until interrupted or --count events.
func watchCmd[E watchMsg](a *app, w watchSpec[E]) *cobra.Command {
	var (
		loc    locFlags
		name   string
		labels []string
		ids    []string
		count  int
	)
	cmd := &cobra.Command{
		Use:     "watch [--cloud C] [--name N] [--label k=v]... [--id ID]...",
		Short:   w.short,
		Long:    w.long,
		Example: w.example,
		Args:    args(0, 0, "no arguments"),
		RunE: a.cmdRun(func(cmd *cobra.Command, _ []string) error {
			if count < 0 {
				return usageErrorf("--count must not be negative, got %d", count)
			}
			lm, err := parseLabels("label", labels)
			if err != nil {
				return err
			}
			recv, err := w.open(cmd.Context(), watchFilters{loc: loc.pb(), name: name, labels: lm, ids: ids})
			if err != nil {
				return err
			}
			if a.output == "table" {
				fmt.Fprintf(a.stdout, w.format, w.header...)
			}
			for n := 0; count == 0 || n < count; n++ {
				ev, err := recv()
				if err != nil {
					if cmd.Context().Err() != nil {
						return nil // interrupted: a normal end
					}
					return err
				}
				if err := emitWatchEvent(a, w, ev); err != nil {
					return err
				}
			}
			return nil
		}),
	}
	loc.add(cmd, "only in", true)
	cmd.Flags().StringVar(&name, "name", "", "only "+w.kind+"s with this name")
	cmd.Flags().StringArrayVar(&labels, "label", nil, "only "+w.kind+"s with this label (k=v; repeatable)")
	cmd.Flags().StringArrayVar(&ids, "id", nil, "only this "+w.kind+" id (repeatable)")
	cmd.Flags().IntVar(&count, "count", 0, "stop after this many events (0: until interrupted)")
	return cmd
}

// emitWatchEvent prints one watch event: a table row, a JSON line or a
// YAML doc.
func emitWatchEvent[E watchMsg](a *app, w watchSpec[E], ev E) error {
	switch a.output {
	case "json":
		raw, err := jsonOpts.Marshal(ev)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(a.stdout, "%s\n", raw)
		return err
	case "yaml":
		fmt.Fprintln(a.stdout, "---")
		return a.emit(ev, nil)
	}
	typ := strings.ToLower(strings.TrimPrefix(w.typ(ev), "EVENT_TYPE_"))
	now := time.Now().Format("15:04:05.000")
	if cols, ok := w.row(ev); ok {
		fmt.Fprintf(a.stdout, w.format, append([]any{now, typ}, cols...)...)
		return nil
	}
	if ce := ev.GetCloudError(); ce != nil {
		fmt.Fprintf(a.stdout, "%-12s  %-11s  cloud %s: %s\n", now, typ, ce.Cloud, ce.Message)
		return nil
	}
	fmt.Fprintf(a.stdout, "%-12s  %s\n", now, typ)
	return nil
}

func (a serverCmds) serverWatchCmd() *cobra.Command {
	return watchCmd(a.app, watchSpec[*canopyv1.WatchServersResponse]{
		kind:  "server",
		short: "Stream server changes as they happen",
		long: `Print every matching server as it is now, then every change (status, name,
labels, addresses) and every deletion, until interrupted or --count events.

The stream is fed by canopyd's batched poller, so watching costs the clouds
nothing beyond one list per poll interval. With -o json each event is one
JSON object per line; with -o yaml, one YAML document per event.`,
		example: "  canopy server watch\n  canopy server watch --label app=web -o json | jq .server.status",
		open: func(ctx context.Context, f watchFilters) (func() (*canopyv1.WatchServersResponse, error), error) {
			c, err := a.compute(ctx)
			if err != nil {
				return nil, err
			}
			stream, err := c.WatchServers(ctx, &canopyv1.WatchServersRequest{Location: f.loc, Name: f.name, Labels: f.labels, Ids: f.ids})
			if err != nil {
				return nil, err
			}
			return stream.Recv, nil
		},
		typ:    func(ev *canopyv1.WatchServersResponse) string { return ev.Type.String() },
		format: "%-12s  %-11s  %-36s  %-20s  %-9s  %s\n",
		header: []any{"TIME", "EVENT", "ID", "NAME", "STATUS", "CLOUD"},
		row: func(ev *canopyv1.WatchServersResponse) ([]any, bool) {
			sv := ev.Server
			if sv == nil {
				return nil, false
			}
			return []any{sv.Id, sv.Name, statusWord(sv.Status), sv.Location.GetCloud()}, true
		},
	})
}

func (a volumeCmds) volumeWatchCmd() *cobra.Command {
	return watchCmd(a.app, watchSpec[*canopyv1.WatchVolumesResponse]{
		kind:  "volume",
		short: "Stream volume changes as they happen",
		long: `Print every matching volume as it is now, then every change (status, size,
attachments, labels) and every deletion, until interrupted or --count events.

The stream is fed by the batched poller canopyd's operations wait with, so
watching costs the clouds nothing beyond one list per poll interval. With
-o json each event is one JSON object per line; with -o yaml, one YAML
document per event.`,
		example: "  canopy volume watch\n  canopy volume watch --label app=db -o json | jq .volume.status",
		open: func(ctx context.Context, f watchFilters) (func() (*canopyv1.WatchVolumesResponse, error), error) {
			c, err := a.volumes(ctx)
			if err != nil {
				return nil, err
			}
			stream, err := c.WatchVolumes(ctx, &canopyv1.WatchVolumesRequest{Location: f.loc, Name: f.name, Labels: f.labels, Ids: f.ids})
			if err != nil {
				return nil, err
			}
			return stream.Recv, nil
		},
		typ:    func(ev *canopyv1.WatchVolumesResponse) string { return ev.Type.String() },
		format: "%-12s  %-11s  %-36s  %-20s  %-9s  %-7s  %s\n",
		header: []any{"TIME", "EVENT", "ID", "NAME", "STATUS", "SIZE", "CLOUD"},
		row: func(ev *canopyv1.WatchVolumesResponse) ([]any, bool) {
			v := ev.Volume
			if v == nil {
				return nil, false
			}
			return []any{v.Id, v.Name, statusWord(v.Status), gib(v.SizeGib), v.Location.GetCloud()}, true
		},
	})
}
