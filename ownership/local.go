package ownership

import (
	"context"
	"sync"
	"time"
)

// Local is the Owner of the embedded mode, where one canopyd is the only
// process on its store: it owns every cloud at once, in one term that
// ends only with the Acquire context or a Resign.
type Local struct{}

var _ Owner = Local{}

// Acquire implements Owner: at once.
func (Local) Acquire(ctx context.Context, cloud string) (Term, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	t := &localTerm{cloud: cloud, done: make(chan struct{})}
	go func() {
		select {
		case <-ctx.Done():
			t.end()
		case <-t.done:
		}
	}()
	return t, nil
}

type localTerm struct {
	cloud string
	once  sync.Once
	done  chan struct{}
}

func (t *localTerm) Cloud() string                { return t.cloud }
func (t *localTerm) Done() <-chan struct{}        { return t.done }
func (t *localTerm) Token() int64                 { return 1 }
func (t *localTerm) end()                         { t.once.Do(func() { close(t.done) }) }
func (t *localTerm) Resign(context.Context) error { t.end(); return nil }

// retryWait spaces Run's attempts after an Acquire error.
const retryWait = 500 * time.Millisecond

func afterRetry() <-chan time.Time { return time.After(retryWait) }
