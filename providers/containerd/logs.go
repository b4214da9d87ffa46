package containerd

import (
	"bufio"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/canopy-cloud/canopy/providers"
)

// followPoll is how often a followed log is looked at for new lines.
const followPoll = 100 * time.Millisecond

// ContainerLogs reads the log files the task's logger writes (logger.go):
// both streams merged in time order, each record its own entry. Follow
// keeps reading new lines until the task is gone or stopped and the
// logger has written its last line.
func (a *Adapter) ContainerLogs(ctx context.Context, id string, opts providers.LogOptions) (providers.LogReader, error) {
	ctx = a.ns(ctx)
	_, _, _, err := a.currentFor(ctx, id, providers.ActLogs)
	if err != nil {
		return nil, err
	}
	if !opts.Stdout && !opts.Stderr {
		opts.Stdout, opts.Stderr = true, true
	}
	var files []*logFile
	if opts.Stdout {
		files = append(files, &logFile{path: filepath.Join(a.logDir(id), "stdout.log"), stream: providers.StreamStdout})
	}
	if opts.Stderr {
		files = append(files, &logFile{path: filepath.Join(a.logDir(id), "stderr.log"), stream: providers.StreamStderr})
	}
	var backlog []providers.LogEntry
	for _, f := range files {
		entries, err := f.read()
		if err != nil {
			return nil, err
		}
		entries = since(entries, opts.Since)
		if opts.Tail >= 0 && len(entries) > opts.Tail {
			entries = entries[len(entries)-opts.Tail:]
		}
		backlog = append(backlog, entries...)
	}
	sort.SliceStable(backlog, func(i, j int) bool { return backlog[i].Time.Before(backlog[j].Time) })
	rctx, cancel := context.WithCancel(ctx)
	r := &logReader{ch: make(chan providers.LogEntry, 64), errc: make(chan error, 1), cancel: cancel}
	go r.produce(rctx, a, id, files, backlog, opts)
	return r, nil
}

func since(entries []providers.LogEntry, t time.Time) []providers.LogEntry {
	if t.IsZero() {
		return entries
	}
	i := sort.Search(len(entries), func(i int) bool { return !entries[i].Time.Before(t) })
	return entries[i:]
}

// logFile reads one stream's records from where it last stopped.
type logFile struct {
	path    string
	stream  int
	off     int64
	partial []byte // a record not yet ended by a newline
}

// read returns the complete records written since the last read.
func (f *logFile) read() ([]providers.LogEntry, error) {
	fh, err := os.Open(f.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	if _, err := fh.Seek(f.off, io.SeekStart); err != nil {
		return nil, err
	}
	var out []providers.LogEntry
	br := bufio.NewReaderSize(fh, 64<<10)
	for {
		line, err := br.ReadBytes('\n')
		f.off += int64(len(line))
		if len(line) > 0 && line[len(line)-1] == '\n' {
			rec := append(f.partial, line[:len(line)-1]...)
			f.partial = nil
			if e, ok := parseRecord(rec, f.stream); ok {
				out = append(out, e)
			}
		} else {
			f.partial = append(f.partial, line...)
		}
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}

// parseRecord reads "<seconds>.<micros> <F|P> <data>".
func parseRecord(rec []byte, stream int) (providers.LogEntry, bool) {
	s := string(rec)
	ts, rest, ok := strings.Cut(s, " ")
	if !ok {
		return providers.LogEntry{}, false
	}
	mark, data, ok := strings.Cut(rest, " ")
	if !ok && rest != "F" && rest != "P" {
		return providers.LogEntry{}, false
	}
	if !ok {
		mark = rest
	}
	sec, frac, _ := strings.Cut(ts, ".")
	secs, err := strconv.ParseInt(sec, 10, 64)
	if err != nil {
		return providers.LogEntry{}, false
	}
	var nanos int64
	if frac != "" {
		for len(frac) < 9 {
			frac += "0"
		}
		nanos, _ = strconv.ParseInt(frac[:9], 10, 64)
	}
	if mark == "F" {
		data += "\n"
	}
	return providers.LogEntry{Stream: stream, Time: time.Unix(secs, nanos).UTC(), Data: []byte(data)}, true
}

// logReader hands out what produce finds.
type logReader struct {
	ch     chan providers.LogEntry
	errc   chan error
	cancel context.CancelFunc
}

func (r *logReader) Next() (providers.LogEntry, error) {
	e, ok := <-r.ch
	if ok {
		return e, nil
	}
	select {
	case err := <-r.errc:
		return providers.LogEntry{}, err
	default:
		return providers.LogEntry{}, io.EOF
	}
}

func (r *logReader) Close() error {
	r.cancel()
	go func() {
		for range r.ch { // let produce finish
		}
	}()
	return nil
}

func (r *logReader) produce(ctx context.Context, a *Adapter, id string, files []*logFile, backlog []providers.LogEntry, opts providers.LogOptions) {
	defer close(r.ch)
	send := func(es []providers.LogEntry) bool {
		for _, e := range es {
			select {
			case r.ch <- e:
			case <-ctx.Done():
				return false
			}
		}
		return true
	}
	if !send(backlog) || !opts.Follow {
		return
	}
	quiet := 0 // polls without new lines since the task ended
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(followPoll):
		}
		var fresh []providers.LogEntry
		for _, f := range files {
			es, err := f.read()
			if err != nil {
				r.errc <- err
				return
			}
			fresh = append(fresh, since(es, opts.Since)...)
		}
		sort.SliceStable(fresh, func(i, j int) bool { return fresh[i].Time.Before(fresh[j].Time) })
		if !send(fresh) {
			return
		}
		_, _, state, err := a.current(ctx, id)
		live := err == nil && (state == providers.ContainerRunning || state == providers.ContainerPaused || state == providers.ContainerRestarting)
		switch {
		case live:
			quiet = 0
		case len(fresh) > 0:
			quiet = 0
		default:
			// The logger drains the pipes after the task ended: end once
			// two polls found nothing new.
			if quiet++; quiet >= 2 {
				return
			}
		}
	}
}
