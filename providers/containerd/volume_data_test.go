package containerd

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/canopy-cloud/canopy/providers"
)

type entry struct {
	hdr  tar.Header
	data string
}

func tarOf(t *testing.T, entries ...entry) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	w := tar.NewWriter(&buf)
	for _, e := range entries {
		h := e.hdr
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(e.data))
		}
		if err := w.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(w, e.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return &buf
}

func reg(name, data string) entry { return entry{tar.Header{Typeflag: tar.TypeReg, Name: name}, data} }

// TestVolumeTarRoundTrip: what extractTar writes, writeTar reads back —
// files, directories, a symlink and a hard link.
func TestVolumeTarRoundTrip(t *testing.T) {
	root := t.TempDir()
	in := tarOf(t,
		entry{tar.Header{Typeflag: tar.TypeDir, Name: "./", Mode: 0o755}, ""},
		entry{tar.Header{Typeflag: tar.TypeDir, Name: "./d/", Mode: 0o750}, ""},
		reg("./d/a.txt", "alpha"),
		entry{tar.Header{Typeflag: tar.TypeSymlink, Name: "./link", Linkname: "d/a.txt"}, ""},
		entry{tar.Header{Typeflag: tar.TypeLink, Name: "./hard", Linkname: "./d/a.txt"}, ""},
	)
	if err := extractTar(context.Background(), root, in, 1<<30); err != nil {
		t.Fatalf("extractTar: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(root, "link")); err != nil || string(b) != "alpha" {
		t.Errorf("link reads %q, %v", b, err)
	}
	var out bytes.Buffer
	if err := writeTar(context.Background(), root, &out); err != nil {
		t.Fatalf("writeTar: %v", err)
	}
	got := map[string]string{}
	tr := tar.NewReader(&out)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		got[h.Name] = string(h.Typeflag) + ":" + string(b) + h.Linkname
	}
	want := map[string]string{"./": "5:", "./d/": "5:", "./d/a.txt": "0:alpha", "./hard": "0:alpha", "./link": "2:d/a.txt"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("read back %s = %q, want %q (all: %q)", k, got[k], v, got)
		}
	}
}

// TestVolumeTarRefused: what would leave the volume, or is no tar, or is
// too big, is ErrInvalid, and nothing is written outside the volume.
func TestVolumeTarRefused(t *testing.T) {
	for name, in := range map[string]func(t *testing.T) io.Reader{
		"not a tar":     func(t *testing.T) io.Reader { return strings.NewReader(strings.Repeat("junk ", 300)) },
		"dot-dot":       func(t *testing.T) io.Reader { return tarOf(t, reg("../escape", "x")) },
		"nested dotdot": func(t *testing.T) io.Reader { return tarOf(t, reg("./a/../../escape", "x")) },
		"absolute":      func(t *testing.T) io.Reader { return tarOf(t, reg("/escape", "x")) },
		"through a symlink": func(t *testing.T) io.Reader {
			return tarOf(t, entry{tar.Header{Typeflag: tar.TypeSymlink, Name: "out", Linkname: "/tmp"}, ""}, reg("out/escape", "x"))
		},
		"hard link outside": func(t *testing.T) io.Reader {
			return tarOf(t, entry{tar.Header{Typeflag: tar.TypeLink, Name: "h", Linkname: "../../etc/passwd"}, ""})
		},
		"a device": func(t *testing.T) io.Reader {
			return tarOf(t, entry{tar.Header{Typeflag: tar.TypeChar, Name: "null", Devmajor: 1, Devminor: 3}, ""})
		},
		"over the size": func(t *testing.T) io.Reader { return tarOf(t, reg("a", strings.Repeat("x", 2000))) },
	} {
		t.Run(name, func(t *testing.T) {
			parent := t.TempDir()
			root := filepath.Join(parent, "vol", "inner")
			if err := os.MkdirAll(root, 0o755); err != nil {
				t.Fatal(err)
			}
			limit := int64(1 << 30)
			if name == "over the size" {
				limit = 1000
			}
			err := extractTar(context.Background(), root, in(t), limit)
			if !errors.Is(err, providers.ErrInvalid) {
				t.Errorf("extractTar = %v, want ErrInvalid", err)
			}
			for _, p := range []string{filepath.Join(parent, "escape"), filepath.Join(parent, "vol", "escape"), "/tmp/escape"} {
				if _, err := os.Lstat(p); err == nil {
					t.Errorf("%s was written", p)
				}
			}
		})
	}
}
