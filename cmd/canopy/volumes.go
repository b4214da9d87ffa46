package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
)

func (a *app) volumes(ctx context.Context) (canopyv1.VolumeServiceClient, error) {
	conn, err := a.dial(ctx)
	if err != nil {
		return nil, err
	}
	return canopyv1.NewVolumeServiceClient(conn), nil
}

const opHelp = `

Changes run as operations (see 'canopy operation'). Without --wait the
command prints the operation and returns at once; with --wait it returns when
the operation is done and prints the resource (or fails with the operation's
error). --request-id makes a retry safe: the same id returns the same
operation and never makes a second resource.`

// opFlags are the flags of every command that starts an operation.
type opFlags struct {
	wait      bool
	requestID string
}

func (a *app) addOpFlags(cmd *cobra.Command, f *opFlags, until string) {
	cmd.Flags().BoolVar(&f.wait, "wait", false, "wait until "+until)
	cmd.Flags().DurationVar(&a.waitTimeout, "wait-timeout", defaultWaitTimeout, "how long --wait may take")
	cmd.Flags().StringVar(&f.requestID, "request-id", "", "idempotency key: retrying with the same key returns the same operation")
}

func (a volumeCmds) volumeCmd() *cobra.Command {
	return group("volume", "Volumes: create, list, get, delete, extend, attach, detach, watch",
		a.volumeCreateCmd(), a.volumeListCmd(), a.volumeGetCmd(), a.volumeDeleteCmd(), a.volumeExtendCmd(),
		a.volumeAttachCmd(), a.volumeDetachCmd(), a.volumeWatchCmd())
}

func (a volumeCmds) volumeCreateCmd() *cobra.Command {
	var (
		loc                                      locFlags
		size                                     int64
		image, snapshot, volumeType, description string
		labels                                   []string
		of                                       opFlags
	)
	cmd := &cobra.Command{
		Use:   "create NAME (--size GiB | --image I | --snapshot S)",
		Short: "Create a volume",
		Long: `Create a volume: empty (--size), from an image (--image) or from a snapshot
(--snapshot, in the snapshot's cloud). On a cloud that cannot make a volume
from an image canopy records it at once (pending, emulated) and makes it when
a server boots from it ('canopy server create --boot-volume').` + opHelp,
		Example: "  canopy volume create data --size 10 --zone local-1a --wait\n" +
			"  canopy volume create root --image debian-12 --size 20\n" +
			"  canopy volume create copy --snapshot nightly --wait",
		Args: args(1, 1, "one volume NAME"),
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
			op, err := c.CreateVolume(ctx, &canopyv1.CreateVolumeRequest{Name: args[0], Location: loc.pb(), SizeGib: size, Image: image, Snapshot: snapshot,
				VolumeType: volumeType, Description: description, Labels: lm, Wait: of.wait, RequestId: of.requestID})
			if err != nil {
				return err
			}
			return a.finishOp(cmd.Context(), op)
		}),
	}
	f := cmd.Flags()
	f.Int64Var(&size, "size", 0, "size in GiB (required for an empty volume)")
	f.StringVar(&image, "image", "", "make it from this image (id or name)")
	f.StringVar(&snapshot, "snapshot", "", "make it from this snapshot (id or name)")
	f.StringVar(&volumeType, "type", "", "the cloud's volume type")
	f.StringVar(&description, "description", "", "a description")
	f.StringArrayVar(&labels, "label", nil, "label `key=value` to set (repeatable)")
	loc.add(cmd, "in", true)
	a.addOpFlags(cmd, &of, "the volume is ready")
	return cmd
}

func (a volumeCmds) volumeListCmd() *cobra.Command {
	var (
		lf     listFlags
		loc    locFlags
		name   string
		status string
		labels []string
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List volumes in every cloud",
		Long:  "List volumes in every cloud (or the one selected)." + listHelp,
		Args:  args(0, 0, "no arguments"),
		RunE: a.cmdRun(func(cmd *cobra.Command, _ []string) error {
			if err := lf.check(); err != nil {
				return err
			}
			st, err := parseStatus(status)
			if err != nil {
				return err
			}
			lm, err := parseLabels("label", labels)
			if err != nil {
				return err
			}
			c, err := a.volumes(cmd.Context())
			if err != nil {
				return err
			}
			req := &canopyv1.ListVolumesRequest{Location: loc.pb(), Name: name, Status: st, Labels: lm}
			all, errs, err := listAll(cmd.Context(), a.app, lf.limit, func(ctx context.Context, size int32, token string) (page[*canopyv1.Volume], error) {
				req.PageSize, req.PageToken = size, token
				r, err := c.ListVolumes(ctx, req)
				return page[*canopyv1.Volume]{items: r.GetVolumes(), next: r.GetNextPageToken(), errs: r.GetCloudErrors()}, err
			})
			if err != nil {
				return err
			}
			a.warnCloudErrors(errs)
			return a.emit(&canopyv1.ListVolumesResponse{Volumes: all, CloudErrors: errs}, func(w io.Writer) { volumeRows(w, all) })
		}),
	}
	lf.add(cmd)
	loc.add(cmd, "only", true)
	cmd.Flags().StringVar(&name, "name", "", "only volumes with this exact name")
	cmd.Flags().StringVar(&status, "status", "", statusFlagHelp)
	cmd.Flags().StringArrayVar(&labels, "label", nil, "only volumes with this label `key=value` (repeatable)")
	return cmd
}

func (a volumeCmds) volumeGetCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "get ID|NAME",
		Short: "Show one volume",
		Args:  args(1, 1, "one volume ID|NAME"),
		RunE: a.cmdRun(func(cmd *cobra.Command, args []string) error {
			c, err := a.volumes(cmd.Context())
			if err != nil {
				return err
			}
			ctx, cancel := a.rpcCtx(cmd.Context(), false)
			defer cancel()
			v, err := c.GetVolume(ctx, &canopyv1.GetVolumeRequest{Id: args[0]})
			if err != nil {
				return err
			}
			return a.emit(v, func(w io.Writer) { volumeDetails(w, v) })
		}),
	}
}

func (a volumeCmds) volumeDeleteCmd() *cobra.Command {
	var of opFlags
	cmd := &cobra.Command{
		Use:     "delete ID|NAME...",
		Aliases: []string{"rm"},
		Short:   "Delete volumes",
		Long:    "Delete volumes (detached, and on Cinder-like clouds without snapshots). Several are deleted one after another; a failure is printed and the others proceed." + opHelp,
		Args:    args(1, -1, "one or more volume ID|NAME"),
		RunE: a.cmdRun(func(cmd *cobra.Command, args []string) error {
			c, err := a.volumes(cmd.Context())
			if err != nil {
				return err
			}
			return a.eachOp(cmd.Context(), args, of, func(ctx context.Context, id, reqID string) (*canopyv1.Operation, error) {
				return c.DeleteVolume(ctx, &canopyv1.DeleteVolumeRequest{Id: id, Wait: of.wait, RequestId: reqID})
			})
		}),
	}
	a.addOpFlags(cmd, &of, "they are gone")
	return cmd
}

func (a volumeCmds) volumeExtendCmd() *cobra.Command {
	var (
		of   opFlags
		size int64
	)
	cmd := &cobra.Command{
		Use:   "extend ID|NAME --size GiB",
		Short: "Grow a volume",
		Long:  "Grow a volume to --size GiB." + opHelp,
		Args:  args(1, 1, "one volume ID|NAME"),
		RunE: a.cmdRun(func(cmd *cobra.Command, args []string) error {
			c, err := a.volumes(cmd.Context())
			if err != nil {
				return err
			}
			ctx, cancel := a.rpcCtx(cmd.Context(), of.wait)
			defer cancel()
			op, err := c.ExtendVolume(ctx, &canopyv1.ExtendVolumeRequest{Id: args[0], SizeGib: size, Wait: of.wait, RequestId: of.requestID})
			if err != nil {
				return err
			}
			return a.finishOp(cmd.Context(), op)
		}),
	}
	cmd.Flags().Int64Var(&size, "size", 0, "the new size in GiB (required)")
	_ = cmd.MarkFlagRequired("size")
	a.addOpFlags(cmd, &of, "it has grown")
	return cmd
}

func (a volumeCmds) volumeAttachCmd() *cobra.Command {
	var (
		of        opFlags
		server    string
		mountPath string
	)
	cmd := &cobra.Command{
		Use:   "attach ID|NAME --server S [--mount-path P]",
		Short: "Attach a volume to a server",
		Long: "Attach a volume to a server in the same cloud and zone. On a container cloud the server may be a container " +
			"(stopped: its mounts are fixed when it is created), and the volume is mounted at --mount-path (default /mnt/<volume name>)." + opHelp,
		Args:  args(1, 1, "one volume ID|NAME"),
		RunE: a.cmdRun(func(cmd *cobra.Command, args []string) error {
			c, err := a.volumes(cmd.Context())
			if err != nil {
				return err
			}
			ctx, cancel := a.rpcCtx(cmd.Context(), of.wait)
			defer cancel()
			op, err := c.AttachVolume(ctx, &canopyv1.AttachVolumeRequest{Id: args[0], Server: server, MountPath: mountPath, Wait: of.wait, RequestId: of.requestID})
			if err != nil {
				return err
			}
			return a.finishOp(cmd.Context(), op)
		}),
	}
	cmd.Flags().StringVar(&server, "server", "", "the server (id or name; required)")
	cmd.Flags().StringVar(&mountPath, "mount-path", "", "container clouds: where to mount the volume in the container (an absolute path)")
	_ = cmd.MarkFlagRequired("server")
	a.addOpFlags(cmd, &of, "it is attached")
	return cmd
}

func (a volumeCmds) volumeDetachCmd() *cobra.Command {
	var (
		of     opFlags
		server string
	)
	cmd := &cobra.Command{
		Use:   "detach ID|NAME [--server S]",
		Short: "Detach a volume from its server",
		Long:  "Detach a volume from its server (or from --server)." + opHelp,
		Args:  args(1, 1, "one volume ID|NAME"),
		RunE: a.cmdRun(func(cmd *cobra.Command, args []string) error {
			c, err := a.volumes(cmd.Context())
			if err != nil {
				return err
			}
			ctx, cancel := a.rpcCtx(cmd.Context(), of.wait)
			defer cancel()
			op, err := c.DetachVolume(ctx, &canopyv1.DetachVolumeRequest{Id: args[0], Server: server, Wait: of.wait, RequestId: of.requestID})
			if err != nil {
				return err
			}
			return a.finishOp(cmd.Context(), op)
		}),
	}
	cmd.Flags().StringVar(&server, "server", "", "the server to detach it from (id or name; default: the one it is attached to)")
	a.addOpFlags(cmd, &of, "it is detached")
	return cmd
}

// eachOp starts one operation per id, one after another, and prints them;
// a failure is printed and the others proceed (exit 1 at the end). With a
// request id, each gets "ID/N" so retries of the whole command stay safe.
func (a *app) eachOp(ctx context.Context, ids []string, of opFlags, call func(ctx context.Context, id, reqID string) (*canopyv1.Operation, error)) error {
	if len(ids) == 1 {
		rctx, cancel := a.rpcCtx(ctx, of.wait)
		defer cancel()
		op, err := call(rctx, ids[0], of.requestID)
		if err != nil {
			return err
		}
		return a.finishOp(ctx, op)
	}
	failed := false
	for i, id := range ids {
		reqID := ""
		if of.requestID != "" {
			reqID = fmt.Sprintf("%s/%d", of.requestID, i)
		}
		rctx, cancel := a.rpcCtx(ctx, of.wait)
		op, err := call(rctx, id, reqID)
		cancel()
		if err == nil {
			err = a.finishOp(ctx, op)
		}
		if err != nil {
			a.printError(id, err)
			failed = true
		}
	}
	if failed {
		return errReported
	}
	return nil
}

func volumeRows(w io.Writer, vs []*canopyv1.Volume) {
	rs := make([][]string, len(vs))
	for i, v := range vs {
		rs[i] = []string{v.GetId(), v.GetName(), statusWord(v.GetStatus()), gib(v.GetSizeGib()), v.GetLocation().GetCloud(),
			v.GetLocation().GetZone(), attachedTo(v), yesNo(v.GetEmulated())}
	}
	rows(w, []string{"ID", "NAME", "STATUS", "SIZE", "CLOUD", "ZONE", "ATTACHED TO", "EMULATED"}, rs)
}

func attachedTo(v *canopyv1.Volume) string {
	var out []string
	for _, at := range v.GetAttachments() {
		s := at.GetServerId()
		if at.GetDevice() != "" {
			s += " (" + at.GetDevice() + ")"
		}
		out = append(out, s)
	}
	return strings.Join(out, ", ")
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func volumeDetails(w io.Writer, v *canopyv1.Volume) {
	details(w, []field{
		{"ID", v.GetId()}, {"Name", v.GetName()}, {"Status", statusWithRaw(v.GetStatus(), v.GetProviderStatus())},
		{"Message", v.GetStatusMessage()}, {"Cloud", v.GetLocation().GetCloud()}, {"Region", v.GetLocation().GetRegion()},
		{"Zone", v.GetLocation().GetZone()}, {"Size", gib(v.GetSizeGib())}, {"Type", v.GetVolumeType()},
		{"Description", v.GetDescription()}, {"Image", v.GetImageId()}, {"Snapshot", v.GetSnapshotId()}, {"Backup", v.GetBackupId()},
		{"Attached to", attachedTo(v)}, {"Bootable", yesNo(v.GetBootable())}, {"Emulated", yesNo(v.GetEmulated())},
		{"Labels", kv(v.GetLabels())}, {"Created", when(v.GetCreateTime())}, {"Updated", when(v.GetUpdateTime())},
		{"Native ID", v.GetNativeId()}, {"Properties", kv(v.GetProperties())},
	})
}
