package main

import (
	"context"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
)

func (a flavorCmds) flavorCmd() *cobra.Command {
	return group("flavor", "Flavors (server sizes): list, get, find", a.flavorListCmd(), a.flavorGetCmd(), a.flavorFindCmd())
}

func (a flavorCmds) flavorListCmd() *cobra.Command {
	var (
		lf     listFlags
		loc    locFlags
		name   string
		labels []string
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List flavors of every cloud, normalized to vcpus/ram/disk/gpus",
		Long:  "List flavors of every cloud (or one), normalized to vcpus/ram/disk/gpus." + listHelp,
		Args:  args(0, 0, "no arguments"),
		RunE: a.cmdRun(func(cmd *cobra.Command, _ []string) error {
			if err := lf.check(); err != nil {
				return err
			}
			lm, err := parseLabels("label", labels)
			if err != nil {
				return err
			}
			all, errs, err := a.listFlavors(cmd.Context(), lf.limit, &canopyv1.ListFlavorsRequest{Location: loc.pb(), Name: name, Labels: lm})
			if err != nil {
				return err
			}
			a.warnCloudErrors(errs)
			return a.emit(&canopyv1.ListFlavorsResponse{Flavors: all, CloudErrors: errs}, func(w io.Writer) { flavorRows(w, all...) })
		}),
	}
	lf.add(cmd)
	loc.add(cmd, "only", true)
	cmd.Flags().StringVar(&name, "name", "", "only flavors with this exact name")
	cmd.Flags().StringArrayVar(&labels, "label", nil, "only flavors with this label `key=value` (repeatable)")
	return cmd
}

// listFlavors pages through ListFlavors with req's filters.
func (a *app) listFlavors(ctx context.Context, limit int, req *canopyv1.ListFlavorsRequest) ([]*canopyv1.Flavor, []*canopyv1.CloudError, error) {
	c, err := a.compute(ctx)
	if err != nil {
		return nil, nil, err
	}
	return listAll(ctx, a, limit, func(ctx context.Context, size int32, token string) (page[*canopyv1.Flavor], error) {
		req.PageSize, req.PageToken = size, token
		r, err := c.ListFlavors(ctx, req)
		return page[*canopyv1.Flavor]{items: r.GetFlavors(), next: r.GetNextPageToken(), errs: r.GetCloudErrors()}, err
	})
}

func (a flavorCmds) flavorGetCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "get ID|NAME",
		Short: "Show one flavor",
		Args:  args(1, 1, "one flavor ID|NAME"),
		RunE: a.cmdRun(func(cmd *cobra.Command, args []string) error {
			c, err := a.compute(cmd.Context())
			if err != nil {
				return err
			}
			ctx, cancel := a.rpcCtx(cmd.Context(), false)
			defer cancel()
			f, err := c.GetFlavor(ctx, &canopyv1.GetFlavorRequest{Id: args[0]})
			if err != nil {
				return err
			}
			return a.emit(f, func(w io.Writer) { flavorDetails(w, f) })
		}),
	}
}

func (a flavorCmds) flavorFindCmd() *cobra.Command {
	var (
		loc             locFlags
		vcpus, gpus     int32
		ramMiB, diskGiB int64
		ram             string
	)
	cmd := &cobra.Command{
		Use:   "find",
		Short: "Find the smallest flavor with at least the given resources",
		Long: `Find the smallest flavor (by memory, then vcpus, disk, gpus) that has at
least the given resources, across every cloud or in the one selected. Ties
break by cloud name, then flavor name.

--ram takes a size with a binary unit: 512MiB, 4GiB, 4G, 1.5Gi (M/MB/MiB all
mean MiB, G/GB/GiB all mean GiB); a bare number is MiB.`,
		Example: "  canopy flavor find --vcpus 2 --ram 4GiB\n  canopy flavor find --gpus 1 --cloud local -o json",
		Args:    args(0, 0, "no arguments"),
		RunE: a.cmdRun(func(cmd *cobra.Command, _ []string) error {
			req := &canopyv1.FindFlavorRequest{Location: loc.pb(), MinVcpus: vcpus, MinRamMib: ramMiB, MinDiskGib: diskGiB, MinGpus: gpus}
			if ram != "" {
				n, err := parseMiB(ram)
				if err != nil {
					return usageErrorf("--ram %q: %v", ram, err)
				}
				req.MinRamMib = n
			}
			c, err := a.compute(cmd.Context())
			if err != nil {
				return err
			}
			ctx, cancel := a.rpcCtx(cmd.Context(), false)
			defer cancel()
			f, err := c.FindFlavor(ctx, req)
			if err != nil {
				return err
			}
			return a.emit(f, func(w io.Writer) { flavorRows(w, f) })
		}),
	}
	f := cmd.Flags()
	f.Int32Var(&vcpus, "vcpus", 0, "at least this many vcpus")
	f.Int64Var(&ramMiB, "ram-mib", 0, "at least this much memory, MiB")
	f.StringVar(&ram, "ram", "", "at least this much memory, with a unit: 512MiB, 4GiB")
	f.Int64Var(&diskGiB, "disk-gib", 0, "at least this much root disk, GiB")
	f.Int32Var(&gpus, "gpus", 0, "at least this many GPUs")
	cmd.MarkFlagsMutuallyExclusive("ram", "ram-mib")
	loc.add(cmd, "only in", false)
	return cmd
}

// parseMiB reads a memory size into MiB, rounding up to a whole MiB.
func parseMiB(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := strings.IndexFunc(t, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	num, unit := t, ""
	if i >= 0 {
		num, unit = t[:i], strings.TrimSpace(t[i:])
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || num == "" || v < 0 {
		return 0, errBadSize
	}
	var mult float64
	switch strings.ToLower(unit) {
	case "", "m", "mb", "mi", "mib":
		mult = 1
	case "g", "gb", "gi", "gib":
		mult = 1024
	case "t", "tb", "ti", "tib":
		mult = 1024 * 1024
	case "k", "kb", "ki", "kib":
		mult = 1.0 / 1024
	default:
		return 0, errBadSize
	}
	n := math.Ceil(v * mult)
	if n > math.MaxInt64/2 {
		return 0, errBadSize
	}
	return int64(n), nil
}

var errBadSize = usageErrorf("want a size such as 512MiB or 4GiB")

func flavorRows(w io.Writer, fs ...*canopyv1.Flavor) {
	rs := make([][]string, len(fs))
	for i, f := range fs {
		rs[i] = []string{f.GetId(), f.GetName(), strconv.Itoa(int(f.GetVcpus())), mib(f.GetRamMib()), gib(f.GetDiskGib()),
			strconv.Itoa(int(f.GetGpus())), f.GetLocation().GetCloud()}
	}
	rows(w, []string{"ID", "NAME", "VCPUS", "RAM", "DISK", "GPUS", "CLOUD"}, rs)
}

func flavorDetails(w io.Writer, f *canopyv1.Flavor) {
	details(w, []field{
		{"ID", f.GetId()}, {"Name", f.GetName()}, {"Status", statusWithRaw(f.GetStatus(), f.GetProviderStatus())},
		{"VCPUs", strconv.Itoa(int(f.GetVcpus()))}, {"RAM", mib(f.GetRamMib())}, {"Disk", gib(f.GetDiskGib())},
		{"GPUs", strconv.Itoa(int(f.GetGpus()))},
		{"Cloud", f.GetLocation().GetCloud()}, {"Region", f.GetLocation().GetRegion()}, {"Zone", f.GetLocation().GetZone()},
		{"Native ID", f.GetNativeId()}, {"Labels", kv(f.GetLabels())}, {"Properties", kv(f.GetProperties())},
	})
}
