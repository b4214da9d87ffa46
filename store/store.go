// Package store holds canopy's durable state: the id map (IDMap), the
// operations and the emulation records (OperationStore, RecordStore), and
// the OAuth clients and signing keys (AuthStore). Implementations live in
// subpackages (bolt, the embedded default; etcd, for several replicas on
// one cluster) and all pass the one suite in store/storetest.
// Cached fronts a Store with an in-memory copy of the mappings it has read.
//
// Every write is durable (fsync'd or quorum-committed) before the method
// returns: a canopy id handed to a client is never forgotten.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
)

// Errors implementations return (wrapped) so callers can tell cases apart.
var (
	ErrNotFound = errors.New("store: not found")
	// ErrConflict: the native id is already mapped to another canopy id, or a
	// pending mapping was bound twice to different native ids.
	ErrConflict = errors.New("store: conflict")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("store: closed")
)

// Mapping ties a canopy id to a resource in one cloud.
type Mapping struct {
	// ID is the canopy id (a UUID).
	ID string
	// Cloud is the canopy cloud name; Kind the resource kind ("server", ...).
	Cloud string
	Kind  string
	// NativeID is the cloud's id; empty while the mapping is pending (canopy
	// allocated the id before the cloud answered).
	NativeID string
	// Project owns the resource.
	Project string
	// RequestID is the client's idempotency key, if it gave one.
	RequestID string
	// Created is when canopy allocated or adopted the id.
	Created time.Time
}

// Pending reports whether the cloud has not yet told canopy the native id.
func (m Mapping) Pending() bool { return m.NativeID == "" }

// IDMap is the canopy id ↔ (cloud, kind, native id) map.
type IDMap interface {
	// Reserve durably records a new mapping, usually pending (NativeID
	// empty). ID and Created are filled when empty. When m.RequestID is set
	// and a mapping with the same (project, kind, request id) exists, that
	// mapping is returned with created=false and nothing is written.
	Reserve(ctx context.Context, m Mapping) (got Mapping, created bool, err error)
	// Bind sets the native id of a pending mapping. Binding again to the
	// same native id is a no-op; to another one is ErrConflict, as is a
	// native id already mapped to another canopy-created id. A native id
	// that a list adopted meanwhile (its id is AdoptedID) is taken over:
	// the adopted mapping is dropped and the reserved id wins, because that
	// is the id the creating client holds.
	Bind(ctx context.Context, id, nativeID string) (Mapping, error)
	// Get returns the mapping for a canopy id, or ErrNotFound.
	Get(ctx context.Context, id string) (Mapping, error)
	// Lookup returns the mapping for a native resource, or ErrNotFound.
	Lookup(ctx context.Context, cloud, kind, nativeID string) (Mapping, error)
	// Adopt returns the mappings for native resources, creating stable ones
	// for those never seen: the same (cloud, kind, native id) always gets
	// the same canopy id (see AdoptedID). The result is in input order. It
	// writes (once, for all new ones) only when something is new.
	Adopt(ctx context.Context, cloud, kind, project string, nativeIDs []string) ([]Mapping, error)
	// List returns the mappings of one cloud and kind, pending ones
	// included, ordered by canopy id.
	List(ctx context.Context, cloud, kind string) ([]Mapping, error)
	// Delete forgets a mapping. Deleting a missing id is ErrNotFound.
	Delete(ctx context.Context, id string) error
}

// Store is everything canopy keeps.
type Store interface {
	IDMap
	AuthStore
	OperationStore // operations.go
	RecordStore    // operations.go
	Close() error
}

// adoptNamespace seeds the name-based UUIDs of adopted resources.
var adoptNamespace = uuid.MustParse("6f1c1d2e-7a3b-5c4d-9e8f-0a1b2c3d4e5f")

// AdoptedID is the canopy id a resource first seen in a list gets. It is a
// name-based UUID (v5) of the cloud, kind and native id, so it is stable
// forever and every replica computes the same one without coordinating.
func AdoptedID(cloud, kind, nativeID string) string {
	return uuid.NewSHA1(adoptNamespace, []byte(cloud+"\x00"+kind+"\x00"+nativeID)).String()
}

// NewID allocates the id of a resource canopy creates.
func NewID() string { return uuid.NewString() }
