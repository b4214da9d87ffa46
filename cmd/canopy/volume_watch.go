package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
)

func (a *app) volumeWatchCmd() *cobra.Command {
	var (
		loc    locFlags
		name   string
		labels []string
		ids    []string
		count  int
	)
	cmd := &cobra.Command{
		Use:   "watch [--cloud C] [--name N] [--label k=v]... [--id ID]...",
		Short: "Stream volume changes as they happen",
		Long: `Print every matching volume as it is now, then every change (status, size,
attachments, labels) and every deletion, until interrupted or --count events.

The stream is fed by the batched poller canopyd's operations wait with, so
watching costs the clouds nothing beyond one list per poll interval. With
-o json each event is one JSON object per line; with -o yaml, one YAML
document per event.`,
		Example: "  canopy volume watch\n  canopy volume watch --label app=db -o json | jq .volume.status",
		Args:    args(0, 0, "no arguments"),
		RunE: a.cmdRun(func(cmd *cobra.Command, _ []string) error {
			if count < 0 {
				return usageErrorf("--count must not be negative, got %d", count)
			}
			lm, err := parseLabels("label", labels)
			if err != nil {
				return err
			}
			c, err := a.volumes(cmd.Context())
			if err != nil {
				return err
			}
			stream, err := c.WatchVolumes(cmd.Context(), &canopyv1.WatchVolumesRequest{Location: loc.pb(), Name: name, Labels: lm, Ids: ids})
			if err != nil {
				return err
			}
			if a.output == "table" {
				fmt.Fprintf(a.stdout, "%-12s  %-11s  %-36s  %-20s  %-9s  %-7s  %s\n", "TIME", "EVENT", "ID", "NAME", "STATUS", "SIZE", "CLOUD")
			}
			for n := 0; count == 0 || n < count; n++ {
				ev, err := stream.Recv()
				if err != nil {
					if cmd.Context().Err() != nil {
						return nil // interrupted: a normal end
					}
					return err
				}
				if err := a.emitVolumeEvent(ev); err != nil {
					return err
				}
			}
			return nil
		}),
	}
	loc.add(cmd, "only in", true)
	cmd.Flags().StringVar(&name, "name", "", "only volumes with this name")
	cmd.Flags().StringArrayVar(&labels, "label", nil, "only volumes with this label (k=v; repeatable)")
	cmd.Flags().StringArrayVar(&ids, "id", nil, "only this volume id (repeatable)")
	cmd.Flags().IntVar(&count, "count", 0, "stop after this many events (0: until interrupted)")
	return cmd
}

// emitVolumeEvent prints one volume watch event.
func (a *app) emitVolumeEvent(ev *canopyv1.WatchVolumesResponse) error {
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
	typ := strings.ToLower(strings.TrimPrefix(ev.Type.String(), "EVENT_TYPE_"))
	now := time.Now().Format("15:04:05.000")
	switch {
	case ev.Volume != nil:
		v := ev.Volume
		fmt.Fprintf(a.stdout, "%-12s  %-11s  %-36s  %-20s  %-9s  %-7s  %s\n", now, typ, v.Id, v.Name, statusWord(v.Status), gib(v.SizeGib), v.Location.GetCloud())
	case ev.CloudError != nil:
		fmt.Fprintf(a.stdout, "%-12s  %-11s  cloud %s: %s\n", now, typ, ev.CloudError.Cloud, ev.CloudError.Message)
	default:
		fmt.Fprintf(a.stdout, "%-12s  %s\n", now, typ)
	}
	return nil
}
