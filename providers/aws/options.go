package aws

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Options configure an aws cloud. From YAML they arrive as the cloud's
// `options` map:
//
//	clouds:
//	  - name: aws
//	    kind: aws
//	    regions: [us-east-1, eu-west-1]   # or options.regions
//	    options:
//	      profile: work                   # a profile of ~/.aws/config
//	      endpoint: http://127.0.0.1:5055 # emulators (moto); empty: AWS
//	      image_owners: [self, shared]    # AMIs listed; default [self]
//	      image_filters: {name: ["debian-12-*"]}
//	      instance_types: [t3.micro, t3.small, m5.large]
//
// Credentials come from access_key_id/secret_access_key when both are set,
// else from the standard AWS chain (environment, shared config and
// credentials files, the profile, SSO, instance roles).
type Options struct {
	// Profile is the shared-config profile to use (default: AWS_PROFILE or
	// "default").
	Profile string `json:"profile"`
	// Regions the cloud spans; the first is the default for creates without
	// a zone. Empty: the cloud's `regions`, else the profile's region.
	Regions []string `json:"regions"`
	// Endpoint overrides the EC2 endpoint in every region (moto, LocalStack).
	Endpoint string `json:"endpoint"`
	// AccessKeyID, SecretAccessKey and SessionToken are static credentials.
	AccessKeyID     string `json:"access_key_id"`
	SecretAccessKey string `json:"secret_access_key"`
	SessionToken    string `json:"session_token"`
	// ImageOwners are the owners whose AMIs are listed: "self", "amazon",
	// "aws-marketplace", account ids, or "shared" for AMIs other accounts
	// granted launch permission to. Default ["self"]: never the whole public
	// catalogue.
	ImageOwners []string `json:"image_owners"`
	// ImageFilters are DescribeImages filters (name → values) applied to
	// every owner, e.g. {"name": ["ubuntu/images/*24.04*"]}.
	ImageFilters map[string][]string `json:"image_filters"`
	// InstanceTypes allow-lists the flavors (names or patterns such as
	// "t3.*"; types a region does not offer are left out); empty: every
	// type the region offers.
	InstanceTypes []string `json:"instance_types"`
	// CatalogTTL is how long the instance-type catalogue (static, and
	// hundreds of entries) is kept before it is listed again; default 1h,
	// "0s" to list every time.
	CatalogTTL time.Duration `json:"-"`
	// MaxAttempts bounds the SDK's retries of throttled and failed calls
	// (default: the SDK's, 3).
	MaxAttempts int `json:"max_attempts"`
	// S3PartSize is the multipart part size of object uploads, bytes
	// (default 8 MiB; S3's minimum is 5 MiB).
	S3PartSize int64 `json:"s3_part_size"`
	// S3Concurrency is how many parts of one upload are in flight (default
	// 2): an upload holds about (S3Concurrency+1) × S3PartSize in memory.
	S3Concurrency int `json:"s3_concurrency"`
	// ContainerImageBucket is the S3 bucket container images (uploads of
	// container format docker or oci) are stored in, one object each with
	// its record beside it (container_images.go); created in the first
	// region on the first upload when missing. Empty: such uploads are
	// refused (EC2 has no image store for them).
	ContainerImageBucket string `json:"container_image_bucket"`
	// CreateWindow bounds how long after a create was sent its resource
	// may still be invisible to the canopy:token tag look-up: EC2's
	// describe calls are eventually consistent, and a request a dead
	// process sent may still be in flight. A replayed create that finds
	// nothing waits this long after the earlier attempt before it creates
	// (default DefaultCreateWindow). EC2 itself honours the ClientToken of
	// RunInstances and CreateVolume; snapshots have none, and moto honours
	// none (docs/idempotency.md).
	CreateWindow time.Duration `json:"-"`
}

// DefaultCreateWindow is the create window when the config sets none
// (docs/idempotency.md).
const DefaultCreateWindow = 15 * time.Second

var knownOptions = []string{
	"profile", "regions", "endpoint", "access_key_id", "secret_access_key", "session_token",
	"image_owners", "image_filters", "instance_types", "catalog_ttl", "max_attempts", "s3_part_size", "s3_concurrency", "create_window",
	"container_image_bucket",
}

// ParseOptions reads the YAML `options` map of an aws cloud.
func ParseOptions(m map[string]any) (Options, error) {
	o := Options{CatalogTTL: time.Hour, CreateWindow: DefaultCreateWindow}
	if len(m) == 0 {
		return o, nil
	}
	known := map[string]bool{}
	for _, k := range knownOptions {
		known[k] = true
	}
	var unknown []string
	for k := range m {
		if !known[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return o, fmt.Errorf("aws: unknown option %q (known: %s)", unknown[0], strings.Join(knownOptions, ", "))
	}
	// image_filters values may be one string or a list.
	clean := make(map[string]any, len(m))
	for k, v := range m {
		clean[k] = v
	}
	if f, ok := m["image_filters"].(map[string]any); ok {
		norm := map[string]any{}
		for name, v := range f {
			if s, ok := v.(string); ok {
				norm[name] = []string{s}
			} else {
				norm[name] = v
			}
		}
		clean["image_filters"] = norm
	}
	delete(clean, "catalog_ttl")
	delete(clean, "create_window")
	raw, err := json.Marshal(clean)
	if err != nil {
		return o, fmt.Errorf("aws: options: %w", err)
	}
	if err := json.Unmarshal(raw, &o); err != nil {
		return o, fmt.Errorf("aws: options: %w", err)
	}
	if v, ok := m["catalog_ttl"]; ok {
		s, ok := v.(string)
		if !ok {
			return o, fmt.Errorf("aws: option catalog_ttl: want a duration string like \"1h\", got %v", v)
		}
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			return o, fmt.Errorf("aws: option catalog_ttl: %q is not a duration >= 0", s)
		}
		o.CatalogTTL = d
	}
	if v, ok := m["create_window"]; ok {
		s, ok := v.(string)
		d, err := time.ParseDuration(s)
		if !ok || err != nil || d < 0 {
			return o, fmt.Errorf("aws: option create_window: %v is not a duration >= 0 like \"15s\"", v)
		}
		o.CreateWindow = d
	}
	if (o.AccessKeyID == "") != (o.SecretAccessKey == "") {
		return o, fmt.Errorf("aws: options access_key_id and secret_access_key go together")
	}
	if o.SessionToken != "" && o.AccessKeyID == "" {
		return o, fmt.Errorf("aws: option session_token needs access_key_id and secret_access_key")
	}
	if o.S3PartSize != 0 && o.S3PartSize < 5<<20 {
		return o, fmt.Errorf("aws: option s3_part_size: %d is below S3's minimum part of 5 MiB", o.S3PartSize)
	}
	if o.S3Concurrency < 0 {
		return o, fmt.Errorf("aws: option s3_concurrency: %d < 0", o.S3Concurrency)
	}
	if b := o.ContainerImageBucket; b != "" && (!bucketNameRE.MatchString(b) || strings.Contains(b, "..")) {
		return o, fmt.Errorf("aws: option container_image_bucket: %q is not an S3 bucket name (3-63 lower-case letters, digits, '.' and '-')", b)
	}
	if o.MaxAttempts < 0 {
		return o, fmt.Errorf("aws: option max_attempts: %d < 0", o.MaxAttempts)
	}
	for _, r := range o.Regions {
		if r == "" {
			return o, fmt.Errorf("aws: option regions: empty region name")
		}
	}
	return o, nil
}
