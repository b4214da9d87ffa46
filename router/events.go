package router

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/canopy-cloud/canopy/cache"
	"github.com/canopy-cloud/canopy/providers"
)

// feeds runs the notification feeds of the clouds that have one
// (providers.ChangeFeed, turned on in the cloud's config): what a cloud
// announces goes where its pollers' lists go (cache.Poller.Push), so
// waiters and Watch streams hear a change as soon as the cloud says it,
// and the pollers only reconcile while the feed is connected.
type feeds struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// startFeeds starts a feed per cloud that has one, and says every other
// cloud is polled (canopy_status_mode).
func (r *Router) startFeeds(log *slog.Logger, m *cache.Metrics) {
	ctx, cancel := context.WithCancel(context.Background())
	r.feeds = &feeds{cancel: cancel}
	for _, cl := range r.list {
		m.StatusMode(cl.Name, false)
		f, ok := cl.Provider.(providers.ChangeFeed)
		if !ok {
			continue
		}
		on, reconcile := f.Changes()
		if !on {
			continue
		}
		s := &feedSink{r: r, cl: cl, log: log.With("cloud", cl.Name), m: m, reconcile: reconcile, adopted: map[string]bool{}}
		r.feeds.wg.Add(1)
		go func() {
			defer r.feeds.wg.Done()
			if err := f.FeedChanges(ctx, s); err != nil {
				s.log.Error("notification feed not started: the cloud is polled", "err", err)
			}
		}()
	}
}

// stop ends every feed and waits for them.
func (f *feeds) stop() {
	if f != nil {
		f.cancel()
		f.wg.Wait()
	}
}

// feedSink takes one cloud's announcements into its stack.
type feedSink struct {
	r         *Router
	cl        *Cloud
	log       *slog.Logger
	m         *cache.Metrics
	reconcile time.Duration

	mu      sync.Mutex
	live    bool
	adopted map[string]bool // resources adopted on an announcement
}

// livePoller is what Live switches: every poller of the cloud a feed
// speaks for.
type livePoller interface{ SetLive(bool, time.Duration) }

// Live implements providers.ChangeSink.
func (s *feedSink) Live(up bool, err error) {
	s.mu.Lock()
	was := s.live
	s.live = up
	s.mu.Unlock()
	cl := s.cl
	for _, p := range []livePoller{cl.Servers, cl.Volumes, cl.Snapshots, cl.Backups, cl.Images, cl.Networks, cl.Ports, cl.SecurityGroups, cl.FloatingIPs} {
		p.SetLive(up, s.reconcile) // nil-safe: a kind the cloud lacks
	}
	s.m.StatusMode(cl.Name, up)
	switch {
	case up && !was:
		s.log.Info("notification feed connected: statuses come from the cloud's events, lists only reconcile", "reconcile", s.reconcile)
	case !up && was:
		s.log.Warn("notification feed lost: polling at full rate until it is back", "err", err)
	case !up:
		s.log.Debug("notification feed still down", "err", err)
	}
}

// Change implements providers.ChangeSink.
func (s *feedSink) Change(ch providers.Change) {
	s.change(ch)
	for _, kind := range ch.Relist {
		s.change(providers.Change{Kind: kind})
	}
}

func (s *feedSink) change(ch providers.Change) {
	cl := s.cl
	switch ch.Kind {
	case providers.KindSnapshot:
		if cl.Snapshots == nil || ch.Snapshot == nil {
			break // relisted below
		}
		copyChanged(s, ch, cl.Snapshots, func(cur providers.Snapshot) (providers.Snapshot, bool) {
			x := *ch.Snapshot
			if cur.NativeID == "" {
				return x, false
			}
			if cur.Emulated {
				return cur, true
			}
			cur.Status, cur.ProviderStatus, cur.StatusMessage, cur.SizeGiB = x.Status, x.ProviderStatus, x.StatusMessage, x.SizeGiB
			return cur, false
		})
		return
	case providers.KindBackup:
		if cl.Backups == nil || ch.Backup == nil {
			break
		}
		copyChanged(s, ch, cl.Backups, func(cur providers.Backup) (providers.Backup, bool) {
			x := *ch.Backup
			if cur.NativeID == "" {
				return x, false
			}
			if cur.Emulated {
				return cur, true
			}
			cur.Status, cur.ProviderStatus, cur.StatusMessage, cur.SizeGiB = x.Status, x.ProviderStatus, x.StatusMessage, x.SizeGiB
			return cur, false
		})
		return
	}
	switch ch.Kind {
	case providers.KindServer:
		if cl.Servers == nil || ch.Server == nil {
			s.m.Notification(cl.Name, ch.Kind, "ignored")
			return
		}
		sv := *ch.Server
		cur, known := cl.Servers.Current(ch.NativeID)
		if known {
			sv.Addresses = withFloating(sv.Addresses, cur.Addresses)
		}
		res := cl.Servers.Push(cache.Event[providers.Server]{ID: ch.NativeID, Item: sv, Present: !ch.Deleted,
			Updated: ch.Updated, Emitted: ch.Emitted, MessageID: ch.MessageID})
		s.m.Notification(cl.Name, ch.Kind, string(res))
		if res == cache.Applied && cl.Compute != nil {
			cl.Compute.ServerChanged()
		}
		if !known && !ch.Deleted && ch.Adoptable && res == cache.Applied {
			s.adopt(ch.Kind, sv.Common, func(ctx context.Context) error {
				_, _, err := Claimed(ctx, s.r, cl, providers.KindServer, []providers.Server{sv}, func(x providers.Server) providers.Common { return x.Common }, nil)
				return err
			})
		}
	case providers.KindVolume:
		if cl.Volumes != nil && ch.Volume == nil { // a relist (Change.Relist)
			cl.Volumes.Kick()
			s.m.Notification(cl.Name, ch.Kind, "relist")
			return
		}
		if cl.Volumes == nil {
			s.m.Notification(cl.Name, ch.Kind, "ignored")
			return
		}
		v := *ch.Volume
		cur, known := cl.Volumes.Current(ch.NativeID)
		if known && cur.Partial {
			// Heard before the create answered: lay it over the answer.
			if seed, ok := cl.Volumes.Seeded(ch.NativeID); ok {
				cur = seed
			}
		}
		if known && cur.Emulated {
			// canopy's emulation shapes what it shows of this one: ask it.
			cl.Volumes.Kick()
			s.m.Notification(cl.Name, ch.Kind, "relist")
			return
		}
		if known {
			v = VolumeAnnounced(cur, v)
		}
		res := cl.Volumes.Push(cache.Event[providers.Volume]{ID: ch.NativeID, Item: v, Present: !ch.Deleted,
			Updated: ch.Updated, Emitted: ch.Emitted, MessageID: ch.MessageID})
		s.m.Notification(cl.Name, ch.Kind, string(res))
		if res == cache.Applied && cl.StorageCache != nil {
			cl.StorageCache.VolumeChanged()
		}
		if !known && !ch.Deleted && ch.Adoptable && res == cache.Applied {
			s.adopt(ch.Kind, v.Common, func(ctx context.Context) error {
				_, _, err := Claimed(ctx, s.r, cl, providers.KindVolume, []providers.Volume{v}, func(x providers.Volume) providers.Common { return x.Common }, nil)
				return err
			})
		}
	default:
		// Announcements canopy reads only the kind and id of: the kind's
		// poller relists (if anyone waits or watches), once however many
		// arrive while it lists.
		kicked := false
		kick := func(p interface{ Kick() }) {
			p.Kick()
			kicked = true
		}
		switch ch.Kind {
		case providers.KindImage:
			if cl.Images != nil {
				kick(cl.Images)
			}
		case providers.KindNetwork:
			if cl.Networks != nil {
				kick(cl.Networks)
			}
		case providers.KindPort:
			if cl.Ports != nil {
				kick(cl.Ports)
			}
		case providers.KindSecurityGroup:
			if cl.SecurityGroups != nil {
				kick(cl.SecurityGroups)
			}
		case providers.KindSnapshot:
			if cl.Snapshots != nil {
				kick(cl.Snapshots)
			}
		case providers.KindBackup:
			if cl.Backups != nil {
				kick(cl.Backups)
			}
		case providers.KindFloatingIP:
			if cl.FloatingIPs != nil {
				kick(cl.FloatingIPs)
			}
			if cl.Servers != nil { // a server's addresses show its floating IPs
				kick(cl.Servers)
			}
		}
		if kicked {
			s.m.Notification(cl.Name, ch.Kind, "relist")
		} else {
			s.m.Notification(cl.Name, ch.Kind, "ignored")
		}
	}
}

// copyChanged takes in an announcement about a snapshot or backup: laid
// over the copy the poller knows by merge (Cinder's payload lacks the
// description, the labels and updated_at), or, when canopy's emulation
// shapes the copy (merge says relist), a relist. Copies are never adopted
// from an announcement: their payload does not carry canopy's token.
func copyChanged[T any](s *feedSink, ch providers.Change, p *cache.Poller[T], merge func(cur T) (T, bool)) {
	cur, _ := p.Current(ch.NativeID)
	item, relist := merge(cur)
	if relist {
		p.Kick()
		s.m.Notification(s.cl.Name, ch.Kind, "relist")
		return
	}
	res := p.Push(cache.Event[T]{ID: ch.NativeID, Item: item, Present: !ch.Deleted,
		Updated: ch.Updated, Emitted: ch.Emitted, MessageID: ch.MessageID})
	s.m.Notification(s.cl.Name, ch.Kind, string(res))
	if res == cache.Applied && s.cl.StorageCache != nil {
		s.cl.StorageCache.CopyChanged(ch.Kind)
	}
}

// adopt gives a resource canopy had not seen its id, through the path a
// list takes (Claimed), unless it carries a canopy token (canopy made it:
// its create binds it) or was adopted already.
func (s *feedSink) adopt(kind string, c providers.Common, claim func(context.Context) error) {
	if c.Properties[providers.PropToken] != "" {
		return
	}
	key := kind + "/" + c.NativeID
	s.mu.Lock()
	if s.adopted[key] {
		s.mu.Unlock()
		return
	}
	if len(s.adopted) > 100000 {
		s.adopted = map[string]bool{}
	}
	s.adopted[key] = true
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := claim(ctx); err != nil {
		s.log.Warn("adopt announced resource", "kind", kind, "native_id", c.NativeID, "err", err)
		s.mu.Lock()
		delete(s.adopted, key)
		s.mu.Unlock()
		return
	}
	s.m.Notification(s.cl.Name, kind, "adopted")
}

// VolumeAnnounced lays what an announcement says of a volume over what a
// read (or its create's answer) showed: Cinder's payload names the volume
// type by id and lacks what a read shows beside the status, size and
// attachments, so those come from the read. The result is Partial only if
// the read was.
func VolumeAnnounced(read, announced providers.Volume) providers.Volume {
	x := read
	x.Status, x.ProviderStatus, x.StatusMessage, x.Updated = announced.Status, announced.ProviderStatus, announced.StatusMessage, announced.Updated
	x.SizeGiB, x.Attachments = announced.SizeGiB, announced.Attachments
	return x
}

// withFloating keeps the floating addresses a read showed when an
// announcement (Nova's lists only the fixed ones) has none.
func withFloating(announced, read []providers.Address) []providers.Address {
	for _, a := range announced {
		if a.Type == "floating" {
			return announced
		}
	}
	out := announced
	for _, a := range read {
		if a.Type == "floating" {
			out = append(out, a)
		}
	}
	return out
}
