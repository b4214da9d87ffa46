package server

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/router"
	"github.com/canopy-cloud/canopy/store"
)

// The waits of the operation steps: through each cloud's batched pollers
// (the router's), bounded by the configured wait timeout.

// nativeOf is the native id of the operation's target.
func (v *storageViews) nativeOf(ctx context.Context, op *store.Operation, sc *router.Cloud) (string, error) {
	if n := op.State["native"]; n != "" {
		return n, nil
	}
	m, err := v.store.Get(ctx, op.TargetID)
	if errors.Is(err, store.ErrNotFound) {
		return "", router.NotFound(kindOf(op.Kind), op.TargetID)
	}
	if err != nil {
		return "", stepErr(sc.Name, "get "+op.TargetID, err)
	}
	if m.Pending() {
		return "", status.Errorf(codes.FailedPrecondition, "%s %s does not exist in cloud %q yet", m.Kind, m.ID, sc.Name)
	}
	op.State["native"] = m.NativeID
	return m.NativeID, nil
}

// ---------------------------------------------------------------- waits

// waitCtx bounds a wait inside an operation by the configured timeout.
func (v *storageViews) waitCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, v.cfg.Wait.Timeout.Std())
}

// resourceErr is a resource that went to ERROR while an operation waited.
func resourceErr(cloud, kind, native, msg string) error {
	if msg == "" {
		msg = "the cloud gave no reason"
	}
	return router.Detailed(codes.Aborted, fmt.Sprintf("cloud %q: %s %s went to ERROR: %s", cloud, kind, native, msg),
		&errdetails.ErrorInfo{Reason: "RESOURCE_ERROR", Domain: router.ErrorDomain, Metadata: map[string]string{"cloud": cloud, "kind": kind, "native_id": native}})
}

// waitErr maps the end of a wait that did not succeed.
func waitErr(ctx context.Context, cloud, kind, native, what string, start time.Time, err error) error {
	if ctx.Err() != nil {
		return ctx.Err() // the runner is stopping: the step runs again later
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return status.Errorf(codes.DeadlineExceeded, "cloud %q: %s %s not %s after %s", cloud, kind, native, what, time.Since(start).Round(time.Millisecond))
	}
	return stepErr(cloud, "wait for "+kind, err)
}

// waitVolume waits through the cloud's batched poller until done holds.
// A volume in ERROR, or gone, ends the wait with an error.
func (v *storageViews) waitVolume(ctx context.Context, sc *router.Cloud, native, what string, done func(providers.Volume) bool) (providers.Volume, error) {
	wctx, cancel := v.waitCtx(ctx)
	defer cancel()
	start := time.Now()
	// Every done given here asks for a state the change being waited for
	// makes (ready, attached, the new size, settled), so what the cloud
	// announced before it started counts too (zero since).
	x, present, err := sc.Volumes.WaitSince(wctx, native, time.Time{}, func(x providers.Volume, present bool) bool {
		return !present || done(x) || x.Status == providers.StatusError
	})
	switch {
	case err != nil:
		return x, waitErr(ctx, sc.Name, providers.KindVolume, native, what, start, err)
	case !present:
		return x, router.Detailed(codes.NotFound, fmt.Sprintf("cloud %q: volume %s is gone", sc.Name, native),
			&errdetails.ResourceInfo{ResourceType: providers.KindVolume, ResourceName: native, Description: "gone while canopy waited"})
	case x.Status == providers.StatusError && !done(x):
		return x, resourceErr(sc.Name, providers.KindVolume, native, x.StatusMessage)
	}
	return x, nil
}

// readyVolume reads a volume through the cloud's storage until it shows
// it ACTIVE: a volume made from an emulated copy reads PENDING until
// Storage has written the copy's bytes in, which it does on the read that
// finds the cloud's volume ready. ERROR, or gone, ends it with an error.
func (v *storageViews) readyVolume(ctx context.Context, sc *router.Cloud, native string) (providers.Volume, error) {
	wctx, cancel := v.waitCtx(ctx)
	defer cancel()
	start := time.Now()
	every := v.cfg.Wait.MinInterval.Std()
	for {
		x, err := sc.Storage.GetVolume(wctx, native)
		switch {
		case errors.Is(err, providers.ErrNotFound):
			return x, router.Detailed(codes.NotFound, fmt.Sprintf("cloud %q: volume %s is gone", sc.Name, native),
				&errdetails.ResourceInfo{ResourceType: providers.KindVolume, ResourceName: native, Description: "gone while canopy waited"})
		case err != nil && wctx.Err() == nil:
			return x, stepErr(sc.Name, "get volume "+native, err)
		case err == nil && x.Status == providers.StatusActive:
			return x, nil
		case err == nil && x.Status == providers.StatusError:
			return x, resourceErr(sc.Name, providers.KindVolume, native, x.StatusMessage)
		}
		t := time.NewTimer(every)
		select {
		case <-t.C:
		case <-wctx.Done():
			t.Stop()
			return x, waitErr(ctx, sc.Name, providers.KindVolume, native, "ready", start, wctx.Err())
		}
	}
}

// waitCopy waits until a snapshot or backup is ACTIVE (or, with settled,
// merely not transitional).
func (v *storageViews) waitCopy(ctx context.Context, sc *router.Cloud, kind, native string, settled bool) (providers.Status, error) {
	wctx, cancel := v.waitCtx(ctx)
	defer cancel()
	start := time.Now()
	ok := func(s providers.Status) bool {
		return s == providers.StatusActive || (settled && !s.Transitional())
	}
	var st providers.Status
	var present bool
	var msg string
	var err error
	// Both callers wait on a copy a create made (ready, or settled after
	// a cancel): what the cloud announced of it before the wait began
	// counts too (zero since), as in waitVolume.
	if kind == providers.KindSnapshot {
		var x providers.Snapshot
		x, present, err = sc.Snapshots.WaitSince(wctx, native, time.Time{}, func(x providers.Snapshot, present bool) bool {
			return !present || ok(x.Status) || x.Status == providers.StatusError
		})
		st, msg = x.Status, x.StatusMessage
	} else {
		var x providers.Backup
		x, present, err = sc.Backups.WaitSince(wctx, native, time.Time{}, func(x providers.Backup, present bool) bool {
			return !present || ok(x.Status) || x.Status == providers.StatusError
		})
		st, msg = x.Status, x.StatusMessage
	}
	switch {
	case err != nil:
		return st, waitErr(ctx, sc.Name, kind, native, "ready", start, err)
	case !present:
		return st, router.Detailed(codes.NotFound, fmt.Sprintf("cloud %q: %s %s is gone", sc.Name, kind, native),
			&errdetails.ResourceInfo{ResourceType: kind, ResourceName: native, Description: "gone while canopy waited"})
	case st == providers.StatusError && !settled:
		return st, resourceErr(sc.Name, kind, native, msg)
	}
	return st, nil
}

// waitAbsent waits until a resource no longer shows.
func (v *storageViews) waitAbsent(ctx context.Context, sc *router.Cloud, kind, native string) error {
	if native == "" {
		return nil
	}
	wctx, cancel := v.waitCtx(ctx)
	defer cancel()
	start := time.Now()
	var err error
	switch kind {
	case providers.KindVolume:
		_, _, err = sc.Volumes.Wait(wctx, native, func(_ providers.Volume, present bool) bool { return !present })
	case providers.KindSnapshot:
		_, _, err = sc.Snapshots.Wait(wctx, native, func(_ providers.Snapshot, present bool) bool { return !present })
	default:
		_, _, err = sc.Backups.Wait(wctx, native, func(_ providers.Backup, present bool) bool { return !present })
	}
	if err != nil {
		return waitErr(ctx, sc.Name, kind, native, "gone", start, err)
	}
	return nil
}
