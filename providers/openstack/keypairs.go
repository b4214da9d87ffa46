package openstack

// Nova keypairs (providers.Compute): imported public keys by name.

import (
	"context"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gophercloud/gophercloud/v2"

	"github.com/canopy-cloud/canopy/providers"
)

// novaKeypair is Nova's keypair as list and get return it.
type novaKeypair struct {
	Name        string `json:"name"`
	PublicKey   string `json:"public_key"`
	Fingerprint string `json:"fingerprint"`
	Type        string `json:"type"`
	UserID      string `json:"user_id"`
	CreatedAt   string `json:"created_at"`
	UpdatedAt   string `json:"updated_at"`
}

func (k novaKeypair) toKeypair(region string) providers.Keypair {
	typ := k.Type
	if typ == "" {
		typ = "ssh"
	}
	if f := strings.Fields(k.PublicKey); typ == "ssh" && len(f) > 0 {
		typ = f[0] // the key algorithm, as other adapters report it
	}
	out := providers.Keypair{
		Common: providers.Common{
			NativeID: k.Name, Name: k.Name, Region: region,
			Status: providers.StatusActive, ProviderStatus: "available",
			Created: parseNovaTime(k.CreatedAt), Updated: parseNovaTime(k.UpdatedAt),
		},
		PublicKey: strings.TrimSpace(k.PublicKey), Fingerprint: k.Fingerprint, Type: typ,
	}
	if k.Type != "" {
		out.Properties = map[string]string{"nova_type": k.Type}
	}
	return out
}

// parseNovaTime reads Nova's timestamps ("2024-01-02T03:04:05.000000",
// no zone, UTC).
func parseNovaTime(s string) time.Time {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999", "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

// ListKeypairs implements providers.Compute; from 2.35 it pages with
// limit and marker.
func (c *Cloud) ListKeypairs(ctx context.Context) ([]providers.Keypair, error) {
	cl, err := c.clients(ctx)
	if err != nil {
		return nil, err
	}
	var out []providers.Keypair
	marker := ""
	for {
		u := cl.compute.ServiceURL("os-keypairs")
		paged := cl.atLeast("2.35")
		if paged {
			q := url.Values{"limit": {strconv.Itoa(c.opts.PageSize)}}
			if marker != "" {
				q.Set("marker", marker)
			}
			u += "?" + q.Encode()
		}
		var body struct {
			Keypairs []struct {
				Keypair novaKeypair `json:"keypair"`
			} `json:"keypairs"`
		}
		if _, err := cl.compute.Get(ctx, u, &body, nil); err != nil {
			return nil, fmt.Errorf("openstack: list keypairs in %s: %w", cl.region, mapErr(err))
		}
		for _, k := range body.Keypairs {
			out = append(out, k.Keypair.toKeypair(cl.region))
		}
		if !paged || len(body.Keypairs) < c.opts.PageSize || len(body.Keypairs) == 0 {
			break
		}
		marker = body.Keypairs[len(body.Keypairs)-1].Keypair.Name
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// GetKeypair implements providers.Compute.
func (c *Cloud) GetKeypair(ctx context.Context, name string) (providers.Keypair, error) {
	cl, err := c.clients(ctx)
	if err != nil {
		return providers.Keypair{}, err
	}
	var body struct {
		Keypair novaKeypair `json:"keypair"`
	}
	if _, err := cl.compute.Get(ctx, cl.compute.ServiceURL("os-keypairs", url.PathEscape(name)), &body, nil); err != nil {
		return providers.Keypair{}, fmt.Errorf("openstack: get keypair %q in %s: %w", name, cl.region, mapErr(err))
	}
	return body.Keypair.toKeypair(cl.region), nil
}

// CreateKeypair implements providers.Compute: it imports publicKey. Nova
// answers 409 for a duplicate name (ErrAlreadyExists) and 400 for a key it
// cannot parse (ErrInvalid).
func (c *Cloud) CreateKeypair(ctx context.Context, name, publicKey string) (providers.Keypair, error) {
	cl, err := c.clients(ctx)
	if err != nil {
		return providers.Keypair{}, err
	}
	kp := map[string]any{"name": name, "public_key": strings.TrimSpace(publicKey)}
	if cl.atLeast("2.2") {
		kp["type"] = "ssh"
	}
	var body struct {
		Keypair novaKeypair `json:"keypair"`
	}
	_, err = cl.compute.Post(ctx, cl.compute.ServiceURL("os-keypairs"), map[string]any{"keypair": kp}, &body,
		&gophercloud.RequestOpts{OkCodes: []int{200, 201}})
	if err != nil {
		err = mapErr(err)
		if apiErr, ok := err.(*APIError); ok && apiErr.Code == 409 {
			apiErr.Kind = providers.ErrAlreadyExists // Nova's only 409 here
		}
		return providers.Keypair{}, fmt.Errorf("openstack: create keypair %q in %s: %w", name, cl.region, err)
	}
	k := body.Keypair.toKeypair(cl.region)
	if k.Created.IsZero() {
		k.Created = time.Now().UTC()
		k.Updated = k.Created
	}
	return k, nil
}

// DeleteKeypair implements providers.Compute.
func (c *Cloud) DeleteKeypair(ctx context.Context, name string) error {
	cl, err := c.clients(ctx)
	if err != nil {
		return err
	}
	if _, err := cl.compute.Delete(ctx, cl.compute.ServiceURL("os-keypairs", url.PathEscape(name)), nil); err != nil {
		return fmt.Errorf("openstack: delete keypair %q in %s: %w", name, cl.region, mapErr(err))
	}
	return nil
}
