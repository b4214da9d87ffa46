package main

import (
	"context"
	"fmt"
	"io"
	"strconv"

	"github.com/spf13/cobra"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
)

func (a netCmds) sgCmd() *cobra.Command {
	rule := group("rule", "A security group's rules: add, delete", a.sgRuleAddCmd(), a.sgRuleDeleteCmd())
	return group("sg", "Security groups and their rules: create, list, get, delete, watch, rule add|delete",
		a.sgCreateCmd(), a.sgListCmd(), a.sgGetCmd(), a.sgDeleteCmd(), a.sgWatchCmd(), rule)
}

func (a netCmds) sgCreateCmd() *cobra.Command {
	var (
		loc                  locFlags
		description, network string
		specs, labels        []string
		of                   opFlags
	)
	cmd := &cobra.Command{
		Use:   "create NAME [--rule SPEC]...",
		Short: "Create a security group",
		Long: `Create a security group with the cloud's default rules (which canopy keeps as
they are) and the --rule ones. On AWS a group belongs to a VPC: --network
(default: the default VPC).
` + ruleSyntax + opHelp,
		Example: "  canopy sg create web --rule ingress,tcp,80,0.0.0.0/0 --rule ingress,tcp,443,0.0.0.0/0 --wait\n" +
			"  canopy sg create cluster --description 'talks to itself' --rule any,self",
		Args: args(1, 1, "one security group NAME"),
		RunE: a.cmdRun(func(cmd *cobra.Command, args []string) error {
			lm, err := parseLabels("label", labels)
			if err != nil {
				return err
			}
			rules, err := parseRules("--rule", specs, args[0])
			if err != nil {
				return err
			}
			return a.startOp(cmd, of, func(ctx context.Context, c canopyv1.NetworkServiceClient) (*canopyv1.Operation, error) {
				return c.CreateSecurityGroup(ctx, &canopyv1.CreateSecurityGroupRequest{Name: args[0], Location: loc.pb(), Description: description,
					Network: network, Rules: rules, Labels: lm, Wait: of.wait, RequestId: of.requestID})
			})
		}),
	}
	f := cmd.Flags()
	f.StringVar(&description, "description", "", "a description")
	f.StringVar(&network, "network", "", "the network it belongs to, on clouds where groups belong to one (AWS: the VPC)")
	f.StringArrayVar(&specs, "rule", nil, "a rule `SPEC` to add (repeatable; see above)")
	f.StringArrayVar(&labels, "label", nil, "label `key=value` to set (repeatable)")
	loc.add(cmd, "in", false)
	a.addOpFlags(cmd, &of, "the group and its rules are ready")
	return cmd
}

func (a netCmds) sgListCmd() *cobra.Command {
	return netListCmd(a, "security groups", false, true, func(ctx context.Context, c canopyv1.NetworkServiceClient, f *netFilters, size int32, token string) (page[*canopyv1.SecurityGroup], error) {
		r, err := c.ListSecurityGroups(ctx, &canopyv1.ListSecurityGroupsRequest{PageSize: size, PageToken: token, Location: f.loc.pb(), Name: f.name, Labels: f.lm})
		return page[*canopyv1.SecurityGroup]{items: r.GetSecurityGroups(), next: r.GetNextPageToken(), errs: r.GetCloudErrors()}, err
	}, func(_ context.Context, all []*canopyv1.SecurityGroup, errs []*canopyv1.CloudError) (proto.Message, func(io.Writer)) {
		return &canopyv1.ListSecurityGroupsResponse{SecurityGroups: all, CloudErrors: errs}, func(w io.Writer) { sgRows(w, all) }
	})
}

func (a netCmds) sgGetCmd() *cobra.Command {
	cmd := netGetCmd(a, "security group", "ID|NAME", func(ctx context.Context, c canopyv1.NetworkServiceClient, id string) (*canopyv1.SecurityGroup, error) {
		return c.GetSecurityGroup(ctx, &canopyv1.GetSecurityGroupRequest{Id: id})
	}, sgDetails)
	cmd.Long = "Show one security group, with its rules in a table (in the words of the rule syntax; see 'canopy sg rule add --help')."
	return cmd
}

func (a netCmds) sgDeleteCmd() *cobra.Command {
	return netDeleteCmd(a, "delete", "security group", "ID|NAME",
		"Delete security groups. One that a port, a server or another group's rule still uses is refused, naming it.",
		func(ctx context.Context, c canopyv1.NetworkServiceClient, id string, wait bool, reqID string) (*canopyv1.Operation, error) {
			return c.DeleteSecurityGroup(ctx, &canopyv1.DeleteSecurityGroupRequest{Id: id, Wait: wait, RequestId: reqID})
		})
}

func (a netCmds) sgRuleAddCmd() *cobra.Command {
	var description string
	cmd := &cobra.Command{
		Use:   "add GROUP SPEC...",
		Short: "Add rules to a security group",
		Long: `Add rules to a security group, one after another; the cloud adds each at once
and the group is printed with its rules. The same rule twice is refused
(ALREADY_EXISTS); rules added before a refused one stay.
` + ruleSyntax,
		Example: "  canopy sg rule add web ingress,tcp,22,203.0.113.0/24\n" +
			"  canopy sg rule add cluster any,self tcp,9100,group=monitoring --description 'node exporter'",
		Args: args(2, -1, "GROUP (id or name) and one or more rule SPECs"),
		RunE: a.cmdRun(func(cmd *cobra.Command, args []string) error {
			rules, err := parseRules("rule", args[1:], args[0])
			if err != nil {
				return err
			}
			for _, r := range rules {
				r.Description = description
			}
			return change(a, cmd, func(ctx context.Context, c canopyv1.NetworkServiceClient) (g *canopyv1.SecurityGroup, err error) {
				for i, r := range rules {
					if g, err = c.AddSecurityGroupRule(ctx, &canopyv1.AddSecurityGroupRuleRequest{Id: args[0], Rule: r}); err != nil {
						return nil, ruleErr("added", len(rules), i, args[1+i], err)
					}
				}
				return g, nil
			}, sgDetails)
		}),
	}
	cmd.Flags().StringVar(&description, "description", "", "a description for the rules")
	return cmd
}

func (a netCmds) sgRuleDeleteCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "delete GROUP RULE_ID...",
		Aliases: []string{"rm"},
		Short:   "Remove rules from a security group",
		Long:    "Remove rules from a security group by their ids (the ID column of 'canopy sg get'), one after another; the group is printed with the rules it has left.",
		Example: "  canopy sg rule delete web 5e1c9a4e-3f0b-4a57-9f8e-2a1d0c7b6e21",
		Args:    args(2, -1, "GROUP (id or name) and one or more RULE_IDs"),
		RunE: a.cmdRun(func(cmd *cobra.Command, args []string) error {
			return change(a, cmd, func(ctx context.Context, c canopyv1.NetworkServiceClient) (g *canopyv1.SecurityGroup, err error) {
				for i, id := range args[1:] {
					if g, err = c.RemoveSecurityGroupRule(ctx, &canopyv1.RemoveSecurityGroupRuleRequest{Id: args[0], RuleId: id}); err != nil {
						return nil, ruleErr("removed", len(args)-1, i, id, err)
					}
				}
				return g, nil
			}, sgDetails)
		}),
	}
}

// ruleErr names the rule a call failed on when there were several (and
// says how many before it were done), keeping the gRPC status, code and
// details, for printing.
func ruleErr(verb string, n, i int, rule string, err error) error {
	st, ok := status.FromError(err)
	if n == 1 || !ok {
		return err
	}
	p := st.Proto()
	p.Message = fmt.Sprintf("rule %d of %d (%s; %d %s before it): %s", i+1, n, rule, i, verb, p.GetMessage())
	return status.FromProto(p).Err()
}

func sgRows(w io.Writer, gs []*canopyv1.SecurityGroup) {
	rs := make([][]string, len(gs))
	for i, g := range gs {
		rs[i] = []string{g.GetId(), g.GetName(), statusWord(g.GetStatus()), g.GetLocation().GetCloud(), strconv.Itoa(len(g.GetRules())), g.GetDescription()}
	}
	rows(w, []string{"ID", "NAME", "STATUS", "CLOUD", "RULES", "DESCRIPTION"}, rs)
}

func sgDetails(w io.Writer, g *canopyv1.SecurityGroup) {
	details(w, []field{
		{"ID", g.GetId()}, {"Name", g.GetName()}, {"Status", statusWithRaw(g.GetStatus(), g.GetProviderStatus())},
		{"Message", g.GetStatusMessage()}, {"Cloud", g.GetLocation().GetCloud()}, {"Region", g.GetLocation().GetRegion()},
		{"Description", g.GetDescription()}, {"Network", g.GetNetworkId()},
		{"Labels", kv(g.GetLabels())}, {"Created", when(g.GetCreateTime())}, {"Updated", when(g.GetUpdateTime())},
		{"Native ID", g.GetNativeId()}, {"Properties", kv(g.GetProperties())},
	})
	// A line without a tab ends the tabwriter's column block, so the rules
	// align among themselves.
	fmt.Fprintf(w, "\nRules (%d):\n", len(g.GetRules()))
	ruleRows(w, g)
}
