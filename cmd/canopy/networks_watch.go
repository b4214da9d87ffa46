package main

import (
	"context"
	"strconv"

	"github.com/spf13/cobra"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
)

// `canopy network|port|sg|fip watch`: the one watch command (watch.go)
// over NetworkService's Watch streams.

// netWatchLong is the part of every networking watch's help that says
// where the events come from.
const netWatchLong = `

The stream is fed by canopyd's batched poller of the kind, one per cloud, so
watching costs the clouds nothing beyond one list per poll interval whatever
the number of watchers. Changes made at the cloud itself, behind canopy's
back, show too. With -o json each event is one JSON object per line; with
-o yaml, one YAML document per event.`

func (a netCmds) networkWatchCmd() *cobra.Command {
	return watchCmd(a.app, watchSpec[*canopyv1.WatchNetworksResponse]{
		kind:  "network",
		short: "Stream network changes as they happen",
		long: `Print every matching network as it is now (the clouds' external and shared
ones included), then every change (status, subnets, labels) and every
deletion, until interrupted or --count events. A global network is a
definition kept by canopy: its realizations are watched, as the networks of
their clouds.` + netWatchLong,
		example: "  canopy network watch\n  canopy network watch --cloud lab -o json | jq .network.subnet_ids",
		open: func(ctx context.Context, f watchFilters) (func() (*canopyv1.WatchNetworksResponse, error), error) {
			c, err := a.networking(ctx)
			if err != nil {
				return nil, err
			}
			stream, err := c.WatchNetworks(ctx, &canopyv1.WatchNetworksRequest{Location: f.loc, Name: f.name, Labels: f.labels, Ids: f.ids})
			if err != nil {
				return nil, err
			}
			return stream.Recv, nil
		},
		typ:    func(ev *canopyv1.WatchNetworksResponse) string { return ev.Type.String() },
		format: "%-12s  %-11s  %-36s  %-20s  %-9s  %-18s  %s\n",
		header: []any{"TIME", "EVENT", "ID", "NAME", "STATUS", "CIDR", "CLOUD"},
		row: func(ev *canopyv1.WatchNetworksResponse) ([]any, bool) {
			n := ev.Network
			if n == nil {
				return nil, false
			}
			return []any{n.Id, n.Name, statusWord(n.Status), n.Cidr, n.Location.GetCloud()}, true
		},
	})
}

func (a netCmds) portWatchCmd() *cobra.Command {
	return watchCmd(a.app, watchSpec[*canopyv1.WatchPortsResponse]{
		kind:  "port",
		short: "Stream port changes as they happen",
		long: `Print every matching port as it is now, then every change (status, addresses,
the server using it, security groups) and every deletion, until interrupted
or --count events. The ports clouds make for servers show as they come and
go.` + netWatchLong,
		example: "  canopy port watch --cloud lab",
		open: func(ctx context.Context, f watchFilters) (func() (*canopyv1.WatchPortsResponse, error), error) {
			c, err := a.networking(ctx)
			if err != nil {
				return nil, err
			}
			stream, err := c.WatchPorts(ctx, &canopyv1.WatchPortsRequest{Location: f.loc, Name: f.name, Labels: f.labels, Ids: f.ids})
			if err != nil {
				return nil, err
			}
			return stream.Recv, nil
		},
		typ:    func(ev *canopyv1.WatchPortsResponse) string { return ev.Type.String() },
		format: "%-12s  %-11s  %-36s  %-20s  %-9s  %-18s  %s\n",
		header: []any{"TIME", "EVENT", "ID", "NAME", "STATUS", "FIXED IPS", "CLOUD"},
		row: func(ev *canopyv1.WatchPortsResponse) ([]any, bool) {
			p := ev.Port
			if p == nil {
				return nil, false
			}
			return []any{p.Id, p.Name, statusWord(p.Status), fixedIPs(p), p.Location.GetCloud()}, true
		},
	})
}

func (a netCmds) sgWatchCmd() *cobra.Command {
	return watchCmd(a.app, watchSpec[*canopyv1.WatchSecurityGroupsResponse]{
		kind:  "security group",
		short: "Stream security group changes as they happen",
		long: `Print every matching security group as it is now, then every change and every
deletion, until interrupted or --count events. A change of a group's rules
is "modified", whoever made it: canopy, the cloud's own API or console, or
canopy's reconcile loop putting back a global group's realization changed
at the cloud (the rules it adds back have new ids). A global group is a
definition kept by canopy: its realizations are watched, as the groups of
their clouds.` + netWatchLong,
		example: "  canopy sg watch --name web\n  canopy sg watch -o json | jq '.security_group.rules | length'",
		open: func(ctx context.Context, f watchFilters) (func() (*canopyv1.WatchSecurityGroupsResponse, error), error) {
			c, err := a.networking(ctx)
			if err != nil {
				return nil, err
			}
			stream, err := c.WatchSecurityGroups(ctx, &canopyv1.WatchSecurityGroupsRequest{Location: f.loc, Name: f.name, Labels: f.labels, Ids: f.ids})
			if err != nil {
				return nil, err
			}
			return stream.Recv, nil
		},
		typ:    func(ev *canopyv1.WatchSecurityGroupsResponse) string { return ev.Type.String() },
		format: "%-12s  %-11s  %-36s  %-20s  %-9s  %-5s  %s\n",
		header: []any{"TIME", "EVENT", "ID", "NAME", "STATUS", "RULES", "CLOUD"},
		row: func(ev *canopyv1.WatchSecurityGroupsResponse) ([]any, bool) {
			g := ev.SecurityGroup
			if g == nil {
				return nil, false
			}
			return []any{g.Id, g.Name, statusWord(g.Status), strconv.Itoa(len(g.Rules)), g.Location.GetCloud()}, true
		},
	})
}

func (a netCmds) fipWatchCmd() *cobra.Command {
	return watchCmd(a.app, watchSpec[*canopyv1.WatchFloatingIPsResponse]{
		kind:  "floating IP",
		short: "Stream floating IP changes as they happen",
		long: `Print every matching floating IP as it is now, then every change (associated,
disassociated, labels) and every release, until interrupted or --count
events. --name is the address.` + netWatchLong,
		example: "  canopy fip watch\n  canopy fip watch --name 203.0.113.7 -o json | jq .floating_ip.server_id",
		open: func(ctx context.Context, f watchFilters) (func() (*canopyv1.WatchFloatingIPsResponse, error), error) {
			c, err := a.networking(ctx)
			if err != nil {
				return nil, err
			}
			stream, err := c.WatchFloatingIPs(ctx, &canopyv1.WatchFloatingIPsRequest{Location: f.loc, Name: f.name, Labels: f.labels, Ids: f.ids})
			if err != nil {
				return nil, err
			}
			return stream.Recv, nil
		},
		typ:    func(ev *canopyv1.WatchFloatingIPsResponse) string { return ev.Type.String() },
		format: "%-12s  %-11s  %-36s  %-15s  %-9s  %-15s  %-36s  %s\n",
		header: []any{"TIME", "EVENT", "ID", "ADDRESS", "STATUS", "FIXED IP", "SERVER", "CLOUD"},
		row: func(ev *canopyv1.WatchFloatingIPsResponse) ([]any, bool) {
			f := ev.FloatingIp
			if f == nil {
				return nil, false
			}
			return []any{f.Id, f.Ip, statusWord(f.Status), f.FixedIp, f.ServerId, f.Location.GetCloud()}, true
		},
	})
}
