package cache

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// Relay shares the lists of the pollers of one (cloud, kind) among canopyd
// replicas on a shared store, so that a cloud sees one list per interval
// however many replicas have waiters or Watch streams on it: the replica
// that owns the cloud lists it and publishes each list; the others list
// nothing and feed their waiters and subscribers from what it publishes.
// ownership.StatusRelay implements it on etcd. Without a Relay (one
// process) a poller lists for itself.
type Relay interface {
	// Lead returns this replica's term as the lister of (cloud, kind)
	// when it owns cloud now; ok is false when another replica does (or
	// none yet).
	Lead(cloud, kind string) (lead Lead, ok bool)
	// Follow says this replica wants lists of (cloud, kind) (the owner
	// polls while any replica wants them) and delivers every list the
	// owner publishes, the current one first, until ctx ends; then the
	// channel is closed and the want withdrawn. A channel closed while
	// ctx lives means the follow broke (it is started again).
	Follow(ctx context.Context, cloud, kind string) <-chan []byte
	// Wanted reports whether another replica follows (cloud, kind) now.
	Wanted(cloud, kind string) bool
	// Notify registers wake, called (never under the relay's locks) when
	// another replica starts following (cloud, kind) or this replica gains
	// cloud: a poller with no local waiters must then start listing.
	Notify(cloud, kind string, wake func())
	// Revision is a point in the shared store's order that includes
	// everything done before the call: a waiter takes one when it starts
	// (and the owner's Lead.Begin one before each list), so a waiter is
	// answered only by lists that began after it (as a poller's own
	// waiters are).
	Revision(ctx context.Context) (int64, error)
}

// Lead is one term in which this replica lists (cloud, kind) for every
// replica. The owner's lists are spaced by the poll interval across terms
// too: each one is recorded, fenced by the term, before it is sent, and a
// new owner's first list waits until an interval after the last one
// recorded (Last), whichever replica made it.
type Lead interface {
	// Term tells terms apart (the fencing token): a poller that sees a
	// new one lists for the first time as the owner.
	Term() int64
	// Done is closed when the term ends: a list not sent yet is dropped.
	Done() <-chan struct{}
	// Last is when the last list recorded by Begin began, in any term
	// (zero: none was).
	Last(ctx context.Context) (time.Time, error)
	// Begin records that a list begins at at and returns a revision as
	// Relay.Revision does, read with the record. It fails once the term
	// has ended: then the list must not be made.
	Begin(ctx context.Context, at time.Time) (rev int64, err error)
	// Publish hands a list to the other replicas; it is refused once the
	// term has ended.
	Publish(ctx context.Context, list []byte) error
}

// relayed is a snapshot on the wire between replicas, with the revision
// read before its list began (Relay.Revision). The follower stamps it
// with the time it arrives.
type relayed[T any] struct {
	Items []T    `json:"items"`
	Err   string `json:"err,omitempty"`
	Rev   int64  `json:"rev"`
}

func encodeSnapshot[T any](s Snapshot[T]) ([]byte, error) {
	r := relayed[T]{Items: s.Items, Rev: s.rev}
	if s.Err != nil {
		r.Err = s.Err.Error()
	}
	return json.Marshal(r)
}

func decodeSnapshot[T any](raw []byte) Snapshot[T] {
	var r relayed[T]
	if err := json.Unmarshal(raw, &r); err != nil {
		return Snapshot[T]{Err: errors.New("relayed status list: " + err.Error()), At: time.Now()}
	}
	s := Snapshot[T]{Items: r.Items, At: time.Now(), rev: r.Rev}
	if r.Err != "" {
		s.Err = errors.New(r.Err)
	}
	return s
}

// RelayedPoller is what Share needs of a poller, whatever its item type.
type RelayedPoller interface {
	Share(r Relay, cloud, kind string)
}

// Share makes p one of several replicas' pollers of (cloud, kind): it lists
// only while this replica owns cloud (and then also while another replica
// follows), and otherwise follows the owner's lists through r. Call it
// before the poller is used.
func (p *Poller[T]) Share(r Relay, cloud, kind string) {
	p.mu.Lock()
	p.relay, p.cloud, p.kind = r, cloud, kind
	p.mu.Unlock()
	r.Notify(cloud, kind, p.wake)
}

// wake starts the loop if there is work for it.
func (p *Poller[T]) wake() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.idleLocked() {
		p.startLocked()
	}
}
