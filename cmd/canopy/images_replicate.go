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

func (a imageCmds) imageReplicateCmd() *cobra.Command {
	var (
		of     opFlags
		clouds []string
	)
	cmd := &cobra.Command{
		Use:   "replicate ID|NAME --cloud C...",
		Short: "Place an image in more clouds (converted to the format each takes)",
		Long: "Place an image in more clouds: its bytes stream from the cloud it is in to each target, converted\n" +
			"with qemu-img where the target takes another disk format; a target that already holds the same\n" +
			"content (sha256) is reused with no bytes moved. With --wait, each cloud's progress is shown." + opHelp,
		Example: "  canopy image replicate my-image --cloud aws --cloud os --wait",
		Args:    args(1, 1, "one image ID|NAME"),
		RunE: a.cmdRun(func(cmd *cobra.Command, args []string) error {
			if len(clouds) == 0 {
				return usageErrorf("give the target clouds with --cloud (repeatable)")
			}
			c, err := a.imageTransfer(cmd.Context())
			if err != nil {
				return err
			}
			ctx, cancel := a.rpcCtx(cmd.Context(), false)
			op, err := c.ReplicateImage(ctx, &canopyv1.ReplicateImageRequest{Image: args[0], Clouds: clouds, RequestId: of.requestID})
			cancel()
			if err != nil {
				return err
			}
			if of.wait && !op.Done {
				if op, err = a.followStages(cmd.Context(), op); err != nil {
					return err
				}
			}
			return a.finishOp(cmd.Context(), op)
		}),
	}
	cmd.Flags().StringArrayVar(&clouds, "cloud", nil, "a target `cloud` (repeatable; required)")
	a.addOpFlags(cmd, &of, "every cloud has the image")
	return cmd
}

// followStages waits for an operation, printing its stages' progress to
// stderr (when it is a terminal) as they change.
func (a imageCmds) followStages(ctx context.Context, op *canopyv1.Operation) (*canopyv1.Operation, error) {
	ops, err := a.operations(ctx)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, a.waitTimeout)
	defer cancel()
	last := ""
	for !op.Done {
		if line := stagesLine(op.GetMetadata().GetStages()); line != last && a.stderrTerm {
			fmt.Fprintf(a.stderr, "\r\033[K%s", line)
			last = line
		}
		wctx, wcancel := context.WithTimeout(ctx, 3*time.Second)
		got, err := ops.WaitOperation(wctx, &canopyv1.WaitOperationRequest{Id: op.Id, Timeout: durationpb.New(time.Second)})
		wcancel()
		switch {
		case err == nil:
			op = got
		case ctx.Err() != nil:
			return op, nil // not done within --wait-timeout: shown as it is
		default:
			return nil, err
		}
	}
	if last != "" {
		fmt.Fprintln(a.stderr)
	}
	return op, nil
}

// stagesLine is the stages in one line: "aws uploading 12.0 MiB/1.0 GiB · os done".
func stagesLine(stages []*canopyv1.OperationStage) string {
	parts := make([]string, 0, len(stages))
	for _, s := range stages {
		p := strings.TrimPrefix(s.GetName(), "replicate:") + " " + s.GetState()
		if s.GetBytesTotal() > 0 {
			p += " " + byteSize(s.GetBytesDone()) + "/" + byteSize(s.GetBytesTotal())
		} else if s.GetBytesDone() > 0 {
			p += " " + byteSize(s.GetBytesDone())
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, " · ")
}

func (a imageCmds) imagePlacementsCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "placements ID|NAME",
		Short: "Show the clouds an image is in: where it was uploaded and its replicas",
		Args:  args(1, 1, "one image ID|NAME"),
		RunE: a.cmdRun(func(cmd *cobra.Command, args []string) error {
			c, err := a.imageTransfer(cmd.Context())
			if err != nil {
				return err
			}
			ctx, cancel := a.rpcCtx(cmd.Context(), false)
			defer cancel()
			out, err := c.ListImagePlacements(ctx, &canopyv1.ListImagePlacementsRequest{Image: args[0]})
			if err != nil {
				return err
			}
			return a.emit(out, func(w io.Writer) { placementRows(w, out) })
		}),
	}
}

func placementRows(w io.Writer, p *canopyv1.ListImagePlacementsResponse) {
	rs := make([][]string, len(p.GetPlacements()))
	for i, x := range p.GetPlacements() {
		role := "replica"
		if x.GetOrigin() {
			role = "origin"
		}
		sum := x.GetSha256()
		if len(sum) > 16 {
			sum = sum[:16] + "…"
		}
		rs[i] = []string{x.GetCloud(), x.GetImageId(), x.GetNativeId(), x.GetDiskFormat(), byteSize(x.GetSizeBytes()), sum, role}
	}
	rows(w, []string{"CLOUD", "IMAGE", "NATIVE ID", "FORMAT", "SIZE", "SHA256", "ROLE"}, rs)
}
