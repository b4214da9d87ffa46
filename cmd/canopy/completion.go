package main

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/canopy-cloud/canopy/client"
	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
)

// Shell completion of resource names: `canopy server get <TAB>` asks
// canopyd for the servers' names. Rather than each command wiring its own,
// completion follows what the commands already declare: a positional
// argument completes the kind its usage placeholder names (SERVER,
// CONTAINER, BUCKET/KEY, or ID|NAME in a kind's group), and a flag the
// kind its name says (--flavor, --image, --network, --cloud…), so a new
// command gets completion by being written like the others.

// completeTimeout bounds the calls completion makes: a shell waits on them.
const completeTimeout = 5 * time.Second

// kind is a resource kind completion can list.
type kind string

const (
	kServers   kind = "servers"
	kFlavors   kind = "flavors"
	kImages    kind = "images"
	kKeypairs  kind = "keypairs"
	kVolumes   kind = "volumes"
	kSnapshots kind = "snapshots"
	kBackups   kind = "backups"
	kNetworks  kind = "networks"
	kSubnets   kind = "subnets"
	kPorts     kind = "ports"
	kRouters   kind = "routers"
	kSGs       kind = "security groups"
	kFIPs      kind = "floating IPs"
	kBuckets   kind = "buckets"
	kContainer kind = "containers"
	kOps       kind = "operations"
	kClients   kind = "clients"
	kClouds    kind = "clouds"
	kRegions   kind = "regions"
	kZones     kind = "zones"
)

// groupKinds is the kind each command group manages: an ID|NAME argument
// of its commands is one of these.
var groupKinds = map[string]kind{
	"server": kServers, "flavor": kFlavors, "image": kImages, "keypair": kKeypairs, "volume": kVolumes,
	"snapshot": kSnapshots, "backup": kBackups, "network": kNetworks, "subnet": kSubnets, "port": kPorts,
	"router": kRouters, "sg": kSGs, "fip": kFIPs, "bucket": kBuckets, "container": kContainer,
	"operation": kOps, "client": kClients, "cloud": kClouds,
}

// placeholderKinds are the usage placeholders that name a kind wherever
// they appear.
var placeholderKinds = map[string]kind{
	"SERVER": kServers, "FLAVOR": kFlavors, "VOLUME": kVolumes, "SNAPSHOT": kSnapshots, "BACKUP": kBackups,
	"NETWORK": kNetworks, "SUBNET": kSubnets, "PORT": kPorts, "ROUTER": kRouters, "GROUP": kSGs, "FIP": kFIPs,
	"BUCKET": kBuckets, "CONTAINER": kContainer, "CLOUD": kClouds, "KEYPAIR": kKeypairs,
}

// flagKinds are the flags whose value names a resource.
var flagKinds = map[string]kind{
	"server": kServers, "flavor": kFlavors, "image": kImages, "keypair": kKeypairs, "volume": kVolumes,
	"boot-volume": kVolumes, "snapshot": kSnapshots, "network": kNetworks, "external-network": kNetworks,
	"subnet": kSubnets, "port": kPorts, "sg": kSGs, "cloud": kClouds, "depends-on": kContainer,
	"region": kRegions, "zone": kZones,
}

// notResources are flags and placeholders of the container group that
// name no canopy resource: `--volume` is a bind mount and IMAGE an OCI
// reference there.
func notResource(group, name string) bool {
	return group == "container" && (name == "volume" || name == "IMAGE")
}

// addCompletion walks the command tree and gives every command the
// completion its usage and flags call for (commands that set their own
// keep it).
func (a *app) addCompletion(root *cobra.Command) {
	_ = root.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"table", "json", "yaml"}, cobra.ShellCompDirectiveNoFileComp))
	_ = root.RegisterFlagCompletionFunc("profile", func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
		f, _ := client.ReadCredentialsFile(a.credentials)
		return f.Names(), cobra.ShellCompDirectiveNoFileComp
	})
	var walk func(c *cobra.Command, group string)
	walk = func(c *cobra.Command, group string) {
		if _, ok := groupKinds[c.Name()]; ok {
			group = c.Name()
		}
		if c.Runnable() && c.ValidArgsFunction == nil && c != root {
			if ps := placeholders(c.Use); len(ps) > 0 {
				c.ValidArgsFunction = a.completeArgs(group, ps)
			}
		}
		c.LocalNonPersistentFlags().VisitAll(func(f *pflag.Flag) {
			k, ok := flagKinds[f.Name]
			if !ok || notResource(group, f.Name) {
				return
			}
			if _, has := c.GetFlagCompletionFunc(f.Name); !has {
				_ = c.RegisterFlagCompletionFunc(f.Name, a.completeKind(k, false, ""))
			}
		})
		for _, s := range c.Commands() {
			walk(s, group)
		}
	}
	walk(root, "")
}

// placeholder is one positional argument as a command's usage writes it.
type placeholder struct {
	word   string // SERVER, ID|NAME, BUCKET/KEY…
	repeat bool   // it ends in "...": it and every later argument
}

// placeholders reads the positional arguments out of a usage line: the
// words after the command's name, less flags and their values, brackets
// and "flags".
func placeholders(use string) []placeholder {
	var ps []placeholder
	words := strings.Fields(use)
	for i := 1; i < len(words); i++ {
		w := unbracket(words[i])
		if strings.HasPrefix(w, "-") {
			if !strings.Contains(w, "=") && i+1 < len(words) && isPlaceholder(strings.Trim(words[i+1], "[]()|.")) {
				i++ // the flag's value
			}
			continue
		}
		if w == "|" || !isPlaceholder(strings.TrimSuffix(w, "...")) {
			continue
		}
		ps = append(ps, placeholder{word: strings.TrimSuffix(w, "..."), repeat: strings.HasSuffix(w, "...")})
	}
	return ps
}

// unbracket strips the brackets around a usage word ("[ARG...]]" is
// "ARG...") but not those inside it ("DST_BUCKET[/KEY]").
func unbracket(w string) string {
	w = strings.TrimLeft(w, "[(")
	for strings.HasSuffix(w, "]") && strings.Count(w, "]") > strings.Count(w, "[") ||
		strings.HasSuffix(w, ")") && strings.Count(w, ")") > strings.Count(w, "(") {
		w = w[:len(w)-1]
	}
	return w
}

var upper = regexp.MustCompile(`^[A-Z][A-Z_|/:\[\]]*$`)

func isPlaceholder(w string) bool { return upper.MatchString(w) }

// completeArgs completes the positional arguments described by ps.
func (a *app) completeArgs(group string, ps []placeholder) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		i := len(args)
		if i >= len(ps) {
			if !ps[len(ps)-1].repeat {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			i = len(ps) - 1
		}
		w := ps[i].word
		if w == "FILE" || strings.HasPrefix(w, "FILE") {
			return nil, cobra.ShellCompDirectiveDefault // the shell's own file completion
		}
		if notResource(group, w) {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		// BUCKET/KEY, BUCKET[/PREFIX]: the bucket, then the shell waits for
		// the key after the slash.
		if strings.HasPrefix(strings.TrimPrefix(strings.TrimPrefix(w, "SRC_"), "DST_"), "BUCKET") && strings.Contains(w, "/") {
			if strings.Contains(toComplete, "/") {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			return a.completeKind(kBuckets, false, "/")(cmd, args, toComplete)
		}
		k, ok := placeholderKinds[w]
		byID := false
		if !ok {
			switch w {
			case "ID|NAME", "ID|ADDRESS", "NAME":
				k, ok = groupKinds[group]
				ok = ok && (w != "NAME" || group == "cloud")
			case "ID":
				k, ok = groupKinds[group]
				byID = true
			}
		}
		if !ok {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return a.completeKind(k, byID, "")(cmd, args, toComplete)
	}
}

// catalogue kinds are offered in every cloud under one name (m1.small,
// debian-12): a name shared across clouds is the normal case and is
// resolved in the cloud a command acts in.
// Regions and zones are named by the clouds (two AWS accounts share
// us-east-1) and offered once too.
var catalogue = map[kind]bool{kFlavors: true, kImages: true, kRegions: true, kZones: true}

// completeKind lists the names of kind k from canopyd (ids where byID,
// or where a name is shared, since a shared name is no reference, except
// in the catalogue), each with the other as its description, those
// starting with toComplete. suffix follows each (a bucket's "/"), and then
// no space does.
func (a *app) completeKind(k kind, byID bool, suffix string) cobra.CompletionFunc {
	return func(cmd *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		d := cobra.ShellCompDirectiveNoFileComp
		if suffix != "" {
			d |= cobra.ShellCompDirectiveNoSpace
		}
		ctx, cancel := context.WithTimeout(cmd.Context(), min(a.timeout, completeTimeout))
		defer cancel()
		items, err := a.listForCompletion(ctx, k)
		if err != nil {
			cobra.CompDebugln("canopy completion: "+err.Error(), false)
			return nil, d | cobra.ShellCompDirectiveError
		}
		count := map[string]int{}
		for _, it := range items {
			count[it.name]++
		}
		var out []cobra.Completion
		seen := map[string]bool{}
		for _, it := range items {
			value, desc := it.name, it.id
			switch {
			case it.desc != "":
				desc = it.desc
			case catalogue[k] && count[it.name] > 1:
				desc = fmt.Sprintf("in %d clouds", count[it.name])
			case byID || it.name == "" || count[it.name] > 1:
				value, desc = it.id, it.name
			}
			if value == "" || seen[value] || !strings.HasPrefix(value+suffix, toComplete) {
				continue
			}
			seen[value] = true
			out = append(out, cobra.CompletionWithDesc(value+suffix, desc))
		}
		sort.Strings(out)
		return out, d
	}
}

// candidate is one resource as completion offers it.
type candidate struct{ id, name, desc string }

// listForCompletion lists every resource of kind k (one page of up to
// 1000: completion offers what fits on a screen anyway).
func (a *app) listForCompletion(ctx context.Context, k kind) ([]candidate, error) {
	conn, err := a.dial(ctx)
	if err != nil {
		return nil, err
	}
	cmp, vol, net := canopyv1.NewComputeServiceClient(conn), canopyv1.NewVolumeServiceClient(conn), canopyv1.NewNetworkServiceClient(conn)
	switch k {
	case kServers:
		return names(ctx, cmp.ListServers, &canopyv1.ListServersRequest{PageSize: 1000})
	case kFlavors:
		return names(ctx, cmp.ListFlavors, &canopyv1.ListFlavorsRequest{PageSize: 1000})
	case kImages:
		return names(ctx, cmp.ListImages, &canopyv1.ListImagesRequest{PageSize: 1000})
	case kKeypairs:
		return names(ctx, cmp.ListKeypairs, &canopyv1.ListKeypairsRequest{PageSize: 1000})
	case kVolumes:
		return names(ctx, vol.ListVolumes, &canopyv1.ListVolumesRequest{PageSize: 1000})
	case kSnapshots:
		return names(ctx, vol.ListSnapshots, &canopyv1.ListSnapshotsRequest{PageSize: 1000})
	case kBackups:
		return names(ctx, vol.ListBackups, &canopyv1.ListBackupsRequest{PageSize: 1000})
	case kNetworks:
		return names(ctx, net.ListNetworks, &canopyv1.ListNetworksRequest{PageSize: 1000})
	case kSubnets:
		return names(ctx, net.ListSubnets, &canopyv1.ListSubnetsRequest{PageSize: 1000})
	case kPorts:
		return names(ctx, net.ListPorts, &canopyv1.ListPortsRequest{PageSize: 1000})
	case kRouters:
		return names(ctx, net.ListRouters, &canopyv1.ListRoutersRequest{PageSize: 1000})
	case kSGs:
		return names(ctx, net.ListSecurityGroups, &canopyv1.ListSecurityGroupsRequest{PageSize: 1000})
	case kFIPs:
		return names(ctx, net.ListFloatingIPs, &canopyv1.ListFloatingIPsRequest{PageSize: 1000})
	case kBuckets:
		return names(ctx, canopyv1.NewObjectServiceClient(conn).ListBuckets, &canopyv1.ListBucketsRequest{PageSize: 1000})
	case kContainer:
		return names(ctx, canopyv1.NewContainerServiceClient(conn).ListContainers, &canopyv1.ListContainersRequest{PageSize: 1000})
	case kOps:
		return names(ctx, canopyv1.NewOperationServiceClient(conn).ListOperations, &canopyv1.ListOperationsRequest{PageSize: 1000})
	case kClients:
		return names(ctx, canopyv1.NewAuthServiceClient(conn).ListClients, &canopyv1.ListClientsRequest{PageSize: 1000})
	case kClouds:
		return names(ctx, canopyv1.NewCloudServiceClient(conn).ListClouds, &canopyv1.ListCloudsRequest{PageSize: 1000})
	case kRegions, kZones:
		resp, err := canopyv1.NewCloudServiceClient(conn).ListClouds(ctx, &canopyv1.ListCloudsRequest{PageSize: 1000})
		if err != nil {
			return nil, err
		}
		var out []candidate
		for _, c := range resp.GetClouds() {
			where := c.GetZones()
			if k == kRegions {
				where = c.GetRegions()
			}
			for _, w := range where {
				out = append(out, candidate{name: w, desc: "cloud " + c.GetName()})
			}
		}
		return out, nil
	}
	return nil, nil
}

// names calls one List RPC and reads the id and name of each item of its
// repeated message field (a partial list across clouds is fine here).
func names[Req, Resp proto.Message](ctx context.Context, list func(context.Context, Req, ...grpc.CallOption) (Resp, error), req Req) ([]candidate, error) {
	resp, err := list(ctx, req)
	if err != nil {
		return nil, err
	}
	var out []candidate
	m := resp.ProtoReflect()
	fields := m.Descriptor().Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		if !fd.IsList() || fd.Kind() != protoreflect.MessageKind || fd.Name() == "cloud_errors" {
			continue
		}
		l := m.Get(fd).List()
		for j := range l.Len() {
			it := l.Get(j).Message()
			out = append(out, candidate{id: stringField(it, "id"), name: stringField(it, "name")})
		}
		break
	}
	return out, nil
}

func stringField(m protoreflect.Message, name protoreflect.Name) string {
	fd := m.Descriptor().Fields().ByName(name)
	if fd == nil || fd.Kind() != protoreflect.StringKind {
		return ""
	}
	return m.Get(fd).String()
}
