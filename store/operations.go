package store

import (
	"context"
	"time"
)

// Operation is one unit of asynchronous work (AIP-151): a create, delete or
// state change that takes several steps at a cloud. The jobs runner records
// every step here before acting, so a restarted canopyd resumes it.
type Operation struct {
	// ID is the operation's canopy id (a UUID).
	ID string `json:"id"`
	// Project owns the operation (and the resource it acts on).
	Project string `json:"project"`
	// Kind says what it does: "volume.create", "snapshot.delete", ...
	Kind string `json:"kind"`
	// Cloud is where it acts; TargetID the canopy id of the resource.
	Cloud    string `json:"cloud"`
	TargetID string `json:"target"`
	// RequestID is the client's idempotency key (AIP-155), if it gave one;
	// RequestHash fingerprints the request it came with, so a key reused
	// for another request can be refused.
	RequestID   string `json:"request,omitempty"`
	RequestHash string `json:"request_hash,omitempty"`
	// Spec is the request as the job reads it (opaque to the store).
	Spec []byte `json:"spec,omitempty"`
	// Step is the next step to run ("" before the first); State is what
	// the steps so far learned (native ids, job ids), opaque to the store.
	Step  string            `json:"step,omitempty"`
	State map[string]string `json:"state,omitempty"`
	// Progress is 0-100.
	Progress int32 `json:"progress,omitempty"`
	// Attempts counts failed tries of the current step; LastError is the
	// last transient failure, kept for the operator.
	Attempts  int32  `json:"attempts,omitempty"`
	LastError string `json:"last_error,omitempty"`
	// CancelRequested is set by CancelOperation; the runner honors it at
	// the next step boundary.
	CancelRequested bool `json:"cancel,omitempty"`
	// Done is final: with ErrorCode set the operation failed, otherwise
	// Result holds the resource as it ended (opaque to the store).
	Done         bool   `json:"done,omitempty"`
	ErrorCode    int32  `json:"error_code,omitempty"`
	ErrorMessage string `json:"error_message,omitempty"`
	ErrorReason  string `json:"error_reason,omitempty"`
	// ErrorDetails are the google.rpc.ErrorInfo metadata of the failure
	// (cloud, capability, ...).
	ErrorDetails map[string]string `json:"error_details,omitempty"`
	Result       []byte            `json:"result,omitempty"`
	// Created and Updated are set by the store.
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
}

// OperationFilter narrows ListOperations; zero fields match everything.
type OperationFilter struct {
	Project  string
	TargetID string
	// RequestID keeps the operation created with this request id (with
	// Project: at most one, found through the request index).
	RequestID string
	// Unfinished keeps only operations that are not done.
	Unfinished bool
}

// Match reports whether op passes the filter.
func (f OperationFilter) Match(op Operation) bool {
	return (f.Project == "" || op.Project == f.Project) && (f.TargetID == "" || op.TargetID == f.TargetID) &&
		(f.RequestID == "" || op.RequestID == f.RequestID) && (!f.Unfinished || !op.Done)
}

// OperationStore keeps operations.
type OperationStore interface {
	// CreateOperation durably records a new operation. ID is allocated
	// when empty; Created and Updated are set. When op.RequestID is set and
	// an operation with the same (project, request id) exists, that one is
	// returned with created=false and nothing is written. A given ID that
	// is taken is ErrConflict.
	CreateOperation(ctx context.Context, op Operation) (got Operation, created bool, err error)
	// GetOperation returns an operation or ErrNotFound.
	GetOperation(ctx context.Context, id string) (Operation, error)
	// UpdateOperation durably replaces an unfinished operation and sets
	// Updated. Project, Kind, RequestID and Created cannot change (they are
	// kept as stored), and CancelRequested once set stays set, so a cancel
	// racing a step is never lost. A done operation is final: updating it
	// is ErrConflict. A missing one is ErrNotFound.
	UpdateOperation(ctx context.Context, op Operation) (Operation, error)
	// CancelOperation durably sets CancelRequested on an unfinished
	// operation and returns it; a done one is returned unchanged.
	CancelOperation(ctx context.Context, id string) (Operation, error)
	// ListOperations returns the operations that match, oldest first
	// (ties by id).
	ListOperations(ctx context.Context, f OperationFilter) ([]Operation, error)
	// DeleteOperation forgets an operation (and its request id). A missing
	// one is ErrNotFound.
	DeleteOperation(ctx context.Context, id string) error
}

// Record is one entry of a RecordStore namespace.
type Record struct {
	Key   string
	Value []byte
}

// RecordStore is small durable documents canopy keeps for itself, by
// namespace and key: the emulation layer's resources (a snapshot, a backup
// or a deferred volume that the cloud lacks) and their data.
type RecordStore interface {
	// PutRecord creates or replaces a record, durably. Namespace and key
	// must not be empty.
	PutRecord(ctx context.Context, namespace, key string, value []byte) error
	// CreateRecord creates a record only if the key is free, atomically:
	// of several callers (goroutines, canopyd replicas) racing for a key,
	// exactly one gets created == true. It is how a claim is made (a range
	// carved from a pool); a taken key returns its current value.
	CreateRecord(ctx context.Context, namespace, key string, value []byte) (current []byte, created bool, err error)
	// GetRecord returns a record's value or ErrNotFound.
	GetRecord(ctx context.Context, namespace, key string) ([]byte, error)
	// ListRecords returns the records of a namespace whose keys start with
	// prefix, in key order.
	ListRecords(ctx context.Context, namespace, prefix string) ([]Record, error)
	// DeleteRecord removes a record; a missing one is ErrNotFound.
	DeleteRecord(ctx context.Context, namespace, key string) error
}
