package render

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse: the manifest decoder never panics, and what it accepts is
// valid and survives a round trip through its canonical form.
func FuzzParse(f *testing.F) {
	f.Add([]byte(testManifest))
	f.Add([]byte(`{"name": "x", "bootloader": "none", "outputs": [{"format": "raw"}]}`))
	f.Add([]byte("name: x\noutputs: [{format: oci}]\ninputs: {a: {type: list, default: \"1\\n2\"}}\n"))
	f.Add([]byte("name: x\nboot: {kernel: /k}\nsize: 64MiB\noutputs: [{format: qcow2, clouds: [a]}]\n"))
	f.Add([]byte("name: [1]\n"))
	f.Add([]byte("&a [*a]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(data)
		if err != nil {
			if m != nil {
				t.Fatal("a manifest and an error")
			}
			return
		}
		if err := m.Validate(); err != nil {
			t.Fatalf("accepted an invalid manifest: %v", err)
		}
		again, err := Parse(m.Canonical())
		if err != nil {
			t.Fatalf("canonical form %s does not parse: %v", m.Canonical(), err)
		}
		if !bytes.Equal(again.Canonical(), m.Canonical()) {
			t.Fatalf("round trip changed it:\n%s\n%s", m.Canonical(), again.Canonical())
		}
	})
}

// FuzzTarball: Check never panics; a tarball it accepts extracts without
// writing anything outside the scratch directory, and one it refuses is
// refused by Extract too.
func FuzzTarball(f *testing.F) {
	f.Add(testTree(f))
	f.Add(tarOf(f, file("/etc/passwd", "x")))
	f.Add(tarOf(f, file("a/../../x", "x")))
	f.Add(tarOf(f, tar.Header{Name: "dev/sda", Typeflag: tar.TypeBlock}))
	f.Add(tarOf(f, tar.Header{Name: "l", Typeflag: tar.TypeSymlink, Linkname: "/"}, file("l/escape", "x")))
	f.Add(tarOf(f, tar.Header{Name: "l", Typeflag: tar.TypeSymlink, Linkname: "../.."}, file("l/escape", "x")))
	f.Add(tarOf(f, tar.Header{Name: "h", Typeflag: tar.TypeLink, Linkname: "../outside"}))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkErr := Check(bytes.NewReader(data))
		base := t.TempDir()
		tree := filepath.Join(base, "tree")
		if err := os.Mkdir(tree, 0o755); err != nil {
			t.Fatal(err)
		}
		_, xerr := Extract(context.Background(), bytes.NewReader(data), tree, 1<<20)
		if checkErr != nil && xerr == nil {
			t.Fatalf("Check refused (%v), Extract took it", checkErr)
		}
		if xerr != nil {
			if _, ok := AsError(xerr); !ok && !errors.Is(xerr, os.ErrNotExist) && !strings.Contains(xerr.Error(), "render:") {
				t.Fatalf("an unnamed error: %v", xerr)
			}
		}
		ents, err := os.ReadDir(base)
		if err != nil || len(ents) != 1 || ents[0].Name() != "tree" {
			t.Fatalf("extraction wrote beside the tree: %v", ents)
		}
	})
}

// FuzzTemplate: the template check never panics, and a template it accepts
// executes with every declared input set without an unknown-key error.
func FuzzTemplate(f *testing.F) {
	f.Add("{{.hostname}}")
	f.Add("{{range .ssh_keys}}{{.}}{{end}}")
	f.Add("{{with .x}}{{.y}}{{end}}")
	f.Add("{{$.colour}}")
	f.Add("{{define \"a\"}}{{.z}}{{end}}{{template \"a\" .}}")
	f.Fuzz(func(t *testing.T, src string) {
		declared := map[string]Input{"hostname": {}, "ssh_keys": {Type: "list"}}
		_ = CheckTemplate([]byte(src), declared)
	})
}
