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

// Snapshot and backup announcements (Cinder's snapshot.* and backup.*)
// switch with the feed and wake their waiters; a backup restore's
// announcement also makes the volumes relist.
func TestFeedSinkCopies(t *testing.T) {
	s, _ := simSink(t)
	cl := s.cl
	s.Live(true, nil)
	if !cl.Snapshots.Live() || !cl.Backups.Live() {
		t.Fatal("snapshot or backup poller not live after Live(true)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	now := time.Now()
	snap := func(status providers.Status, at time.Time, deleted bool) providers.Change {
		x := providers.Snapshot{Common: providers.Common{NativeID: "snap-1", Status: status}, SizeGiB: 1}
		return providers.Change{Kind: providers.KindSnapshot, NativeID: "snap-1", Snapshot: &x, Emitted: at, MessageID: "s" + at.String(), Deleted: deleted}
	}
	bak := func(status providers.Status, at time.Time, relist []string) providers.Change {
		x := providers.Backup{Common: providers.Common{NativeID: "bak-1", Status: status}, SizeGiB: 1}
		return providers.Change{Kind: providers.KindBackup, NativeID: "bak-1", Backup: &x, Emitted: at, MessageID: "b" + at.String(), Relist: relist}
	}
	s.Change(snap(providers.StatusPending, now, false))
	s.Change(snap(providers.StatusActive, now.Add(time.Second), false))
	// Heard before the wait began: a wait on a copy a create made counts it.
	x, present, err := cl.Snapshots.WaitSince(ctx, "snap-1", time.Time{}, func(x providers.Snapshot, ok bool) bool { return ok && x.Status == providers.StatusActive })
	if err != nil || !present || x.SizeGiB != 1 {
		t.Fatalf("snapshot wait: %+v %v %v", x, present, err)
	}
	// An older announcement delivered late is dropped.
	s.Change(snap(providers.StatusPending, now.Add(-time.Second), false))
	if cur, _ := cl.Snapshots.Current("snap-1"); cur.Status != providers.StatusActive {
		t.Fatalf("a stale announcement went back to %s", cur.Status)
	}
	s.Change(snap(providers.StatusDeleted, now.Add(2*time.Second), true))
	if _, present, err := cl.Snapshots.Wait(ctx, "snap-1", func(_ providers.Snapshot, ok bool) bool { return !ok }); err != nil || present {
		t.Fatalf("snapshot delete: present %v, %v", present, err)
	}

	woke := make(chan error, 1)
	go func() {
		_, _, err := cl.Backups.WaitSince(ctx, "bak-1", time.Time{}, func(x providers.Backup, ok bool) bool { return ok && x.Status == providers.StatusActive })
		woke <- err
	}()
	for cl.Backups.Waiters() == 0 {
		select {
		case <-ctx.Done():
			t.Fatal("no waiter")
		case <-time.After(time.Millisecond):
		}
	}
	s.Change(bak(providers.StatusActive, now, []string{providers.KindVolume}))
	if err := <-woke; err != nil {
		t.Fatalf("backup wait: %v", err)
	}
}

// A volume announcement lacking what a read shows (Partial) is laid over
// the create's answer (Seed), even one heard before the answer came: the
// volume then reads whole, with the announced status.
func TestFeedSinkVolumeOverSeed(t *testing.T) {
	s, _ := simSink(t)
	cl := s.cl
	s.Live(true, nil)
	now := time.Now()
	announce := func(id string, status providers.Status, at time.Time) providers.Change {
		v := providers.Volume{Common: providers.Common{NativeID: id, Status: status, Updated: at}, SizeGiB: 2, Partial: true}
		return providers.Change{Kind: providers.KindVolume, NativeID: id, Volume: &v, Emitted: at, MessageID: id + status.String()}
	}
	answer := func(id string) providers.Volume {
		return providers.Volume{Common: providers.Common{NativeID: id, Status: providers.StatusPending,
			Properties: map[string]string{"description": "d"}}, SizeGiB: 2, Type: "fast"}
	}
	cl.Volumes.Seed("v1", answer("v1"))
	s.Change(announce("v1", providers.StatusActive, now))
	// v2 is heard before its create answers.
	s.Change(announce("v2", providers.StatusPending, now))
	cl.Volumes.Seed("v2", answer("v2"))
	s.Change(announce("v2", providers.StatusActive, now.Add(time.Second)))
	for _, id := range []string{"v1", "v2"} {
		x, ok := cl.Volumes.Current(id)
		if !ok || x.Partial || x.Type != "fast" || x.Properties["description"] != "d" || x.Status != providers.StatusActive {
			t.Errorf("%s reads %+v, want the answer's type and description with the announced status", id, x)
		}
	}
	// Without a seed the announcement stays Partial: a caller reads.
	s.Change(announce("v3", providers.StatusActive, now))
	if x, _ := cl.Volumes.Current("v3"); !x.Partial {
		t.Errorf("an unseeded announcement reads whole: %+v", x)
	}
}
