package server

import (
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/canopy-cloud/canopy/config"
	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/router"
)

// Render-time presets: an output rendered for clouds whose presets give a
// declared input other values is two renders and two images; the
// request's own value wins over every cloud's; a required input a cloud
// presets is satisfied there and nowhere else.

const presetClouds = `
  - {name: local, kind: sim}
  - {name: edge, kind: sim, render_presets: {nic: ens3, unused: x}}
  - {name: edge2, kind: sim, render_presets: {nic: ens3}}`

const presetManifest = `
name: web
boot: {kernel: /boot/vmlinuz, cmdline: root=/dev/vda}
templates: [/etc/hostname, /etc/network]
inputs: {hostname: {default: canopy}, nic: {default: eth0}}
outputs: [{format: raw}, {format: oci}]
`

func TestRenderImagePresetsPerCloud(t *testing.T) {
	e := newRenderEnvClouds(t, presetClouds, "")
	ctx := ctxT(t)
	tb := testTarball(t, entry{name: "./etc/network", body: "iface {{.nic}} inet dhcp\n"})
	hdr := &canopyv1.RenderImageHeader{Manifest: presetManifest, Inputs: map[string]string{"hostname": "web1"}, Clouds: []string{"local", "edge", "edge2"}}
	op, err := e.renderOnce(ctx, t, hdr, tb)
	if err != nil {
		t.Fatal(err)
	}
	res := result(t, op)
	// local's values (no preset: the default eth0), then edge's and edge2's
	// (one set: ens3), each in raw and oci.
	if len(res.GetOutputs()) != 4 {
		t.Fatalf("want 4 outputs (2 sets of values × 2 formats), got %v", res.GetOutputs())
	}
	byNIC := map[string]map[string]*canopyv1.RenderedOutput{}
	for _, o := range res.GetOutputs() {
		in := o.GetInputs()
		if in["hostname"] != "web1" {
			t.Errorf("%s: hostname %q, want the request's web1", o.GetFormat(), in["hostname"])
		}
		if _, ok := in["unused"]; ok {
			t.Errorf("%s: a preset the manifest does not declare became an input: %v", o.GetFormat(), in)
		}
		if byNIC[in["nic"]] == nil {
			byNIC[in["nic"]] = map[string]*canopyv1.RenderedOutput{}
		}
		byNIC[in["nic"]][o.GetFormat()] = o
	}
	plain, preset := byNIC["eth0"], byNIC["ens3"]
	if plain == nil || preset == nil {
		t.Fatalf("want outputs with nic eth0 (local) and ens3 (edge, edge2), got %v", byNIC)
	}
	for _, f := range []string{"raw", "oci"} {
		a, b := plain[f], preset[f]
		if a.GetSha256() == b.GetSha256() || a.GetKey() == b.GetKey() {
			t.Errorf("%s: the two sets of values rendered the same bytes (%s, key %s)", f, a.GetSha256(), a.GetKey())
		}
		if clouds(a) != "local" || clouds(b) != "edge edge2" {
			t.Errorf("%s: placements %q and %q, want local and edge edge2", f, clouds(a), clouds(b))
		}
	}
	if res.GetKey() != plain["raw"].GetKey() {
		t.Errorf("the result's key %s is not the first set's %s", res.GetKey(), plain["raw"].GetKey())
	}

	// The request's own value wins everywhere: one set of values, the
	// same bytes in every cloud.
	hdr.Inputs["nic"] = "ens4"
	hdr.TarballSha256, tb = res.GetTarballSha256(), nil
	op, err = e.renderOnce(ctx, t, hdr, tb)
	if err != nil {
		t.Fatal(err)
	}
	if res := result(t, op); len(res.GetOutputs()) != 2 || res.GetOutputs()[0].GetInputs()["nic"] != "ens4" || clouds(res.GetOutputs()[0]) != "edge edge2 local" {
		t.Fatalf("with nic given: %v", res.GetOutputs())
	}

	// A required input: the preset satisfies it in edge; local has no value.
	req := `
name: web
boot: {kernel: /boot/vmlinuz}
templates: [/etc/hostname, /etc/network]
inputs: {hostname: {default: canopy}, nic: {required: true}}
outputs: [{format: raw}]
`
	op, err = e.renderOnce(ctx, t, &canopyv1.RenderImageHeader{Manifest: req, TarballSha256: hdr.TarballSha256, Clouds: []string{"edge"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res := result(t, op); res.GetOutputs()[0].GetInputs()["nic"] != "ens3" {
		t.Fatalf("required nic from edge's presets: %v", res.GetOutputs())
	}
	_, err = e.renderOnce(ctx, t, &canopyv1.RenderImageHeader{Manifest: req, TarballSha256: hdr.TarballSha256, Clouds: []string{"edge", "local"}}, nil)
	wantErr(t, err, codes.InvalidArgument, "inputs.nic", "required")
}

// clouds is an output's placements' clouds, space-separated.
func clouds(o *canopyv1.RenderedOutput) string {
	s := ""
	for _, p := range o.GetPlacements() {
		if s != "" {
			s += " "
		}
		s += p.GetCloud()
	}
	return s
}

func TestPresetsOf(t *testing.T) {
	osc := &router.Cloud{Name: "os", Kind: "openstack"}
	if p := presetsOf(osc); p["network_interface"] != "ens3" || p["network_config"] != "dhcp" || p["datasource"] != "OpenStack" {
		t.Errorf("openstack's presets: %v", p)
	}
	aws := &router.Cloud{Name: "aws", Kind: "aws", Conf: config.Cloud{RenderPresets: map[string]string{"network_interface": "eth0", "metadata_url": "", "ntp": "169.254.169.123"}}}
	p := presetsOf(aws)
	if p["network_interface"] != "eth0" || p["ntp"] != "169.254.169.123" || p["datasource"] != "Ec2" {
		t.Errorf("aws's presets with the config's over them: %v", p)
	}
	if _, ok := p["metadata_url"]; ok {
		t.Errorf("an empty config value did not unset the kind's preset: %v", p)
	}
	if p := presetsOf(&router.Cloud{Name: "d", Kind: "docker"}); len(p) != 0 {
		t.Errorf("a container cloud presets %v", p)
	}
	if kindPresets["aws"]["metadata_url"] == "" {
		t.Error("presetsOf changed the kind's own presets")
	}
}
