package main

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"
)

// signalBuffer is a buffer that closes seen once it holds want.
type signalBuffer struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	want string
	seen chan struct{}
	once sync.Once
}

func (b *signalBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n, err := b.buf.Write(p)
	if strings.Contains(b.buf.String(), b.want) {
		b.once.Do(func() { close(b.seen) })
	}
	return n, err
}

func (b *signalBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// cliUntil runs a command that streams until interrupted, and interrupts
// it (as Ctrl-C does: the context ends) once stdout shows want.
func cliUntil(t *testing.T, addr, want string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d, _ := daemons.Load(addr)
	args = append([]string{"--addr", addr, "--token", d.(daemonInfo).token, "--credentials", "/nonexistent/canopy-test"}, args...)
	out := &signalBuffer{want: want, seen: make(chan struct{})}
	var errb bytes.Buffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, args, strings.NewReader(""), out, &errb) }()
	select {
	case <-out.seen:
		cancel()
	case code := <-done:
		t.Fatalf("canopy %s ended by itself (exit %d) before printing %q:\n%s\n%s", strings.Join(args, " "), code, want, out.String(), errb.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("canopy %s: no %q after 30s:\n%s\n%s", strings.Join(args, " "), want, out.String(), errb.String())
	}
	select {
	case code := <-done:
		return result{code: code, stdout: out.String(), stderr: errb.String()}
	case <-time.After(30 * time.Second):
		t.Fatalf("canopy %s did not end within 30s of the interrupt:\n%s", strings.Join(args, " "), out.String())
	}
	return result{}
}

// TestContainerFollowInterrupted: logs -f, stats --stream and watch end
// cleanly (exit 0, no error) when interrupted.
func TestContainerFollowInterrupted(t *testing.T) {
	addr := startCanopyd(t, fastLocal)
	ok(t, addr, "container", "run", "--name", "talker", ctrImage, "sh", "-c", "echo first; sleep 3600")

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"container", "logs", "-f", "talker"}, "first\n"},
		{[]string{"container", "stats", "--stream", "talker"}, "talker"},
		{[]string{"container", "watch"}, "talker"},
	} {
		r := cliUntil(t, addr, tc.want, tc.args...)
		if r.code != 0 || r.stderr != "" {
			t.Errorf("interrupted %s: exit %d, stderr %q", strings.Join(tc.args, " "), r.code, r.stderr)
		}
	}
	// -o json streams one object per line.
	r := cliUntil(t, addr, "\n", "-o", "json", "container", "stats", "--stream", "talker")
	if line, _, _ := strings.Cut(r.stdout, "\n"); !strings.HasPrefix(line, "{") || !strings.Contains(line, `"memory_bytes"`) {
		t.Errorf("stats --stream -o json: %q", r.stdout)
	}
}
