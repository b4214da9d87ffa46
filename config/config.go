// Package config reads canopyd's YAML configuration: which clouds to front,
// how zones route to them, and the knobs of waits and listings.
package config

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/canopy-cloud/canopy/auth"
)

// Config is the whole file.
type Config struct {
	// Clouds canopy fronts. Empty: one sim cloud named "local".
	Clouds []Cloud `yaml:"clouds"`
	// Zones maps an availability zone to a cloud name, overriding (or
	// adding to) the zones each cloud declares or discovers.
	Zones map[string]string `yaml:"zones"`
	// Wait bounds the `wait` flags and sets how often waits poll.
	Wait Wait `yaml:"wait"`
	// Auth configures tokens: the built-in issuer and trusted external ones.
	Auth Auth `yaml:"auth"`
	// PublicURL is canopyd's REST root as clients reach it
	// (scheme://host[:port][/prefix], e.g. behind a reverse proxy that
	// maps the prefix to canopyd's root). URLs canopyd serves itself (the
	// simulator's signed object URLs) are built on it. Empty: the REST
	// listener's address (127.0.0.1 for a wildcard listener).
	PublicURL string `yaml:"public_url"`
	// Duplicates says what canopy does with a crash duplicate: a cloud
	// resource carrying canopy's idempotency token for an id already bound
	// to another resource (a create repeated after a crash made a second
	// one). DuplicatesDelete (the default) deletes it; DuplicatesReport
	// only reports it (log, metric, the operation's metadata). Either way
	// it is never adopted under an id of its own nor listed.
	Duplicates string `yaml:"duplicates"`
	// REST configures the REST gateway's handling of requests.
	REST REST `yaml:"rest"`
	// Networks configures global networks and security groups.
	Networks Networks `yaml:"networks"`
	// Metrics configures the Prometheus endpoint, /metrics on the REST
	// port.
	Metrics Metrics `yaml:"metrics"`
	// Render configures image rendering (RenderImage).
	Render Render `yaml:"render"`
	// DataDir is where adapters may keep local state; canopyd sets it to
	// the directory of its store (it is not read from the file).
	DataDir string `yaml:"-"`
}

// Render configures RenderImage: where tarballs and rendered images are
// cached, and how tarball URLs are fetched.
type Render struct {
	// ScratchDir holds cached tarballs and rendered outputs, by content
	// hash (default: "render" under the data dir, else the system's
	// temporary directory).
	ScratchDir string `yaml:"scratch_dir"`
	// Mirrors rewrites tarball URLs: a URL starting with a key is fetched
	// from the value plus the rest (Cloudlets' "rewrite mirrors.cloudlets.com
	// to a local mirror"). The longest matching prefix wins.
	Mirrors map[string]string `yaml:"mirrors"`
	// MaxTarballBytes bounds a tarball and the files in it (default 8 GiB).
	MaxTarballBytes int64 `yaml:"max_tarball_bytes"`
}

// The values of Config.Duplicates.
const (
	DuplicatesDelete = "delete"
	DuplicatesReport = "report"
)

// DefaultMaxBodyBytes is REST.MaxBodyBytes unless the file sets it: gRPC's
// own limit on a received message, so a request REST refuses for its size
// is one gRPC would refuse too (JSON is seldom smaller than protobuf).
const DefaultMaxBodyBytes = 4 << 20

// Networks configures global networks and security groups.
type Networks struct {
	// ReconcileInterval is how often canopy compares each realization of
	// a global security group with its definition and repairs what was
	// changed at the cloud (default 30s): one fresh list of groups and
	// ports per cloud per pass, whatever the number of groups.
	ReconcileInterval Duration `yaml:"reconcile_interval"`
}

// Metrics configures /metrics.
type Metrics struct {
	// RequireToken makes /metrics answer only a request with a bearer
	// token (from canopyd's issuer or a trusted one) that has Scope: 401
	// without, 403 with too little scope. Default false: open, as
	// Prometheus endpoints usually are (it shows cloud names, call rates
	// and errors, no resources).
	RequireToken bool `yaml:"require_token"`
	// Scope the token needs (default canopy.admin; a scraper's own client
	// may have canopy.read).
	Scope string `yaml:"scope"`
}

// TokenScope is the scope /metrics requires when RequireToken is set.
func (m Metrics) TokenScope() string {
	if m.Scope == "" {
		return auth.ScopeAdmin
	}
	return m.Scope
}

// REST configures the REST gateway.
type REST struct {
	// MaxBodyBytes bounds every REST request body canopyd reads itself
	// (JSON bodies, forms), enforced while it is read: a bigger one gets
	// 413 naming the limit without being buffered. Object and image
	// uploads stream their bytes and are not bound by it.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
}

// Auth configures authentication.
type Auth struct {
	// IssuerURL is the built-in issuer's identifier; canopyd sets it from
	// its REST address when empty.
	IssuerURL string `yaml:"issuer_url"`
	// Audience of the tokens canopy issues and accepts (default "canopy").
	Audience string `yaml:"audience"`
	// TokenTTL is the lifetime of issued tokens (default 10m).
	TokenTTL Duration `yaml:"token_ttl"`
	// Issuers are external token issuers canopy also trusts.
	Issuers []auth.External `yaml:"issuers"`
}

// DefaultProject owns resources adopted from a cloud unless its config says
// otherwise.
const DefaultProject = "default"

// Cloud is one cloud entry.
type Cloud struct {
	Name    string         `yaml:"name"`
	Kind    string         `yaml:"kind"`
	Regions []string       `yaml:"regions"`
	Zones   []string       `yaml:"zones"`
	Options map[string]any `yaml:"options"`
	// Cache sets how long reads of each kind are reused (as clouds.yaml's
	// cache.expiration does): keys servers, flavors, images, keypairs,
	// volumes, snapshots, backups; "0s"
	// turns caching of a kind off (coalescing stays on).
	Cache map[string]Duration `yaml:"cache"`
	// RateLimit bounds calls to this cloud.
	RateLimit RateLimit `yaml:"rate_limit"`
	// Breaker is the cloud's circuit breaker, which bounds the calls a
	// dead cloud gets.
	Breaker Breaker `yaml:"breaker"`
	// Project owns what canopy adopts from this cloud (resources created
	// outside canopy); default "default".
	Project string `yaml:"project"`
	// BackupBucket, "<cloud>/<bucket>", is where canopy keeps the bytes of
	// the snapshots and backups it emulates on this cloud (one without
	// them): objects in that bucket of any configured cloud (the bucket's
	// native name). Empty: canopy's own store, fit only for small volumes.
	BackupBucket string `yaml:"backup_bucket"`
	// Flavors are the server sizes a container cloud offers when it is
	// used as servers (ComputeService over containers): each becomes a
	// container's cpu and memory limits. Empty: DefaultContainerFlavors.
	// Clouds with their own flavors (Nova, EC2) ignore it.
	Flavors []Flavor `yaml:"flavors"`
	// KeystoneAuth, on an OpenStack cloud, lets the users of its Keystone
	// get canopy tokens with their application credentials and Keystone
	// tokens (docs/auth.md). Nil (the key absent): off; `{}`: on with the
	// defaults.
	KeystoneAuth *KeystoneAuth `yaml:"keystone_auth"`
	// DiskFormats are the image disk formats the cloud takes when canopy
	// replicates an image to it (ReplicateImage): one in Accepted goes
	// as it is, any other is converted with qemu-img to Preferred. Nil:
	// the kind's defaults (replicate.Defaults: raw on AWS, qcow2
	// preferred on OpenStack).
	DiskFormats *DiskFormats `yaml:"disk_formats"`
	// RenderPresets are render-time input values this cloud presets
	// (Cloudlets' provider metadata): an image rendered for it
	// (RenderImage) takes them for the inputs its manifest declares and
	// the request leaves out, over the manifest's defaults. They go over
	// the kind's own presets (network interface, DHCP, metadata service;
	// server/image_render_presets.go); an empty value unsets one of those.
	RenderPresets map[string]string `yaml:"render_presets"`
	// Scheduler, on a container cloud whose hosts report themselves
	// (Docker), places each container (package sched). Nil: placement
	// runs with the defaults once the cloud has several hosts.
	Scheduler *Scheduler `yaml:"scheduler"`
}

// DiskFormats are a cloud's preferred and accepted image disk formats.
type DiskFormats struct {
	Preferred string   `yaml:"preferred"`
	Accepted  []string `yaml:"accepted"`
}

// presetName is a render input's name (render.Manifest's inputs).
var presetName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// convertible are the formats qemu-img makes (replicate.Convertible).
var convertible = []string{"raw", "qcow2", "vmdk", "vhd", "vhdx"}

// diskFormats are the disk formats Glance knows.
var diskFormats = []string{"raw", "qcow2", "vmdk", "vhd", "vhdx", "vdi", "iso", "ami", "ari", "aki", "ploop"}

func (d *DiskFormats) validate() error {
	if d == nil {
		return nil
	}
	if d.Preferred == "" {
		return errors.New("preferred: required: the format canopy converts images to (raw, qcow2, vmdk, vhd or vhdx)")
	}
	if !slices.Contains(convertible, d.Preferred) {
		return fmt.Errorf("preferred: %q is not one qemu-img makes (%s)", d.Preferred, strings.Join(convertible, ", "))
	}
	for i, f := range d.Accepted {
		if !slices.Contains(diskFormats, f) {
			return fmt.Errorf("accepted[%d]: %q is not a disk format (%s)", i, f, strings.Join(diskFormats, ", "))
		}
	}
	if len(d.Accepted) > 0 && !slices.Contains(d.Accepted, d.Preferred) {
		return fmt.Errorf("accepted: lists %s but not the preferred %q", strings.Join(d.Accepted, ", "), d.Preferred)
	}
	return nil
}

// Scheduler configures placement on a container cloud's hosts.
type Scheduler struct {
	// TenantIsolation: containers of different projects never share a
	// host; a create no host can take that way is refused, per host.
	TenantIsolation bool `yaml:"tenant_isolation"`
}

// KeystoneAuth configures a cloud's Keystone as an identity source.
type KeystoneAuth struct {
	// CacheTTL is how long Keystone's answer about a credential or token
	// is reused (default 1m; "0s": ask Keystone on every token request).
	// A deleted or expired credential keeps getting tokens at most this
	// long.
	CacheTTL *Duration `yaml:"cache_ttl"`
	// Timeout bounds each Keystone request (default 10s).
	Timeout Duration `yaml:"timeout"`
	// Projects maps Keystone projects ("<project id>" or
	// "<domain>/<project name>") to canopy projects. Empty: the project
	// the cloud's own credentials are scoped to maps to the cloud's
	// `project`; any other Keystone project gets no token.
	Projects map[string]string `yaml:"projects"`
	// Roles maps Keystone role names to the canopy scope each grants.
	// Empty: reader → canopy.read, member → canopy.write, admin →
	// canopy.admin. A map given replaces the default whole.
	Roles map[string]string `yaml:"roles"`
}

// Flavor is a configured server size.
type Flavor struct {
	Name   string `yaml:"name"`
	VCPUs  int32  `yaml:"vcpus"`
	RAMMiB int64  `yaml:"ram_mib"`
}

// DefaultContainerFlavors are a container cloud's sizes when the config
// names none.
var DefaultContainerFlavors = []Flavor{{"ct.small", 1, 512}, {"ct.medium", 2, 2048}, {"ct.large", 4, 8192}}

// RateLimit is a token bucket: Rate calls per second, bursts of Burst.
// Zero Rate means the default (20/s, burst 40); a negative Rate disables it.
type RateLimit struct {
	Rate  float64 `yaml:"rate"`
	Burst int     `yaml:"burst"`
}

// Breaker is a cloud's circuit breaker: after Failures calls in a row find
// the cloud not answering (a deadline passed after at least 500 ms, a
// connection refused or reset, 5xx), canopy stops calling it and answers for it at once with
// UNAVAILABLE; every Cooldown one call probes it, and one that succeeds
// closes the breaker. A dead cloud so gets at most Failures calls, then
// 60s/Cooldown calls a minute. Zero values are the defaults (5, 10s); a
// negative Failures turns the breaker off.
type Breaker struct {
	Failures int      `yaml:"failures"`
	Cooldown Duration `yaml:"cooldown"`
}

// CacheKinds are the kinds whose reads are cached, with their default TTLs:
// catalogues change rarely, servers often.
var CacheKinds = map[string]time.Duration{
	"servers":  2 * time.Second,
	"flavors":  5 * time.Minute,
	"images":   time.Minute,
	"keypairs": 30 * time.Second,
	// Networking (canopy's own writes invalidate these at once; changes
	// made behind canopy's back show within the TTL).
	"networks":        10 * time.Second,
	"subnets":         10 * time.Second,
	"ports":           5 * time.Second,
	"routers":         10 * time.Second,
	"security_groups": 10 * time.Second,
	"floating_ips":    5 * time.Second,
	// Block storage (canopy's own writes invalidate these at once).
	"volumes":   2 * time.Second,
	"snapshots": 5 * time.Second,
	"backups":   5 * time.Second,
}

// Wait configures waiting for resources to reach a status.
type Wait struct {
	// Timeout bounds a wait when the caller set no deadline (default 10m).
	Timeout Duration `yaml:"timeout"`
	// MinInterval is the poll interval while something transitions
	// (default 500ms); MaxInterval when idle (default 5s).
	MinInterval Duration `yaml:"min_interval"`
	MaxInterval Duration `yaml:"max_interval"`
}

// Duration is a time.Duration written as "2s" in YAML.
type Duration time.Duration

// UnmarshalYAML implements yaml.Unmarshaler.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*d = Duration(v)
	return nil
}

// TTL returns the cache TTL of a kind for this cloud.
func (c Cloud) TTL(kind string) time.Duration {
	if d, ok := c.Cache[kind]; ok {
		return d.Std()
	}
	return CacheKinds[kind]
}

// Std returns the time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// DefaultCloudName is the sim cloud of the embedded default.
const DefaultCloudName = "local"

// Default is the embedded default: one sim cloud with two zones.
func Default() *Config {
	c := &Config{Clouds: []Cloud{{
		Name: DefaultCloudName, Kind: "sim",
		Regions: []string{"local-1"}, Zones: []string{"local-1a", "local-1b"},
		Options: map[string]any{"boot_delay": "2s", "action_delay": "1s", "delete_delay": "1s", "persist": true},
	}}}
	c.setDefaults()
	return c
}

// Load reads and validates a config file; errors name it by its path.
func Load(path string) (*Config, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(raw, path)
}

// Parse reads and validates config bytes; name is used in errors.
func Parse(raw []byte, name string) (*Config, error) {
	var c Config
	if err := decodeStrict(raw, &c); err != nil {
		return nil, fmt.Errorf("config %s: %w", name, err)
	}
	if len(c.Clouds) == 0 {
		c.Clouds = Default().Clouds
	}
	c.setDefaults()
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("config %s: %w", name, err)
	}
	return &c, nil
}

func (c *Config) setDefaults() {
	for i := range c.Clouds {
		if c.Clouds[i].Project == "" {
			c.Clouds[i].Project = DefaultProject
		}
	}
	if c.Duplicates == "" {
		c.Duplicates = DuplicatesDelete
	}
	if c.REST.MaxBodyBytes == 0 {
		c.REST.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.Wait.Timeout == 0 {
		c.Wait.Timeout = Duration(10 * time.Minute)
	}
	if c.Networks.ReconcileInterval == 0 {
		c.Networks.ReconcileInterval = Duration(30 * time.Second)
	}
	if c.Wait.MinInterval == 0 {
		c.Wait.MinInterval = Duration(500 * time.Millisecond)
	}
	if c.Wait.MaxInterval == 0 {
		c.Wait.MaxInterval = Duration(5 * time.Second)
	}
}

var cloudName = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)

// expandedFrom reports whether name can be a cloud an adapter splits a
// configured one into (<configured>-<region>); canopyd checks the exact
// name once the clouds are open.
func expandedFrom(name string, configured map[string]bool) bool {
	for c := range configured {
		if strings.HasPrefix(name, c+"-") {
			return true
		}
	}
	return false
}

// Validate checks names, kinds and the zone map.
func (c *Config) Validate() error {
	switch c.Duplicates {
	case "", DuplicatesDelete, DuplicatesReport:
	default:
		return fmt.Errorf("duplicates %q: want %s or %s", c.Duplicates, DuplicatesDelete, DuplicatesReport)
	}
	if c.Render.MaxTarballBytes < 0 {
		return fmt.Errorf("render.max_tarball_bytes: negative")
	}
	for from, to := range c.Render.Mirrors {
		for _, u := range []string{from, to} {
			if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
				return fmt.Errorf("render.mirrors: %q: want an http(s) URL prefix", u)
			}
		}
	}
	if ri := c.Networks.ReconcileInterval.Std(); ri < 0 || (ri > 0 && ri < 10*time.Millisecond) {
		return fmt.Errorf("networks.reconcile_interval %s: want at least 10ms", ri)
	}
	seen := map[string]bool{}
	zoneOwner := map[string]string{}
	for i, cl := range c.Clouds {
		if !cloudName.MatchString(cl.Name) {
			return fmt.Errorf("clouds[%d].name %q: want lower-case letters, digits and dashes, starting with a letter", i, cl.Name)
		}
		if seen[cl.Name] {
			return fmt.Errorf("clouds[%d].name %q: duplicate", i, cl.Name)
		}
		seen[cl.Name] = true
		if cl.Kind == "" {
			return fmt.Errorf("cloud %q: kind is required", cl.Name)
		}
		for kind, ttl := range cl.Cache {
			if _, ok := CacheKinds[kind]; !ok {
				return fmt.Errorf("cloud %q: cache.%s: unknown kind (want servers, flavors, images, keypairs, volumes, snapshots or backups)", cl.Name, kind)
			}
			if ttl < 0 {
				return fmt.Errorf("cloud %q: cache.%s: negative duration", cl.Name, kind)
			}
		}
		if cl.RateLimit.Burst < 0 {
			return fmt.Errorf("cloud %q: rate_limit.burst: negative", cl.Name)
		}
		if cl.Breaker.Cooldown < 0 {
			return fmt.Errorf("cloud %q: breaker.cooldown: negative duration", cl.Name)
		}
		flavorSeen := map[string]bool{}
		for i, f := range cl.Flavors {
			switch {
			case f.Name == "" || flavorSeen[f.Name]:
				return fmt.Errorf("cloud %q: flavors[%d]: a name is required, once (got %q)", cl.Name, i, f.Name)
			case f.VCPUs < 1 || f.VCPUs > 1024:
				return fmt.Errorf("cloud %q: flavors[%d] (%s): vcpus must be between 1 and 1024, got %d", cl.Name, i, f.Name, f.VCPUs)
			case f.RAMMiB < 6:
				return fmt.Errorf("cloud %q: flavors[%d] (%s): ram_mib must be at least 6 (the runtimes' minimum), got %d", cl.Name, i, f.Name, f.RAMMiB)
			}
			flavorSeen[f.Name] = true
		}
		if err := cl.KeystoneAuth.validate(); err != nil {
			return fmt.Errorf("cloud %q: keystone_auth.%w", cl.Name, err)
		}
		if err := cl.DiskFormats.validate(); err != nil {
			return fmt.Errorf("cloud %q: disk_formats.%w", cl.Name, err)
		}
		for k := range cl.RenderPresets {
			if !presetName.MatchString(k) {
				return fmt.Errorf("cloud %q: render_presets.%s: an input name is a Go identifier (letters, digits, '_')", cl.Name, k)
			}
		}
		if cl.BackupBucket != "" {
			bc, bb, ok := strings.Cut(cl.BackupBucket, "/")
			if !ok || bc == "" || bb == "" || strings.Contains(bb, "/") {
				return fmt.Errorf("cloud %q: backup_bucket %q: want <cloud>/<bucket>", cl.Name, cl.BackupBucket)
			}
		}
		for _, z := range cl.Zones {
			if other, dup := zoneOwner[z]; dup && c.Zones[z] == "" {
				return fmt.Errorf("zone %q is declared by clouds %q and %q: map it in `zones:` to pick one", z, other, cl.Name)
			}
			zoneOwner[z] = cl.Name
		}
	}
	zones := make([]string, 0, len(c.Zones))
	for z := range c.Zones {
		zones = append(zones, z)
	}
	sort.Strings(zones)
	for _, z := range zones {
		if !seen[c.Zones[z]] && !expandedFrom(c.Zones[z], seen) {
			return fmt.Errorf("zones[%q]: unknown cloud %q", z, c.Zones[z])
		}
	}
	for _, cl := range c.Clouds {
		if bc, _, _ := strings.Cut(cl.BackupBucket, "/"); cl.BackupBucket != "" && !seen[bc] && !expandedFrom(bc, seen) {
			return fmt.Errorf("cloud %q: backup_bucket %q: unknown cloud %q", cl.Name, cl.BackupBucket, bc)
		}
	}
	if c.REST.MaxBodyBytes < 0 {
		return fmt.Errorf("rest.max_body_bytes %d: must not be negative", c.REST.MaxBodyBytes)
	}
	if c.Metrics.Scope != "" {
		if bad := auth.ValidScopes([]string{c.Metrics.Scope}); bad != "" {
			return fmt.Errorf("metrics.scope %q: want one of %s", bad, strings.Join(auth.AllScopes, ", "))
		}
		if !c.Metrics.RequireToken {
			return fmt.Errorf("metrics.scope is set but metrics.require_token is not: /metrics would stay open")
		}
	}
	for _, d := range []struct {
		key string
		v   Duration
	}{{"wait.timeout", c.Wait.Timeout}, {"wait.min_interval", c.Wait.MinInterval}, {"wait.max_interval", c.Wait.MaxInterval}} {
		if d.v < 0 { // a negative poll interval would poll the cloud in a busy loop
			return fmt.Errorf("%s %s: must not be negative", d.key, d.v.Std())
		}
	}
	if c.Wait.MinInterval > c.Wait.MaxInterval {
		return fmt.Errorf("wait.min_interval %s is above wait.max_interval %s", c.Wait.MinInterval.Std(), c.Wait.MaxInterval.Std())
	}
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return fmt.Errorf("public_url %q: want http(s)://host[:port][/prefix], without user, query or fragment", c.PublicURL)
		}
	}
	return nil
}
