package containerd

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/canopy-cloud/canopy/providers"
)

// Options configure a containerd cloud. From YAML they arrive as the
// cloud's `options` map:
//
//	clouds:
//	  - name: box
//	    kind: containerd
//	    options:
//	      address: /run/containerd/containerd.sock
//	      namespace: canopy          # containerd namespace (default canopy)
//	      snapshotter: overlayfs     # default overlayfs
//	      network_mode: none         # none (a netns with loopback only) or host
//	      data_dir: /var/lib/canopy/containerd/box
//
// The adapter must run on the containerd host: containers' logs are files
// the task's logger writes under the data dir, volumes are directories
// there, and top reads /proc.
type Options struct {
	// Address is containerd's gRPC socket (default
	// /run/containerd/containerd.sock).
	Address string
	// Namespace is the containerd namespace canopy's containers and
	// images live in (default "canopy"); other namespaces are not seen.
	Namespace string
	// Snapshotter unpacks images and holds containers' root filesystems
	// (default "overlayfs").
	Snapshotter string
	// Runtime is the shim containers run under (default
	// io.containerd.runc.v2).
	Runtime string
	// NetworkMode is "none" (default: every container gets a network
	// namespace of its own holding only loopback; canopy sets up no
	// bridge, CNI or iptables) or "host" (containers share the host's).
	NetworkMode string
	// DataDir holds logs and volumes (default: <canopyd data dir>/containerd/<cloud>).
	DataDir string
	// Timeout bounds each call to containerd that has no deadline of its
	// own (default 30s).
	Timeout time.Duration
	// Region and Zone are what Info reports and containers carry; default
	// the cloud's first configured region and zone, else "local".
	Region string
	Zone   string
	// Host is what Container.Host calls the one containerd host (default
	// "local"); a create naming another host is refused.
	Host string
	// Labels are the host's labels for the scheduler's host-label filter,
	// as dockerd's --label are a Docker host's; a label "zone" is the
	// host's zone.
	Labels map[string]string
}

var knownOptions = []string{"address", "namespace", "snapshotter", "runtime", "network_mode", "data_dir", "timeout", "region", "zone", "host", "labels"}

// ParseOptions reads the YAML `options` map of a containerd cloud;
// unknown keys are an error so typos do not silently fall back to defaults.
// cfgRegions and cfgZones are the cloud's own `regions` and `zones`, the
// defaults of region and zone.
func ParseOptions(m map[string]any, cfgRegions, cfgZones []string) (Options, error) {
	o := Options{
		Region:      "local",
		Host:        "local",
		Address:     "/run/containerd/containerd.sock",
		Namespace:   "canopy",
		Snapshotter: "overlayfs",
		Runtime:     "io.containerd.runc.v2",
		NetworkMode: "none",
		Timeout:     30 * time.Second,
	}
	if len(cfgRegions) > 0 {
		o.Region = cfgRegions[0]
	}
	if len(cfgZones) > 0 {
		o.Zone = cfgZones[0]
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := m[k]
		var err error
		switch k {
		case "address":
			o.Address, err = str(k, v)
			o.Address = strings.TrimPrefix(o.Address, "unix://")
		case "namespace":
			o.Namespace, err = str(k, v)
		case "snapshotter":
			o.Snapshotter, err = str(k, v)
		case "runtime":
			o.Runtime, err = str(k, v)
		case "network_mode":
			o.NetworkMode, err = str(k, v)
			if err == nil && o.NetworkMode != "none" && o.NetworkMode != "host" {
				err = fmt.Errorf("containerd: option network_mode: %q is neither none nor host", o.NetworkMode)
			}
		case "region":
			o.Region, err = str(k, v)
		case "zone":
			o.Zone, err = str(k, v)
		case "host":
			o.Host, err = str(k, v)
		case "labels":
			m, ok := v.(map[string]any)
			if !ok {
				err = fmt.Errorf("containerd: option labels: want a map of strings, got %T", v)
				break
			}
			o.Labels = map[string]string{}
			for lk, lv := range m {
				if o.Labels[lk], err = str("labels."+lk, lv); err != nil {
					break
				}
			}
		case "data_dir":
			o.DataDir, err = str(k, v)
		case "timeout":
			var s string
			if s, err = str(k, v); err == nil {
				o.Timeout, err = time.ParseDuration(s)
				if err == nil && o.Timeout <= 0 {
					err = fmt.Errorf("must be positive")
				}
				if err != nil {
					err = fmt.Errorf("containerd: option timeout: %w", err)
				}
			}
		default:
			return o, fmt.Errorf("containerd: %w: unknown option %q (known: %s)", providers.ErrInvalid, k, strings.Join(knownOptions, ", "))
		}
		if err != nil {
			return o, err
		}
	}
	if o.Address == "" || o.Namespace == "" || o.Snapshotter == "" || o.Runtime == "" || o.Region == "" || o.Host == "" {
		return o, fmt.Errorf("containerd: options address, namespace, snapshotter, runtime, region and host must not be empty")
	}
	return o, nil
}

func str(key string, v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("containerd: option %s: want a string, got %T", key, v)
	}
	return s, nil
}
