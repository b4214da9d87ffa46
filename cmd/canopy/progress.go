package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// isTerminal reports whether w is a terminal: progress bars are drawn
// only there, never into a pipe, a file or a CI log, where their
// carriage returns are noise.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// bar is a progress bar with throughput on stderr when show is set and
// stderr is a terminal, else a silent one. Its sizes and rates are in
// binary units (KiB, MiB, MiB/s), as summary's are.
func (a *app) bar(show bool, size int64, what string) *progressbar.ProgressBar {
	if !show || !a.stderrTerm {
		return progressbar.DefaultBytesSilent(size, what)
	}
	return newBar(a.stderr, size, what)
}

func newBar(w io.Writer, size int64, what string) *progressbar.ProgressBar {
	return progressbar.NewOptions64(size,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(what),
		progressbar.OptionShowBytes(true),
		progressbar.OptionUseIECUnits(true),
		progressbar.OptionShowCount(),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
		progressbar.OptionSpinnerType(14),
		progressbar.OptionFullWidth(),
	)
}

// summary prints size, time, throughput and the path taken, in the bar's
// units.
func (a *app) summary(verb string, n int64, start time.Time, via string) {
	d := time.Since(start)
	rate := float64(n) / d.Seconds() / (1 << 20)
	fmt.Fprintf(a.stderr, "%s %s in %s (%.1f MiB/s) via %s\n", verb, byteSize(n), d.Round(time.Millisecond), rate, via)
}
