package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The bar counts in binary units, as the summary does: "MiB", never the
// decimal "MB" (3 MiB is 3.1 MB).
func TestProgressBarUnits(t *testing.T) {
	var buf bytes.Buffer
	bar := newBar(&buf, 3<<20, "uploading")
	_ = bar.Add(3 << 20)
	_ = bar.Finish()
	out := buf.String()
	if !strings.Contains(out, "3.0 MiB") || regexp.MustCompile(`\d (kB|MB|GB)\b`).MatchString(out) {
		t.Errorf("bar output %q: want binary units (3.0 MiB) only", out)
	}
}

// On stderr that is no terminal (a pipe, a file, a CI log) there is no
// bar, --progress or not, only the one-line summary in MiB.
func TestNoProgressBarOffTerminal(t *testing.T) {
	addr := startCanopyd(t, objectsLocal)
	src := filepath.Join(t.TempDir(), "img.raw")
	if err := os.WriteFile(src, make([]byte, 3<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	r := ok(t, addr, "image", "upload", src, "quiet", "--cloud", "local", "--disk-format", "raw", "--progress")
	if !regexp.MustCompile(`^uploaded 3\.0 MiB in \S+ \(\d+\.\d MiB/s\) via canopyd stream\n$`).MatchString(r.stderr) {
		t.Errorf("stderr off a terminal = %q, want the summary line alone", r.stderr)
	}
	r = ok(t, addr, "image", "download", "quiet", filepath.Join(t.TempDir(), "out.raw"))
	if !regexp.MustCompile(`^downloaded 3\.0 MiB in \S+ \(\d+\.\d MiB/s\) via canopyd stream\n$`).MatchString(r.stderr) {
		t.Errorf("stderr off a terminal = %q, want the summary line alone", r.stderr)
	}
}
