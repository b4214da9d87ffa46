package main

import (
	"context"
	"io"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
)

func (a netCmds) portCmd() *cobra.Command {
	return group("port", "Ports (a network attachment, an EC2 network interface): create, list, get, delete, watch",
		a.portCreateCmd(), a.portListCmd(), a.portGetCmd(), a.portDeleteCmd(), a.portWatchCmd())
}

func (a netCmds) portCreateCmd() *cobra.Command {
	var (
		network, subnet, fixedIP string
		groups, labels           []string
		of                       opFlags
	)
	cmd := &cobra.Command{
		Use:   "create NAME --network N",
		Short: "Create a port",
		Long: `Create a port in a network (and in the network's cloud), e.g. to give a server
a fixed address: 'canopy server create --port'. --subnet picks the subnet its
address comes from (required on AWS), --fixed-ip the address itself; --sg sets
its security groups (default: the cloud's default group).` + opHelp,
		Example: "  canopy port create db-vip --network app --subnet app-a --fixed-ip 10.20.1.10 --wait\n" +
			"  canopy port create web-1 --network app --sg web --sg ssh",
		Args: args(1, 1, "one port NAME"),
		RunE: a.cmdRun(func(cmd *cobra.Command, args []string) error {
			lm, err := parseLabels("label", labels)
			if err != nil {
				return err
			}
			return a.startOp(cmd, of, func(ctx context.Context, c canopyv1.NetworkServiceClient) (*canopyv1.Operation, error) {
				return c.CreatePort(ctx, &canopyv1.CreatePortRequest{Name: args[0], Network: network, Subnet: subnet, FixedIp: fixedIP,
					SecurityGroups: groups, Labels: lm, Wait: of.wait, RequestId: of.requestID})
			})
		}),
	}
	f := cmd.Flags()
	f.StringVar(&network, "network", "", "its network, id or name (required)")
	f.StringVar(&subnet, "subnet", "", "the subnet its address comes from, id or name (required on AWS)")
	f.StringVar(&fixedIP, "fixed-ip", "", "the `IP` to give it (default: the cloud's choice)")
	f.StringArrayVar(&groups, "sg", nil, "a security group, id or name (repeatable; default: the cloud's default)")
	f.StringArrayVar(&labels, "label", nil, "label `key=value` to set (repeatable)")
	_ = cmd.MarkFlagRequired("network")
	a.addOpFlags(cmd, &of, "the port is ready")
	return cmd
}

func (a netCmds) portListCmd() *cobra.Command {
	var network, server string
	cmd := netListCmd(a, "ports", true, true, func(ctx context.Context, c canopyv1.NetworkServiceClient, f *netFilters, size int32, token string) (page[*canopyv1.Port], error) {
		r, err := c.ListPorts(ctx, &canopyv1.ListPortsRequest{PageSize: size, PageToken: token, Location: f.loc.pb(), Name: f.name, Labels: f.lm,
			Network: network, Server: server})
		return page[*canopyv1.Port]{items: r.GetPorts(), next: r.GetNextPageToken(), errs: r.GetCloudErrors()}, err
	}, func(ctx context.Context, all []*canopyv1.Port, errs []*canopyv1.CloudError) (proto.Message, func(io.Writer)) {
		return &canopyv1.ListPortsResponse{Ports: all, CloudErrors: errs}, func(w io.Writer) { portRows(w, all, a.networkNames(ctx)) }
	})
	cmd.Flags().StringVar(&network, "network", "", "only ports of this network (id or name)")
	cmd.Flags().StringVar(&server, "server", "", "only ports of this server (id or name)")
	return cmd
}

func (a netCmds) portGetCmd() *cobra.Command {
	return netGetCmd(a, "port", "ID|NAME", func(ctx context.Context, c canopyv1.NetworkServiceClient, id string) (*canopyv1.Port, error) {
		return c.GetPort(ctx, &canopyv1.GetPortRequest{Id: id})
	}, portDetails)
}

func (a netCmds) portDeleteCmd() *cobra.Command {
	return netDeleteCmd(a, "delete", "port", "ID|NAME",
		"Delete ports. A router's interface port is the router's: remove the interface instead ('canopy router remove-interface').",
		func(ctx context.Context, c canopyv1.NetworkServiceClient, id string, wait bool, reqID string) (*canopyv1.Operation, error) {
			return c.DeletePort(ctx, &canopyv1.DeletePortRequest{Id: id, Wait: wait, RequestId: reqID})
		})
}

// fixedIPs formats a port's addresses: "10.0.0.5, fd00::5".
func fixedIPs(p *canopyv1.Port) string {
	out := make([]string, len(p.GetFixedIps()))
	for i, f := range p.GetFixedIps() {
		out[i] = f.GetIp()
	}
	return join(out)
}

// portUser is the server a port belongs to, else what uses it in the
// cloud's words ("network:router_interface").
func portUser(p *canopyv1.Port) string {
	if p.GetServerId() != "" {
		return p.GetServerId()
	}
	return p.GetDeviceOwner()
}

func portRows(w io.Writer, ps []*canopyv1.Port, networks map[string]string) {
	rs := make([][]string, len(ps))
	for i, p := range ps {
		rs[i] = []string{p.GetId(), p.GetName(), statusWord(p.GetStatus()), named(networks, p.GetNetworkId()), fixedIPs(p),
			portUser(p), p.GetLocation().GetCloud()}
	}
	rows(w, []string{"ID", "NAME", "STATUS", "NETWORK", "FIXED IPS", "USED BY", "CLOUD"}, rs)
}

func portDetails(w io.Writer, p *canopyv1.Port) {
	var addrs []string
	for _, f := range p.GetFixedIps() {
		addrs = append(addrs, f.GetIp()+" (subnet "+f.GetSubnetId()+")")
	}
	device := p.GetDeviceOwner()
	if p.GetDeviceNativeId() != "" {
		device += " " + p.GetDeviceNativeId()
	}
	details(w, []field{
		{"ID", p.GetId()}, {"Name", p.GetName()}, {"Status", statusWithRaw(p.GetStatus(), p.GetProviderStatus())},
		{"Message", p.GetStatusMessage()}, {"Cloud", p.GetLocation().GetCloud()}, {"Region", p.GetLocation().GetRegion()},
		{"Zone", p.GetLocation().GetZone()}, {"Network", p.GetNetworkId()}, {"MAC address", p.GetMacAddress()},
		{"Fixed IPs", join(addrs)}, {"Server", p.GetServerId()}, {"Device", device}, {"Security groups", join(p.GetSecurityGroupIds())},
		{"Labels", kv(p.GetLabels())}, {"Created", when(p.GetCreateTime())}, {"Updated", when(p.GetUpdateTime())},
		{"Native ID", p.GetNativeId()}, {"Properties", kv(p.GetProperties())},
	})
}
