package store

import "context"

// Section names a part of the store another process may change under us.
type Section string

const (
	// SectionSigningKeys holds the authorization server's signing keys: a
	// rotation on one replica must reach the others' issuers.
	SectionSigningKeys Section = "signing-keys"
	// SectionMappings holds the id map: a delete or a takeover of an
	// adopted mapping on one replica must drop the others' cached copies.
	SectionMappings Section = "mappings"
	// SectionOperations holds the operations: a waiter on one replica
	// wakes when the replica running the operation writes it.
	SectionOperations Section = "operations"
)

// Change is one write to a section, as a Watcher reports it.
type Change struct {
	// ID is what was written: the signing key's or the mapping's id.
	ID string
	// Deleted: the entry is gone (otherwise it was created or replaced).
	Deleted bool
	// Revision is the store's revision of the write; later changes have
	// higher ones.
	Revision int64
}

// Watcher is implemented by a store several processes share (etcd), so a
// process can keep what it holds in memory in step with the others'
// writes. The embedded bbolt store has one process and no Watcher: what
// a process holds it wrote itself.
type Watcher interface {
	// Watch reports every write to section made after the call, by any
	// process, in revision order, until ctx ends; then the channel is
	// closed. A watch that lost its place (the store compacted past it,
	// or it could not reconnect) reports a Change with an empty ID: the
	// receiver must assume anything in the section changed.
	Watch(ctx context.Context, section Section) <-chan Change
}
