package render

import (
	"strings"
	"testing"
)

func TestParseErrorsNameTheField(t *testing.T) {
	base := "name: x\nboot: {kernel: /boot/vmlinuz}\noutputs: [{format: raw}]\n"
	for _, c := range []struct {
		name, doc, field, mentions string
	}{
		{"unknown top", base + "colour: blue\n", "colour", "unknown field"},
		{"unknown nested", strings.Replace(base, "kernel:", "kernal:", 1), "boot.kernal", "unknown field"},
		{"unknown in list", strings.Replace(base, "{format: raw}", "{format: raw, cloud: x}", 1), "outputs[0].cloud", "unknown field"},
		{"unknown in input", base + "inputs: {h: {defualt: a}}\n", "inputs.h.defualt", "unknown field"},
		{"wrong type", base + "templates: /etc/x\n", "templates", "must be a list"},
		{"wrong scalar", base + "inputs: {h: {required: maybe}}\n", "inputs.h.required", "true or false"},
		{"no name", strings.Replace(base, "name: x\n", "", 1), "name", "required"},
		{"bad name", strings.Replace(base, "name: x", "name: a/b", 1), "name", "letters"},
		{"arch", base + "arch: sparc\n", "arch", "sparc"},
		{"os", base + "os: plan9\n", "os", "linux"},
		{"size", base + "size: lots\n", "size", "positive size"},
		{"size small", base + "size: 1KiB\n", "size", "at least"},
		{"no outputs", "name: x\nbootloader: none\n", "outputs", "required"},
		{"format", strings.Replace(base, "raw", "iso", 1), "outputs[0].format", "iso"},
		{"twice", strings.Replace(base, "{format: raw}", "{format: raw}, {format: raw}", 1), "outputs[1].format", "twice"},
		{"relative kernel", strings.Replace(base, "/boot/vmlinuz", "boot/vmlinuz", 1), "boot.kernel", "absolute"},
		{"dotdot kernel", strings.Replace(base, "/boot/vmlinuz", "/boot/../x", 1), "boot.kernel", "clean"},
		{"boot with none", base + "bootloader: none\n", "bootloader", "no boot section"},
		{"grub", "name: x\nbootloader: grub\noutputs: [{format: raw}]\n", "bootloader", "syslinux"},
		{"syslinux without boot", "name: x\nbootloader: syslinux\noutputs: [{format: raw}]\n", "boot", "what it loads"},
		{"syslinux cmdline", strings.Replace(base, "/boot/vmlinuz}", "/boot/vmlinuz, cmdline: \"a\\nb\"}", 1) + "bootloader: syslinux\n", "boot.cmdline", "one line"},
		{"disk without boot", "name: x\noutputs: [{format: qcow2}]\n", "boot", "required"},
		{"template path", base + "templates: [etc/x]\n", "templates[0]", "absolute"},
		{"input name", base + "inputs: {host-name: {}}\n", "inputs.host-name", "identifier"},
		{"input type", base + "inputs: {h: {type: int}}\n", "inputs.h.type", "string or list"},
		{"required default", base + "inputs: {h: {required: true, default: a}}\n", "inputs.h.default", "no default"},
		{"volatile root", base + "volatile: [/]\n", "volatile[0]", "root"},
		{"not a mapping", "[1, 2]", "manifest", "mapping"},
		{"not yaml", "{", "manifest", "not YAML"},
		{"two documents", base + "---\nname: y\n", "manifest", "more than one"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(c.doc))
			e, ok := AsError(err)
			if !ok {
				t.Fatalf("err = %v, want a field error", err)
			}
			if e.Field != c.field || !strings.Contains(e.Reason, c.mentions) {
				t.Fatalf("err = %q (field %q), want field %q mentioning %q", err, e.Field, c.field, c.mentions)
			}
		})
	}
}

func TestParseJSONAndYAMLAgree(t *testing.T) {
	y, err := Parse([]byte(testManifest))
	if err != nil {
		t.Fatal(err)
	}
	j, err := Parse(y.Canonical())
	if err != nil {
		t.Fatal(err)
	}
	if string(j.Canonical()) != string(y.Canonical()) {
		t.Fatalf("JSON %s\nYAML %s", j.Canonical(), y.Canonical())
	}
	if n, _ := Must(Parse([]byte("name: x\nbootloader: none\nsize: 2GiB\noutputs: [{format: oci}]\n"))).SizeBytes(); n != 2<<30 {
		t.Fatalf("size = %d", n)
	}
}

func Must(m *Manifest, err error) *Manifest {
	if err != nil {
		panic(err)
	}
	return m
}

func TestValues(t *testing.T) {
	m := Must(Parse([]byte(testManifest + "\n")))
	m.Inputs["zone"] = Input{Required: true}
	if _, err := m.Values(map[string]string{}); err == nil || !strings.Contains(err.Error(), "inputs.zone: required") {
		t.Fatalf("missing required input: %v", err)
	}
	if _, err := m.Values(map[string]string{"zone": "a", "colour": "b"}); err == nil || !strings.Contains(err.Error(), "inputs.colour: not declared") {
		t.Fatalf("undeclared input: %v", err)
	}
	v, err := m.Values(map[string]string{"zone": "a", "ssh_keys": "k1\n\n k2 \n"})
	if err != nil {
		t.Fatal(err)
	}
	if v["hostname"] != "canopy" || len(v["ssh_keys"].([]string)) != 2 || v["zone"] != "a" {
		t.Fatalf("values = %v", v)
	}
}

func TestTemplateUndeclaredInput(t *testing.T) {
	declared := map[string]Input{"hostname": {}, "ssh_keys": {Type: "list"}}
	for src, bad := range map[string]string{
		"{{.hostname}}": "",
		"{{range .ssh_keys}}{{.}} {{.Foo}}{{end}}": "", // dot is an element inside range
		"{{.colour}}": "colour",
		"{{if .hostname}}{{else}}{{.zone}}{{end}}":    "zone",
		"{{range .ssh_keys}}{{$.region}}{{end}}":      "region",
		"{{define \"x\"}}{{.dns}}{{end}}":             "dns",
		"{{with .hostname}}{{.}}{{end}}{{.hostname}}": "",
	} {
		err := CheckTemplate([]byte(src), declared)
		switch {
		case bad == "" && err != nil:
			t.Errorf("%s: %v", src, err)
		case bad != "" && (err == nil || !strings.Contains(err.Error(), `"`+bad+`"`)):
			t.Errorf("%s: err = %v, want it to name %q", src, err, bad)
		}
	}
	if err := CheckTemplate([]byte("{{.hostname"), declared); err == nil || !strings.Contains(err.Error(), "not a Go template") {
		t.Errorf("syntax error: %v", err)
	}
}

func TestHasDisk(t *testing.T) {
	for doc, want := range map[string]bool{
		"name: x\noutputs: [{format: oci}]\n":                                  false,
		"name: x\nbootloader: none\noutputs: [{format: oci}, {format: vhd}]\n": true,
	} {
		if got := Must(Parse([]byte(doc))).HasDisk(); got != want {
			t.Errorf("%q: HasDisk = %v", doc, got)
		}
	}
}
