package openstack

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/keypairs"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"

	"github.com/canopy-cloud/canopy/internal/failpoint"
	"github.com/canopy-cloud/canopy/providers"
)

// ---- flavors ----

// ListServers implements providers.Compute (Nova's detail list, paginated
// with markers).
func (c *Cloud) ListServers(ctx context.Context) ([]providers.Server, error) {
	cl, err := c.clients(ctx)
	if err != nil {
		return nil, err
	}
	list, err := c.listServers(ctx, cl, servers.ListOpts{Limit: c.opts.PageSize})
	if err != nil {
		return nil, fmt.Errorf("openstack: list servers in %s: %w", cl.region, err)
	}
	out := make([]providers.Server, 0, len(list))
	for _, s := range list {
		// A server Nova shows as DELETED is in its last moments (vm_state
		// deleted, row not yet destroyed): listed as DELETED until Nova
		// drops it, so "gone" here means gone in Nova too.
		out = append(out, c.toServer(ctx, cl, s))
	}
	return out, nil
}

func (c *Cloud) listServers(ctx context.Context, cl *clients, opts servers.ListOpts) ([]servers.Server, error) {
	pages, err := servers.List(cl.compute, opts).AllPages(ctx)
	if err != nil {
		return nil, mapErr(err)
	}
	list, err := servers.ExtractServers(pages)
	if err != nil {
		return nil, mapErr(err)
	}
	return list, nil
}

// GetServer implements providers.Compute.
func (c *Cloud) GetServer(ctx context.Context, id string) (providers.Server, error) {
	cl, err := c.clients(ctx)
	if err != nil {
		return providers.Server{}, err
	}
	s, err := servers.Get(ctx, cl.compute, url.PathEscape(id)).Extract()
	if err != nil {
		return providers.Server{}, fmt.Errorf("openstack: get server %s in %s: %w", id, cl.region, mapErr(err))
	}
	return c.toServer(ctx, cl, *s), nil
}

// tokenTagPrefix marks the server tag that carries canopy's idempotency
// token (Nova tags: at most 60 characters, no '/' or ',').
const tokenTagPrefix = "canopy-token:"

func tokenTag(token string) string {
	if len(token) > 60-len(tokenTagPrefix) || strings.ContainsAny(token, "/,") {
		sum := sha256.Sum256([]byte(token))
		token = hex.EncodeToString(sum[:])[:40]
	}
	return tokenTagPrefix + token
}

// CreateServer implements providers.Compute. Labels become Nova metadata;
// networks may be names (resolved through Neutron) or ids; ports are
// existing Neutron ports, attached after the networks' new ones; security
// groups apply to the new ports. With Nova ≥
// 2.52 the idempotency token is stored as a server tag, so a repeated
// create returns the server the first attempt made instead of a second one.
// Nova's tag filter sees a server from the moment the API answered (a
// build request carries its tags until the conductor writes the instance
// and its tags to a cell), but a POST sent by a process that died may
// still be queued in nova-api: a replay that finds nothing waits out the
// create window before it creates (providers.ReplayGuard).
func (c *Cloud) CreateServer(ctx context.Context, spec providers.ServerSpec) (providers.Server, error) {
	cl, err := c.clients(ctx)
	if err != nil {
		return providers.Server{}, err
	}
	fail := func(err error) (providers.Server, error) {
		return providers.Server{}, fmt.Errorf("openstack: create server %q in %s: %w", spec.Name, cl.region, err)
	}
	if spec.Name == "" {
		return fail(fmt.Errorf("%w: name is empty", providers.ErrInvalid))
	}
	nets, err := c.serverNetworks(ctx, cl, spec.Networks, spec.Ports)
	if err != nil {
		return fail(err)
	}
	opts := servers.CreateOpts{
		Name: spec.Name, ImageRef: spec.ImageID, FlavorRef: spec.FlavorID,
		AvailabilityZone: spec.Zone, Networks: nets, Metadata: spec.Labels,
		// Nova takes groups by name or id and applies them to the ports it
		// makes; existing ports keep their own.
		SecurityGroups: spec.SecurityGroupIDs,
	}
	if len(spec.UserData) > 0 {
		// Always encode: gophercloud passes through data that already
		// looks like base64, which would corrupt such user data.
		opts.UserData = []byte(base64.StdEncoding.EncodeToString(spec.UserData))
	}
	token := ""
	if spec.IdempotencyToken != "" && cl.atLeast("2.52") {
		token = tokenTag(spec.IdempotencyToken)
		opts.Tags = []string{token}
	}
	find := func(ctx context.Context) (providers.Server, bool, error) {
		prior, err := c.listServers(ctx, cl, servers.ListOpts{Tags: token})
		if err != nil {
			return providers.Server{}, false, err
		}
		if s, ok := pickServer(prior, token); ok {
			return c.toServer(ctx, cl, s), true, nil
		}
		return providers.Server{}, false, nil
	}
	create := func(ctx context.Context) (providers.Server, error) {
		var builder servers.CreateOptsBuilder = opts
		if spec.Keypair != "" {
			builder = keypairs.CreateOptsExt{CreateOptsBuilder: opts, KeyName: spec.Keypair}
		}
		created, err := servers.Create(failpoint.Sent(ctx, "openstack/server:sent"), cl.compute, builder, nil).Extract()
		if err != nil {
			return providers.Server{}, mapErr(err)
		}
		failpoint.Hit("openstack/server:posted")
		if s, err := servers.Get(ctx, cl.compute, created.ID).Extract(); err == nil {
			return c.toServer(ctx, cl, *s), nil
		}
		// Accepted but not yet readable: report what was asked for.
		now := time.Now().UTC()
		props := map[string]string{}
		if token != "" {
			props[providers.PropToken] = strings.TrimPrefix(token, tokenTagPrefix)
		}
		return providers.Server{
			Common: providers.Common{
				NativeID: created.ID, Name: spec.Name, Region: cl.region, Zone: spec.Zone,
				Status: providers.StatusPending, ProviderStatus: "BUILD", Created: now, Updated: now,
				Labels: copyMap(spec.Labels), Properties: props,
			},
			FlavorID: spec.FlavorID, ImageID: spec.ImageID, Keypair: spec.Keypair,
		}, nil
	}
	sv, _, err := providers.FindOrCreate(ctx, c.replays, token, spec.Replay, find, create)
	if err != nil {
		return fail(err)
	}
	return sv, nil
}

// pickServer returns the server carrying tag that a repeated create
// answers with: not deleted or being deleted, the oldest (then the
// smallest id), so every look-up agrees on it; any other is a duplicate.
func pickServer(list []servers.Server, tag string) (servers.Server, bool) {
	var best servers.Server
	found := false
	for _, s := range list {
		if strings.EqualFold(s.Status, "DELETED") || s.TaskState == "deleting" || !hasTag(s, tag) {
			continue
		}
		if !found || s.Created.Before(best.Created) || (s.Created.Equal(best.Created) && s.ID < best.ID) {
			best, found = s, true
		}
	}
	return best, found
}

func hasTag(s servers.Server, tag string) bool {
	if s.Tags == nil {
		return true // a microversion without tags in the body: trust Nova's filter
	}
	for _, t := range *s.Tags {
		if t == tag {
			return true
		}
	}
	return false
}

// serverNetworks is Nova's networks field: the networks (new ports), then
// the existing ports. Ports alone attach only those (Nova's "auto" does
// not combine with ports).
func (c *Cloud) serverNetworks(ctx context.Context, cl *clients, refs, ports []string) (any, error) {
	if len(ports) == 0 {
		return c.resolveNetworks(ctx, cl, refs)
	}
	var out []servers.Network
	if len(refs) > 0 {
		nets, err := c.resolveNetworks(ctx, cl, refs)
		if err != nil {
			return nil, err
		}
		list, ok := nets.([]servers.Network)
		if !ok {
			return nil, fmt.Errorf("%w: networks %q does not combine with ports", providers.ErrInvalid, refs[0])
		}
		out = list
	}
	for _, p := range ports {
		if p == "" {
			return nil, fmt.Errorf("%w: empty port id", providers.ErrInvalid)
		}
		out = append(out, servers.Network{Port: p})
	}
	return out, nil
}

var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$`)

// resolveNetworks turns network names or ids into Nova's networks field.
// No networks: "auto" from 2.37 (Nova picks the project's only network),
// else Nova's legacy default.
func (c *Cloud) resolveNetworks(ctx context.Context, cl *clients, refs []string) (any, error) {
	if len(refs) == 0 {
		if cl.atLeast("2.37") {
			return "auto", nil
		}
		return nil, nil
	}
	if len(refs) == 1 && (refs[0] == "auto" || refs[0] == "none") {
		if !cl.atLeast("2.37") {
			return nil, fmt.Errorf("%w: networks %q needs Nova microversion 2.37 (this cloud: %s)", providers.ErrInvalid, refs[0], cl.micro)
		}
		return refs[0], nil
	}
	out := make([]servers.Network, 0, len(refs))
	for _, ref := range refs {
		if ref == "" {
			return nil, fmt.Errorf("%w: empty network name", providers.ErrInvalid)
		}
		if cl.network == nil {
			out = append(out, servers.Network{UUID: ref})
			continue
		}
		pages, err := networks.List(cl.network, networks.ListOpts{Name: ref}).AllPages(ctx)
		if err != nil {
			return nil, fmt.Errorf("resolve network %q: %w", ref, mapErr(err))
		}
		found, err := networks.ExtractNetworks(pages)
		if err != nil {
			return nil, fmt.Errorf("resolve network %q: %w", ref, mapErr(err))
		}
		switch {
		case len(found) == 1:
			out = append(out, servers.Network{UUID: found[0].ID})
		case len(found) > 1:
			ids := make([]string, len(found))
			for i, n := range found {
				ids[i] = n.ID
			}
			return nil, fmt.Errorf("%w: network name %q is ambiguous (ids %s): use an id", providers.ErrInvalid, ref, strings.Join(ids, ", "))
		case uuidRE.MatchString(ref):
			out = append(out, servers.Network{UUID: ref})
		default:
			return nil, fmt.Errorf("%w: network %q not found", providers.ErrInvalid, ref)
		}
	}
	return out, nil
}

// DeleteServer implements providers.Compute.
func (c *Cloud) DeleteServer(ctx context.Context, id string) error {
	cl, err := c.clients(ctx)
	if err != nil {
		return err
	}
	if err := servers.Delete(ctx, cl.compute, url.PathEscape(id)).ExtractErr(); err != nil {
		return fmt.Errorf("openstack: delete server %s in %s: %w", id, cl.region, mapErr(err))
	}
	return nil
}

// ServerAction implements providers.Compute. Nova answers 409 for an
// action the server's state does not allow (stop a stopped server), which
// is providers.ErrConflict.
func (c *Cloud) ServerAction(ctx context.Context, id string, action providers.Action) error {
	cl, err := c.clients(ctx)
	if err != nil {
		return err
	}
	nid := url.PathEscape(id)
	switch action {
	case providers.ActionStart:
		err = servers.Start(ctx, cl.compute, nid).ExtractErr()
	case providers.ActionStop:
		err = servers.Stop(ctx, cl.compute, nid).ExtractErr()
	case providers.ActionReboot:
		err = servers.Reboot(ctx, cl.compute, nid, servers.RebootOpts{Type: servers.SoftReboot}).ExtractErr()
	case providers.ActionHardReboot:
		err = servers.Reboot(ctx, cl.compute, nid, servers.RebootOpts{Type: servers.HardReboot}).ExtractErr()
	default:
		return fmt.Errorf("openstack: server action %q: %w", action, providers.ErrInvalid)
	}
	if err != nil {
		return fmt.Errorf("openstack: %s server %s in %s: %w", action, id, cl.region, mapErr(err))
	}
	return nil
}

func (c *Cloud) toServer(ctx context.Context, cl *clients, s servers.Server) providers.Server {
	flavorID, flavorName := c.flavorID(ctx, cl, s.Flavor)
	imageID, _ := s.Image["id"].(string)
	props := map[string]string{}
	if s.VmState != "" {
		props["vm_state"] = s.VmState
	}
	if s.TaskState != "" {
		props["task_state"] = s.TaskState
	}
	props["power_state"] = s.PowerState.String()
	if flavorName != "" {
		props["flavor_name"] = flavorName
	}
	if s.AccessIPv4 != "" {
		props["access_ipv4"] = s.AccessIPv4
	}
	if s.Tags != nil {
		var user []string
		for _, t := range *s.Tags {
			if tok, ok := strings.CutPrefix(t, tokenTagPrefix); ok {
				props["client_token"] = tok
			} else {
				user = append(user, t)
			}
		}
		if len(user) > 0 {
			props["tags"] = strings.Join(user, ",")
		}
	}
	return providers.Server{
		Common: providers.Common{
			NativeID: s.ID, Name: s.Name, Region: cl.region, Zone: s.AvailabilityZone,
			Status: serverStatus(s.Status, s.TaskState), ProviderStatus: s.Status, StatusMessage: s.Fault.Message,
			Created: s.Created, Updated: s.Updated, Labels: copyMap(s.Metadata), Properties: props,
		},
		FlavorID: flavorID, ImageID: imageID, Keypair: s.KeyName, Addresses: addresses(s.Addresses),
	}
}

// addresses flattens Nova's {network: [{addr, version, OS-EXT-IPS:type}]}.
func addresses(m map[string]any) []providers.Address {
	var out []providers.Address
	nets := make([]string, 0, len(m))
	for n := range m {
		nets = append(nets, n)
	}
	sort.Strings(nets)
	for _, n := range nets {
		list, _ := m[n].([]any)
		for _, a := range list {
			am, ok := a.(map[string]any)
			if !ok {
				continue
			}
			addr := providers.Address{Network: n, Type: "fixed"}
			addr.IP, _ = am["addr"].(string)
			if v, ok := am["version"].(float64); ok {
				addr.Version = int32(v)
			}
			if t, ok := am["OS-EXT-IPS:type"].(string); ok && t != "" {
				addr.Type = t
			}
			if addr.IP != "" {
				out = append(out, addr)
			}
		}
	}
	return out
}

func copyMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// ---- keypairs ----
