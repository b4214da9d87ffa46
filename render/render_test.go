package render

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// tarOf builds a tarball from entries.
func tarOf(t testing.TB, entries ...tar.Header) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, h := range entries {
		h := h
		body := ""
		if h.Typeflag == tar.TypeReg {
			body = h.Linkname // the body rides in Linkname for brevity
			h.Linkname = ""
			h.Size = int64(len(body))
		}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		h.ModTime = time.Unix(1000, 0)
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if body != "" {
			if _, err := tw.Write([]byte(body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func dir(name string) tar.Header { return tar.Header{Name: name, Typeflag: tar.TypeDir, Mode: 0o755} }
func file(name, body string) tar.Header {
	return tar.Header{Name: name, Typeflag: tar.TypeReg, Linkname: body}
}

func tools(t *testing.T) Tools {
	t.Helper()
	tl, err := FindTools()
	if err != nil {
		t.Skipf("renderer tools: %v", err)
	}
	return tl
}

const testManifest = `
name: t1
boot: {kernel: /boot/vmlinuz, cmdline: console=ttyS0}
templates: [/etc/hostname, /etc/motd]
inputs:
  hostname: {default: canopy}
  ssh_keys: {type: list, default: ""}
volatile: [/var/cache]
persistent: [/data]
container: {entrypoint: [/bin/sh]}
outputs: [{format: raw}, {format: qcow2}, {format: oci}]
`

func testTree(t testing.TB) []byte {
	return tarOf(t, dir("./"), dir("./etc/"), dir("./boot/"), dir("./var/"), dir("./var/cache/"),
		file("./boot/vmlinuz", "not really a kernel"),
		file("./etc/hostname", "{{.hostname}}\n"),
		file("./etc/motd", "keys:{{range .ssh_keys}} [{{.}}]{{end}}\n"),
		file("./var/cache/junk", "drop me"),
		tar.Header{Name: "./etc/owned", Typeflag: tar.TypeReg, Linkname: "x", Uid: 1234, Gid: 99},
		tar.Header{Name: "./bin", Typeflag: tar.TypeSymlink, Linkname: "usr/bin"},
		tar.Header{Name: "./etc/motd2", Typeflag: tar.TypeLink, Linkname: "etc/owned"},
	)
}

// debugfsCat reads a file out of an ext4 image without mounting it.
func debugfsCat(t *testing.T, tl Tools, img, p string) string {
	t.Helper()
	out, err := exec.Command(tl.Debugfs, "-R", "cat "+p, img).Output()
	if err != nil {
		t.Fatalf("debugfs cat %s: %v", p, err)
	}
	return string(out)
}

func TestRenderAndCache(t *testing.T) {
	tl := tools(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r := &Renderer{Dir: t.TempDir(), Tools: tl}
	sha, n, err := r.Ingest(ctx, bytes.NewReader(testTree(t)), "")
	if err != nil || n == 0 || !r.HasTarball(sha) {
		t.Fatalf("ingest: %v (%d bytes)", err, n)
	}
	m, err := Parse([]byte(testManifest))
	if err != nil {
		t.Fatal(err)
	}
	vals, err := m.Values(map[string]string{"hostname": "web1", "ssh_keys": "ssh-ed25519 AAAA a\nssh-rsa BBBB b"})
	if err != nil {
		t.Fatal(err)
	}
	key, built, err := r.Render(ctx, m, sha, vals)
	if err != nil || !built {
		t.Fatalf("render: built %v, %v", built, err)
	}
	raw, err := r.Convert(ctx, key, "raw")
	if err != nil {
		t.Fatal(err)
	}
	if got := debugfsCat(t, tl, raw.Path, "/etc/hostname"); got != "web1\n" {
		t.Errorf("/etc/hostname = %q", got)
	}
	if got := debugfsCat(t, tl, raw.Path, "/etc/motd"); got != "keys: [ssh-ed25519 AAAA a] [ssh-rsa BBBB b]\n" {
		t.Errorf("/etc/motd = %q", got)
	}
	if got := debugfsCat(t, tl, raw.Path, "/var/cache/junk"); got != "" {
		t.Errorf("volatile file kept: %q", got)
	}
	st, _ := exec.Command(tl.Debugfs, "-R", "stat /etc/owned", raw.Path).Output()
	if !strings.Contains(string(st), "User:  1234") || !strings.Contains(string(st), "Group:    99") {
		t.Errorf("owner of /etc/owned not kept:\n%s", st)
	}
	q, err := r.Convert(ctx, key, "qcow2")
	if err != nil || q.Cached {
		t.Fatalf("qcow2: %+v %v", q, err)
	}
	if b, _ := os.ReadFile(q.Path); !bytes.HasPrefix(b, []byte("QFI\xfb")) {
		t.Errorf("qcow2 output has no qcow2 magic")
	}
	oci, err := r.Convert(ctx, key, FormatOCI)
	if err != nil {
		t.Fatal(err)
	}
	checkOCI(t, oci.Path)

	// The same render again builds nothing and finds every output.
	before := modTimes(t, r.Dir)
	key2, built, err := r.Render(ctx, m, sha, vals)
	if err != nil || built || key2 != key {
		t.Fatalf("second render: key %s (was %s), built %v, %v", key2, key, built, err)
	}
	for _, f := range []string{"raw", "qcow2", FormatOCI} {
		o, err := r.Convert(ctx, key, f)
		if err != nil || !o.Cached {
			t.Fatalf("second %s: %+v %v", f, o, err)
		}
	}
	if after := modTimes(t, r.Dir); !equalMaps(before, after) {
		t.Errorf("a cached render wrote files:\nbefore %v\nafter  %v", before, after)
	}
	// Other inputs are another render.
	vals["hostname"] = "web2"
	if key3, built, err := r.Render(ctx, m, sha, vals); err != nil || !built || key3 == key {
		t.Fatalf("render with other inputs: %s %v %v", key3, built, err)
	}
}

func checkOCI(t *testing.T, p string) {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	names := map[string]bool{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		names[h.Name] = true
	}
	for _, n := range []string{"oci-layout", "index.json", "manifest.json"} {
		if !names[n] {
			t.Errorf("oci output lacks %s (has %v)", n, names)
		}
	}
}

func modTimes(t *testing.T, root string) map[string]time.Time {
	out := map[string]time.Time{}
	_ = filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			out[p] = fi.ModTime()
		}
		return nil
	})
	return out
}

func equalMaps(a, b map[string]time.Time) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !b[k].Equal(v) {
			return false
		}
	}
	return true
}

// A renderer that is not root cannot chown what it extracts; buildExt4
// then sets the owners inside the filesystem with debugfs.
func TestBuildExt4SetsOwners(t *testing.T) {
	tl := tools(t)
	tree := t.TempDir()
	if err := os.MkdirAll(filepath.Join(tree, "etc", "with space"), 0o755); err != nil {
		t.Fatal(err)
	}
	_ = os.WriteFile(filepath.Join(tree, "etc", "owned"), []byte("x"), 0o644)
	out := filepath.Join(t.TempDir(), "disk.raw")
	owners := []Owner{{Path: "etc/owned", UID: 4321, GID: 77}, {Path: "etc/with space", UID: 5, GID: 6}}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := buildExt4(ctx, tl, tree, out, "t", uuidOf(strings.Repeat("ab", 32)), 8<<20, owners); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string][]string{"/etc/owned": {"User:  4321", "Group:    77"}, `"/etc/with space"`: {"User:     5", "Group:     6"}} {
		st, err := exec.Command(tl.Debugfs, "-R", "stat "+p, out).Output()
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range want {
			if !strings.Contains(string(st), w) {
				t.Errorf("%s: no %q in\n%s", p, w, st)
			}
		}
	}
	bad := []Owner{{Path: "etc/\"quoted", UID: 1, GID: 1}}
	if err := buildExt4(ctx, tl, tree, out+"2", "t", uuidOf(strings.Repeat("ab", 32)), 8<<20, bad); err == nil {
		t.Error("a name debugfs cannot quote was taken")
	}
}

// A size the tree does not fit in is the manifest's size field at fault.
func TestRenderSizeTooSmall(t *testing.T) {
	tl := tools(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r := &Renderer{Dir: t.TempDir(), Tools: tl}
	sha, _, err := r.Ingest(ctx, bytes.NewReader(tarOf(t, dir("./"), file("./big", strings.Repeat("x", 6<<20)))), "")
	if err != nil {
		t.Fatal(err)
	}
	m := Must(Parse([]byte("name: x\nbootloader: none\nsize: 4MiB\noutputs: [{format: raw}]\n")))
	_, _, err = r.Render(ctx, m, sha, map[string]any{})
	if e, ok := AsError(err); !ok || e.Field != "size" {
		t.Fatalf("err = %v, want a size error", err)
	}
	if ents, _ := os.ReadDir(filepath.Join(r.Dir, "renders")); len(ents) != 0 {
		t.Errorf("a failed render left %v", ents)
	}
}
