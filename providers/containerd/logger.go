package containerd

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"

	"github.com/containerd/containerd/cio"
	"golang.org/x/sys/unix"
)

// Logs.
//
// containerd keeps no logs; whoever reads a task's stdout and stderr
// decides. The FIFOs of cio.NewCreator would be read by canopyd itself, so
// a canopyd restart would lose output and then block the container once
// the pipe filled. cio.LogFile is written by the shim, but mixes both
// streams in one file without times. So the adapter uses containerd's
// third way, a logging binary: the shim starts it with the task's stdout
// and stderr on fds 3 and 4 and it lives exactly as long as the task,
// whatever happens to canopyd. The binary is a small bash script the
// adapter writes into its data dir (no build step, nothing to install;
// bash ≥ 5 for EPOCHREALTIME). It appends one record per line to
// <data>/logs/<id>/{stdout,stderr}.log:
//
//	<unix seconds>.<microseconds> <F|P> <the line without its newline>
//
// F marks a full line, P a last line that had no newline (CRI's marks).
// Logs accumulate across restarts of the container and go when it is
// deleted. bash reads byte by byte, so a container writing megabytes a
// second is slowed down: fine for the workloads canopy's containerd cloud
// is for, and the format lets a faster logger replace the script.
//
// The shim wires no stdin to a logging binary, so a container with
// Interactive set (keep stdin open) uses plain FIFOs instead, read by the
// same script started by the adapter in a session of its own (setsid): it
// outlives canopyd as well, and it holds the stdin FIFO open read-write so
// the container's stdin never reaches EOF (nothing writes to it: canopy
// has no attach).

const loggerScript = `#!/bin/bash
# canopy's containerd logger; written by the adapter (providers/containerd/logger.go).
# As the shim's logging binary: logger dir DIR, stdout on fd 3, stderr on fd 4,
# ready when fd 5 closes. Started by the adapter for an interactive container:
# logger dir DIR stdout FIFO [stderr FIFO] [stdin FIFO]. Arguments come in pairs,
# in any order (the shim passes the URI's query in map order).
export LC_ALL=C PATH=/usr/sbin:/usr/bin:/sbin:/bin
# The shim sends SIGTERM when the task goes; the streams are drained to EOF first.
trap '' TERM INT HUP PIPE
dir= out= err= in=
while (($# >= 2)); do
	case $1 in
	dir) dir=$2 ;;
	stdout) out=$2 ;;
	stderr) err=$2 ;;
	stdin) in=$2 ;;
	esac
	shift 2
done
[[ -n $dir ]] || exit 2
copy() {
	local line
	while IFS= read -r line; do
		printf '%s F %s\n' "$EPOCHREALTIME" "$line"
	done
	[[ -z $line ]] || printf '%s P %s\n' "$EPOCHREALTIME" "$line"
}
if [[ -z $out ]]; then
	copy <&3 3<&- 4<&- 5>&- >>"$dir/stdout.log" 2>/dev/null &
	copy <&4 3<&- 4<&- 5>&- >>"$dir/stderr.log" 2>/dev/null &
	exec 3<&- 4<&- 5>&-
else
	[[ -z $in ]] || exec 6<>"$in"
	copy <"$out" >>"$dir/stdout.log" 2>/dev/null &
	[[ -z $err ]] || copy <"$err" >>"$dir/stderr.log" 2>/dev/null &
fi
wait
`

func logsRoot(dataDir string) string    { return filepath.Join(dataDir, "logs") }
func volumesRoot(dataDir string) string { return filepath.Join(dataDir, "volumes") }

// logDir is where a container's log files (and FIFOs) are.
func (a *Adapter) logDir(id string) string { return filepath.Join(logsRoot(a.dataDir), id) }

// installLogger writes the logger script (again, so an upgrade of canopyd
// updates it; a running logger keeps the copy it started with).
func installLogger(dataDir string) (string, error) {
	path := filepath.Join(dataDir, "canopy-logger")
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(loggerScript), 0o755); err != nil {
		return "", fmt.Errorf("containerd: write logger: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", fmt.Errorf("containerd: write logger: %w", err)
	}
	return path, nil
}

// taskIO returns the cio.Creator of a container's main process and a
// function to call when creating the task failed (it stops a logger the
// adapter started).
func (a *Adapter) taskIO(id string, tty, interactive bool) (cio.Creator, func(), error) {
	dir := a.logDir(id)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("containerd: log dir: %w", err)
	}
	if !interactive {
		args := map[string]string{"dir": dir}
		if tty {
			return cio.TerminalBinaryIO(a.logger, args), func() {}, nil
		}
		return cio.BinaryIO(a.logger, args), func() {}, nil
	}
	cfg := cio.Config{Terminal: tty, Stdin: filepath.Join(dir, "stdin"), Stdout: filepath.Join(dir, "stdout")}
	if !tty {
		cfg.Stderr = filepath.Join(dir, "stderr")
	}
	args := []string{"dir", dir, "stdin", cfg.Stdin, "stdout", cfg.Stdout}
	for _, f := range []string{cfg.Stdin, cfg.Stdout, cfg.Stderr} {
		if f == "" {
			continue
		}
		if err := unix.Mkfifo(f, 0o600); err != nil && !os.IsExist(err) {
			return nil, nil, fmt.Errorf("containerd: fifo %s: %w", f, err)
		}
	}
	if cfg.Stderr != "" {
		args = append(args, "stderr", cfg.Stderr)
	}
	cmd := exec.Command(a.logger, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return nil, nil, fmt.Errorf("containerd: start logger: %w", err)
	}
	go func() { _ = cmd.Wait() }() // reaped here while canopyd lives; init's afterwards
	creator := func(string) (cio.IO, error) { return fixedIO{cfg}, nil }
	return creator, func() { _ = cmd.Process.Kill() }, nil
}

// fixedIO hands containerd FIFO paths that another process reads.
type fixedIO struct{ cfg cio.Config }

func (f fixedIO) Config() cio.Config { return f.cfg }
func (fixedIO) Cancel()              {}
func (fixedIO) Wait()                {}
func (fixedIO) Close() error         { return nil }
