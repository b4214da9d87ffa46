package server

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/canopy-cloud/canopy/router"
	"github.com/canopy-cloud/canopy/store"
)

// One copy per (image, cloud): two ReplicateImage operations (or a
// replication and a CreateServer placing the image for a server) that
// place one image in one cloud at once must not upload it twice. Before
// it copies, Place claims "<origin>/<cloud>" in the store with
// CreateRecord, which exactly one caller wins, whichever canopyd replica
// it runs in. The others wait until the winner has recorded the placement
// (and take it, moving nothing) or has given the claim up (and claim
// again). The claim names the operation that holds it, so the same
// operation resumed after a crash takes its own claim back, and a claim
// whose operation is done or gone is stale and taken over. A claim made
// outside an operation (CreateServer's request) is stale after
// callClaimTTL.

const placingNamespace = "image-placing" // "<origin>/<cloud>" → placingClaim

// callClaimTTL bounds how long a claim of a caller that is no operation
// holds when that caller died without releasing it.
const callClaimTTL = time.Hour

// claimPoll is how often a waiter looks at the claim and the placements.
const claimPoll = 200 * time.Millisecond

// placingClaim is who is placing an image in a cloud.
type placingClaim struct {
	Op    string    `json:"op,omitempty"`   // the operation placing it
	Call  string    `json:"call,omitempty"` // or a request's own id
	Since time.Time `json:"since"`
}

// replicateHooks let tests hold a copy and see a waiter (nil: none).
type replicateHooks struct {
	copying func(origin, cloud string) // the claim is won, the copy begins
	waiting func(origin, cloud string) // another holds the claim: waiting
}

// claimPlacing makes this caller (the operation opID, or a new call id)
// the one placing origin in cloud. found is asked first and after every
// wait: a placement there (ok) is the answer and no claim is kept. With
// the claim won, release gives it up.
func (r *replicator) claimPlacing(ctx context.Context, origin, cloud, opID string,
	found func() (placement, bool, error)) (release func(), pl placement, ok bool, err error) {
	key := origin + "/" + cloud
	mine := placingClaim{Op: opID, Since: time.Now().UTC()}
	if opID == "" {
		mine.Call = store.NewID()
	}
	raw, err := json.Marshal(mine)
	if err != nil {
		return nil, pl, false, router.StoreErr("encode placing claim", err)
	}
	release = func() {
		// Only ours: a stale claim taken over meanwhile is another's.
		ctx := context.WithoutCancel(ctx)
		if cur, err := r.store.GetRecord(ctx, placingNamespace, key); err == nil && string(cur) == string(raw) {
			_ = r.store.DeleteRecord(ctx, placingNamespace, key)
		}
	}
	told := false
	for {
		cur, created, err := r.store.CreateRecord(ctx, placingNamespace, key, raw)
		if err != nil {
			return nil, pl, false, router.StoreErr("claim placing image "+origin+" in cloud "+cloud, err)
		}
		var held placingClaim
		_ = json.Unmarshal(cur, &held)
		if !created && opID != "" && held.Op == opID {
			raw = cur // this operation's own claim, from before a crash
			created = true
		}
		// Placed meanwhile (by the holder, or before this claim): taken.
		if pl, ok, err := found(); err != nil || ok {
			if created {
				release()
			}
			return nil, pl, ok, err
		}
		if created {
			return release, pl, false, nil
		}
		stale, err := r.staleClaim(ctx, held)
		if err != nil {
			return nil, pl, false, err
		}
		if stale {
			if err := r.store.DeleteRecord(ctx, placingNamespace, key); err != nil && !errors.Is(err, store.ErrNotFound) {
				return nil, pl, false, router.StoreErr("drop a stale placing claim", err)
			}
			continue
		}
		if h := r.hooks.Load(); !told && h != nil && h.waiting != nil {
			h.waiting(origin, cloud)
		}
		told = true
		t := time.NewTimer(claimPoll)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, pl, false, ctx.Err()
		case <-t.C:
		}
	}
}

// staleClaim says whether a claim's holder is gone: its operation done or
// unknown, or a call's claim older than callClaimTTL.
func (r *replicator) staleClaim(ctx context.Context, c placingClaim) (bool, error) {
	if c.Op == "" {
		return time.Since(c.Since) > callClaimTTL, nil
	}
	op, err := r.store.GetOperation(ctx, c.Op)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return true, nil
	case err != nil:
		return false, router.StoreErr("get operation "+c.Op, err)
	}
	return op.Done, nil
}
