package openstack

import (
	"context"
	"time"

	"github.com/canopy-cloud/canopy/providers"
)

// cinderKind is what a tokened create of one kind of Cinder resource
// (volume, snapshot, backup) needs to agree with racing creators: each
// carries its token in metadata, the oldest live one wins, and the
// others are deleted. Volumes, snapshots and backups differ only in these
// accessors, so the rule is written once.
type cinderKind[T any] struct {
	token   func(T) string // the token value in the resource's metadata
	status  func(T) string // Cinder's raw status
	created func(T) time.Time
	id      func(T) string
	norm    func(string) providers.Status
	// get and del act on one resource by id, for deleteLoser.
	get func(ctx context.Context, id string) (string, error)
	del func(ctx context.Context, id string) error
}

// pick returns the resource carrying token value tv that wins: not being
// deleted, the oldest (then the smallest id), so concurrent creators agree.
func (k cinderKind[T]) pick(list []T, tv string) (T, bool) {
	var best T
	found := false
	for _, r := range list {
		if k.token(r) != tv {
			continue // Cinder filtered (where it can), but check: never adopt a stranger
		}
		if st := k.norm(k.status(r)); st == providers.StatusDeleting || st == providers.StatusDeleted {
			continue
		}
		c, bc := k.created(r), k.created(best)
		if !found || c.Before(bc) || (c.Equal(bc) && k.id(r) < k.id(best)) {
			best, found = r, true
		}
	}
	return best, found
}

// settle checks, after this process created mine, whether another
// creator raced past the lookup with the same token: if another resource
// wins, mine is deleted (now, or once Cinder lets it be) and the winner is
// returned. A failed list keeps mine: the next lookup by token agrees.
func (k cinderKind[T]) settle(ctx context.Context, list func(context.Context) ([]T, error), mine T, tv string) T {
	if tv == "" {
		return mine
	}
	all, err := list(ctx)
	if err != nil {
		return mine
	}
	if w, ok := k.pick(append(all, mine), tv); ok && k.id(w) != k.id(mine) {
		deleteLoser(ctx, k.id(mine), k.get, k.del)
		return w
	}
	return mine
}
