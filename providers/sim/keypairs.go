package sim

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/canopy-cloud/canopy/providers"
)

// ListKeypairs implements providers.Compute.
func (c *Cloud) ListKeypairs(ctx context.Context) ([]providers.Keypair, error) {
	if err := c.call(ctx, "ListKeypairs"); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]providers.Keypair, 0, len(c.keypairs))
	for _, k := range c.keypairs {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// GetKeypair implements providers.Compute.
func (c *Cloud) GetKeypair(ctx context.Context, name string) (providers.Keypair, error) {
	if err := c.call(ctx, "GetKeypair"); err != nil {
		return providers.Keypair{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	k, ok := c.keypairs[name]
	if !ok {
		return providers.Keypair{}, fmt.Errorf("sim: keypair %q: %w", name, providers.ErrNotFound)
	}
	return k, nil
}

// CreateKeypair implements providers.Compute. Like Nova it validates the key
// and keys pairs by name.
func (c *Cloud) CreateKeypair(ctx context.Context, name, publicKey string) (providers.Keypair, error) {
	if err := c.call(ctx, "CreateKeypair"); err != nil {
		return providers.Keypair{}, err
	}
	if name == "" {
		return providers.Keypair{}, fmt.Errorf("sim: create keypair: %w: name is empty", providers.ErrInvalid)
	}
	pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(publicKey))
	if err != nil {
		return providers.Keypair{}, fmt.Errorf("sim: create keypair %q: %w: public key: %v", name, providers.ErrInvalid, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, dup := c.keypairs[name]; dup {
		return providers.Keypair{}, fmt.Errorf("sim: create keypair %q: %w", name, providers.ErrAlreadyExists)
	}
	now := time.Now()
	k := providers.Keypair{
		Common: providers.Common{
			NativeID: name, Name: name, Region: c.opts.Regions[0],
			Status: providers.StatusActive, ProviderStatus: "available", Created: now, Updated: now,
		},
		PublicKey:   strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub))),
		Fingerprint: ssh.FingerprintLegacyMD5(pub),
		Type:        pub.Type(),
	}
	c.keypairs[name] = k
	c.save()
	return k, nil
}

// DeleteKeypair implements providers.Compute.
func (c *Cloud) DeleteKeypair(ctx context.Context, name string) error {
	if err := c.call(ctx, "DeleteKeypair"); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.keypairs[name]; !ok {
		return fmt.Errorf("sim: delete keypair %q: %w", name, providers.ErrNotFound)
	}
	delete(c.keypairs, name)
	c.save()
	return nil
}
