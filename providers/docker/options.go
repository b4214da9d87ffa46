package docker

import (
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/canopy-cloud/canopy/providers"
)

// Options configure a docker cloud. From YAML they arrive as the cloud's
// `options` map:
//
//	clouds:
//	  - name: builders
//	    kind: docker
//	    regions: [lab]                       # or options.region
//	    options:
//	      hosts:                             # default: DOCKER_HOST, else the local socket
//	        - unix:///var/run/docker.sock    # named "local"
//	        - tcp://10.0.0.7:2376            # named "10.0.0.7:2376"
//	        - {name: gpu, url: "tcp://10.0.0.8:2376", tls_ca: ca.pem, tls_cert: cert.pem, tls_key: key.pem}
//	      network_mode: none                 # default; "host", "bridge" or a network name
//	      region: lab
//	      zone: lab-a
//	      create_window: 3s                  # see CreateWindow
//
// Every host is one Docker Engine; a cloud of several hosts is still one
// cloud (one region), and a container's native id names its host (see
// docker.go).
type Options struct {
	// Hosts are the engines; empty: one host from the environment
	// (DOCKER_HOST and friends), else the default local socket.
	Hosts []HostOptions
	// NetworkMode is given to every container: "none" (default: a daemon
	// started with --bridge=none has no default network), "host",
	// "bridge", or the name of a network the daemon has.
	NetworkMode string
	// Region and Zone are what Info reports and containers carry; default
	// the cloud's first configured region and zone, else "local".
	Region string
	Zone   string
	// CreateWindow bounds how long a create a dead process sent may still
	// be on its way to the daemon: a replayed create that finds no
	// container with its token waits this long after the earlier attempt
	// before it creates (default DefaultCreateWindow; docs/idempotency.md).
	// Docker answers a create only once the container exists, so the
	// window is short.
	CreateWindow time.Duration
}

// DefaultCreateWindow is the create window when the config sets none.
const DefaultCreateWindow = 3 * time.Second

// HostOptions is one Docker Engine.
type HostOptions struct {
	// Name is what native ids and Container.Host call the host; default
	// the URL's host:port, or "local" for a unix socket.
	Name string
	// URL is a DOCKER_HOST value: unix:///path, tcp://host:port, ssh is
	// not supported (it needs the docker CLI's connection helper).
	URL string
	// TLSCA, TLSCert and TLSKey are PEM files for a tcp:// host behind TLS.
	TLSCA, TLSCert, TLSKey string
}

var knownOptions = []string{"hosts", "network_mode", "region", "zone", "create_window"}

var knownHostOptions = []string{"name", "url", "tls_ca", "tls_cert", "tls_key"}

// ParseOptions reads the YAML `options` map of a docker cloud; cfgRegions
// and cfgZones are the cloud's own `regions` and `zones`, the defaults.
func ParseOptions(m map[string]any, cfgRegions, cfgZones []string) (Options, error) {
	o := Options{NetworkMode: "none", Region: "local", CreateWindow: DefaultCreateWindow}
	if len(cfgRegions) > 0 {
		o.Region = cfgRegions[0]
	}
	if len(cfgZones) > 0 {
		o.Zone = cfgZones[0]
	}
	if err := unknownKeys(m, knownOptions, "option"); err != nil {
		return o, err
	}
	for _, k := range []string{"network_mode", "region", "zone"} {
		v, ok := m[k]
		if !ok {
			continue
		}
		s, ok := v.(string)
		if !ok || strings.TrimSpace(s) == "" {
			return o, fmt.Errorf("docker: option %s: want a non-empty string, got %v: %w", k, v, providers.ErrInvalid)
		}
		switch k {
		case "network_mode":
			o.NetworkMode = s
		case "region":
			o.Region = s
		case "zone":
			o.Zone = s
		}
	}
	if v, ok := m["create_window"]; ok {
		s, _ := v.(string)
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			return o, fmt.Errorf("docker: option create_window: want a duration such as \"3s\", got %v: %w", v, providers.ErrInvalid)
		}
		o.CreateWindow = d
	}
	if o.Zone == "" {
		o.Zone = o.Region
	}
	if v, ok := m["hosts"]; ok {
		hosts, err := parseHosts(v)
		if err != nil {
			return o, err
		}
		o.Hosts = hosts
	}
	return o, nil
}

// parseHosts reads `hosts`: one URL, or a list of URLs and {name, url, …}
// maps. Names must be unique and free of "/" (native ids split on it).
func parseHosts(v any) ([]HostOptions, error) {
	var items []any
	switch t := v.(type) {
	case string:
		items = []any{t}
	case []any:
		items = t
	case []string:
		for _, s := range t {
			items = append(items, s)
		}
	default:
		return nil, fmt.Errorf("docker: option hosts: want a list, got %T: %w", v, providers.ErrInvalid)
	}
	var hosts []HostOptions
	seen := map[string]bool{}
	for i, it := range items {
		var h HostOptions
		switch t := it.(type) {
		case string:
			h.URL = t
		case map[string]any:
			if err := unknownKeys(t, knownHostOptions, fmt.Sprintf("hosts[%d] key", i)); err != nil {
				return nil, err
			}
			for k, val := range t {
				s, ok := val.(string)
				if !ok {
					return nil, fmt.Errorf("docker: option hosts[%d].%s: want a string, got %T: %w", i, k, val, providers.ErrInvalid)
				}
				switch k {
				case "name":
					h.Name = s
				case "url":
					h.URL = s
				case "tls_ca":
					h.TLSCA = s
				case "tls_cert":
					h.TLSCert = s
				case "tls_key":
					h.TLSKey = s
				}
			}
		default:
			return nil, fmt.Errorf("docker: option hosts[%d]: want a URL or a map, got %T: %w", i, it, providers.ErrInvalid)
		}
		if h.URL == "" {
			return nil, fmt.Errorf("docker: option hosts[%d]: no url: %w", i, providers.ErrInvalid)
		}
		u, err := url.Parse(h.URL)
		if err != nil || (u.Scheme != "unix" && u.Scheme != "tcp" && u.Scheme != "http" && u.Scheme != "https") {
			return nil, fmt.Errorf("docker: option hosts[%d]: %q is not a unix://, tcp:// or http(s):// URL: %w", i, h.URL, providers.ErrInvalid)
		}
		if h.Name == "" {
			h.Name = defaultHostName(u)
		}
		if strings.Contains(h.Name, "/") {
			return nil, fmt.Errorf("docker: option hosts[%d]: name %q must not contain '/': %w", i, h.Name, providers.ErrInvalid)
		}
		if seen[h.Name] {
			return nil, fmt.Errorf("docker: option hosts[%d]: a second host named %q (give each a name: {name: …, url: …}): %w", i, h.Name, providers.ErrInvalid)
		}
		seen[h.Name] = true
		if (h.TLSCert == "") != (h.TLSKey == "") {
			return nil, fmt.Errorf("docker: option hosts[%d]: tls_cert and tls_key go together: %w", i, providers.ErrInvalid)
		}
		hosts = append(hosts, h)
	}
	return hosts, nil
}

// defaultHostName is host:port for network URLs and "local" for a socket.
func defaultHostName(u *url.URL) string {
	if u.Scheme == "unix" || u.Host == "" {
		return "local"
	}
	return u.Host
}

func unknownKeys(m map[string]any, known []string, what string) error {
	ok := map[string]bool{}
	for _, k := range known {
		ok[k] = true
	}
	var unknown []string
	for k := range m {
		if !ok[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	sort.Strings(unknown)
	return fmt.Errorf("docker: unknown %s %q (known: %s): %w", what, unknown[0], strings.Join(known, ", "), providers.ErrInvalid)
}
