package sim

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/canopy-cloud/canopy/providers"
)

// Options configure a simulated cloud. From YAML they arrive as the cloud's
// `options` map (durations as strings such as "2s").
type Options struct {
	// Seed makes native ids reproducible.
	Seed int64 `json:"seed"`
	// Regions and Zones of the cloud (defaults: sim-1; sim-1a, sim-1b).
	Regions []string `json:"regions"`
	Zones   []string `json:"zones"`
	// Latency is added to every API call.
	Latency time.Duration `json:"-"`
	// BootDelay is how long a server stays BUILD before ACTIVE.
	BootDelay time.Duration `json:"-"`
	// ActionDelay is how long start/stop/reboot take.
	ActionDelay time.Duration `json:"-"`
	// DeleteDelay is how long a server stays DELETING.
	DeleteDelay time.Duration `json:"-"`
	// FailBoots sends every new server to ERROR instead of ACTIVE.
	FailBoots bool `json:"fail_boots"`
	// Down makes the cloud unreachable from the start.
	Down bool `json:"down"`
	// Persist keeps the cloud's servers and keypairs in a JSON file in
	// canopyd's data dir, so the embedded default survives restarts the way
	// a real cloud would.
	Persist bool `json:"persist"`
	// StatePath is that file (set from the data dir when Persist is on).
	StatePath string `json:"-"`
	// Servers pre-creates this many servers, as if made outside canopy.
	Servers int `json:"servers"`
	// VolumeOptions are the block-storage knobs (volumes.go).
	VolumeOptions
	// ImageImportDelay makes uploaded images import asynchronously, as
	// Glance's image import and EC2's ImportImage do: an image is PENDING
	// ("importing") for this long after its upload, then ACTIVE
	// (image_import_delay; 0: ACTIVE at once).
	ImageImportDelay time.Duration `json:"-"`
	// PartSize is the multipart part size of object uploads (bytes;
	// default 5 MiB, S3's minimum).
	PartSize int64 `json:"part_size"`
	// NoExternalNetwork: the cloud has no external network "public" (nor
	// the router to it), so floating IPs are ErrUnsupported
	// (no_external_network; networks.go).
	NoExternalNetwork bool `json:"no_external_network"`
	// Flavors and Images replace the default catalogue.
	Flavors []providers.Flavor `json:"-"`
	Images  []providers.Image  `json:"-"`
}

func (o *Options) setDefaults() {
	if len(o.Regions) == 0 {
		o.Regions = []string{"sim-1"}
	}
	if len(o.Zones) == 0 {
		o.Zones = []string{"sim-1a", "sim-1b"}
	}
	if o.PartSize <= 0 {
		o.PartSize = DefaultPartSize
	}
	if o.Flavors == nil {
		o.Flavors = DefaultFlavors()
	}
	if o.Images == nil {
		o.Images = DefaultImages()
	}
}

// DefaultFlavors is the sim's catalogue, shaped like a small OpenStack's.
func DefaultFlavors() []providers.Flavor {
	f := func(id, name string, vcpus int32, ram, disk int64, gpus int32) providers.Flavor {
		return providers.Flavor{Common: providers.Common{NativeID: id, Name: name}, VCPUs: vcpus, RAMMiB: ram, DiskGiB: disk, GPUs: gpus}
	}
	return []providers.Flavor{
		f("1", "m1.tiny", 1, 512, 1, 0),
		f("2", "m1.small", 1, 2048, 20, 0),
		f("3", "m1.medium", 2, 4096, 40, 0),
		f("4", "m1.large", 4, 8192, 80, 0),
		f("5", "m1.xlarge", 8, 16384, 160, 0),
		f("10", "g1.large", 4, 16384, 80, 1),
	}
}

// DefaultImages is the sim's image catalogue.
func DefaultImages() []providers.Image {
	im := func(id, name string, size int64) providers.Image {
		return providers.Image{Common: providers.Common{NativeID: id, Name: name}, SizeBytes: size, DiskFormat: "qcow2", ContainerFormat: "bare"}
	}
	return []providers.Image{
		im("img-cirros", "cirros-0.6.2", 21430272),
		im("img-debian12", "debian-12", 358809600),
		im("img-ubuntu2404", "ubuntu-24.04", 586350592),
	}
}

// ParseOptions reads the YAML `options` map of a sim cloud.
func ParseOptions(m map[string]any) (Options, error) {
	var o Options
	if len(m) == 0 {
		return o, nil
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return o, fmt.Errorf("sim: options: %w", err)
	}
	if err := json.Unmarshal(raw, &o); err != nil {
		return o, fmt.Errorf("sim: options: %w", err)
	}
	durations := o.VolumeOptions.durations()
	for key, dst := range map[string]*time.Duration{
		"latency": &o.Latency, "boot_delay": &o.BootDelay, "action_delay": &o.ActionDelay, "delete_delay": &o.DeleteDelay,
		"image_import_delay": &o.ImageImportDelay,
	} {
		durations[key] = dst
	}
	for key, dst := range durations {
		v, ok := m[key]
		if !ok {
			continue
		}
		s, ok := v.(string)
		if !ok {
			return o, fmt.Errorf("sim: option %s: want a duration string like \"2s\", got %v", key, v)
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			return o, fmt.Errorf("sim: option %s: %w", key, err)
		}
		*dst = d
	}
	known := map[string]bool{"seed": true, "regions": true, "zones": true, "latency": true, "boot_delay": true,
		"action_delay": true, "delete_delay": true, "fail_boots": true, "down": true, "servers": true, "persist": true, "part_size": true,
		"image_import_delay": true, "no_external_network": true}
	for k := range m {
		if !known[k] && !volumeOptionKeys[k] {
			return o, fmt.Errorf("sim: unknown option %q", k)
		}
	}
	return o, nil
}
