package aws

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"golang.org/x/crypto/ssh"

	"github.com/canopy-cloud/canopy/providers"
)

// Keypairs are keyed by name (EC2 key names are unique per region) and
// imported into every region of the cloud, so a server can use its key
// wherever it lands. canopy generates keys; the adapter only imports.

// keyTypes maps EC2's key types to the SSH names the other clouds use.
var keyTypes = map[string]string{"rsa": ssh.KeyAlgoRSA, "ed25519": ssh.KeyAlgoED25519}

func keypairOf(region string, k types.KeyPairInfo) providers.Keypair {
	typ := string(k.KeyType)
	if t, ok := keyTypes[typ]; ok {
		typ = t
	}
	name := awssdk.ToString(k.KeyName)
	kp := providers.Keypair{
		Common: providers.Common{
			NativeID: name, Name: name, Region: region,
			Status: providers.StatusActive, ProviderStatus: "available",
			Created: awssdk.ToTime(k.CreateTime), Properties: map[string]string{},
		},
		PublicKey: strings.TrimSpace(awssdk.ToString(k.PublicKey)), Fingerprint: awssdk.ToString(k.KeyFingerprint), Type: typ,
	}
	kp.Labels, _ = labelsOf(k.Tags)
	if id := awssdk.ToString(k.KeyPairId); id != "" {
		kp.Properties["key_pair_id"] = id
	}
	return kp
}

// describeKey finds a key by name in every region; the map holds the
// regions that have it.
func (c *Cloud) describeKey(ctx context.Context, name string) (map[string]providers.Keypair, error) {
	var mu sync.Mutex
	found := map[string]providers.Keypair{}
	err := c.eachRegion(ctx, func(ctx context.Context, region string, api ec2API) error {
		out, err := api.DescribeKeyPairs(ctx, &ec2.DescribeKeyPairsInput{KeyNames: []string{name}, IncludePublicKey: awssdk.Bool(true)})
		if err != nil {
			err = fail(err, target, "describe key pair %q in %s", name, region)
			if isNotFound(err) {
				return nil
			}
			return err
		}
		for _, k := range out.KeyPairs {
			if awssdk.ToString(k.KeyName) == name {
				mu.Lock()
				found[region] = keypairOf(region, k)
				mu.Unlock()
			}
		}
		return nil
	})
	return found, err
}

// merge returns one keypair for the regions that have it: the first
// region's, with no region when the key is in several.
func (c *Cloud) merge(byRegion map[string]providers.Keypair) providers.Keypair {
	var regions []string
	for _, r := range c.regions {
		if _, ok := byRegion[r]; ok {
			regions = append(regions, r)
		}
	}
	k := byRegion[regions[0]]
	if len(regions) > 1 {
		k.Region = ""
	}
	if len(c.regions) > 1 {
		k.Properties["regions"] = strings.Join(regions, ",")
	}
	return k
}

// ListKeypairs implements providers.Compute.
func (c *Cloud) ListKeypairs(ctx context.Context) ([]providers.Keypair, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	var mu sync.Mutex
	byName := map[string]map[string]providers.Keypair{}
	err := c.eachRegion(ctx, func(ctx context.Context, region string, api ec2API) error {
		out, err := api.DescribeKeyPairs(ctx, &ec2.DescribeKeyPairsInput{IncludePublicKey: awssdk.Bool(true)})
		if err != nil {
			return fail(err, reference, "describe key pairs in %s", region)
		}
		mu.Lock()
		defer mu.Unlock()
		for _, k := range out.KeyPairs {
			kp := keypairOf(region, k)
			if byName[kp.Name] == nil {
				byName[kp.Name] = map[string]providers.Keypair{}
			}
			byName[kp.Name][region] = kp
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]providers.Keypair, 0, len(byName))
	for _, rs := range byName {
		out = append(out, c.merge(rs))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// GetKeypair implements providers.Compute.
func (c *Cloud) GetKeypair(ctx context.Context, name string) (providers.Keypair, error) {
	if err := c.check(); err != nil {
		return providers.Keypair{}, err
	}
	if name == "" {
		return providers.Keypair{}, fmt.Errorf("aws: key pair %q: %w", name, providers.ErrNotFound)
	}
	found, err := c.describeKey(ctx, name)
	if err != nil {
		return providers.Keypair{}, err
	}
	if len(found) == 0 {
		return providers.Keypair{}, fmt.Errorf("aws: key pair %q: %w", name, providers.ErrNotFound)
	}
	return c.merge(found), nil
}

// CreateKeypair implements providers.Compute with ImportKeyPair in every
// region; a failure in one region undoes the others.
func (c *Cloud) CreateKeypair(ctx context.Context, name, publicKey string) (providers.Keypair, error) {
	if err := c.check(); err != nil {
		return providers.Keypair{}, err
	}
	if name == "" {
		return providers.Keypair{}, fmt.Errorf("aws: import key pair: %w: name is empty", providers.ErrInvalid)
	}
	// EC2 checks the key too; checking here first gives every cloud the
	// same answer for a key that is not an OpenSSH public key.
	pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(publicKey))
	if err != nil {
		return providers.Keypair{}, fmt.Errorf("aws: import key pair %q: %w: public key: %v", name, providers.ErrInvalid, err)
	}
	material := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub)))
	var done []string
	var first providers.Keypair
	for _, region := range c.regions {
		out, sent, err := attempted(ctx, c.clients[region].ImportKeyPair, &ec2.ImportKeyPairInput{KeyName: awssdk.String(name), PublicKeyMaterial: []byte(material)})
		if madeBefore(err, sent, "InvalidKeyPair.Duplicate") {
			// A retry after a lost answer (attempts.go): the key the first
			// attempt imported is the answer, if it is this key.
			if k, ok := c.importedBefore(ctx, region, name, material); ok {
				out, err = &ec2.ImportKeyPairOutput{KeyName: k.KeyName, KeyFingerprint: k.KeyFingerprint, KeyPairId: k.KeyPairId, Tags: k.Tags}, nil
			}
		}
		if err != nil {
			for _, r := range done {
				_, _ = c.clients[r].DeleteKeyPair(context.WithoutCancel(ctx), &ec2.DeleteKeyPairInput{KeyName: awssdk.String(name)})
			}
			return providers.Keypair{}, fail(err, reference, "import key pair %q in %s", name, region)
		}
		if len(done) == 0 {
			first = keypairOf(region, types.KeyPairInfo{
				KeyName: out.KeyName, KeyFingerprint: out.KeyFingerprint, KeyPairId: out.KeyPairId, Tags: out.Tags,
			})
		}
		done = append(done, region)
	}
	first.PublicKey, first.Type = material, pub.Type()
	if len(c.regions) > 1 {
		first.Region = ""
		first.Properties["regions"] = strings.Join(c.regions, ",")
	}
	return first, nil
}

// importedBefore finds the key pair name in region when it holds the
// public key material.
func (c *Cloud) importedBefore(ctx context.Context, region, name, material string) (types.KeyPairInfo, bool) {
	out, err := c.clients[region].DescribeKeyPairs(ctx, &ec2.DescribeKeyPairsInput{KeyNames: []string{name}, IncludePublicKey: awssdk.Bool(true)})
	if err != nil {
		return types.KeyPairInfo{}, false
	}
	for _, k := range out.KeyPairs {
		if awssdk.ToString(k.KeyName) == name && strings.TrimSpace(awssdk.ToString(k.PublicKey)) == material {
			return k, true
		}
	}
	return types.KeyPairInfo{}, false
}

// DeleteKeypair implements providers.Compute. EC2 deletes a missing key
// without complaint; canopy says not found, as the other clouds do.
func (c *Cloud) DeleteKeypair(ctx context.Context, name string) error {
	if err := c.check(); err != nil {
		return err
	}
	if name == "" {
		return fmt.Errorf("aws: key pair %q: %w", name, providers.ErrNotFound)
	}
	found, err := c.describeKey(ctx, name)
	if err != nil {
		return err
	}
	if len(found) == 0 {
		return fmt.Errorf("aws: delete key pair %q: %w", name, providers.ErrNotFound)
	}
	for _, region := range c.regions {
		if _, ok := found[region]; !ok {
			continue
		}
		if _, err := c.clients[region].DeleteKeyPair(ctx, &ec2.DeleteKeyPairInput{KeyName: awssdk.String(name)}); err != nil {
			return fail(err, target, "delete key pair %q in %s", name, region)
		}
	}
	return nil
}
