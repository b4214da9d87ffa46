package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
)

// canopy image render: a manifest and a rootfs tarball become images. The
// tarball is offered by its sha256 first; canopyd answers
// TARBALL_NOT_CACHED when it needs the bytes, and only then are they
// sent — a second render of the same tarball sends nothing.

func (a imageCmds) imageRenderCmd() *cobra.Command {
	var (
		inputs, clouds, labels []string
		url, object            string
		wait, progress         bool
	)
	cmd := &cobra.Command{
		Use:   "render MANIFEST [TARBALL]",
		Short: "Render images from a manifest and a root filesystem tarball, and upload them to clouds",
		Long: `Render images (Cloudlets): MANIFEST (YAML or JSON) says how the image boots,
which of its files are Go templates and their inputs, and which formats to
render (raw, qcow2, vmdk, vhd, vhdx as an ext4 filesystem; oci as a container
image tarball) for which clouds. TARBALL is the root filesystem (or give
--tarball-url / --tarball-object). canopyd renders without root, caches the
tarball and every output by content hash, and uploads each output to its
clouds; a second render with the same inputs moves no bytes.
--input NAME=VALUE fills a template input (NAME=@FILE reads the value from a
file, e.g. ssh_keys=@~/.ssh/id_ed25519.pub).`,
		Example: "  canopy image render manifest.yaml rootfs.tar --input hostname=web1 --cloud os --wait",
		Args:    args(1, 2, "MANIFEST and the TARBALL"),
		RunE: a.cmdRun(func(cmd *cobra.Command, args []string) error {
			manifest, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			in, err := parseInputs(inputs)
			if err != nil {
				return err
			}
			lm, err := parseLabels("label", labels)
			if err != nil {
				return err
			}
			hdr := &canopyv1.RenderImageHeader{Manifest: string(manifest), Inputs: in, Clouds: clouds, Labels: lm, TarballUrl: url, TarballObject: object}
			var f *os.File
			var size int64
			if len(args) == 2 {
				if url != "" || object != "" {
					return usageErrorf("give TARBALL or --tarball-url/--tarball-object, not both")
				}
				if f, err = os.Open(args[1]); err != nil {
					return err
				}
				defer f.Close()
				if hdr.TarballSha256, size, err = hashFile(f); err != nil {
					return err
				}
			} else if url == "" && object == "" {
				return usageErrorf("no tarball: give TARBALL, --tarball-url or --tarball-object")
			}
			c, err := a.imageTransfer(cmd.Context())
			if err != nil {
				return err
			}
			op, err := a.sendRender(cmd.Context(), c, hdr, nil, 0, false)
			if f != nil && notCached(err) {
				op, err = a.sendRender(cmd.Context(), c, hdr, f, size, progress)
			} else if f != nil && err == nil {
				fmt.Fprintf(a.stderr, "tarball %s is cached on canopyd: not sent\n", hdr.TarballSha256[:12])
			}
			if err != nil {
				return err
			}
			if wait {
				if op, err = a.followRender(cmd.Context(), op); err != nil {
					return err
				}
			}
			return a.finishRender(op)
		}),
	}
	cmd.Flags().StringArrayVar(&inputs, "input", nil, "a template input `NAME=VALUE` (NAME=@FILE reads it; repeatable)")
	cmd.Flags().StringArrayVar(&clouds, "cloud", nil, "a `cloud` every output goes to (repeatable; default: the manifest's outputs' clouds)")
	cmd.Flags().StringArrayVar(&labels, "label", nil, "a label `key=value` on the uploaded images (repeatable)")
	cmd.Flags().StringVar(&url, "tarball-url", "", "fetch the tarball from this http(s) `URL` (canopyd applies its mirror map)")
	cmd.Flags().StringVar(&object, "tarball-object", "", "read the tarball from this canopy object, `BUCKET/KEY`")
	cmd.Flags().BoolVar(&wait, "wait", false, "wait until the render has ended, showing each stage's progress")
	cmd.Flags().DurationVar(&a.waitTimeout, "wait-timeout", defaultWaitTimeout, "how long --wait waits")
	cmd.Flags().BoolVar(&progress, "progress", true, "show a progress bar on stderr when it is a terminal")
	return cmd
}

// parseInputs reads NAME=VALUE and NAME=@FILE.
func parseInputs(kv []string) (map[string]string, error) {
	out := map[string]string{}
	for _, s := range kv {
		k, v, ok := strings.Cut(s, "=")
		if !ok || k == "" {
			return nil, usageErrorf("--input %q: want NAME=VALUE or NAME=@FILE", s)
		}
		if p, ok := strings.CutPrefix(v, "@"); ok {
			if strings.HasPrefix(p, "~/") {
				home, _ := os.UserHomeDir()
				p = home + p[1:]
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return nil, fmt.Errorf("--input %s: %w", k, err)
			}
			v = strings.TrimRight(string(b), "\n")
		}
		out[k] = v
	}
	return out, nil
}

// notCached reports canopyd's TARBALL_NOT_CACHED.
func notCached(err error) bool {
	st, ok := status.FromError(err)
	if !ok || st.Code() != codes.FailedPrecondition {
		return false
	}
	for _, d := range st.Details() {
		if ei, ok := d.(*errdetails.ErrorInfo); ok && ei.GetReason() == "TARBALL_NOT_CACHED" {
			return true
		}
	}
	return false
}

// sendRender sends the header, then the tarball's bytes when f is set.
func (a *app) sendRender(ctx context.Context, c canopyv1.ImageTransferServiceClient, hdr *canopyv1.RenderImageHeader, f *os.File, size int64, progress bool) (*canopyv1.Operation, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	st, err := c.RenderImage(ctx)
	if err != nil {
		return nil, err
	}
	if err := st.Send(&canopyv1.RenderImageRequest{Data: &canopyv1.RenderImageRequest_Header{Header: hdr}}); err != nil {
		return st.CloseAndRecv()
	}
	if f != nil {
		start := time.Now()
		bar := a.bar(progress, size, "sending tarball")
		buf := make([]byte, chunk)
		var n int64
		for {
			k, rerr := io.ReadFull(f, buf)
			if k > 0 {
				if err := st.Send(&canopyv1.RenderImageRequest{Data: &canopyv1.RenderImageRequest_Chunk{Chunk: buf[:k]}}); err != nil {
					return st.CloseAndRecv() // canopyd refused it: its answer says why
				}
				n += int64(k)
				_ = bar.Add(k)
			}
			if errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrUnexpectedEOF) {
				break
			}
			if rerr != nil {
				return nil, rerr
			}
		}
		_ = bar.Finish()
		defer a.summary("sent tarball", n, start, "canopyd stream")
	}
	return st.CloseAndRecv()
}

// followRender waits for the operation, printing each stage as it begins
// (and the progress) on stderr.
func (a *app) followRender(ctx context.Context, op *canopyv1.Operation) (*canopyv1.Operation, error) {
	c, err := a.operations(ctx)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(a.waitTimeout)
	last := ""
	for {
		md := op.GetMetadata()
		if s := fmt.Sprintf("%s %d%%", md.GetStep(), md.GetProgressPercent()); s != last && md.GetStep() != "" {
			fmt.Fprintf(a.stderr, "render %s: %-8s %3d%%\n", op.GetId()[:8], md.GetStep(), md.GetProgressPercent())
			last = s
		}
		if op.GetDone() {
			return op, nil
		}
		if time.Now().After(deadline) {
			return op, fmt.Errorf("operation %s still running after %s (canopy operation wait %s)", op.GetId(), a.waitTimeout, op.GetId())
		}
		op, err = c.WaitOperation(ctx, &canopyv1.WaitOperationRequest{Id: op.GetId(), Timeout: durationpb.New(time.Second)})
		if err != nil {
			return nil, err
		}
	}
}

// finishRender prints the result: one row per output and cloud.
func (a *app) finishRender(op *canopyv1.Operation) error {
	if !op.GetDone() || op.GetError() != nil {
		return a.finishOp(context.Background(), op)
	}
	res := &canopyv1.RenderImageResult{}
	if err := op.GetResponse().UnmarshalTo(res); err != nil {
		return err
	}
	return a.emit(res, func(w io.Writer) {
		fmt.Fprintf(w, "render %s  tarball %s  tarball bytes moved %d  cached %t\n", res.GetKey()[:16], res.GetTarballSha256()[:16], res.GetTarballBytesMoved(), res.GetCached())
		var rs [][]string
		for _, o := range res.GetOutputs() {
			if len(o.GetPlacements()) == 0 {
				rs = append(rs, []string{o.GetFormat(), byteSize(o.GetSizeBytes()), o.GetSha256()[:16], strconv.FormatBool(o.GetCached()), "-", "-", "-", "-"})
			}
			for _, p := range o.GetPlacements() {
				rs = append(rs, []string{o.GetFormat(), byteSize(o.GetSizeBytes()), o.GetSha256()[:16], strconv.FormatBool(o.GetCached()),
					p.GetCloud(), p.GetImage().GetId(), byteSize(p.GetBytesUploaded()), strconv.FormatBool(p.GetReused())})
			}
		}
		rows(w, []string{"FORMAT", "SIZE", "SHA256", "CACHED", "CLOUD", "IMAGE", "UPLOADED", "REUSED"}, rs)
	})
}
