package openstack

// Neutron: what networks.go, ports.go, routers.go, secgroups.go and
// floatingips.go share — the client, labels as tags, the idempotency
// token, the JSON shapes' common parts and the status mapping.
//
// Labels are Neutron tags "key=value" (a tag without "=" reads as a label
// with an empty value), as Neutron has no metadata.
//
// The idempotency token is the tag "canopy-token:<token>" (tokenTag, the
// same text as a server's). Neutron before 2023.2 refuses tags in a POST
// ("Attribute 'tags' not allowed in POST", measured on the lab's Zed), so
// tags are set by a second call, and a crash between the two would leave
// a resource no replay can find. The POST therefore also carries the
// marker in the resource's description, which Neutron filters on exactly:
// a replay looks for the tag and for the description and completes (tags,
// description) a resource an interrupted attempt left half made. Networks,
// subnets, ports, routers and floating IPs keep the marker as their
// description (canopy gives them none); a security group's own description
// replaces it once tagged.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/attributestags"
	"github.com/gophercloud/gophercloud/v2/pagination"

	"github.com/canopy-cloud/canopy/internal/failpoint"
	"github.com/canopy-cloud/canopy/providers"
)

// neutron returns the Networking v2 client; a cloud without Neutron in its
// catalog is ErrUnsupported.
func (c *Cloud) neutron(ctx context.Context) (*gophercloud.ServiceClient, string, error) {
	cl, err := c.clients(ctx)
	if err != nil {
		return nil, "", err
	}
	if cl.network == nil {
		return nil, "", fmt.Errorf("openstack: cloud %s: %w: no network endpoint (Neutron) in region %q", c.cc.Cloud, providers.ErrUnsupported, cl.region)
	}
	return cl.network, cl.region, nil
}

func netFail(err error, format string, args ...any) error {
	return fmt.Errorf("openstack: %s: %w", fmt.Sprintf(format, args...), mapErr(err))
}

// ---- JSON ----

// neutronTime reads Neutron's timestamps, with a zone ("...Z", current
// releases) or without (older ones, UTC).
type neutronTime struct{ time.Time }

func (t *neutronTime) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		return nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999", "2006-01-02 15:04:05"} {
		if v, err := time.Parse(layout, s); err == nil {
			t.Time = v.UTC()
			return nil
		}
	}
	return fmt.Errorf("neutron timestamp %q", s)
}

// attrs are the standard attributes every Neutron resource canopy uses
// carries.
type attrs struct {
	ID          string      `json:"id"`
	Name        string      `json:"name"`
	Description string      `json:"description"`
	Status      string      `json:"status"`
	ProjectID   string      `json:"project_id"`
	Tags        []string    `json:"tags"`
	CreatedAt   neutronTime `json:"created_at"`
	UpdatedAt   neutronTime `json:"updated_at"`
}

func (a attrs) base() attrs { return a }

// tagged is what the shared create needs of a resource.
type tagged interface{ base() attrs }

// common fills the fields every canopy resource has from the standard
// attributes: labels from tags, the token from its tag (or, on a resource
// an interrupted create left untagged, its description).
func (a attrs) common(region string) providers.Common {
	labels, token := splitTags(a.Tags)
	props := map[string]string{}
	if a.ProjectID != "" {
		props["project_id"] = a.ProjectID
	}
	if tok, ok := strings.CutPrefix(a.Description, tokenTagPrefix); ok {
		if token == "" {
			token = tok
		}
	} else if a.Description != "" {
		props["description"] = a.Description
	}
	if token != "" {
		props[providers.PropToken] = token
	}
	return providers.Common{
		NativeID: a.ID, Name: a.Name, Region: region,
		Status: neutronStatus(a.Status), ProviderStatus: a.Status,
		Created: a.CreatedAt.Time, Updated: a.UpdatedAt.Time, Labels: labels, Properties: props,
	}
}

// neutronStatus maps the status of networks, ports, routers and floating
// IPs. DOWN is not a failure: it is a port no server has bound, a floating
// IP nothing uses, a network whose admin state is down — the resource is
// there and usable. Resources without a status (subnets, groups) are
// active.
func neutronStatus(s string) providers.Status {
	switch strings.ToUpper(s) {
	case "", "ACTIVE", "DOWN":
		return providers.StatusActive
	case "BUILD", "PENDING_CREATE":
		return providers.StatusPending
	case "PENDING_UPDATE":
		return providers.StatusUpdating
	case "PENDING_DELETE":
		return providers.StatusDeleting
	case "ERROR":
		return providers.StatusError
	}
	return providers.StatusUnknown
}

// listAll follows a Neutron list's next links, decoding each page's key
// into T. (gophercloud's ExtractInto cannot fill canopy's structs: it
// walks embedded structs by reflection and refuses unexported ones.)
func listAll[T any](ctx context.Context, pager pagination.Pager, key string) ([]T, error) {
	var out []T
	err := pager.EachPage(ctx, func(_ context.Context, p pagination.Page) (bool, error) {
		batch, err := decodeKey[[]T](p.GetBody(), key)
		if err != nil {
			return false, err
		}
		out = append(out, batch...)
		return true, nil
	})
	return out, err
}

// extract decodes a single-resource answer's key into T. It takes the
// gophercloud.Result inside a resource's result: the resource's own
// ExtractInto has the same reflection problem.
func extract[T any](r gophercloud.Result, key string) (T, error) {
	var v T
	var doc map[string]json.RawMessage
	if err := r.ExtractInto(&doc); err != nil {
		return v, err
	}
	return decodeKey[T](doc, key)
}

// decodeKey decodes body[key] (body as gophercloud read it) into T.
func decodeKey[T any](body any, key string) (T, error) {
	var v T
	raw, err := json.Marshal(body)
	if err != nil {
		return v, err
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(raw, &doc); err != nil {
		return v, fmt.Errorf("neutron answer: %w", err)
	}
	part, ok := doc[key]
	if !ok {
		return v, fmt.Errorf("neutron answer has no %q", key)
	}
	if err := json.Unmarshal(part, &v); err != nil {
		return v, fmt.Errorf("neutron answer's %q: %w", key, err)
	}
	return v, nil
}

// ---- labels ----

// labelTags turns labels into tags, sorted. A key holding "=" would not
// read back, and the token's prefix is canopy's: both are ErrInvalid.
func labelTags(labels map[string]string) ([]string, error) {
	tags := make([]string, 0, len(labels))
	for k, v := range labels {
		switch {
		case k == "":
			return nil, fmt.Errorf("%w: labels: empty key", providers.ErrInvalid)
		case strings.Contains(k, "="):
			return nil, fmt.Errorf("%w: labels: key %q contains \"=\" (Neutron tags hold labels as key=value)", providers.ErrInvalid, k)
		case strings.HasPrefix(k, tokenTagPrefix):
			return nil, fmt.Errorf("%w: labels: key %q: the prefix %q is canopy's", providers.ErrInvalid, k, tokenTagPrefix)
		}
		tags = append(tags, k+"="+v)
	}
	sort.Strings(tags)
	return tags, nil
}

// splitTags reads labels and the token back from tags.
func splitTags(tags []string) (labels map[string]string, token string) {
	for _, t := range tags {
		if tok, ok := strings.CutPrefix(t, tokenTagPrefix); ok {
			token = tok
			continue
		}
		if labels == nil {
			labels = map[string]string{}
		}
		k, v, _ := strings.Cut(t, "=")
		labels[k] = v
	}
	return labels, token
}

// ---- the replay-safe create ----

// creation is one create of a tagged Neutron resource.
type creation[T tagged] struct {
	sc *gophercloud.ServiceClient
	// kind is canopy's kind (replay key, fail points); resource is
	// Neutron's collection in the tags API ("networks", "security-groups").
	kind, resource string
	labels         map[string]string
	token          string
	replay         bool
	// post creates the resource with that description.
	post func(ctx context.Context, description string) (T, error)
	// list lists the resources carrying the tag, or the description
	// (exactly one of them is set).
	list func(ctx context.Context, tag, description string) ([]T, error)
	get  func(ctx context.Context, id string) (T, error)
	del  func(ctx context.Context, id string) error
	// finish, when set, completes a tagged resource (a security group's
	// description).
	finish func(ctx context.Context, v T) (changed bool, err error)
}

// run creates the resource, or with a token returns what an earlier
// attempt made, completed. Concurrent creators of one token (two replicas)
// agree on the oldest; the others delete theirs.
func (cr creation[T]) run(ctx context.Context, c *Cloud) (T, error) {
	var zero T
	tags, err := labelTags(cr.labels)
	if err != nil {
		return zero, err
	}
	if cr.token == "" {
		v, err := cr.post(ctx, "")
		if err != nil {
			return zero, err
		}
		out, err := cr.complete(ctx, v, tags, "")
		if err != nil {
			// Without a token nothing could find it again: undo it.
			_ = cr.del(context.WithoutCancel(ctx), v.base().ID)
			return zero, err
		}
		return out, nil
	}
	marker := tokenTag(cr.token)
	tags = append(tags, marker)
	find := func(ctx context.Context) (T, bool, error) {
		v, ok, err := cr.find(ctx, marker)
		if err != nil || !ok {
			return v, ok, err
		}
		v, err = cr.complete(ctx, v, tags, marker)
		return v, err == nil, err
	}
	create := func(ctx context.Context) (T, error) {
		v, err := cr.post(failpoint.Sent(ctx, "openstack/"+cr.kind+":sent"), marker)
		if err != nil {
			return zero, err
		}
		failpoint.Hit("openstack/" + cr.kind + ":posted")
		return cr.complete(ctx, v, tags, marker)
	}
	v, found, err := providers.FindOrCreate(ctx, c.replays, replayKey(cr.kind, marker), cr.replay, find, create)
	if err != nil || found {
		return v, err
	}
	// Another replica may have raced past the look-up: the oldest wins.
	if w, ok, err := cr.find(ctx, marker); err == nil && ok && w.base().ID != v.base().ID {
		if err := cr.del(ctx, v.base().ID); err == nil {
			return cr.complete(ctx, w, tags, marker)
		}
	}
	return v, nil
}

// find returns the oldest resource carrying marker as a tag or as its
// description (then the smallest id), so every look-up agrees.
func (cr creation[T]) find(ctx context.Context, marker string) (T, bool, error) {
	var best T
	found := false
	for _, filter := range [][2]string{{marker, ""}, {"", marker}} {
		list, err := cr.list(ctx, filter[0], filter[1])
		if err != nil {
			return best, false, mapErr(err)
		}
		for _, v := range list {
			a := v.base()
			if a.Description != marker && !slices.Contains(a.Tags, marker) {
				continue // Neutron filtered, but check: never adopt a stranger
			}
			b := best.base()
			if !found || a.CreatedAt.Before(b.CreatedAt.Time) || (a.CreatedAt.Equal(b.CreatedAt.Time) && a.ID < b.ID) {
				best, found = v, true
			}
		}
	}
	return best, found, nil
}

// complete tags a resource (once: a resource that already carries the
// token keeps the labels it has now) and finishes it, then reads it back.
func (cr creation[T]) complete(ctx context.Context, v T, tags []string, marker string) (T, error) {
	a := v.base()
	changed := false
	if (marker == "" && len(tags) > 0) || (marker != "" && !slices.Contains(a.Tags, marker)) {
		if _, err := attributestags.ReplaceAll(ctx, cr.sc, cr.resource, url.PathEscape(a.ID), attributestags.ReplaceAllOpts{Tags: tags}).Extract(); err != nil {
			return v, fmt.Errorf("tag %s %s: %w", cr.kind, a.ID, mapErr(err))
		}
		changed = true
	}
	if cr.finish != nil {
		ch, err := cr.finish(ctx, v)
		if err != nil {
			return v, err
		}
		changed = changed || ch
	}
	if !changed {
		return v, nil
	}
	out, err := cr.get(ctx, a.ID)
	if err != nil {
		return v, fmt.Errorf("read back %s %s: %w", cr.kind, a.ID, mapErr(err))
	}
	return out, nil
}

// ---- errors ----

// reclassify gives a mapped Neutron error another sentinel, naming why.
func reclassify(err error, kind error, why string) error {
	var ae *APIError
	if errors.As(err, &ae) {
		cp := *ae
		cp.Kind = kind
		if why != "" {
			cp.Message = why + ": " + cp.Message
		}
		return &cp
	}
	return fmt.Errorf("%w: %s: %v", kind, why, err)
}

// portUsers describes the ports listed, for an ErrConflict naming what
// still uses a network or subnet.
func portUsers(ports []portJSON) string {
	parts := make([]string, 0, len(ports))
	for _, p := range ports {
		s := "port " + p.ID
		switch {
		case p.DeviceOwner != "" && p.DeviceID != "":
			s += " (" + p.DeviceOwner + " " + p.DeviceID + ")"
		case p.DeviceOwner != "":
			s += " (" + p.DeviceOwner + ")"
		case p.DeviceID != "":
			s += " (device " + p.DeviceID + ")"
		}
		parts = append(parts, s)
	}
	if len(parts) > 5 {
		parts = append(parts[:5], fmt.Sprintf("and %d more", len(parts)-5))
	}
	return strings.Join(parts, ", ")
}
