// Package render turns an image description — a manifest plus a
// filesystem tarball, in the manner of dotCloud's Cloudlets — into disk
// images (an ext4 filesystem as raw, converted by qemu-img to qcow2, vmdk,
// vhd or vhdx) and a container image tarball (docker save / OCI layout),
// without root and without loop devices: the tree is extracted into a
// scratch directory (tarball.go), its template files are filled with
// render-time inputs (template.go), mke2fs -d builds the filesystem from
// the tree and qemu-img converts it (fs.go). Everything is cached by
// content hash (cache.go), so rendering the same thing twice costs nothing.
//
// The package knows nothing of clouds, gRPC or operations: package server
// runs a render as a durable operation and uploads what it produced. Bad
// input is an *Error naming the manifest field or tarball entry at fault.
package render

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Manifest describes an image: how it boots, which of its files are
// templates and what their inputs are, which paths keep data, and what to
// render it to. It is read from YAML or JSON; unknown fields are refused.
type Manifest struct {
	// Name names the rendered images (required).
	Name string `json:"name"`
	// Arch is the CPU architecture: x86_64 (amd64) or aarch64 (arm64).
	Arch string `json:"arch"`
	// OS is the operating system; only linux is rendered.
	OS string `json:"os"`
	// Boot names the kernel, initrd and cmdline inside the tree. Without
	// a Bootloader the disk is the root filesystem alone and a VM boots
	// it directly (the hypervisor is given the kernel); with bootloader
	// syslinux the disk is partitioned and boots by itself, as clouds
	// need (see bootdisk.go); bootloader none is a disk nothing boots. A
	// manifest with only container outputs needs neither.
	Boot       *Boot  `json:"boot,omitempty"`
	Bootloader string `json:"bootloader,omitempty"`
	// Size is the filesystem's size: bytes, or with a unit (64MiB, 1GiB,
	// 500M). Empty: the tree's size plus headroom.
	Size string `json:"size,omitempty"`
	// Templates are the tree's files (absolute paths) that are Go
	// text/template sources, filled with the inputs at render time.
	Templates []string `json:"templates,omitempty"`
	// Inputs declare what the templates may reference.
	Inputs map[string]Input `json:"inputs,omitempty"`
	// Persistent paths hold data that outlives the instance (container
	// volumes); volatile paths are emptied in the rendered image.
	Persistent []string `json:"persistent,omitempty"`
	Volatile   []string `json:"volatile,omitempty"`
	// Container configures container outputs (entrypoint, env, ...).
	Container *Container `json:"container,omitempty"`
	// Outputs are the formats to render and where each goes (required).
	Outputs []Output `json:"outputs"`
}

// Boot is a direct kernel boot.
type Boot struct {
	Kernel  string `json:"kernel"`
	Initrd  string `json:"initrd,omitempty"`
	Cmdline string `json:"cmdline,omitempty"`
}

// Input is one template input.
type Input struct {
	// Type is string (default) or list (newline-separated values, e.g.
	// ssh_keys).
	Type        string  `json:"type,omitempty"`
	Description string  `json:"description,omitempty"`
	Default     *string `json:"default,omitempty"`
	// Required inputs have no default and must be given at render time.
	Required bool `json:"required,omitempty"`
}

// Container is the runtime configuration of container outputs.
type Container struct {
	Entrypoint []string `json:"entrypoint,omitempty"`
	Cmd        []string `json:"cmd,omitempty"`
	Env        []string `json:"env,omitempty"`
	WorkingDir string   `json:"working_dir,omitempty"`
	User       string   `json:"user,omitempty"`
}

// Output is one rendered format and the clouds it goes to.
type Output struct {
	// Format: raw, qcow2, vmdk, vhd, vhdx (disk images of the ext4
	// filesystem) or oci (a container image tarball docker load and OCI
	// layout readers take).
	Format string `json:"format"`
	// Clouds the output is uploaded to (a render request may name them
	// instead).
	Clouds []string `json:"clouds,omitempty"`
}

// Formats are the output formats the renderer produces, with the
// qemu-img output format each disk format is converted with.
var diskFormats = map[string]string{"raw": "raw", "qcow2": "qcow2", "vmdk": "vmdk", "vhd": "vpc", "vhdx": "vhdx"}

// IsConverted reports whether a format is converted from the raw
// filesystem (rather than made with the tree).
func IsConverted(format string) bool { return IsDisk(format) && format != "raw" }

// FormatOCI is the container image output.
const FormatOCI = "oci"

// The bootloaders a manifest may ask for.
const (
	BootloaderNone     = "none"
	BootloaderSyslinux = "syslinux"
)

// IsDisk reports whether format is a disk image format the renderer makes.
func IsDisk(format string) bool { _, ok := diskFormats[format]; return ok }

// Error is bad input: Field names the manifest field (boot.kernel,
// outputs[1].format), the input (inputs.hostname) or the tarball entry
// (tarball: ./dev/sda) at fault.
type Error struct {
	Field  string
	Reason string
}

func (e *Error) Error() string { return e.Field + ": " + e.Reason }

func bad(field, format string, args ...any) *Error {
	return &Error{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// AsError returns the *Error in err's chain, if any.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

var (
	inputName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	imageName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)
)

// MaxManifest bounds a manifest's size.
const MaxManifest = 1 << 20

// Parse reads a manifest from YAML or JSON (JSON is YAML), refusing
// unknown fields and values of the wrong type with the field's path, then
// validates it.
func Parse(data []byte) (*Manifest, error) {
	if len(data) > MaxManifest {
		return nil, bad("manifest", "%d bytes: at most %d", len(data), MaxManifest)
	}
	var doc any
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		return nil, bad("manifest", "not YAML or JSON: %v", err)
	}
	var extra any
	if err := dec.Decode(&extra); err == nil {
		return nil, bad("manifest", "holds more than one document")
	}
	top, ok := doc.(map[string]any)
	if !ok {
		return nil, bad("manifest", "must be a mapping of fields")
	}
	if err := checkFields(reflect.TypeOf(Manifest{}), top, ""); err != nil {
		return nil, err
	}
	raw, err := json.Marshal(top)
	if err != nil {
		return nil, bad("manifest", "%v", err)
	}
	var m Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, bad(te.Field, "must be %s, not %s", kindName(te.Type), te.Value)
		}
		return nil, bad("manifest", "%v", err)
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

func kindName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Slice:
		return "a list"
	case reflect.Map, reflect.Struct, reflect.Pointer:
		return "a mapping"
	case reflect.Bool:
		return "true or false"
	}
	return "a " + t.Kind().String()
}

// checkFields walks a decoded document against the struct it becomes and
// refuses the first field the struct does not have, by its path.
func checkFields(t reflect.Type, v any, at string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if v == nil {
		return nil // null: the zero value
	}
	switch t.Kind() {
	case reflect.String:
		if _, ok := v.(string); !ok {
			return bad(at, "must be a string, not %v (quote it)", v)
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			return bad(at, "must be true or false, not %v", v)
		}
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			return bad(at, "must be a mapping")
		}
		fields := map[string]reflect.Type{}
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			fields[name] = f.Type
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			ft, ok := fields[k]
			if !ok {
				known := make([]string, 0, len(fields))
				for n := range fields {
					known = append(known, n)
				}
				sort.Strings(known)
				return bad(join(at, k), "unknown field (known: %s)", strings.Join(known, ", "))
			}
			if err := checkFields(ft, m[k], join(at, k)); err != nil {
				return err
			}
		}
	case reflect.Slice:
		l, ok := v.([]any)
		if !ok {
			return bad(at, "must be a list")
		}
		for i, e := range l {
			if err := checkFields(t.Elem(), e, fmt.Sprintf("%s[%d]", at, i)); err != nil {
				return err
			}
		}
	case reflect.Map:
		m, ok := v.(map[string]any)
		if !ok {
			return bad(at, "must be a mapping")
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if err := checkFields(t.Elem(), m[k], join(at, k)); err != nil {
				return err
			}
		}
	}
	return nil
}

func join(at, k string) string {
	if at == "" {
		return k
	}
	return at + "." + k
}

// Validate checks the manifest's values, naming the first field at fault.
func (m *Manifest) Validate() error {
	if m.Name == "" {
		return bad("name", "required")
	}
	if !imageName.MatchString(m.Name) {
		return bad("name", "%q: letters, digits, '.', '_' and '-', at most 128", m.Name)
	}
	switch m.Arch {
	case "", "x86_64", "amd64", "aarch64", "arm64":
	default:
		return bad("arch", "%q: x86_64 (amd64) or aarch64 (arm64)", m.Arch)
	}
	if m.OS != "" && m.OS != "linux" {
		return bad("os", "%q: only linux images are rendered", m.OS)
	}
	if _, err := m.SizeBytes(); err != nil {
		return err
	}
	if len(m.Outputs) == 0 {
		return bad("outputs", "required: at least one format to render")
	}
	disk := false
	seen := map[string]bool{}
	for i, o := range m.Outputs {
		f := fmt.Sprintf("outputs[%d].format", i)
		if !IsDisk(o.Format) && o.Format != FormatOCI {
			return bad(f, "%q: raw, qcow2, vmdk, vhd, vhdx or oci", o.Format)
		}
		if seen[o.Format] {
			return bad(f, "%q is listed twice", o.Format)
		}
		seen[o.Format] = true
		disk = disk || IsDisk(o.Format)
		for j, c := range o.Clouds {
			if c == "" {
				return bad(fmt.Sprintf("outputs[%d].clouds[%d]", i, j), "empty")
			}
		}
	}
	switch m.Bootloader {
	case "":
	case BootloaderNone:
		if m.Boot != nil {
			return bad("bootloader", "none: a disk nothing boots has no boot section; drop one of them")
		}
	case BootloaderSyslinux:
		if m.Boot == nil {
			return bad("boot", "required with bootloader syslinux: {kernel, initrd, cmdline}, what it loads")
		}
	default:
		return bad("bootloader", "%q: syslinux (a BIOS-bootable partitioned disk), none (a disk nothing boots), or leave it out for a direct kernel boot", m.Bootloader)
	}
	if m.Boot != nil {
		if err := checkPath("boot.kernel", m.Boot.Kernel); err != nil {
			return err
		}
		if m.Boot.Initrd != "" {
			if err := checkPath("boot.initrd", m.Boot.Initrd); err != nil {
				return err
			}
		}
		if strings.ContainsAny(m.Boot.Cmdline, "\n\x00") {
			return bad("boot.cmdline", "one line")
		}
	}
	if disk && m.Boot == nil && m.Bootloader == "" {
		return bad("boot", "required for disk outputs: {kernel, initrd, cmdline} (with bootloader syslinux, or for a direct kernel boot), or bootloader: none")
	}
	for i, p := range m.Templates {
		if err := checkPath(fmt.Sprintf("templates[%d]", i), p); err != nil {
			return err
		}
	}
	for name, in := range m.Inputs {
		f := "inputs." + name
		if !inputName.MatchString(name) {
			return bad(f, "an input name is a Go identifier (letters, digits, '_')")
		}
		if in.Type != "" && in.Type != "string" && in.Type != "list" {
			return bad(f+".type", "%q: string or list", in.Type)
		}
		if in.Required && in.Default != nil {
			return bad(f+".default", "a required input has no default")
		}
	}
	for _, ps := range []struct {
		field string
		paths []string
	}{{"persistent", m.Persistent}, {"volatile", m.Volatile}} {
		for i, p := range ps.paths {
			if err := checkPath(fmt.Sprintf("%s[%d]", ps.field, i), p); err != nil {
				return err
			}
			if p == "/" {
				return bad(fmt.Sprintf("%s[%d]", ps.field, i), "not the root")
			}
		}
	}
	return nil
}

// checkPath accepts a clean absolute path inside the tree.
func checkPath(field, p string) error {
	switch {
	case p == "":
		return bad(field, "required")
	case !strings.HasPrefix(p, "/"):
		return bad(field, "%q: an absolute path inside the image", p)
	case path.Clean(p) != p || strings.Contains(p, "/../"):
		return bad(field, "%q: not a clean path", p)
	case strings.ContainsRune(p, 0):
		return bad(field, "holds a NUL byte")
	}
	return nil
}

// SizeBytes parses Size (0 when empty).
func (m *Manifest) SizeBytes() (int64, error) {
	s := strings.TrimSpace(m.Size)
	if s == "" {
		return 0, nil
	}
	units := []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"B", 1}}
	mult := int64(1)
	for _, u := range units {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = strings.TrimSpace(n), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, bad("size", "%q: a positive size such as 64MiB or 2GiB", m.Size)
	}
	if n > (1<<44)/mult {
		return 0, bad("size", "%q: at most 16 TiB", m.Size)
	}
	n *= mult
	if n < 4<<20 {
		return 0, bad("size", "%q: at least 4MiB", m.Size)
	}
	return n, nil
}

// Values resolves the render-time inputs against the schema: unknown
// names, missing required ones and defaults. Lists split on newlines.
func (m *Manifest) Values(given map[string]string) (map[string]any, error) {
	keys := make([]string, 0, len(given))
	for k := range given {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if _, ok := m.Inputs[k]; !ok {
			return nil, bad("inputs."+k, "not declared in the manifest's inputs")
		}
	}
	out := map[string]any{}
	for name, in := range m.Inputs {
		v, ok := given[name]
		switch {
		case ok:
		case in.Default != nil:
			v = *in.Default
		case in.Required:
			return nil, bad("inputs."+name, "required: give it at render time")
		}
		if in.Type == "list" {
			var l []string
			for _, line := range strings.Split(v, "\n") {
				if line = strings.TrimSpace(line); line != "" {
					l = append(l, line)
				}
			}
			out[name] = l
		} else {
			out[name] = v
		}
	}
	return out, nil
}

// Canonical is the manifest as JSON with sorted keys: what the render
// cache hashes.
func (m *Manifest) Canonical() []byte {
	b, _ := json.Marshal(m) // a struct of strings, maps and slices: cannot fail
	return b
}

// HasDisk reports whether any output is a disk format.
func (m *Manifest) HasDisk() bool {
	for _, o := range m.Outputs {
		if IsDisk(o.Format) {
			return true
		}
	}
	return false
}
