package main

import (
	"context"
	"io"
	"strconv"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
)

func (a netCmds) routerCmd() *cobra.Command {
	return group("router", "Routers: create, list, get, delete, set-gateway, add-interface, remove-interface",
		a.routerCreateCmd(), a.routerListCmd(), a.routerGetCmd(), a.routerDeleteCmd(),
		a.routerSetGatewayCmd(), a.routerInterfaceCmd("add"), a.routerInterfaceCmd("remove"))
}

func (a netCmds) routerCreateCmd() *cobra.Command {
	var (
		loc      locFlags
		external string
		labels   []string
		of       opFlags
	)
	cmd := &cobra.Command{
		Use:   "create NAME [--external-network N]",
		Short: "Create a router",
		Long: `Create a router: a Neutron router on OpenStack; on AWS an internet gateway with
the route table that sends its subnets' default route through it. With
--external-network it gets a gateway there (see 'canopy network list
--external'; on AWS the network "internet"). Subnets join it with
'canopy router add-interface'.` + opHelp,
		Example: "  canopy router create edge --external-network public --cloud lab --wait\n" +
			"  canopy router create inner",
		Args: args(1, 1, "one router NAME"),
		RunE: a.cmdRun(func(cmd *cobra.Command, args []string) error {
			lm, err := parseLabels("label", labels)
			if err != nil {
				return err
			}
			return a.startOp(cmd, of, func(ctx context.Context, c canopyv1.NetworkServiceClient) (*canopyv1.Operation, error) {
				return c.CreateRouter(ctx, &canopyv1.CreateRouterRequest{Name: args[0], Location: loc.pb(), ExternalNetwork: external,
					Labels: lm, Wait: of.wait, RequestId: of.requestID})
			})
		}),
	}
	f := cmd.Flags()
	f.StringVar(&external, "external-network", "", "an external network for its gateway, id or name (default: no gateway)")
	f.StringArrayVar(&labels, "label", nil, "label `key=value` to set (repeatable)")
	loc.add(cmd, "in", false)
	a.addOpFlags(cmd, &of, "the router is ready")
	return cmd
}

func (a netCmds) routerListCmd() *cobra.Command {
	return netListCmd(a, "routers", false, true, func(ctx context.Context, c canopyv1.NetworkServiceClient, f *netFilters, size int32, token string) (page[*canopyv1.Router], error) {
		r, err := c.ListRouters(ctx, &canopyv1.ListRoutersRequest{PageSize: size, PageToken: token, Location: f.loc.pb(), Name: f.name, Labels: f.lm})
		return page[*canopyv1.Router]{items: r.GetRouters(), next: r.GetNextPageToken(), errs: r.GetCloudErrors()}, err
	}, func(ctx context.Context, all []*canopyv1.Router, errs []*canopyv1.CloudError) (proto.Message, func(io.Writer)) {
		return &canopyv1.ListRoutersResponse{Routers: all, CloudErrors: errs}, func(w io.Writer) { routerRows(w, all, a.networkNames(ctx)) }
	})
}

func (a netCmds) routerGetCmd() *cobra.Command {
	return netGetCmd(a, "router", "ID|NAME", func(ctx context.Context, c canopyv1.NetworkServiceClient, id string) (*canopyv1.Router, error) {
		return c.GetRouter(ctx, &canopyv1.GetRouterRequest{Id: id})
	}, routerDetails)
}

func (a netCmds) routerDeleteCmd() *cobra.Command {
	return netDeleteCmd(a, "delete", "router", "ID|NAME",
		"Delete routers. One that still has interfaces is refused: remove them first ('canopy router remove-interface').",
		func(ctx context.Context, c canopyv1.NetworkServiceClient, id string, wait bool, reqID string) (*canopyv1.Operation, error) {
			return c.DeleteRouter(ctx, &canopyv1.DeleteRouterRequest{Id: id, Wait: wait, RequestId: reqID})
		})
}

func (a netCmds) routerSetGatewayCmd() *cobra.Command {
	var (
		external string
		clear    bool
	)
	cmd := &cobra.Command{
		Use:   "set-gateway ROUTER (--external-network N | --clear)",
		Short: "Set or clear a router's external gateway",
		Long: `Give a router a gateway on an external network (replacing the one it has), or
with --clear take its gateway away. The cloud does it at once; the router is
printed as it is then.`,
		Example: "  canopy router set-gateway edge --external-network public\n" +
			"  canopy router set-gateway edge --clear",
		Args: args(1, 1, "one ROUTER (id or name)"),
		RunE: a.cmdRun(func(cmd *cobra.Command, args []string) error {
			if (external == "") == !clear {
				return usageErrorf("%s: want --external-network N or --clear (one of them)", cmd.CommandPath())
			}
			return change(a, cmd, func(ctx context.Context, c canopyv1.NetworkServiceClient) (*canopyv1.Router, error) {
				return c.SetRouterGateway(ctx, &canopyv1.SetRouterGatewayRequest{Id: args[0], ExternalNetwork: external})
			}, routerDetails)
		}),
	}
	cmd.Flags().StringVar(&external, "external-network", "", "the external network, id or name")
	cmd.Flags().BoolVar(&clear, "clear", false, "remove the router's gateway")
	cmd.MarkFlagsMutuallyExclusive("external-network", "clear")
	return cmd
}

// routerInterfaceCmd builds add-interface and remove-interface.
func (a netCmds) routerInterfaceCmd(verb string) *cobra.Command {
	short, long := "Attach a subnet to a router", `Attach a subnet to a router (in the same cloud): the router takes the
subnet's gateway address there, and the subnet reaches the router's external
network through it.`
	if verb == "remove" {
		short, long = "Detach a subnet from a router", "Detach a subnet from a router."
	}
	return &cobra.Command{
		Use:     verb + "-interface ROUTER SUBNET",
		Short:   short,
		Long:    long + " The cloud does it at once; the router is printed as it is then.",
		Example: "  canopy router " + verb + "-interface edge app-a",
		Args:    args(2, 2, "ROUTER and SUBNET (ids or names)"),
		RunE: a.cmdRun(func(cmd *cobra.Command, args []string) error {
			return change(a, cmd, func(ctx context.Context, c canopyv1.NetworkServiceClient) (*canopyv1.Router, error) {
				if verb == "remove" {
					return c.RemoveRouterInterface(ctx, &canopyv1.RemoveRouterInterfaceRequest{Id: args[0], Subnet: args[1]})
				}
				return c.AddRouterInterface(ctx, &canopyv1.AddRouterInterfaceRequest{Id: args[0], Subnet: args[1]})
			}, routerDetails)
		}),
	}
}

func routerRows(w io.Writer, rts []*canopyv1.Router, networks map[string]string) {
	rs := make([][]string, len(rts))
	for i, r := range rts {
		ext := ""
		if r.GetExternalNetworkId() != "" {
			ext = named(networks, r.GetExternalNetworkId())
		}
		rs[i] = []string{r.GetId(), r.GetName(), statusWord(r.GetStatus()), r.GetLocation().GetCloud(), ext,
			join(r.GetExternalIps()), strconv.Itoa(len(r.GetInterfaces()))}
	}
	rows(w, []string{"ID", "NAME", "STATUS", "CLOUD", "EXTERNAL NETWORK", "EXTERNAL IPS", "INTERFACES"}, rs)
}

func routerDetails(w io.Writer, r *canopyv1.Router) {
	ifs := make([]string, len(r.GetInterfaces()))
	for i, in := range r.GetInterfaces() {
		ifs[i] = "subnet " + in.GetSubnetId()
		if in.GetIp() != "" {
			ifs[i] += " at " + in.GetIp()
		}
	}
	details(w, []field{
		{"ID", r.GetId()}, {"Name", r.GetName()}, {"Status", statusWithRaw(r.GetStatus(), r.GetProviderStatus())},
		{"Message", r.GetStatusMessage()}, {"Cloud", r.GetLocation().GetCloud()}, {"Region", r.GetLocation().GetRegion()},
		{"External network", r.GetExternalNetworkId()}, {"External IPs", join(r.GetExternalIps())}, {"Interfaces", join(ifs)},
		{"Labels", kv(r.GetLabels())}, {"Created", when(r.GetCreateTime())}, {"Updated", when(r.GetUpdateTime())},
		{"Native ID", r.GetNativeId()}, {"Properties", kv(r.GetProperties())},
	})
}
