//go:build linux

package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal: the controller (what a terminal
// emulator reads) and the terminal a program writes to.
func openPTY(t *testing.T) (controller, tty *os.File) {
	t.Helper()
	controller, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	fd := int(controller.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	tty, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tty.Close(); controller.Close() })
	return controller, tty
}

// On a terminal the bar is drawn, in the summary's binary units.
func TestProgressBarOnTerminal(t *testing.T) {
	controller, tty := openPTY(t)
	screen := make(chan string, 1)
	go func() {
		var buf bytes.Buffer
		_, _ = io.Copy(&buf, controller) // ends when the tty side closes (EIO)
		screen <- buf.String()
	}()
	addr := startCanopyd(t, objectsLocal)
	d, _ := daemons.Load(addr)
	src := filepath.Join(t.TempDir(), "img.raw")
	if err := os.WriteFile(src, make([]byte, 3<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var stdout bytes.Buffer
	code := run(ctx, []string{"--addr", addr, "--token", d.(daemonInfo).token, "--credentials", "/nonexistent/canopy-test",
		"image", "upload", src, "loud", "--cloud", "local", "--disk-format", "raw"}, strings.NewReader(""), &stdout, tty)
	tty.Close()
	if code != 0 {
		t.Fatalf("upload: exit %d", code)
	}
	var out string
	select {
	case out = <-screen:
	case <-ctx.Done():
		t.Fatal("the terminal's output never ended")
	}
	if !strings.Contains(out, "uploading") || !strings.Contains(out, "3.0 MiB") || !strings.Contains(out, "uploaded 3.0 MiB in") ||
		regexp.MustCompile(`\d (kB|MB|GB)\b`).MatchString(out) {
		t.Errorf("terminal output %q: want a bar and a summary, both in MiB", out)
	}
}
