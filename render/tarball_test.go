package render

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTarballRefusals(t *testing.T) {
	for _, c := range []struct {
		name     string
		tb       []byte
		mentions string
	}{
		{"absolute", tarOf(t, file("/etc/passwd", "x")), "absolute path"},
		{"dotdot", tarOf(t, file("./a/../../etc/passwd", "x")), "climbs out"},
		{"char device", tarOf(t, tar.Header{Name: "./dev/null", Typeflag: tar.TypeChar, Devmajor: 1, Devminor: 3}), "device file (1,3)"},
		{"block device", tarOf(t, tar.Header{Name: "./dev/sda", Typeflag: tar.TypeBlock}), "device file"},
		{"hard link out", tarOf(t, tar.Header{Name: "./h", Typeflag: tar.TypeLink, Linkname: "../../etc/shadow"}), "climbs out"},
		{"hard link absolute", tarOf(t, tar.Header{Name: "./h", Typeflag: tar.TypeLink, Linkname: "/etc/shadow"}), "absolute"},
		{"root not a dir", tarOf(t, file(".", "x")), "root must be a directory"},
		{"garbage", bytes.Repeat([]byte{1}, 1024), "not a tar archive"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := Check(bytes.NewReader(c.tb))
			if e, ok := AsError(err); !ok || !strings.HasPrefix(e.Field, "tarball") || !strings.Contains(e.Reason, c.mentions) {
				t.Fatalf("Check: %v, want a tarball error mentioning %q", err, c.mentions)
			}
			dir := t.TempDir()
			if _, err := Extract(context.Background(), bytes.NewReader(c.tb), dir, 0); err == nil {
				t.Fatal("Extract took it")
			}
		})
	}
}

// A symlink in the tree cannot carry a later entry out of it.
func TestExtractSymlinkEscape(t *testing.T) {
	base := t.TempDir()
	tree := filepath.Join(base, "tree")
	_ = os.Mkdir(tree, 0o755)
	for _, link := range []string{"/", "../..", base} {
		tb := tarOf(t, tar.Header{Name: "./l", Typeflag: tar.TypeSymlink, Linkname: link}, file("./l/escaped", "x"))
		if err := Check(bytes.NewReader(tb)); err != nil {
			t.Fatalf("Check refused a symlink (they are fine in a rootfs): %v", err)
		}
		_, err := Extract(context.Background(), bytes.NewReader(tb), tree, 0)
		if e, ok := AsError(err); !ok || e.Field != "tarball: ./l/escaped" {
			t.Fatalf("symlink to %s: %v", link, err)
		}
		if _, err := os.Stat(filepath.Join(base, "escaped")); err == nil {
			t.Fatalf("an entry escaped through a symlink to %s", link)
		}
		os.RemoveAll(tree)
		_ = os.Mkdir(tree, 0o755)
	}
}

func TestExtractBound(t *testing.T) {
	tb := tarOf(t, file("./a", strings.Repeat("x", 100)), file("./b", strings.Repeat("x", 100)))
	_, err := Extract(context.Background(), bytes.NewReader(tb), t.TempDir(), 150)
	if e, ok := AsError(err); !ok || !strings.Contains(e.Reason, "more than 150 bytes") {
		t.Fatalf("err = %v", err)
	}
}

func TestIngestBadTarballLeavesNothing(t *testing.T) {
	r := &Renderer{Dir: t.TempDir()}
	_, _, err := r.Ingest(context.Background(), bytes.NewReader(tarOf(t, file("/abs", "x"))), "")
	if _, ok := AsError(err); !ok {
		t.Fatalf("err = %v", err)
	}
	_, _, err = r.Ingest(context.Background(), bytes.NewReader(testTree(t)), strings.Repeat("0", 64))
	if e, ok := AsError(err); !ok || e.Field != "tarball_sha256" {
		t.Fatalf("wrong sha: %v", err)
	}
	ents, _ := os.ReadDir(filepath.Join(r.Dir, "tarballs"))
	if len(ents) != 0 {
		t.Fatalf("left behind: %v", ents)
	}
}
