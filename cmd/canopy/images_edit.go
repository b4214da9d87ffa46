package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
)

// parseVisibility reads --visibility as users type it: private, shared or
// public (or the enum's full name).
func parseVisibility(v string) (canopyv1.Visibility, error) {
	if v == "" {
		return canopyv1.Visibility_VISIBILITY_UNSPECIFIED, nil
	}
	name := strings.ToUpper(v)
	if !strings.HasPrefix(name, "VISIBILITY_") {
		name = "VISIBILITY_" + name
	}
	if x, ok := canopyv1.Visibility_value[name]; ok && x != 0 {
		return canopyv1.Visibility(x), nil
	}
	return 0, usageErrorf("--visibility %q: want private, shared or public", v)
}

// visibilityWord is a visibility as the CLI shows it.
func visibilityWord(v canopyv1.Visibility) string {
	if v == canopyv1.Visibility_VISIBILITY_UNSPECIFIED {
		return ""
	}
	return strings.ToLower(strings.TrimPrefix(v.String(), "VISIBILITY_"))
}

func (a imageCmds) imageUpdateCmd() *cobra.Command {
	var (
		visibility string
		projects   []string
	)
	cmd := &cobra.Command{
		Use:   "update ID|NAME",
		Short: "Change who may see and use an image (its project's own images only)",
		Example: "  canopy image update my-image --visibility shared --shared-project team-b\n" +
			"  canopy image update my-image --visibility private",
		Args: args(1, 1, "one image ID|NAME"),
		RunE: a.cmdRun(func(cmd *cobra.Command, args []string) error {
			v, err := parseVisibility(visibility)
			if err != nil {
				return err
			}
			im := &canopyv1.Image{Id: args[0], Visibility: v, SharedProjects: projects}
			mask := &fieldmaskpb.FieldMask{}
			if cmd.Flags().Changed("visibility") {
				mask.Paths = append(mask.Paths, "visibility")
			}
			if cmd.Flags().Changed("shared-project") {
				mask.Paths = append(mask.Paths, "shared_projects")
			}
			if len(mask.Paths) == 0 {
				return usageErrorf("nothing to change: give --visibility or --shared-project")
			}
			c, err := a.compute(cmd.Context())
			if err != nil {
				return err
			}
			ctx, cancel := a.rpcCtx(cmd.Context(), false)
			defer cancel()
			out, err := c.UpdateImage(ctx, &canopyv1.UpdateImageRequest{Image: im, UpdateMask: mask})
			if err != nil {
				return err
			}
			return a.emit(out, func(w io.Writer) { imageDetails(w, out) })
		}),
	}
	cmd.Flags().StringVar(&visibility, "visibility", "", "private, shared (with --shared-project) or public")
	cmd.Flags().StringArrayVar(&projects, "shared-project", nil, "a `project` it is shared with (repeatable; replaces the list)")
	return cmd
}

func (a imageCmds) imageDeleteCmd() *cobra.Command {
	var allowMissing bool
	cmd := &cobra.Command{
		Use:     "delete ID|NAME",
		Aliases: []string{"rm"},
		Short:   "Delete an image at its cloud (its project's own images only)",
		Args:    args(1, 1, "one image ID|NAME"),
		RunE: a.cmdRun(func(cmd *cobra.Command, args []string) error {
			c, err := a.compute(cmd.Context())
			if err != nil {
				return err
			}
			ctx, cancel := a.rpcCtx(cmd.Context(), false)
			defer cancel()
			im, err := c.DeleteImage(ctx, &canopyv1.DeleteImageRequest{Id: args[0], AllowMissing: allowMissing})
			if err != nil {
				return err
			}
			return a.emit(im, func(w io.Writer) { fmt.Fprintf(w, "Deleted image %s\n", im.GetId()) })
		}),
	}
	cmd.Flags().BoolVar(&allowMissing, "allow-missing", false, "an image that does not exist is not an error")
	return cmd
}
