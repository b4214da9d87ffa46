package server

import (
	"encoding/json"
	"fmt"

	"github.com/canopy-cloud/canopy/render"
	"github.com/canopy-cloud/canopy/router"
)

// Render-time presets (Cloudlets: "presets provider metadata at render
// time"): each cloud knows things about the machines an image boots in
// there — the network interface and how it is configured, where the
// metadata service is, which console is the serial one — and fills the
// inputs a manifest declares for them when the request leaves them out.
// The request's values win, then the cloud's presets (its kind's below,
// overlaid by its config's render_presets), then the manifest's defaults.
//
// An output goes to clouds whose presets give other values as other
// renders: the render cache keys by the values, so each set of values is
// one render and one image per format, and clouds with the same values
// share it.

// kindPresets are the presets of each cloud kind. Nova's libvirt guests
// see a virtio NIC as ens3 and take DHCP from Neutron, with the metadata
// service at the link-local address (OpenStack's datasource); EC2's Nitro
// guests see ens5, with IMDS at the same address (the Ec2 datasource).
// Container clouds and the simulator preset nothing: a runtime configures
// a container's network itself.
var kindPresets = map[string]map[string]string{
	"openstack": {
		"network_interface": "ens3", "network_config": "dhcp", "console": "ttyS0",
		"datasource": "OpenStack", "metadata_url": "http://169.254.169.254/openstack/latest/meta_data.json",
	},
	"aws": {
		"network_interface": "ens5", "network_config": "dhcp", "console": "ttyS0",
		"datasource": "Ec2", "metadata_url": "http://169.254.169.254/latest/meta-data/",
	},
}

// presetsOf is cl's presets: its kind's, overlaid by its config's (an
// empty value there unsets a kind's preset).
func presetsOf(cl *router.Cloud) map[string]string {
	out := map[string]string{}
	for k, v := range kindPresets[cl.Kind] {
		out[k] = v
	}
	for k, v := range cl.Conf.RenderPresets {
		if v == "" {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}

// withPresets is given plus the presets for inputs m declares and given
// leaves out.
func withPresets(m *render.Manifest, given, presets map[string]string) map[string]string {
	out := make(map[string]string, len(given)+len(presets))
	for k, v := range given {
		out[k] = v
	}
	for k, v := range presets {
		if _, declared := m.Inputs[k]; declared {
			if _, ok := out[k]; !ok {
				out[k] = v
			}
		}
	}
	return out
}

// renderVariant is one set of input values a render is made with, and
// the outputs and clouds that take it.
type renderVariant struct {
	Inputs  map[string]string
	Formats []string            // in the manifest's order
	Clouds  map[string][]string // format → clouds, in the request's order
}

// variants groups a render's (output, cloud) pairs by the input values
// each cloud's presets give, in the manifest's and the request's order
// (so the first is the one the request alone asks for, when an output has
// no cloud). targets are renderer.targets' answer.
func (s *renderer) variants(m *render.Manifest, given map[string]string, targets [][]string) ([]renderVariant, error) {
	var out []renderVariant
	index := map[string]int{}
	add := func(inputs map[string]string, format, cloud string) error {
		b, err := json.Marshal(inputs) // sorted keys: one text per set of values
		if err != nil {
			return fmt.Errorf("render: inputs: %w", err)
		}
		n, ok := index[string(b)]
		if !ok {
			n = len(out)
			index[string(b)] = n
			out = append(out, renderVariant{Inputs: inputs, Clouds: map[string][]string{}})
		}
		v := &out[n]
		if _, has := v.Clouds[format]; !has {
			v.Formats = append(v.Formats, format)
			v.Clouds[format] = nil
		}
		if cloud != "" {
			v.Clouds[format] = append(v.Clouds[format], cloud)
		}
		return nil
	}
	for i, o := range m.Outputs {
		if len(targets[i]) == 0 {
			if err := add(withPresets(m, given, nil), o.Format, ""); err != nil {
				return nil, err
			}
		}
		for _, name := range targets[i] {
			cl, ok := s.rt.Cloud(name)
			if !ok {
				return nil, router.BadRequest("clouds", "no cloud %q is configured", name)
			}
			if err := add(withPresets(m, given, presetsOf(cl)), o.Format, name); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// withDefaults is inputs plus the manifest's defaults for what they leave
// out: the values a render was made with, as its result shows them.
func withDefaults(m *render.Manifest, inputs map[string]string) map[string]string {
	out := make(map[string]string, len(m.Inputs))
	for k, v := range inputs {
		out[k] = v
	}
	for name, in := range m.Inputs {
		if _, ok := out[name]; !ok && in.Default != nil {
			out[name] = *in.Default
		}
	}
	return out
}
