package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
)

func (a serverCmds) serverCmd() *cobra.Command {
	return group("server", "Servers: create, list, get, delete, start, stop, reboot, watch",
		a.serverCreateCmd(), a.serverListCmd(), a.serverGetCmd(), a.serverDeleteCmd(),
		a.serverActionCmd("start", "Start stopped servers", "ACTIVE"),
		a.serverActionCmd("stop", "Stop running servers", "STOPPED"),
		a.serverActionCmd("reboot", "Reboot servers", "ACTIVE again"),
		a.serverWatchCmd(),
	)
}

// addWait adds --wait and --wait-timeout.
func (a *app) addWait(cmd *cobra.Command, wait *bool, until string) {
	cmd.Flags().BoolVar(wait, "wait", false, "wait until the server is "+until+" (or ERROR)")
	cmd.Flags().DurationVar(&a.waitTimeout, "wait-timeout", defaultWaitTimeout, "how long --wait may take")
}

func (a serverCmds) serverCreateCmd() *cobra.Command {
	var (
		loc                              locFlags
		flavor, image, keypair, userData string
		requestID, bootVolume            string
		networks, ports, groups, labels  []string
		wait, autoIP                     bool
	)
	cmd := &cobra.Command{
		Use:   "create NAME --flavor F (--image I | --boot-volume V)",
		Short: "Create a server",
		Long: `Create a server in the cloud its --cloud or --zone routes to (either may be
left out when canopyd fronts a single cloud). --flavor and --image take a
canopy id or a name (see 'canopy flavor find').

Networking: --network attaches networks (a new port in each), --port
existing ports (after the networks' new ones; a port keeps its own security
groups), --sg sets the security groups of the ports the create makes, and
--auto-ip allocates a floating IP from the cloud's external network and
associates it once the server is ACTIVE (as shade's auto_ip); 'canopy server
get' then shows it among the addresses.

With --wait the command returns once the server is ACTIVE; if it ends in
ERROR it is printed and the command exits 1.`,
		Example: "  canopy server create web-1 --flavor m1.small --image debian-12 --keypair me --wait\n" +
			"  canopy server create web-2 --flavor m1.small --image debian-12 --user-data-file cloud-init.yaml --label app=web\n" +
			"  canopy server create web-3 --flavor m1.small --image debian-12 --network app --sg web --auto-ip --wait\n" +
			"  canopy server create db-1 --flavor m1.small --image debian-12 --port db-vip",
		Args: args(1, 1, "one server NAME"),
		RunE: a.cmdRun(func(cmd *cobra.Command, args []string) error {
			if (image == "") == (bootVolume == "") {
				return usageErrorf("%s: want --image or --boot-volume (one of them)", cmd.CommandPath())
			}
			lm, err := parseLabels("label", labels)
			if err != nil {
				return err
			}
			req := &canopyv1.CreateServerRequest{
				Name: args[0], Location: loc.pb(), Flavor: flavor, Image: image, Keypair: keypair,
				Networks: networks, Labels: lm, Wait: wait, RequestId: requestID, BootVolume: bootVolume,
				Ports: ports, SecurityGroups: groups, AutoIp: autoIP,
			}
			if userData != "" {
				if req.UserData, err = readFileOrStdin(cmd, userData); err != nil {
					return fmt.Errorf("--user-data-file: %w", err)
				}
			}
			c, err := a.compute(cmd.Context())
			if err != nil {
				return err
			}
			ctx, cancel := a.rpcCtx(cmd.Context(), wait)
			defer cancel()
			sv, err := c.CreateServer(ctx, req)
			if err != nil {
				return err
			}
			if err := a.emit(sv, func(w io.Writer) { a.serverDetails(cmd.Context(), w, sv) }); err != nil {
				return err
			}
			if wait {
				return inError(sv)
			}
			return nil
		}),
	}
	f := cmd.Flags()
	f.StringVar(&flavor, "flavor", "", "flavor id or name (required)")
	f.StringVar(&image, "image", "", "image id or name (or --boot-volume)")
	f.StringVar(&bootVolume, "boot-volume", "", "boot from this volume (id or name) instead of an image")
	f.StringVar(&keypair, "keypair", "", "keypair name to inject")
	f.StringArrayVar(&networks, "network", nil, "network to attach, id or name (repeatable; default: the cloud's)")
	f.StringArrayVar(&ports, "port", nil, "an existing port to attach, id or name (repeatable; see 'canopy port create')")
	f.StringArrayVar(&groups, "sg", nil, "a security group for the ports the create makes, id or name (repeatable; default: the cloud's)")
	f.BoolVar(&autoIP, "auto-ip", false, "allocate a floating IP from the cloud's external network and associate it once ACTIVE")
	f.StringArrayVar(&labels, "label", nil, "label `key=value` to set (repeatable)")
	f.StringVar(&userData, "user-data-file", "", "cloud-init user data from this file ('-': stdin)")
	f.StringVar(&requestID, "request-id", "", "idempotency key: retrying with the same key returns the same server")
	loc.add(cmd, "in", true)
	a.addWait(cmd, &wait, "ACTIVE")
	_ = cmd.MarkFlagRequired("flavor")
	return cmd
}

func readFileOrStdin(cmd *cobra.Command, path string) ([]byte, error) {
	if path == "-" {
		return io.ReadAll(cmd.InOrStdin())
	}
	return os.ReadFile(path)
}

// inError fails when a waited-for server ended in ERROR.
func inError(sv *canopyv1.Server) error {
	if sv.GetStatus() != canopyv1.Status_STATUS_ERROR {
		return nil
	}
	msg := sv.GetStatusMessage()
	if msg == "" {
		msg = "the cloud gave no reason"
	}
	return fmt.Errorf("server %s (%s) is in ERROR: %s", sv.GetName(), sv.GetId(), msg)
}

func (a serverCmds) serverListCmd() *cobra.Command {
	var (
		lf     listFlags
		loc    locFlags
		name   string
		status string
		kind   string
		labels []string
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List servers in every cloud",
		Long:  "List servers in every cloud (or the one selected)." + listHelp,
		Args:  args(0, 0, "no arguments"),
		RunE: a.cmdRun(func(cmd *cobra.Command, _ []string) error {
			if err := lf.check(); err != nil {
				return err
			}
			st, err := parseStatus(status)
			if err != nil {
				return err
			}
			kd, err := parseServerKind(kind) // servers_kind.go
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
			req := &canopyv1.ListServersRequest{Location: loc.pb(), Name: name, Status: st, Kind: kd, Labels: lm}
			all, errs, err := listAll(cmd.Context(), a.app, lf.limit, func(ctx context.Context, size int32, token string) (page[*canopyv1.Server], error) {
				req.PageSize, req.PageToken = size, token
				r, err := c.ListServers(ctx, req)
				return page[*canopyv1.Server]{items: r.GetServers(), next: r.GetNextPageToken(), errs: r.GetCloudErrors()}, err
			})
			if err != nil {
				return err
			}
			a.warnCloudErrors(errs)
			return a.emit(&canopyv1.ListServersResponse{Servers: all, CloudErrors: errs}, func(w io.Writer) {
				serverRows(w, all, a.flavorNames(cmd.Context(), all))
			})
		}),
	}
	lf.add(cmd)
	loc.add(cmd, "only", true)
	cmd.Flags().StringVar(&name, "name", "", "only servers with this exact name")
	cmd.Flags().StringVar(&status, "status", "", statusFlagHelp)
	cmd.Flags().StringVar(&kind, "kind", "", "only servers of this kind: vm, or container (a container cloud's)")
	cmd.Flags().StringArrayVar(&labels, "label", nil, "only servers with this label `key=value` (repeatable)")
	return cmd
}

func (a serverCmds) serverGetCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "get ID|NAME",
		Short: "Show one server",
		Args:  args(1, 1, "one server ID|NAME"),
		RunE: a.cmdRun(func(cmd *cobra.Command, args []string) error {
			c, err := a.compute(cmd.Context())
			if err != nil {
				return err
			}
			ctx, cancel := a.rpcCtx(cmd.Context(), false)
			defer cancel()
			sv, err := c.GetServer(ctx, &canopyv1.GetServerRequest{Id: args[0]})
			if err != nil {
				return err
			}
			return a.emit(sv, func(w io.Writer) { a.serverDetails(cmd.Context(), w, sv) })
		}),
	}
}

// flavorNames maps flavor ids to names for the FLAVOR column: one list of
// the servers' cloud(s), which canopyd caches. On any error the column
// shows ids.
func (a *app) flavorNames(ctx context.Context, svs []*canopyv1.Server) map[string]string {
	clouds := map[string]bool{}
	for _, sv := range svs {
		if sv.GetFlavorId() != "" {
			clouds[sv.GetLocation().GetCloud()] = true
		}
	}
	if len(clouds) == 0 {
		return nil
	}
	req := &canopyv1.ListFlavorsRequest{}
	if len(clouds) == 1 {
		for c := range clouds {
			req.Location = &canopyv1.Location{Cloud: c}
		}
	}
	fs, _, err := a.listFlavors(ctx, 0, req)
	if err != nil {
		return nil
	}
	names := make(map[string]string, len(fs))
	for _, f := range fs {
		names[f.GetId()] = f.GetName()
	}
	return names
}

// addresses formats a server's addresses grouped by network:
// "private=10.0.0.5, fd00::5; public=203.0.113.7".
func addresses(sv *canopyv1.Server) string {
	var order []string
	byNet := map[string][]string{}
	for _, ad := range sv.GetAddresses() {
		n := ad.GetNetwork()
		if _, ok := byNet[n]; !ok {
			order = append(order, n)
		}
		byNet[n] = append(byNet[n], ad.GetIp())
	}
	parts := make([]string, len(order))
	for i, n := range order {
		parts[i] = strings.Join(byNet[n], ", ")
		if n != "" {
			parts[i] = n + "=" + parts[i]
		}
	}
	return strings.Join(parts, "; ")
}

func serverRows(w io.Writer, svs []*canopyv1.Server, flavors map[string]string) {
	rs := make([][]string, len(svs))
	for i, sv := range svs {
		flavor := sv.GetFlavorId()
		if n := flavors[flavor]; n != "" {
			flavor = n
		}
		rs[i] = []string{sv.GetId(), sv.GetName(), statusWord(sv.GetStatus()), sv.GetLocation().GetCloud(),
			sv.GetLocation().GetZone(), flavor, addresses(sv)}
	}
	rows(w, []string{"ID", "NAME", "STATUS", "CLOUD", "ZONE", "FLAVOR", "ADDRESSES"}, rs)
}

// serverDetails shows one server; flavor and image are named when canopyd
// can say cheaply.
func (a *app) serverDetails(ctx context.Context, w io.Writer, sv *canopyv1.Server) {
	flavor, image := sv.GetFlavorId(), sv.GetImageId()
	if c, err := a.compute(ctx); err == nil {
		rctx, cancel := a.rpcCtx(ctx, false)
		defer cancel()
		if flavor != "" {
			if f, err := c.GetFlavor(rctx, &canopyv1.GetFlavorRequest{Id: flavor}); err == nil {
				flavor = f.GetName() + " (" + flavor + ")"
			}
		}
		if image != "" {
			if im, err := c.GetImage(rctx, &canopyv1.GetImageRequest{Id: image}); err == nil {
				image = im.GetName() + " (" + image + ")"
			}
		}
	}
	details(w, []field{
		{"ID", sv.GetId()}, {"Name", sv.GetName()}, {"Kind", serverKindWord(sv.GetKind())}, {"Status", statusWithRaw(sv.GetStatus(), sv.GetProviderStatus())},
		{"Message", sv.GetStatusMessage()},
		{"Cloud", sv.GetLocation().GetCloud()}, {"Region", sv.GetLocation().GetRegion()}, {"Zone", sv.GetLocation().GetZone()},
		{"Flavor", flavor}, {"Image", image}, {"Keypair", sv.GetKeypair()}, {"Addresses", addresses(sv)},
		{"Labels", kv(sv.GetLabels())}, {"Created", when(sv.GetCreateTime())}, {"Updated", when(sv.GetUpdateTime())},
		{"Native ID", sv.GetNativeId()}, {"Properties", kv(sv.GetProperties())},
	})
}
