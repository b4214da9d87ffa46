package etcd

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"
)

// Nothing listening: Open gives up after the dial timeout, naming the
// endpoints, instead of handing back a store whose first call hangs.
func TestOpenNoClusterFailsFast(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // a port nothing listens on
	start := time.Now()
	_, err = Open(context.Background(), []string{addr}, WithDialTimeout(300*time.Millisecond))
	if err == nil || !strings.Contains(err.Error(), addr) {
		t.Errorf("Open with no cluster: %v, want an error naming %s", err, addr)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("gave up after %s, want about 300ms", d)
	}
}

func TestOpenRejectsBadInput(t *testing.T) {
	if _, err := Open(context.Background(), nil); err == nil {
		t.Error("Open with no endpoints succeeded")
	}
	if _, err := Open(context.Background(), []string{"127.0.0.1:1"}, WithPrefix("canopy")); err == nil || !strings.Contains(err.Error(), "absolute") {
		t.Errorf("Open with a relative prefix: %v", err)
	}
}
