package docker

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/canopy-cloud/canopy/providers"
)

// ContainerLogs reads a container's output. Docker keeps stdout and stderr
// apart in one multiplexed stream (stdcopy frames), except for a TTY
// container, whose output is one stream and comes as stdout. Timestamps
// are always asked for, so every entry has its time; each entry is one
// line with its newline. Neither stream asked for means both.
func (c *Cloud) ContainerLogs(ctx context.Context, id string, opts providers.LogOptions) (providers.LogReader, error) {
	h, did, in, err := c.allowed(ctx, id, providers.ActLogs)
	if err != nil {
		return nil, err
	}
	if !opts.Stdout && !opts.Stderr {
		opts.Stdout, opts.Stderr = true, true
	}
	lo := container.LogsOptions{ShowStdout: opts.Stdout, ShowStderr: opts.Stderr, Timestamps: true, Follow: opts.Follow, Tail: "all"}
	if opts.Tail >= 0 {
		lo.Tail = strconv.Itoa(opts.Tail)
	}
	if !opts.Since.IsZero() {
		lo.Since = fmt.Sprintf("%d.%09d", opts.Since.Unix(), opts.Since.Nanosecond())
	}
	rctx, cancel := context.WithCancel(ctx)
	body, err := h.cli.ContainerLogs(rctx, did, lo)
	if err != nil {
		cancel()
		return nil, mapErr(err, h, "logs", did)
	}
	r := &logReader{entries: make(chan providers.LogEntry, 64), parent: ctx, ctx: rctx, cancel: cancel, body: body}
	tty := in.Config != nil && in.Config.Tty
	go r.run(tty, h, did)
	return r, nil
}

// logReader turns Docker's log stream into entries: a goroutine demuxes
// the stream (stdcopy) into a channel, in the order Docker wrote it.
type logReader struct {
	entries chan providers.LogEntry // closed once run ended; err is set then
	err     error
	parent  context.Context // the caller's: its end is Next's error
	ctx     context.Context // ends with the parent or at Close
	cancel  context.CancelFunc
	body    io.ReadCloser
	closed  atomic.Bool
}

func (r *logReader) run(tty bool, h *host, did string) {
	defer close(r.entries)
	var err error
	if tty {
		// One raw stream: read it a line at a time, so no line is split
		// where a read happens to end.
		w, br := &streamWriter{r: r, stream: providers.StreamStdout}, bufio.NewReader(r.body)
		for err == nil {
			var line []byte
			line, err = br.ReadBytes('\n')
			if len(line) > 0 {
				if _, werr := w.Write(line); werr != nil {
					err = werr
				}
			}
		}
	} else {
		_, err = stdcopy.StdCopy(&streamWriter{r: r, stream: providers.StreamStdout}, &streamWriter{r: r, stream: providers.StreamStderr}, r.body)
	}
	if err != nil && r.ctx.Err() == nil && !errors.Is(err, io.EOF) {
		r.err = mapErr(err, h, "read logs of", did)
	}
}

// Next returns the next entry; io.EOF at the end of the output (or after
// Close), the context's error when the caller's context ended first.
func (r *logReader) Next() (providers.LogEntry, error) {
	e, ok := <-r.entries
	if ok {
		return e, nil
	}
	if r.err != nil {
		return providers.LogEntry{}, r.err
	}
	if err := r.parent.Err(); err != nil && !r.closed.Load() {
		return providers.LogEntry{}, err
	}
	return providers.LogEntry{}, io.EOF
}

// Close stops reading; a Next after it returns io.EOF.
func (r *logReader) Close() error {
	r.closed.Store(true)
	r.cancel()
	err := r.body.Close()
	for range r.entries { // let run finish
	}
	return err
}

// streamWriter receives one stream's frames (stdcopy writes a frame's
// payload at once) and sends a line per entry, its timestamp parsed off.
type streamWriter struct {
	r      *logReader
	stream int
}

func (w *streamWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		line := p
		if i := bytes.IndexByte(p, '\n'); i >= 0 {
			line = p[:i+1]
		}
		p = p[len(line):]
		e := providers.LogEntry{Stream: w.stream}
		e.Time, e.Data = splitTimestamp(line)
		select {
		case w.r.entries <- e:
		case <-w.r.ctx.Done():
			return 0, w.r.ctx.Err()
		}
	}
	return n, nil
}

// splitTimestamp parses the RFC 3339 time Docker puts before each line
// (with Timestamps); a line without one keeps its bytes and a zero time.
func splitTimestamp(line []byte) (time.Time, []byte) {
	i := bytes.IndexByte(line, ' ')
	if i <= 0 {
		return time.Time{}, append([]byte(nil), line...)
	}
	t, err := time.Parse(time.RFC3339Nano, string(line[:i]))
	if err != nil {
		return time.Time{}, append([]byte(nil), line...)
	}
	return t, append([]byte(nil), line[i+1:]...)
}
