package router

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/canopy-cloud/canopy/config"
	"github.com/canopy-cloud/canopy/providers"
	_ "github.com/canopy-cloud/canopy/providers/sim" // the "sim" adapter
	"github.com/canopy-cloud/canopy/store"
	"github.com/canopy-cloud/canopy/store/bolt"
)

// simSink is a feed sink over a router with one sim cloud, as startFeeds
// builds it for a cloud whose adapter has a feed.
func simSink(t *testing.T) (*feedSink, *Router) {
	t.Helper()
	cfg, err := config.Parse([]byte("clouds:\n  - {name: a, kind: sim, project: team}\n"), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	st, err := bolt.Open(filepath.Join(t.TempDir(), "canopy.db"))
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	r, err := Open(context.Background(), cfg, st, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); _ = st.Close() })
	cl, _ := r.Cloud("a")
	return &feedSink{r: r, cl: cl, log: log, reconcile: time.Hour, adopted: map[string]bool{}}, r
}

func announced(id string, status providers.Status, token string, at time.Time) providers.Change {
	sv := providers.Server{Common: providers.Common{NativeID: id, Name: id, Status: status, Updated: at}}
	if token != "" {
		sv.Properties = map[string]string{providers.PropToken: token}
	}
	return providers.Change{Kind: providers.KindServer, NativeID: id, Server: &sv, Updated: at, Emitted: at, MessageID: id + status.String(), Adoptable: true}
}

// The feed's state switches every poller it speaks for; a server change
// wakes its waiter; a server canopy has not seen and did not make (no
// token) is adopted into the cloud's project; one canopy made is not.
func TestFeedSink(t *testing.T) {
	s, r := simSink(t)
	cl := s.cl
	s.Live(true, nil)
	for name, live := range map[string]bool{"servers": cl.Servers.Live(), "volumes": cl.Volumes.Live(), "images": cl.Images.Live()} {
		if !live {
			t.Errorf("%s poller not live after Live(true)", name)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	now := time.Now()
	s.Change(announced("made-outside", providers.StatusActive, "", now))
	m, err := r.store.Lookup(ctx, "a", providers.KindServer, "made-outside")
	if err != nil || m.Project != "team" {
		t.Fatalf("the announced server is not adopted into the cloud's project: %+v %v", m, err)
	}
	// An action's payload (no tags) cannot say who made the server: not adopted.
	blind := announced("no-tags", providers.StatusActive, "", now)
	blind.Adoptable = false
	s.Change(blind)
	if _, err := r.store.Lookup(ctx, "a", providers.KindServer, "no-tags"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("adopted from an announcement without tags: %v", err)
	}
	s.Change(announced("made-by-canopy", providers.StatusPending, "11111111-2222-3333-4444-555555555555", now))
	if _, err := r.store.Lookup(ctx, "a", providers.KindServer, "made-by-canopy"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a server carrying canopy's token was adopted: %v", err)
	}
	woke := make(chan providers.Server, 1)
	go func() {
		sv, _, err := cl.Servers.WaitSince(ctx, "made-by-canopy", time.Time{}, func(sv providers.Server, ok bool) bool { return ok && sv.Status == providers.StatusActive })
		if err == nil {
			woke <- sv
		}
		close(woke)
	}()
	for cl.Servers.Waiters() == 0 {
		select {
		case <-ctx.Done():
			t.Fatal("no waiter")
		case <-time.After(time.Millisecond):
		}
	}
	s.Change(announced("made-by-canopy", providers.StatusActive, "11111111-2222-3333-4444-555555555555", now.Add(time.Second)))
	select {
	case sv, ok := <-woke:
		if !ok || sv.Status != providers.StatusActive {
			t.Fatalf("woke with %+v", sv)
		}
	case <-ctx.Done():
		t.Fatal("the announcement did not wake the waiter")
	}
	s.Live(false, errors.New("connection reset"))
	if cl.Servers.Live() || cl.Volumes.Live() {
		t.Error("pollers still live after Live(false)")
	}
}

// A server announcement keeps the floating addresses a read showed (Nova
// lists only fixed ones in its payload).
func TestWithFloating(t *testing.T) {
	fixed := providers.Address{IP: "10.0.0.5", Type: "fixed"}
	fip := providers.Address{IP: "172.24.4.9", Type: "floating"}
	got := withFloating([]providers.Address{fixed}, []providers.Address{fixed, fip})
	if len(got) != 2 || got[1] != fip {
		t.Fatalf("withFloating = %+v", got)
	}
	if got := withFloating([]providers.Address{fixed, fip}, nil); len(got) != 2 {
		t.Fatalf("an announcement's own floating address dropped: %+v", got)
	}
}
