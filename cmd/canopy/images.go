package main

import (
	"context"
	"io"
	"strings"

	"github.com/spf13/cobra"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
)

func (a imageCmds) imageCmd() *cobra.Command {
	var (
		lf     listFlags
		loc    locFlags
		name   string
		status string
		labels []string
	)
	list := &cobra.Command{
		Use:   "list",
		Short: "List images of every cloud",
		Long:  "List images of every cloud (or one)." + listHelp,
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
			c, err := a.compute(cmd.Context())
			if err != nil {
				return err
			}
			req := &canopyv1.ListImagesRequest{Location: loc.pb(), Name: name, Status: st, Labels: lm}
			all, errs, err := listAll(cmd.Context(), a.app, lf.limit, func(ctx context.Context, size int32, token string) (page[*canopyv1.Image], error) {
				req.PageSize, req.PageToken = size, token
				r, err := c.ListImages(ctx, req)
				return page[*canopyv1.Image]{items: r.GetImages(), next: r.GetNextPageToken(), errs: r.GetCloudErrors()}, err
			})
			if err != nil {
				return err
			}
			a.warnCloudErrors(errs)
			return a.emit(&canopyv1.ListImagesResponse{Images: all, CloudErrors: errs}, func(w io.Writer) { imageRows(w, all) })
		}),
	}
	lf.add(list)
	loc.add(list, "only", true)
	list.Flags().StringVar(&name, "name", "", "only images with this exact name")
	list.Flags().StringVar(&status, "status", "", statusFlagHelp)
	list.Flags().StringArrayVar(&labels, "label", nil, "only images with this label `key=value` (repeatable)")

	get := &cobra.Command{
		Use:   "get ID|NAME",
		Short: "Show one image",
		Args:  args(1, 1, "one image ID|NAME"),
		RunE: a.cmdRun(func(cmd *cobra.Command, args []string) error {
			c, err := a.compute(cmd.Context())
			if err != nil {
				return err
			}
			ctx, cancel := a.rpcCtx(cmd.Context(), false)
			defer cancel()
			im, err := c.GetImage(ctx, &canopyv1.GetImageRequest{Id: args[0]})
			if err != nil {
				return err
			}
			return a.emit(im, func(w io.Writer) { imageDetails(w, im) })
		}),
	}
	return group("image", "Images: list, get, upload, download, update, delete, replicate, placements", list, get)
}

func imageFormat(im *canopyv1.Image) string {
	return strings.Trim(im.GetDiskFormat()+"/"+im.GetContainerFormat(), "/")
}

func imageRows(w io.Writer, ims []*canopyv1.Image) {
	rs := make([][]string, len(ims))
	for i, im := range ims {
		rs[i] = []string{im.GetId(), im.GetName(), statusWord(im.GetStatus()), byteSize(im.GetSizeBytes()), imageFormat(im), im.GetLocation().GetCloud()}
	}
	rows(w, []string{"ID", "NAME", "STATUS", "SIZE", "FORMAT", "CLOUD"}, rs)
}

func imageDetails(w io.Writer, im *canopyv1.Image) {
	var minDisk, minRAM string
	if im.GetMinDiskGib() > 0 {
		minDisk = gib(im.GetMinDiskGib())
	}
	if im.GetMinRamMib() > 0 {
		minRAM = mib(im.GetMinRamMib())
	}
	details(w, []field{
		{"ID", im.GetId()}, {"Name", im.GetName()}, {"Status", statusWithRaw(im.GetStatus(), im.GetProviderStatus())},
		{"Size", byteSize(im.GetSizeBytes())}, {"Format", imageFormat(im)}, {"Min disk", minDisk}, {"Min RAM", minRAM},
		{"Cloud", im.GetLocation().GetCloud()}, {"Region", im.GetLocation().GetRegion()}, {"Zone", im.GetLocation().GetZone()},
		{"Project", im.GetLocation().GetProject()}, {"Visibility", visibilityWord(im.GetVisibility())},
		{"Shared with", strings.Join(im.GetSharedProjects(), ", ")},
		{"Created", when(im.GetCreateTime())}, {"Native ID", im.GetNativeId()},
		{"Labels", kv(im.GetLabels())}, {"Properties", kv(im.GetProperties())}, {"Placements", kv(im.GetPlacements())},
	})
}
