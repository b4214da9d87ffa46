package main

import (
	"context"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
)

func (a netCmds) subnetCmd() *cobra.Command {
	return group("subnet", "Subnets (address ranges of a network): create, list, get, delete",
		a.subnetCreateCmd(), a.subnetListCmd(), a.subnetGetCmd(), a.subnetDeleteCmd())
}

func (a netCmds) subnetCreateCmd() *cobra.Command {
	var (
		network, cidr, zone, gateway string
		noGateway, noDHCP            bool
		dns, pools, labels           []string
		of                           opFlags
	)
	cmd := &cobra.Command{
		Use:   "create NAME --network N --cidr C",
		Short: "Create a subnet in a network",
		Long: `Create a subnet in a network (and in the network's cloud). Its gateway is the
range's first address unless --gateway names another or --no-gateway asks for
none; DHCP is on unless --no-dhcp. --pool limits the addresses handed out to
START-END ranges (repeatable; default: the whole range). canopyd checks every
address (inside the range, not its network or broadcast address) and names the
field it refuses.` + opHelp,
		Example: "  canopy subnet create app-a --network app --cidr 10.20.1.0/24 --wait\n" +
			"  canopy subnet create db --network app --cidr 10.20.2.0/24 --gateway 10.20.2.254 --dns 9.9.9.9 --pool 10.20.2.10-10.20.2.99\n" +
			"  canopy subnet create isolated --network app --cidr 10.20.3.0/24 --no-gateway --no-dhcp",
		Args: args(1, 1, "one subnet NAME"),
		RunE: a.cmdRun(func(cmd *cobra.Command, args []string) error {
			lm, err := parseLabels("label", labels)
			if err != nil {
				return err
			}
			ranges, err := parsePools(pools)
			if err != nil {
				return err
			}
			return a.startOp(cmd, of, func(ctx context.Context, c canopyv1.NetworkServiceClient) (*canopyv1.Operation, error) {
				return c.CreateSubnet(ctx, &canopyv1.CreateSubnetRequest{Name: args[0], Network: network, Cidr: cidr, Zone: zone,
					GatewayIp: gateway, NoGateway: noGateway, DisableDhcp: noDHCP, DnsServers: dns, AllocationPools: ranges,
					Labels: lm, Wait: of.wait, RequestId: of.requestID})
			})
		}),
	}
	f := cmd.Flags()
	f.StringVar(&network, "network", "", "its network, id or name (required)")
	f.StringVar(&cidr, "cidr", "", "its range, e.g. 10.20.1.0/24 (required)")
	f.StringVar(&zone, "zone", "", "the availability zone, on clouds whose subnets live in one (AWS)")
	f.StringVar(&gateway, "gateway", "", "the gateway `IP` (default: the range's first address)")
	f.BoolVar(&noGateway, "no-gateway", false, "no gateway at all")
	f.BoolVar(&noDHCP, "no-dhcp", false, "turn DHCP off")
	f.StringArrayVar(&dns, "dns", nil, "a DNS server `IP` for instances (repeatable)")
	f.StringArrayVar(&pools, "pool", nil, "allocate addresses from `START-END` only (repeatable)")
	f.StringArrayVar(&labels, "label", nil, "label `key=value` to set (repeatable)")
	_ = cmd.MarkFlagRequired("network")
	_ = cmd.MarkFlagRequired("cidr")
	cmd.MarkFlagsMutuallyExclusive("gateway", "no-gateway")
	a.addOpFlags(cmd, &of, "the subnet is ready")
	return cmd
}

// parsePools reads --pool START-END flags. The addresses themselves are
// canopyd's to check (it names the pool and end it refuses).
func parsePools(vs []string) ([]*canopyv1.IPRange, error) {
	var out []*canopyv1.IPRange
	for _, v := range vs {
		start, end, ok := strings.Cut(v, "-")
		start, end = strings.TrimSpace(start), strings.TrimSpace(end)
		if !ok || start == "" || end == "" || strings.Contains(end, "-") {
			return nil, usageErrorf("--pool %q: want START-END, e.g. 10.0.0.10-10.0.0.99", v)
		}
		out = append(out, &canopyv1.IPRange{Start: start, End: end})
	}
	return out, nil
}

func (a netCmds) subnetListCmd() *cobra.Command {
	var network string
	cmd := netListCmd(a, "subnets", true, true, func(ctx context.Context, c canopyv1.NetworkServiceClient, f *netFilters, size int32, token string) (page[*canopyv1.Subnet], error) {
		r, err := c.ListSubnets(ctx, &canopyv1.ListSubnetsRequest{PageSize: size, PageToken: token, Location: f.loc.pb(), Name: f.name, Labels: f.lm, Network: network})
		return page[*canopyv1.Subnet]{items: r.GetSubnets(), next: r.GetNextPageToken(), errs: r.GetCloudErrors()}, err
	}, func(ctx context.Context, all []*canopyv1.Subnet, errs []*canopyv1.CloudError) (proto.Message, func(io.Writer)) {
		return &canopyv1.ListSubnetsResponse{Subnets: all, CloudErrors: errs}, func(w io.Writer) { subnetRows(w, all, a.networkNames(ctx)) }
	})
	cmd.Flags().StringVar(&network, "network", "", "only subnets of this network (id or name)")
	return cmd
}

func (a netCmds) subnetGetCmd() *cobra.Command {
	return netGetCmd(a, "subnet", "ID|NAME", func(ctx context.Context, c canopyv1.NetworkServiceClient, id string) (*canopyv1.Subnet, error) {
		return c.GetSubnet(ctx, &canopyv1.GetSubnetRequest{Id: id})
	}, subnetDetails)
}

func (a netCmds) subnetDeleteCmd() *cobra.Command {
	return netDeleteCmd(a, "delete", "subnet", "ID|NAME",
		"Delete subnets. None of their addresses may still be in use: remove router interfaces and ports first.",
		func(ctx context.Context, c canopyv1.NetworkServiceClient, id string, wait bool, reqID string) (*canopyv1.Operation, error) {
			return c.DeleteSubnet(ctx, &canopyv1.DeleteSubnetRequest{Id: id, Wait: wait, RequestId: reqID})
		})
}

func subnetRows(w io.Writer, ss []*canopyv1.Subnet, networks map[string]string) {
	rs := make([][]string, len(ss))
	for i, s := range ss {
		rs[i] = []string{s.GetId(), s.GetName(), named(networks, s.GetNetworkId()), s.GetCidr(), s.GetGatewayIp(),
			s.GetLocation().GetCloud(), s.GetLocation().GetZone()}
	}
	rows(w, []string{"ID", "NAME", "NETWORK", "CIDR", "GATEWAY", "CLOUD", "ZONE"}, rs)
}

func ipRanges(rs []*canopyv1.IPRange) string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.GetStart() + "-" + r.GetEnd()
	}
	return join(out)
}

func subnetDetails(w io.Writer, s *canopyv1.Subnet) {
	gateway := s.GetGatewayIp()
	if gateway == "" {
		gateway = "none"
	}
	details(w, []field{
		{"ID", s.GetId()}, {"Name", s.GetName()}, {"Status", statusWithRaw(s.GetStatus(), s.GetProviderStatus())},
		{"Message", s.GetStatusMessage()}, {"Cloud", s.GetLocation().GetCloud()}, {"Region", s.GetLocation().GetRegion()},
		{"Zone", s.GetLocation().GetZone()}, {"Network", s.GetNetworkId()}, {"CIDR", s.GetCidr()}, {"Gateway", gateway},
		{"DHCP", yesNo(s.GetDhcp())}, {"DNS servers", join(s.GetDnsServers())}, {"Allocation pools", ipRanges(s.GetAllocationPools())},
		{"Labels", kv(s.GetLabels())}, {"Created", when(s.GetCreateTime())}, {"Updated", when(s.GetUpdateTime())},
		{"Native ID", s.GetNativeId()}, {"Properties", kv(s.GetProperties())},
	})
}
