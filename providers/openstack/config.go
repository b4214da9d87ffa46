package openstack

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/config/clouds"
	"gopkg.in/yaml.v3"

	"github.com/canopy-cloud/canopy/providers"
)

// Options configure one OpenStack cloud. From canopy's YAML they arrive as
// the cloud's `options` map.
type Options struct {
	// Cloud names the entry in clouds.yaml (default: env OS_CLOUD, or the
	// only cloud in the file).
	Cloud string `json:"cloud"`
	// CloudsYAML is an explicit clouds.yaml path. Empty: openstacksdk's
	// search path (env OS_CLIENT_CONFIG_FILE, ./clouds.yaml,
	// $XDG_CONFIG_HOME/openstack/clouds.yaml, /etc/openstack/clouds.yaml).
	CloudsYAML string `json:"clouds_yaml"`
	// SecureYAML is an explicit secure.yaml path, merged over clouds.yaml.
	// Empty: env OS_CLIENT_SECURE_FILE, then secure.yaml beside clouds.yaml,
	// then the search path.
	SecureYAML string `json:"secure_yaml"`
	// Region selects the region (default: canopy's regions[0], else the
	// cloud's region_name, else its first `regions` entry, else the
	// catalog's).
	Region string `json:"region"`
	// Interface is public, internal or admin (default: the cloud's
	// interface, else public).
	Interface string `json:"interface"`
	// EndpointOverride maps a service type (compute, image, network) to
	// the URL to use instead of the catalog's.
	EndpointOverride map[string]string `json:"endpoint_override"`
	// ComputeMicroversion caps the Nova microversion canopy asks for
	// (default 2.79; the server's maximum bounds it).
	ComputeMicroversion string `json:"compute_microversion"`
	// PageSize is the limit of each page of a list (default 200).
	PageSize int `json:"page_size"`
	// Timeout bounds each HTTP request (default 60s), as a string like "30s".
	Timeout time.Duration `json:"-"`
	// SplitRegions (default true) makes a cloud with several regions and
	// no region option into one canopy cloud per region, named
	// <name>-<region>, as openstacksdk treats each region as its own cloud.
	SplitRegions *bool `json:"split_regions"`
	// CreateWindow bounds how long after a create was sent its resource may
	// still be invisible to the token look-up: the request may still be
	// queued in or going through the API when the process that sent it
	// died. A replayed create that finds nothing waits this long after the
	// earlier attempt before it creates (default DefaultCreateWindow; as a
	// string like "20s"). See docs/idempotency.md for the measurement.
	CreateWindow time.Duration `json:"-"`
	// OrphanUploadAfter is the age after which an image canopy created
	// for an upload and that Glance still holds queued (no data: the
	// upload died with its process) is deleted (default
	// DefaultOrphanUploadAfter; "0s" never).
	OrphanUploadAfter time.Duration `json:"-"`
	// VolumeBackups says whether the cloud runs cinder-backup (default
	// true). false: the adapter does not offer backups (providers.Limited)
	// and canopy emulates them, copying a volume's bytes through Glance
	// (VolumeData) into the cloud's backup_bucket. A user cannot ask
	// Cinder whether a backup service runs (os-services is admin-only), so
	// the config says it.
	VolumeBackups *bool `json:"volume_backups"`
	// Notifications turn the cloud's notification feed on (notify.go):
	// nil, the default, polls only.
	Notifications *Notifications `json:"-"`
}

// DefaultOrphanUploadAfter: a live upload's image is queued only between
// Glance's two requests, so ten minutes is far on the safe side.
const DefaultOrphanUploadAfter = 10 * time.Minute

// DefaultCreateWindow is the create window when the config sets none.
// On the lab (2 cores), a create whose sender died right after writing it
// became visible up to 41–54 s later with 50 such creates at once, and up
// to 80 s on a busier machine (docs/idempotency.md): a replay waits this
// long only when its look-up finds nothing; what a busier cloud lets
// through is a crash duplicate, deleted when a list sees it.
const DefaultCreateWindow = 90 * time.Second

var knownOptions = map[string]bool{
	"cloud": true, "clouds_yaml": true, "secure_yaml": true, "region": true, "interface": true,
	"endpoint_override": true, "compute_microversion": true, "page_size": true, "timeout": true,
	"split_regions": true, "create_window": true, "orphan_upload_after": true, "volume_backups": true,
	"notifications": true,
}

// ParseOptions reads the YAML `options` map of an openstack cloud.
func ParseOptions(m map[string]any) (Options, error) {
	var o Options
	for k := range m {
		if !knownOptions[k] {
			return o, fmt.Errorf("openstack: unknown option %q", k)
		}
	}
	if len(m) > 0 {
		raw, err := json.Marshal(m)
		if err != nil {
			return o, fmt.Errorf("openstack: options: %w", err)
		}
		if err := json.Unmarshal(raw, &o); err != nil {
			return o, fmt.Errorf("openstack: options: %w", err)
		}
	}
	for name, dst := range map[string]*time.Duration{"timeout": &o.Timeout, "create_window": &o.CreateWindow, "orphan_upload_after": &o.OrphanUploadAfter} {
		v, ok := m[name]
		if !ok {
			continue
		}
		s, ok := v.(string)
		if !ok {
			return o, fmt.Errorf("openstack: option %s: want a duration string like \"30s\", got %v", name, v)
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			return o, fmt.Errorf("openstack: option %s: %w", name, err)
		}
		if d < 0 {
			return o, fmt.Errorf("openstack: option %s: %s is negative", name, s)
		}
		*dst = d
	}
	if v, ok := m["notifications"]; ok {
		n, err := parseNotifications(v)
		if err != nil {
			return o, err
		}
		o.Notifications = n
	}
	switch o.Interface {
	case "", "public", "internal", "admin", "publicURL", "internalURL", "adminURL":
	default:
		return o, fmt.Errorf("openstack: option interface %q: want public, internal or admin", o.Interface)
	}
	if o.PageSize < 0 {
		return o, fmt.Errorf("openstack: option page_size %d: want a positive number", o.PageSize)
	}
	return o, nil
}

// cloudConfig is a resolved clouds.yaml entry: everything needed to
// authenticate and to find the endpoints of one (cloud, region).
type cloudConfig struct {
	Cloud      string // name in clouds.yaml
	Path       string // the clouds.yaml read
	SecurePath string // the secure.yaml merged in, if any
	Region     string // "" when neither config nor file names one
	Interface  string // public, internal or admin
	Regions    []string
	Overrides  map[string]string // service type → endpoint URL
	Auth       gophercloud.AuthOptions
	TLS        *tls.Config
	// Extra is the merged cloud entry as read, for settings gophercloud
	// does not model.
	Extra map[string]any
}

// configFileNames are the names openstacksdk tries in each directory.
var configFileNames = []string{"clouds.yaml", "clouds.yml", "clouds.json"}
var secureFileNames = []string{"secure.yaml", "secure.yml", "secure.json"}

// searchDirs is openstacksdk's search path: the current directory, the
// user's config dir, then the site one.
func searchDirs() []string {
	var dirs []string
	if wd, err := os.Getwd(); err == nil {
		dirs = append(dirs, wd)
	}
	if x := os.Getenv("XDG_CONFIG_HOME"); x != "" {
		dirs = append(dirs, filepath.Join(x, "openstack"))
	} else if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, ".config", "openstack"))
	}
	return append(dirs, "/etc/openstack")
}

func candidates(dirs, names []string) []string {
	var out []string
	for _, d := range dirs {
		for _, n := range names {
			out = append(out, filepath.Join(d, n))
		}
	}
	return out
}

func firstExisting(paths []string) string {
	for _, p := range paths {
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
	}
	return ""
}

// findConfigFiles returns the clouds.yaml and secure.yaml to read, the way
// openstacksdk finds them.
func findConfigFiles(o Options) (cloudsPath, securePath string, err error) {
	if o.CloudsYAML != "" {
		if _, err := os.Stat(o.CloudsYAML); err != nil {
			return "", "", fmt.Errorf("openstack: clouds_yaml: %w", err)
		}
		cloudsPath = o.CloudsYAML
	} else {
		search := candidates(searchDirs(), configFileNames)
		if env := os.Getenv("OS_CLIENT_CONFIG_FILE"); env != "" {
			search = append([]string{env}, search...)
		}
		if cloudsPath = firstExisting(search); cloudsPath == "" {
			return "", "", fmt.Errorf("openstack: no clouds.yaml found (searched %s); set the clouds_yaml option or OS_CLIENT_CONFIG_FILE", strings.Join(search, ", "))
		}
	}
	switch {
	case o.SecureYAML != "":
		if _, err := os.Stat(o.SecureYAML); err != nil {
			return "", "", fmt.Errorf("openstack: secure_yaml: %w", err)
		}
		securePath = o.SecureYAML
	case os.Getenv("OS_CLIENT_SECURE_FILE") != "":
		securePath = firstExisting([]string{os.Getenv("OS_CLIENT_SECURE_FILE")})
	default:
		securePath = firstExisting(candidates([]string{filepath.Dir(cloudsPath)}, secureFileNames))
		if securePath == "" && o.CloudsYAML == "" {
			securePath = firstExisting(candidates(searchDirs(), secureFileNames))
		}
	}
	return cloudsPath, securePath, nil
}

// readCloudsFile reads a clouds.yaml or secure.yaml (YAML is a superset of
// JSON) and returns its `clouds` map.
func readCloudsFile(path string) (map[string]any, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc struct {
		Clouds map[string]any `yaml:"clouds"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return doc.Clouds, nil
}

// mergeMaps merges over into base recursively; over wins on conflicts, as
// secure.yaml does over clouds.yaml in openstacksdk.
func mergeMaps(base, over map[string]any) map[string]any {
	out := make(map[string]any, len(base)+len(over))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range over {
		if bm, ok := out[k].(map[string]any); ok {
			if om, ok := v.(map[string]any); ok {
				out[k] = mergeMaps(bm, om)
				continue
			}
		}
		out[k] = v
	}
	return out
}

func str(m map[string]any, key string) string {
	if v, ok := m[key]; ok && v != nil {
		return fmt.Sprint(v)
	}
	return ""
}

// loadCloudConfig resolves the clouds.yaml entry an adapter uses.
func loadCloudConfig(o Options, cfg providers.Config) (*cloudConfig, error) {
	cloudsPath, securePath, err := findConfigFiles(o)
	if err != nil {
		return nil, err
	}
	all, err := readCloudsFile(cloudsPath)
	if err != nil {
		return nil, fmt.Errorf("openstack: %w", err)
	}
	name := o.Cloud
	if name == "" {
		name = os.Getenv("OS_CLOUD")
	}
	names := make([]string, 0, len(all))
	for n := range all {
		names = append(names, n)
	}
	sort.Strings(names)
	if name == "" {
		if len(names) != 1 {
			return nil, fmt.Errorf("openstack: no cloud named: set the cloud option or OS_CLOUD to one of %v in %s", names, cloudsPath)
		}
		name = names[0]
	}
	entry, ok := all[name].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("openstack: cloud %q not found in %s (clouds: %v)", name, cloudsPath, names)
	}
	if securePath != "" {
		sec, err := readCloudsFile(securePath)
		if err != nil {
			return nil, fmt.Errorf("openstack: %w", err)
		}
		if se, ok := sec[name].(map[string]any); ok {
			entry = mergeMaps(entry, se)
		}
	}

	cc := &cloudConfig{Cloud: name, Path: cloudsPath, SecurePath: securePath, Extra: entry, Overrides: map[string]string{}}

	// Regions: `regions` may list strings or {name, values} maps.
	if rs, ok := entry["regions"].([]any); ok {
		for _, r := range rs {
			switch r := r.(type) {
			case string:
				cc.Regions = append(cc.Regions, r)
			case map[string]any:
				if n := str(r, "name"); n != "" {
					cc.Regions = append(cc.Regions, n)
				}
			}
		}
	}
	cc.Region = o.Region
	if cc.Region == "" && len(cfg.Regions) > 0 {
		cc.Region = cfg.Regions[0]
	}
	if cc.Region == "" {
		cc.Region = str(entry, "region_name")
	}
	if cc.Region == "" && len(cc.Regions) > 0 {
		cc.Region = cc.Regions[0]
	}
	// A region's own values (openstacksdk's per-region overrides).
	if rs, ok := entry["regions"].([]any); ok {
		for _, r := range rs {
			if rm, ok := r.(map[string]any); ok && str(rm, "name") == cc.Region {
				if vals, ok := rm["values"].(map[string]any); ok {
					entry = mergeMaps(entry, vals)
				}
			}
		}
	}

	cc.Interface = strings.TrimSuffix(o.Interface, "URL")
	if cc.Interface == "" {
		cc.Interface = strings.TrimSuffix(firstNonEmpty(str(entry, "interface"), str(entry, "endpoint_type")), "URL")
	}
	if cc.Interface == "" {
		cc.Interface = "public"
	}

	// Endpoint overrides: openstacksdk's <service>_endpoint_override keys,
	// then the canopy option (which wins).
	for k, v := range entry {
		for _, suffix := range []string{"_endpoint_override", "_endpoint"} {
			if svc, ok := strings.CutSuffix(k, suffix); ok && v != nil {
				cc.Overrides[normalizeServiceType(svc)] = fmt.Sprint(v)
			}
		}
	}
	for k, v := range o.EndpointOverride {
		cc.Overrides[normalizeServiceType(k)] = v
	}

	// Authentication through gophercloud's own clouds.yaml parser, fed the
	// merged entry so its semantics (scopes, domains, TLS) apply as is.
	feed := make(map[string]any, len(entry))
	for k, v := range entry {
		if k != "regions" { // handled above; gophercloud's type is stricter
			feed[k] = v
		}
	}
	raw, err := yaml.Marshal(map[string]any{"clouds": map[string]any{name: feed}})
	if err != nil {
		return nil, fmt.Errorf("openstack: cloud %q: %w", name, err)
	}
	ao, _, tlsConfig, err := clouds.Parse(
		clouds.WithCloudsYAML(bytes.NewReader(raw)),
		clouds.WithCloudName(name),
		clouds.WithRegion(cc.Region),
		clouds.WithEndpointType(cc.Interface),
	)
	if err != nil {
		return nil, fmt.Errorf("openstack: cloud %q in %s: %w", name, cloudsPath, err)
	}
	if ao.IdentityEndpoint == "" {
		return nil, fmt.Errorf("openstack: cloud %q in %s: auth.auth_url is required", name, cloudsPath)
	}
	authType := str(entry, "auth_type")
	switch {
	case strings.Contains(authType, "applicationcredential") || ao.ApplicationCredentialID != "" || ao.ApplicationCredentialName != "":
		// An application credential carries its own scope.
		ao.Scope, ao.TenantID, ao.TenantName = nil, "", ""
		if ao.ApplicationCredentialSecret == "" {
			return nil, fmt.Errorf("openstack: cloud %q: application credential without a secret", name)
		}
		if ao.ApplicationCredentialID != "" {
			ao.Username, ao.UserID, ao.DomainID, ao.DomainName = "", "", "", ""
		}
		ao.Password = ""
		ao.AllowReauth = true
	case authType == "v3token" || authType == "token" || (ao.TokenID != "" && ao.Password == ""):
		ao.AllowReauth = false
	default:
		if ao.Password == "" {
			return nil, fmt.Errorf("openstack: cloud %q: no password (put it in clouds.yaml or secure.yaml)", name)
		}
		ao.AllowReauth = true
	}
	cc.Auth, cc.TLS = ao, tlsConfig
	return cc, nil
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// normalizeServiceType maps openstacksdk's service keys to catalog types.
func normalizeServiceType(s string) string {
	s = strings.ReplaceAll(strings.ToLower(s), "_", "-")
	switch s {
	case "nova":
		return "compute"
	case "glance":
		return "image"
	case "neutron":
		return "network"
	case "block-storage", "volumev3", "cinder":
		return "volume"
	}
	return s
}
