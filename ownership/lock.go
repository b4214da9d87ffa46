package ownership

import (
	"context"
	"fmt"
	"time"
)

// lockRetry bounds the wait between attempts at a held lock when no
// release was seen (a watch that broke, a lease that ended quietly).
const lockRetry = 500 * time.Millisecond

// Lock takes name as a claim (Claim: under this replica's lease, so a
// replica that dies holding it frees it within the lease's TTL), waiting
// for its release while another replica holds it. It is sched.Mutex: the
// replicas placing on one container cloud take turns, so each placement
// reads host reports that include every container placed before it.
// Within one process the caller serialises (a claim this replica holds
// is its own to take again).
func (e *Etcd) Lock(ctx context.Context, name string) (func(), error) {
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	var freed <-chan string
	for {
		_, release, ok, err := e.Claim(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("ownership: lock %s: %w", name, err)
		}
		if ok {
			return release, nil
		}
		if freed == nil {
			// Watch for releases from now on, then try again at once.
			// A release the watch starts too late to see costs at most
			// lockRetry.
			freed = e.Freed(wctx)
			continue
		}
		t := time.NewTimer(lockRetry)
	wait:
		for {
			select {
			case <-ctx.Done():
				t.Stop()
				return nil, fmt.Errorf("ownership: lock %s: %w", name, ctx.Err())
			case <-t.C:
				break wait
			case id, ok := <-freed:
				if !ok {
					freed = nil // a new watch next time round
					break wait
				}
				if id == name {
					break wait
				}
			}
		}
		t.Stop()
	}
}
