//go:build !unix

package main

// onResize does nothing where there is no SIGWINCH: the remote terminal
// keeps the size it started with.
func (t *localTerm) onResize(func(w, h uint32)) (stop func()) { return func() {} }
