package main

import (
	"context"
	"io"
	"strconv"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
)

func (a netCmds) networkCmd() *cobra.Command {
	return group("network", "Networks: create, list, get, delete, watch",
		a.networkCreateCmd(), a.networkListCmd(), a.networkGetCmd(), a.networkDeleteCmd(), a.networkWatchCmd())
}

func (a netCmds) networkCreateCmd() *cobra.Command {
	var (
		loc    locFlags
		cidr   string
		mtu    int32
		labels []string
		of     opFlags
	)
	cmd := &cobra.Command{
		Use:   "create NAME [--cidr C]",
		Short: "Create a network",
		Long: `Create a network: a Neutron network on OpenStack, a VPC on AWS. --cidr is
its range: required on AWS (a VPC has one); elsewhere canopy keeps it and
checks that the network's subnets fall inside it. Addresses come from its
subnets ('canopy subnet create').` + opHelp,
		Example: "  canopy network create app --cidr 10.20.0.0/16 --cloud lab --wait\n" +
			"  canopy network create edge --mtu 1450 --label env=prod",
		Args: args(1, 1, "one network NAME"),
		RunE: a.cmdRun(func(cmd *cobra.Command, args []string) error {
			lm, err := parseLabels("label", labels)
			if err != nil {
				return err
			}
			if mtu < 0 {
				return usageErrorf("--mtu must not be negative, got %d", mtu)
			}
			return a.startOp(cmd, of, func(ctx context.Context, c canopyv1.NetworkServiceClient) (*canopyv1.Operation, error) {
				return c.CreateNetwork(ctx, &canopyv1.CreateNetworkRequest{Name: args[0], Location: loc.pb(), Cidr: cidr, Mtu: mtu,
					Labels: lm, Wait: of.wait, RequestId: of.requestID})
			})
		}),
	}
	f := cmd.Flags()
	f.StringVar(&cidr, "cidr", "", "the network's range, e.g. 10.20.0.0/16 (required on AWS)")
	f.Int32Var(&mtu, "mtu", 0, "MTU in bytes (default: the cloud's)")
	f.StringArrayVar(&labels, "label", nil, "label `key=value` to set (repeatable)")
	loc.add(cmd, "in", false)
	a.addOpFlags(cmd, &of, "the network is ready")
	return cmd
}

func (a netCmds) networkListCmd() *cobra.Command {
	var external bool
	cmd := netListCmd(a, "networks", false, true, func(ctx context.Context, c canopyv1.NetworkServiceClient, f *netFilters, size int32, token string) (page[*canopyv1.Network], error) {
		r, err := c.ListNetworks(ctx, &canopyv1.ListNetworksRequest{PageSize: size, PageToken: token, Location: f.loc.pb(), Name: f.name, Labels: f.lm, External: external})
		return page[*canopyv1.Network]{items: r.GetNetworks(), next: r.GetNextPageToken(), errs: r.GetCloudErrors()}, err
	}, func(_ context.Context, all []*canopyv1.Network, errs []*canopyv1.CloudError) (proto.Message, func(io.Writer)) {
		return &canopyv1.ListNetworksResponse{Networks: all, CloudErrors: errs}, func(w io.Writer) { networkRows(w, all) }
	})
	cmd.Flags().BoolVar(&external, "external", false, "only external networks (where floating IPs and router gateways come from)")
	return cmd
}

func (a netCmds) networkGetCmd() *cobra.Command {
	return netGetCmd(a, "network", "ID|NAME", func(ctx context.Context, c canopyv1.NetworkServiceClient, id string) (*canopyv1.Network, error) {
		return c.GetNetwork(ctx, &canopyv1.GetNetworkRequest{Id: id})
	}, networkDetails)
}

func (a netCmds) networkDeleteCmd() *cobra.Command {
	return netDeleteCmd(a, "delete", "network", "ID|NAME",
		"Delete networks. One that still has ports other than the cloud's own (a server's, a router's interface) is refused, naming them; delete its subnets' users first.",
		func(ctx context.Context, c canopyv1.NetworkServiceClient, id string, wait bool, reqID string) (*canopyv1.Operation, error) {
			return c.DeleteNetwork(ctx, &canopyv1.DeleteNetworkRequest{Id: id, Wait: wait, RequestId: reqID})
		})
}

func networkRows(w io.Writer, ns []*canopyv1.Network) {
	rs := make([][]string, len(ns))
	for i, n := range ns {
		rs[i] = []string{n.GetId(), n.GetName(), statusWord(n.GetStatus()), n.GetLocation().GetCloud(), n.GetCidr(),
			yesNo(n.GetExternal()), strconv.Itoa(len(n.GetSubnetIds()))}
	}
	rows(w, []string{"ID", "NAME", "STATUS", "CLOUD", "CIDR", "EXTERNAL", "SUBNETS"}, rs)
}

func networkDetails(w io.Writer, n *canopyv1.Network) {
	mtu := ""
	if n.GetMtu() > 0 {
		mtu = strconv.Itoa(int(n.GetMtu()))
	}
	details(w, []field{
		{"ID", n.GetId()}, {"Name", n.GetName()}, {"Status", statusWithRaw(n.GetStatus(), n.GetProviderStatus())},
		{"Message", n.GetStatusMessage()}, {"Cloud", n.GetLocation().GetCloud()}, {"Region", n.GetLocation().GetRegion()},
		{"CIDR", n.GetCidr()}, {"External", yesNo(n.GetExternal())}, {"Shared", yesNo(n.GetShared())}, {"Default", yesNo(n.GetDefault())},
		{"MTU", mtu}, {"Subnets", join(n.GetSubnetIds())},
		{"Labels", kv(n.GetLabels())}, {"Created", when(n.GetCreateTime())}, {"Updated", when(n.GetUpdateTime())},
		{"Native ID", n.GetNativeId()}, {"Properties", kv(n.GetProperties())},
	})
}
