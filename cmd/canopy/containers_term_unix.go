//go:build unix

package main

import (
	"os"
	"os/signal"
	"syscall"
)

// onResize calls f with the new size whenever the window changes
// (SIGWINCH) until the returned stop is called.
func (t *localTerm) onResize(f func(w, h uint32)) (stop func()) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGWINCH)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			case <-ch:
				if w, h, ok := t.size(); ok {
					f(w, h)
				}
			}
		}
	}()
	return func() {
		signal.Stop(ch)
		close(done)
	}
}
