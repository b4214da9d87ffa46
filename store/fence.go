package store

import (
	"context"
	"errors"
)

// ErrFenced: a write made under a fence (WithFence) was refused because
// the fence no longer holds — the replica that made it lost its claim
// (its lease expired) and another may own the work now. The write was not
// applied; the work must stop, not retry.
var ErrFenced = errors.New("store: fenced: the claim this write was made under is lost")

// Fence is the claim writes are made under: the key of the claim in a
// shared store and the revision at which it was created. A store that
// several replicas share (etcd) applies a write whose context carries a
// Fence only while that key still has that create revision, in the same
// transaction; one process's store (bbolt) has no other writer and
// ignores it.
type Fence struct {
	Key string
	Rev int64
}

type fenceKey struct{}

// WithFence returns ctx carrying f: every store write under it is fenced.
func WithFence(ctx context.Context, f Fence) context.Context {
	return context.WithValue(ctx, fenceKey{}, f)
}

// FenceOf returns the fence ctx carries.
func FenceOf(ctx context.Context) (Fence, bool) {
	f, ok := ctx.Value(fenceKey{}).(Fence)
	return f, ok
}
