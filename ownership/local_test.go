package ownership_test

import (
	"context"
	"testing"
	"time"

	"github.com/canopy-cloud/canopy/ownership"
)

// The embedded mode owns every cloud at once, until the context ends.
func TestLocal(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	h := ownership.Hold(ctx, ownership.Local{}, []string{"a", "b"}, nil)
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, a := h.Owns("a")
		_, b := h.Owns("b")
		if a && b {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Local did not own both clouds")
		}
		time.Sleep(time.Millisecond)
	}
	if _, ok := h.Owns("c"); ok {
		t.Fatal("owns a cloud it never campaigned for")
	}
	cancel()
	h.Wait()
	if _, ok := h.Owns("a"); ok {
		t.Fatal("still owns a after the context ended")
	}
}
