package main

import (
	"context"
	"io"
	"strings"

	"github.com/spf13/cobra"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
)

func (a *app) cloudCmd() *cobra.Command {
	var lf listFlags
	list := &cobra.Command{
		Use:   "list",
		Short: "List the clouds canopyd fronts",
		Args:  args(0, 0, "no arguments"),
		RunE: a.cmdRun(func(cmd *cobra.Command, _ []string) error {
			if err := lf.check(); err != nil {
				return err
			}
			cc, err := a.clouds(cmd.Context())
			if err != nil {
				return err
			}
			all, _, err := listAll(cmd.Context(), a, lf.limit, func(ctx context.Context, size int32, token string) (page[*canopyv1.Cloud], error) {
				r, err := cc.ListClouds(ctx, &canopyv1.ListCloudsRequest{PageSize: size, PageToken: token})
				return page[*canopyv1.Cloud]{items: r.GetClouds(), next: r.GetNextPageToken()}, err
			})
			if err != nil {
				return err
			}
			return a.emit(&canopyv1.ListCloudsResponse{Clouds: all}, func(w io.Writer) { cloudRows(w, all) })
		}),
	}
	lf.add(list)

	get := &cobra.Command{
		Use:   "get NAME",
		Short: "Show one cloud, with a fresh health check",
		Args:  args(1, 1, "one cloud NAME"),
		RunE: a.cmdRun(func(cmd *cobra.Command, args []string) error {
			cc, err := a.clouds(cmd.Context())
			if err != nil {
				return err
			}
			ctx, cancel := a.rpcCtx(cmd.Context(), false)
			defer cancel()
			c, err := cc.GetCloud(ctx, &canopyv1.GetCloudRequest{Name: args[0]})
			if err != nil {
				return err
			}
			return a.emit(c, func(w io.Writer) {
				details(w, []field{
					{"Name", c.GetName()}, {"Kind", c.GetKind()}, {"Health", health(c)},
					{"Health message", c.GetHealthMessage()}, {"Checked", when(c.GetHealthCheckTime())},
					{"Regions", join(c.GetRegions())}, {"Zones", join(c.GetZones())},
					{"Capabilities", join(c.GetCapabilities())},
				})
			})
		}),
	}
	return group("cloud", "Clouds: list, get", list, get)
}

func health(c *canopyv1.Cloud) string {
	return strings.ToLower(strings.TrimPrefix(c.GetHealth().String(), "HEALTH_"))
}

func cloudRows(w io.Writer, cs []*canopyv1.Cloud) {
	rs := make([][]string, len(cs))
	for i, c := range cs {
		rs[i] = []string{c.GetName(), c.GetKind(), health(c), join(c.GetRegions()), join(c.GetZones()), join(c.GetCapabilities())}
	}
	rows(w, []string{"NAME", "KIND", "HEALTH", "REGIONS", "ZONES", "CAPABILITIES"}, rs)
}
