package main

import (
	"context"
	"io"

	"github.com/spf13/cobra"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
)

// Snapshots and backups share their shape: a copy of a volume.

func (a copyCmds) snapshotCmd() *cobra.Command {
	return group("snapshot", "Volume snapshots: create, list, get, delete",
		a.copyCreateCmd("snapshot"), a.snapshotListCmd(), a.snapshotGetCmd(), a.copyDeleteCmd("snapshot"))
}

func (a copyCmds) backupCmd() *cobra.Command {
	return group("backup", "Volume backups: create, list, get, delete, restore",
		a.copyCreateCmd("backup"), a.backupListCmd(), a.backupGetCmd(), a.copyDeleteCmd("backup"), a.backupRestoreCmd())
}

const emulatedCopyHelp = `

On a cloud without %ss canopy emulates them: it copies the volume's data
into its own store and marks the %s emulated. A cloud whose volume data
canopy cannot read either refuses with FAILED_PRECONDITION naming the cloud
and the capability.`

func (a copyCmds) copyCreateCmd(what string) *cobra.Command {
	var (
		of                  opFlags
		volume, description string
		labels              []string
	)
	cmd := &cobra.Command{
		Use:   "create NAME --volume V",
		Short: "Create a " + what + " of a volume",
		Long:  "Create a " + what + " of a volume." + sprintf(emulatedCopyHelp, what, what) + opHelp,
		Args:  args(1, 1, "one "+what+" NAME"),
		RunE: a.cmdRun(func(cmd *cobra.Command, args []string) error {
			lm, err := parseLabels("label", labels)
			if err != nil {
				return err
			}
			c, err := a.volumes(cmd.Context())
			if err != nil {
				return err
			}
			ctx, cancel := a.rpcCtx(cmd.Context(), of.wait)
			defer cancel()
			var op *canopyv1.Operation
			if what == "snapshot" {
				op, err = c.CreateSnapshot(ctx, &canopyv1.CreateSnapshotRequest{Name: args[0], Volume: volume, Description: description, Labels: lm, Wait: of.wait, RequestId: of.requestID})
			} else {
				op, err = c.CreateBackup(ctx, &canopyv1.CreateBackupRequest{Name: args[0], Volume: volume, Description: description, Labels: lm, Wait: of.wait, RequestId: of.requestID})
			}
			if err != nil {
				return err
			}
			return a.finishOp(cmd.Context(), op)
		}),
	}
	cmd.Flags().StringVar(&volume, "volume", "", "the volume (id or name; required)")
	cmd.Flags().StringVar(&description, "description", "", "a description")
	cmd.Flags().StringArrayVar(&labels, "label", nil, "label `key=value` to set (repeatable)")
	_ = cmd.MarkFlagRequired("volume")
	a.addOpFlags(cmd, &of, "the "+what+" is ready")
	return cmd
}

func (a copyCmds) copyDeleteCmd(what string) *cobra.Command {
	var of opFlags
	cmd := &cobra.Command{
		Use:     "delete ID|NAME...",
		Aliases: []string{"rm"},
		Short:   "Delete " + what + "s",
		Long:    "Delete " + what + "s, one after another; a failure is printed and the others proceed." + opHelp,
		Args:    args(1, -1, "one or more "+what+" ID|NAME"),
		RunE: a.cmdRun(func(cmd *cobra.Command, args []string) error {
			c, err := a.volumes(cmd.Context())
			if err != nil {
				return err
			}
			return a.eachOp(cmd.Context(), args, of, func(ctx context.Context, id, reqID string) (*canopyv1.Operation, error) {
				if what == "snapshot" {
					return c.DeleteSnapshot(ctx, &canopyv1.DeleteSnapshotRequest{Id: id, Wait: of.wait, RequestId: reqID})
				}
				return c.DeleteBackup(ctx, &canopyv1.DeleteBackupRequest{Id: id, Wait: of.wait, RequestId: reqID})
			})
		}),
	}
	a.addOpFlags(cmd, &of, "they are gone")
	return cmd
}

// copyListFlags are a snapshot or backup list's flags.
type copyListFlags struct {
	lf     listFlags
	loc    locFlags
	name   string
	volume string
	labels []string
}

func (f *copyListFlags) add(cmd *cobra.Command, what string) {
	f.lf.add(cmd)
	f.loc.add(cmd, "only", true)
	cmd.Flags().StringVar(&f.name, "name", "", "only "+what+"s with this exact name")
	cmd.Flags().StringVar(&f.volume, "volume", "", "only "+what+"s of this volume (canopy id)")
	cmd.Flags().StringArrayVar(&f.labels, "label", nil, "only "+what+"s with this label `key=value` (repeatable)")
}

func (a copyCmds) snapshotListCmd() *cobra.Command {
	var f copyListFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List snapshots in every cloud",
		Long:  "List snapshots in every cloud (or the one selected)." + listHelp,
		Args:  args(0, 0, "no arguments"),
		RunE: a.cmdRun(func(cmd *cobra.Command, _ []string) error {
			if err := f.lf.check(); err != nil {
				return err
			}
			lm, err := parseLabels("label", f.labels)
			if err != nil {
				return err
			}
			c, err := a.volumes(cmd.Context())
			if err != nil {
				return err
			}
			req := &canopyv1.ListSnapshotsRequest{Location: f.loc.pb(), Name: f.name, VolumeId: f.volume, Labels: lm}
			all, errs, err := listAll(cmd.Context(), a.app, f.lf.limit, func(ctx context.Context, size int32, token string) (page[*canopyv1.Snapshot], error) {
				req.PageSize, req.PageToken = size, token
				r, err := c.ListSnapshots(ctx, req)
				return page[*canopyv1.Snapshot]{items: r.GetSnapshots(), next: r.GetNextPageToken(), errs: r.GetCloudErrors()}, err
			})
			if err != nil {
				return err
			}
			a.warnCloudErrors(errs)
			return a.emit(&canopyv1.ListSnapshotsResponse{Snapshots: all, CloudErrors: errs}, func(w io.Writer) {
				rs := make([][]string, len(all))
				for i, s := range all {
					rs[i] = copyRow(s.GetId(), s.GetName(), s.GetStatus(), s.GetSizeGib(), s.GetVolumeId(), s.GetLocation(), s.GetEmulated())
				}
				rows(w, copyHeader, rs)
			})
		}),
	}
	f.add(cmd, "snapshot")
	return cmd
}

func (a copyCmds) backupListCmd() *cobra.Command {
	var f copyListFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List backups in every cloud",
		Long:  "List backups in every cloud (or the one selected)." + listHelp,
		Args:  args(0, 0, "no arguments"),
		RunE: a.cmdRun(func(cmd *cobra.Command, _ []string) error {
			if err := f.lf.check(); err != nil {
				return err
			}
			lm, err := parseLabels("label", f.labels)
			if err != nil {
				return err
			}
			c, err := a.volumes(cmd.Context())
			if err != nil {
				return err
			}
			req := &canopyv1.ListBackupsRequest{Location: f.loc.pb(), Name: f.name, VolumeId: f.volume, Labels: lm}
			all, errs, err := listAll(cmd.Context(), a.app, f.lf.limit, func(ctx context.Context, size int32, token string) (page[*canopyv1.Backup], error) {
				req.PageSize, req.PageToken = size, token
				r, err := c.ListBackups(ctx, req)
				return page[*canopyv1.Backup]{items: r.GetBackups(), next: r.GetNextPageToken(), errs: r.GetCloudErrors()}, err
			})
			if err != nil {
				return err
			}
			a.warnCloudErrors(errs)
			return a.emit(&canopyv1.ListBackupsResponse{Backups: all, CloudErrors: errs}, func(w io.Writer) {
				rs := make([][]string, len(all))
				for i, b := range all {
					rs[i] = copyRow(b.GetId(), b.GetName(), b.GetStatus(), b.GetSizeGib(), b.GetVolumeId(), b.GetLocation(), b.GetEmulated())
				}
				rows(w, copyHeader, rs)
			})
		}),
	}
	f.add(cmd, "backup")
	return cmd
}

var copyHeader = []string{"ID", "NAME", "STATUS", "SIZE", "VOLUME", "CLOUD", "EMULATED"}

func copyRow(id, name string, st canopyv1.Status, size int64, volume string, loc *canopyv1.Location, emulated bool) []string {
	return []string{id, name, statusWord(st), gib(size), volume, loc.GetCloud(), yesNo(emulated)}
}

func (a copyCmds) snapshotGetCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "get ID|NAME",
		Short: "Show one snapshot",
		Args:  args(1, 1, "one snapshot ID|NAME"),
		RunE: a.cmdRun(func(cmd *cobra.Command, args []string) error {
			c, err := a.volumes(cmd.Context())
			if err != nil {
				return err
			}
			ctx, cancel := a.rpcCtx(cmd.Context(), false)
			defer cancel()
			s, err := c.GetSnapshot(ctx, &canopyv1.GetSnapshotRequest{Id: args[0]})
			if err != nil {
				return err
			}
			return a.emit(s, func(w io.Writer) { snapshotDetails(w, s) })
		}),
	}
}

func (a copyCmds) backupGetCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "get ID|NAME",
		Short: "Show one backup",
		Args:  args(1, 1, "one backup ID|NAME"),
		RunE: a.cmdRun(func(cmd *cobra.Command, args []string) error {
			c, err := a.volumes(cmd.Context())
			if err != nil {
				return err
			}
			ctx, cancel := a.rpcCtx(cmd.Context(), false)
			defer cancel()
			b, err := c.GetBackup(ctx, &canopyv1.GetBackupRequest{Id: args[0]})
			if err != nil {
				return err
			}
			return a.emit(b, func(w io.Writer) { backupDetails(w, b) })
		}),
	}
}

func (a copyCmds) backupRestoreCmd() *cobra.Command {
	var (
		of         opFlags
		name, zone string
		size       int64
		labels     []string
	)
	cmd := &cobra.Command{
		Use:   "restore ID|NAME --name NEW",
		Short: "Restore a backup into a new volume",
		Long:  "Restore a backup into a new volume in the backup's cloud." + opHelp,
		Args:  args(1, 1, "one backup ID|NAME"),
		RunE: a.cmdRun(func(cmd *cobra.Command, args []string) error {
			lm, err := parseLabels("label", labels)
			if err != nil {
				return err
			}
			c, err := a.volumes(cmd.Context())
			if err != nil {
				return err
			}
			ctx, cancel := a.rpcCtx(cmd.Context(), of.wait)
			defer cancel()
			op, err := c.RestoreBackup(ctx, &canopyv1.RestoreBackupRequest{Id: args[0], Name: name, Zone: zone, SizeGib: size, Labels: lm, Wait: of.wait, RequestId: of.requestID})
			if err != nil {
				return err
			}
			return a.finishOp(cmd.Context(), op)
		}),
	}
	cmd.Flags().StringVar(&name, "name", "", "the new volume's name (required)")
	cmd.Flags().StringVar(&zone, "zone", "", "its zone (in the backup's cloud)")
	cmd.Flags().Int64Var(&size, "size", 0, "its size in GiB (default: the backup's)")
	cmd.Flags().StringArrayVar(&labels, "label", nil, "label `key=value` to set (repeatable)")
	_ = cmd.MarkFlagRequired("name")
	a.addOpFlags(cmd, &of, "the volume is ready")
	return cmd
}

func snapshotDetails(w io.Writer, s *canopyv1.Snapshot) {
	details(w, []field{
		{"ID", s.GetId()}, {"Name", s.GetName()}, {"Status", statusWithRaw(s.GetStatus(), s.GetProviderStatus())},
		{"Message", s.GetStatusMessage()}, {"Cloud", s.GetLocation().GetCloud()}, {"Zone", s.GetLocation().GetZone()},
		{"Volume", s.GetVolumeId()}, {"Size", gib(s.GetSizeGib())}, {"Description", s.GetDescription()}, {"Emulated", yesNo(s.GetEmulated())},
		{"Labels", kv(s.GetLabels())}, {"Created", when(s.GetCreateTime())}, {"Native ID", s.GetNativeId()}, {"Properties", kv(s.GetProperties())},
	})
}

func backupDetails(w io.Writer, b *canopyv1.Backup) {
	details(w, []field{
		{"ID", b.GetId()}, {"Name", b.GetName()}, {"Status", statusWithRaw(b.GetStatus(), b.GetProviderStatus())},
		{"Message", b.GetStatusMessage()}, {"Cloud", b.GetLocation().GetCloud()}, {"Zone", b.GetLocation().GetZone()},
		{"Volume", b.GetVolumeId()}, {"Size", gib(b.GetSizeGib())}, {"Description", b.GetDescription()}, {"Emulated", yesNo(b.GetEmulated())},
		{"Labels", kv(b.GetLabels())}, {"Created", when(b.GetCreateTime())}, {"Native ID", b.GetNativeId()}, {"Properties", kv(b.GetProperties())},
	})
}
