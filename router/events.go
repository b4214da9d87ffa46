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
// speaks for (snapshots and backups are not announced in a form canopy
// reads, so they stay polled).
type livePoller interface{ SetLive(bool, time.Duration) }

// Live implements providers.ChangeSink.
func (s *feedSink) Live(up bool, err error) {
	s.mu.Lock()
	was := s.live
	s.live = up
	s.mu.Unlock()
	cl := s.cl
	for _, p := range []livePoller{cl.Servers, cl.Volumes, cl.Images, cl.Networks, cl.Ports, cl.SecurityGroups, cl.FloatingIPs} {
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
	cl := s.cl
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
		if cl.Volumes == nil || ch.Volume == nil {
			s.m.Notification(cl.Name, ch.Kind, "ignored")
			return
		}
		v := *ch.Volume
		cur, known := cl.Volumes.Current(ch.NativeID)
		if known && cur.Emulated {
			// canopy's emulation shapes what it shows of this one: ask it.
			cl.Volumes.Kick()
			s.m.Notification(cl.Name, ch.Kind, "relist")
			return
		}
		if known {
			// Cinder's payload names the volume type by id and lacks what a
			// read shows beside the status: keep those from the read.
			x := cur
			x.Status, x.ProviderStatus, x.StatusMessage, x.Updated = v.Status, v.ProviderStatus, v.StatusMessage, v.Updated
			x.SizeGiB, x.Attachments = v.SizeGiB, v.Attachments
			v = x
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
