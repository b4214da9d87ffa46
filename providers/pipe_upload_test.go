package providers_test

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/canopy-cloud/canopy/providers"
)

func TestPipeUpload(t *testing.T) {
	t.Run("the consumer reads every byte and Finish gives its result", func(t *testing.T) {
		var got bytes.Buffer
		u := providers.StartPipeUpload(func(r io.Reader) error {
			_, err := io.Copy(&got, r)
			return err
		})
		for _, s := range []string{"one ", "two ", "three"} {
			if _, err := u.Write([]byte(s)); err != nil {
				t.Fatal(err)
			}
		}
		if err := u.Finish(); err != nil || got.String() != "one two three" {
			t.Fatalf("Finish = %v, consumer read %q", err, got.String())
		}
	})
	t.Run("a consumer that fails stops the writer with its own error", func(t *testing.T) {
		refused := errors.New("cloud refused the upload")
		u := providers.StartPipeUpload(func(r io.Reader) error {
			_, _ = r.Read(make([]byte, 1))
			return refused
		})
		var err error
		for i := 0; i < 3 && err == nil; i++ {
			_, err = u.Write([]byte("data"))
		}
		if !errors.Is(err, refused) {
			t.Fatalf("Write after the consumer failed = %v, want its error", err)
		}
		if err := u.Finish(); !errors.Is(err, refused) {
			t.Fatalf("Finish = %v, want the consumer's error", err)
		}
	})
	t.Run("Abandon makes the consumer's read fail with the cause", func(t *testing.T) {
		cause := errors.New("aborted by the caller")
		u := providers.StartPipeUpload(func(r io.Reader) error {
			_, err := io.Copy(io.Discard, r)
			return err
		})
		if _, err := u.Write([]byte("partial")); err != nil {
			t.Fatal(err)
		}
		if err := u.Abandon(cause); !errors.Is(err, cause) {
			t.Fatalf("Abandon = %v, want the consumer to have read %v", err, cause)
		}
	})
}
