package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
)

func (a imageCmds) imageUploadCmd() *cobra.Command {
	var (
		loc                         locFlags
		diskFormat, containerFormat string
		minDisk, minRAM             int64
		labels                      []string
		progress, wait              bool
		visibility                  string
		projects                    []string
		places                      []string
	)
	cmd := &cobra.Command{
		Use:     "upload FILE NAME",
		Short:   "Upload an image (- for stdin), streamed through canopyd",
		Example: "  canopy image upload cirros.qcow2 cirros --disk-format qcow2 --cloud local",
		Args:    args(2, 2, "FILE and the image NAME"),
		RunE: a.cmdRun(func(cmd *cobra.Command, args []string) error {
			lm, err := parseLabels("label", labels)
			if err != nil {
				return err
			}
			vis, err := parseVisibility(visibility)
			if err != nil {
				return err
			}
			in := cmd.InOrStdin()
			if args[0] != "-" {
				f, err := os.Open(args[0])
				if err != nil {
					return err
				}
				defer f.Close()
				in = f
			}
			sum, size, err := hashFile(in)
			if err != nil {
				return err
			}
			c, err := a.imageTransfer(cmd.Context())
			if err != nil {
				return err
			}
			ctx, cancel := context.WithCancel(cmd.Context())
			defer cancel()
			start := time.Now()
			st, err := c.UploadImage(ctx)
			if err != nil {
				return err
			}
			hdr := &canopyv1.ImageUploadHeader{Name: args[1], Location: loc.pb(), DiskFormat: diskFormat, ContainerFormat: containerFormat,
				MinDiskGib: minDisk, MinRamMib: minRAM, Labels: lm, Sha256: sum, Wait: wait, Visibility: vis, SharedProjects: projects, Placements: places}
			if size >= 0 {
				hdr.SizeBytes = &size
			}
			if err := st.Send(&canopyv1.UploadImageRequest{Data: &canopyv1.UploadImageRequest_Header{Header: hdr}}); err != nil {
				_, err = st.CloseAndRecv()
				return err
			}
			bar := a.bar(progress, size, "uploading")
			buf := make([]byte, chunk)
			var n int64
			for {
				k, rerr := io.ReadFull(in, buf)
				if k > 0 {
					if err := st.Send(&canopyv1.UploadImageRequest{Data: &canopyv1.UploadImageRequest_Chunk{Chunk: buf[:k]}}); err != nil {
						_, err = st.CloseAndRecv()
						return err
					}
					n += int64(k)
					_ = bar.Add(k)
				}
				if errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrUnexpectedEOF) {
					break
				}
				if rerr != nil {
					return rerr
				}
			}
			_ = bar.Finish()
			im, err := st.CloseAndRecv()
			if err != nil {
				return err
			}
			a.summary("uploaded", n, start, "canopyd stream")
			if im.GetOperation() != "" && !wait {
				fmt.Fprintf(cmd.ErrOrStderr(), "the cloud is still processing the image: operation %s (canopy operation wait %s)\n", im.GetOperation(), im.GetOperation())
			}
			return a.emit(im, func(w io.Writer) { imageRows(w, []*canopyv1.Image{im}) })
		}),
	}
	loc.add(cmd, "in", true)
	cmd.Flags().StringVar(&diskFormat, "disk-format", "qcow2", "disk format: raw, qcow2, vmdk, vdi, iso, vhd, vhdx, ami")
	cmd.Flags().StringVar(&containerFormat, "container-format", "bare", "container format: bare, ovf, ova, docker, ami")
	cmd.Flags().Int64Var(&minDisk, "min-disk", 0, "smallest root disk it needs, GiB")
	cmd.Flags().Int64Var(&minRAM, "min-ram", 0, "smallest memory it needs, MiB")
	cmd.Flags().StringArrayVar(&labels, "label", nil, "a label `key=value` (repeatable)")
	cmd.Flags().BoolVar(&progress, "progress", true, "show a progress bar on stderr when it is a terminal")
	cmd.Flags().BoolVar(&wait, "wait", false, "where the cloud processes the image after the upload, wait until it is ACTIVE")
	cmd.Flags().StringVar(&visibility, "visibility", "", "who else may see and use it: private (default), shared (with --shared-project) or public")
	cmd.Flags().StringArrayVar(&projects, "shared-project", nil, "a `project` it is shared with (repeatable)")
	cmd.Flags().StringArrayVar(&places, "place", nil, "replicate it to this `cloud` too once uploaded (repeatable; see image replicate)")
	return cmd
}

func (a imageCmds) imageDownloadCmd() *cobra.Command {
	var progress bool
	cmd := &cobra.Command{
		Use:   "download IMAGE FILE",
		Short: "Download an image's bytes to FILE (- for stdout)",
		Args:  args(2, 2, "IMAGE (id or name) and FILE"),
		RunE: a.cmdRun(func(cmd *cobra.Command, args []string) error {
			c, err := a.imageTransfer(cmd.Context())
			if err != nil {
				return err
			}
			out := io.Writer(a.stdout)
			var f *os.File
			if args[1] != "-" {
				if f, err = os.Create(args[1]); err != nil {
					return err
				}
				defer f.Close()
				out = f
			}
			start := time.Now()
			n, err := a.downloadImage(cmd.Context(), c, args[0], out, progress)
			if err == nil && f != nil {
				err = f.Close()
			}
			if err != nil {
				if f != nil {
					os.Remove(args[1])
				}
				return err
			}
			a.summary("downloaded", n, start, "canopyd stream")
			return nil
		}),
	}
	cmd.Flags().BoolVar(&progress, "progress", true, "show a progress bar on stderr when it is a terminal")
	return cmd
}

func (a imageCmds) downloadImage(ctx context.Context, c canopyv1.ImageTransferServiceClient, id string, out io.Writer, progress bool) (int64, error) {
	st, err := c.DownloadImage(ctx, &canopyv1.DownloadImageRequest{Id: id})
	if err != nil {
		return 0, err
	}
	h := sha256.New()
	var n int64
	var bar *progressbar.ProgressBar
	for {
		msg, err := st.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return n, err
		}
		switch d := msg.Data.(type) {
		case *canopyv1.DownloadImageResponse_Image:
			bar = a.bar(progress, d.Image.SizeBytes, "downloading")
		case *canopyv1.DownloadImageResponse_Chunk:
			h.Write(d.Chunk)
			if _, err := out.Write(d.Chunk); err != nil {
				return n, err
			}
			n += int64(len(d.Chunk))
			if bar != nil {
				_ = bar.Add(len(d.Chunk))
			}
		case *canopyv1.DownloadImageResponse_Sha256:
			if got := hex.EncodeToString(h.Sum(nil)); got != d.Sha256 {
				return n, fmt.Errorf("received bytes hash to %s, canopyd sent %s", got, d.Sha256)
			}
		}
	}
	if bar != nil {
		_ = bar.Finish()
	}
	return n, nil
}
