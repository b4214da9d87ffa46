package providers

import (
	"context"
	"time"
)

// Change is one state change a cloud announced about one resource (an
// OpenStack notification, say). Server, Volume, Snapshot or Backup carries
// the resource as the event describes it, when the event says enough to
// stand for a read; otherwise only the kind and id are known and the
// caller relists.
type Change struct {
	Kind     string // KindServer, KindVolume, KindImage, KindNetwork, KindPort, ...
	NativeID string
	// Deleted says the resource is gone.
	Deleted  bool
	Server   *Server
	Volume   *Volume
	Snapshot *Snapshot
	Backup   *Backup
	// Relist names kinds the change may have changed besides its own,
	// which the event does not describe (a backup restored into a volume
	// it does not name): the caller relists them.
	Relist []string
	// Updated is the resource's own last-change time at the cloud (Nova's
	// and Cinder's updated_at); Emitted when the cloud sent the event.
	// Together they order the changes of one resource.
	Updated time.Time
	Emitted time.Time
	// MessageID identifies the event at the cloud, for de-duplication.
	MessageID string
	// EventType is the cloud's name for it (instance.update, ...).
	EventType string
	// Adoptable says the announcement carries what tells whether canopy
	// made the resource (its token, providers.PropToken, in the
	// resource's properties): only then may a resource canopy does not
	// know be adopted from it (one canopy is still creating is not).
	Adoptable bool
}

// ChangeSink receives what a ChangeFeed hears.
type ChangeSink interface {
	// Live says whether the feed is connected and consuming (true) or has
	// lost its connection (false, with why): while it is not, nothing is
	// heard and the caller must poll.
	Live(up bool, err error)
	// Change is called for each change, in the order the feed received them.
	Change(Change)
}

// ChangeFeed is implemented by adapters whose cloud can push state changes
// instead of being polled for them. Changes says whether the cloud's
// config turned it on and how often to list anyway while it is heard (to
// reconcile what a lost message would hide); FeedChanges runs until ctx
// ends (then it returns nil), reconnecting with backoff, reporting each
// connection and each loss to sink.Live.
type ChangeFeed interface {
	Changes() (enabled bool, reconcile time.Duration)
	FeedChanges(ctx context.Context, sink ChangeSink) error
}
