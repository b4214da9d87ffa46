package main

import (
	"io"
	"os"

	"golang.org/x/term"
)

// localTerm is canopy's own terminal, for `container exec -t`.
type localTerm struct{ fd int }

// openTerm is the terminal stdin is, or nil when it is none (a pipe, a
// file, a test's reader): then the remote terminal gets no size and
// nothing here changes mode.
func openTerm(stdin io.Reader) *localTerm {
	f, ok := stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	return &localTerm{fd: int(f.Fd())}
}

func (t *localTerm) size() (w, h uint32, ok bool) {
	cw, ch, err := term.GetSize(t.fd)
	if err != nil || cw <= 0 || ch <= 0 {
		return 0, 0, false
	}
	return uint32(cw), uint32(ch), true
}

// makeRaw puts the terminal in raw mode (keys go to the remote process as
// typed, Ctrl-C included) and returns what restores it.
func (t *localTerm) makeRaw() (func(), error) {
	st, err := term.MakeRaw(t.fd)
	if err != nil {
		return nil, err
	}
	return func() { _ = term.Restore(t.fd, st) }, nil
}
