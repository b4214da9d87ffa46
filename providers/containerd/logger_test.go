package containerd

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/canopy-cloud/canopy/providers"
)

// TestLoggerScript runs the logger the way containerd's shim does (fds 3
// and 4 the streams, fd 5 closed when ready, SIGTERM once the task ended)
// and reads what it wrote with the adapter's reader.
func TestLoggerScript(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	data := t.TempDir()
	logger, err := installLogger(data)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(data, "logs", "c1")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	outR, outW, _ := os.Pipe()
	errR, errW, _ := os.Pipe()
	readyR, readyW, _ := os.Pipe()
	cmd := exec.Command(logger, "dir", dir) // the shim passes the URI's query as pairs
	cmd.ExtraFiles = []*os.File{outR, errR, readyW}
	cmd.Env = []string{"CONTAINER_ID=c1", "CONTAINER_NAMESPACE=canopy"} // all the shim gives it
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	outR.Close()
	errR.Close()
	readyW.Close()
	if _, err := readyR.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("ready pipe: %v, want EOF (the logger closes fd 5)", err)
	}
	before := time.Now()
	_, _ = outW.WriteString("one\n  two  \\n with a backslash\n")
	_, _ = errW.WriteString("err line\n")
	_ = cmd.Process.Signal(syscall.SIGTERM) // the shim's goodbye: the logger must still drain
	_, _ = outW.WriteString("last, no newline")
	outW.Close()
	errW.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("logger: %v", err)
	}
	out, _ := (&logFile{path: filepath.Join(dir, "stdout.log"), stream: providers.StreamStdout}).read()
	errs, _ := (&logFile{path: filepath.Join(dir, "stderr.log"), stream: providers.StreamStderr}).read()
	want := []string{"one\n", "  two  \\n with a backslash\n", "last, no newline"}
	if len(out) != len(want) {
		t.Fatalf("stdout records = %+v, want %q", out, want)
	}
	for i, e := range out {
		if string(e.Data) != want[i] || e.Time.Before(before.Add(-time.Second)) || e.Time.After(time.Now().Add(time.Second)) {
			t.Errorf("stdout[%d] = %q at %v, want %q now", i, e.Data, e.Time, want[i])
		}
	}
	if len(errs) != 1 || string(errs[0].Data) != "err line\n" {
		t.Errorf("stderr records = %+v", errs)
	}
}
