package providers

import "io"

// PipeUpload is the shape of an upload whose cloud API reads its bytes (an
// HTTP PUT body, EBS direct blocks) while canopy's ImageWriter is written
// to: the consumer runs in its own goroutine on the read end of a pipe, so
// no whole image is ever held, and its error is what the writer sees once
// it stops reading.
type PipeUpload struct {
	pw   *io.PipeWriter
	done chan struct{}
	err  error
}

// StartPipeUpload runs consume on the read end of a new pipe. consume
// returns when it has read what it wants or failed; a failure stops the
// writer's next Write.
func StartPipeUpload(consume func(r io.Reader) error) *PipeUpload {
	pr, pw := io.Pipe()
	u := &PipeUpload{pw: pw, done: make(chan struct{})}
	go func() {
		defer close(u.done)
		u.err = consume(pr)
		_ = pr.CloseWithError(u.err)
	}()
	return u
}

// Write passes p to the consumer. When the consumer has stopped, the
// error is the consumer's own, not the pipe's.
func (u *PipeUpload) Write(p []byte) (int, error) {
	n, err := u.pw.Write(p)
	if err != nil {
		<-u.done
		if u.err != nil {
			return n, u.err
		}
	}
	return n, err
}

// Finish ends the stream (the consumer reads EOF) and returns the
// consumer's result.
func (u *PipeUpload) Finish() error {
	_ = u.pw.Close()
	<-u.done
	return u.err
}

// Abandon makes the consumer's reads fail with cause, waits for it to
// return and gives its error (nil when it had already finished well).
func (u *PipeUpload) Abandon(cause error) error {
	_ = u.pw.CloseWithError(cause)
	<-u.done
	return u.err
}
