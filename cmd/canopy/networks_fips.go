package main

import (
	"context"
	"io"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
)

func (a netCmds) fipCmd() *cobra.Command {
	return group("fip", "Floating IPs (public addresses): allocate, list, get, associate, disassociate, release, watch",
		a.fipAllocateCmd(), a.fipListCmd(), a.fipGetCmd(), a.fipAssociateCmd(), a.fipDisassociateCmd(), a.fipReleaseCmd(), a.fipWatchCmd())
}

func (a netCmds) fipAllocateCmd() *cobra.Command {
	var (
		loc             locFlags
		network, server string
		labels          []string
		of              opFlags
	)
	cmd := &cobra.Command{
		Use:   "allocate [--network EXT] [--server S]",
		Short: "Allocate a floating IP",
		Long: `Allocate a floating IP from an external network (a Neutron floating IP; on
AWS an Elastic IP from the network "internet"). --network may be left out
when the cloud has one external network. With --server it is associated with
the server's first port once allocated (the server must be reachable from
the external network: its subnet on a router with a gateway there).` + opHelp,
		Example: "  canopy fip allocate --network public --cloud lab --wait\n" +
			"  canopy fip allocate --server web-1 --wait",
		Args: args(0, 0, "no arguments"),
		RunE: a.cmdRun(func(cmd *cobra.Command, _ []string) error {
			lm, err := parseLabels("label", labels)
			if err != nil {
				return err
			}
			return a.startOp(cmd, of, func(ctx context.Context, c canopyv1.NetworkServiceClient) (*canopyv1.Operation, error) {
				return c.AllocateFloatingIP(ctx, &canopyv1.AllocateFloatingIPRequest{Location: loc.pb(), Network: network, Server: server,
					Labels: lm, Wait: of.wait, RequestId: of.requestID})
			})
		}),
	}
	f := cmd.Flags()
	f.StringVar(&network, "network", "", "the external network, id or name (default: the cloud's only one)")
	f.StringVar(&server, "server", "", "associate it with this server (id or name)")
	f.StringArrayVar(&labels, "label", nil, "label `key=value` to set (repeatable)")
	loc.add(cmd, "in", false)
	a.addOpFlags(cmd, &of, "the address is allocated (and associated)")
	return cmd
}

func (a netCmds) fipListCmd() *cobra.Command {
	var server string
	cmd := netListCmd(a, "floating IPs", false, false, func(ctx context.Context, c canopyv1.NetworkServiceClient, f *netFilters, size int32, token string) (page[*canopyv1.FloatingIP], error) {
		r, err := c.ListFloatingIPs(ctx, &canopyv1.ListFloatingIPsRequest{PageSize: size, PageToken: token, Location: f.loc.pb(), Labels: f.lm, Server: server})
		return page[*canopyv1.FloatingIP]{items: r.GetFloatingIps(), next: r.GetNextPageToken(), errs: r.GetCloudErrors()}, err
	}, func(_ context.Context, all []*canopyv1.FloatingIP, errs []*canopyv1.CloudError) (proto.Message, func(io.Writer)) {
		return &canopyv1.ListFloatingIPsResponse{FloatingIps: all, CloudErrors: errs}, func(w io.Writer) { fipRows(w, all) }
	})
	cmd.Flags().StringVar(&server, "server", "", "only those associated with this server (id or name)")
	return cmd
}

func (a netCmds) fipGetCmd() *cobra.Command {
	return netGetCmd(a, "floating IP", "ID|ADDRESS", func(ctx context.Context, c canopyv1.NetworkServiceClient, id string) (*canopyv1.FloatingIP, error) {
		return c.GetFloatingIP(ctx, &canopyv1.GetFloatingIPRequest{Id: id})
	}, fipDetails)
}

func (a netCmds) fipAssociateCmd() *cobra.Command {
	var server, port string
	cmd := &cobra.Command{
		Use:   "associate FIP (--server S | --port P)",
		Short: "Map a floating IP to a server or a port",
		Long: `Map a floating IP (id or address) to a server (its first port) or to a port.
One already associated elsewhere is refused: disassociate it first. The cloud
does it at once; the floating IP is printed as it is then.`,
		Example: "  canopy fip associate 203.0.113.7 --server web-1\n" +
			"  canopy fip associate 203.0.113.8 --port db-vip",
		Args: args(1, 1, "one FIP (id or address)"),
		RunE: a.cmdRun(func(cmd *cobra.Command, args []string) error {
			if (server == "") == (port == "") {
				return usageErrorf("%s: want --server S or --port P (one of them)", cmd.CommandPath())
			}
			return change(a, cmd, func(ctx context.Context, c canopyv1.NetworkServiceClient) (*canopyv1.FloatingIP, error) {
				return c.AssociateFloatingIP(ctx, &canopyv1.AssociateFloatingIPRequest{Id: args[0], Server: server, Port: port})
			}, fipDetails)
		}),
	}
	cmd.Flags().StringVar(&server, "server", "", "the server, id or name")
	cmd.Flags().StringVar(&port, "port", "", "the port, id or name")
	cmd.MarkFlagsMutuallyExclusive("server", "port")
	return cmd
}

func (a netCmds) fipDisassociateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "disassociate FIP",
		Short: "Free a floating IP from its server or port",
		Long:  "Free a floating IP (id or address) from its server or port; one already free is printed as it is.",
		Args:  args(1, 1, "one FIP (id or address)"),
		RunE: a.cmdRun(func(cmd *cobra.Command, args []string) error {
			return change(a, cmd, func(ctx context.Context, c canopyv1.NetworkServiceClient) (*canopyv1.FloatingIP, error) {
				return c.DisassociateFloatingIP(ctx, &canopyv1.DisassociateFloatingIPRequest{Id: args[0]})
			}, fipDetails)
		}),
	}
}

func (a netCmds) fipReleaseCmd() *cobra.Command {
	return netDeleteCmd(a, "release", "floating IP", "ID|ADDRESS",
		"Release floating IPs back to their clouds.",
		func(ctx context.Context, c canopyv1.NetworkServiceClient, id string, wait bool, reqID string) (*canopyv1.Operation, error) {
			return c.ReleaseFloatingIP(ctx, &canopyv1.ReleaseFloatingIPRequest{Id: id, Wait: wait, RequestId: reqID})
		})
}

func fipRows(w io.Writer, fs []*canopyv1.FloatingIP) {
	rs := make([][]string, len(fs))
	for i, f := range fs {
		rs[i] = []string{f.GetId(), f.GetIp(), statusWord(f.GetStatus()), f.GetLocation().GetCloud(), f.GetFixedIp(), f.GetPortId(), f.GetServerId()}
	}
	rows(w, []string{"ID", "ADDRESS", "STATUS", "CLOUD", "FIXED IP", "PORT", "SERVER"}, rs)
}

func fipDetails(w io.Writer, f *canopyv1.FloatingIP) {
	details(w, []field{
		{"ID", f.GetId()}, {"Address", f.GetIp()}, {"Status", statusWithRaw(f.GetStatus(), f.GetProviderStatus())},
		{"Message", f.GetStatusMessage()}, {"Cloud", f.GetLocation().GetCloud()}, {"Region", f.GetLocation().GetRegion()},
		{"Network", f.GetNetworkId()}, {"Fixed IP", f.GetFixedIp()}, {"Port", f.GetPortId()}, {"Server", f.GetServerId()},
		{"Labels", kv(f.GetLabels())}, {"Created", when(f.GetCreateTime())}, {"Updated", when(f.GetUpdateTime())},
		{"Native ID", f.GetNativeId()}, {"Properties", kv(f.GetProperties())},
	})
}
