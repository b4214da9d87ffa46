package sim

import (
	"context"
	"fmt"
	"sync"
)

// fault makes the next count calls of a method fail with err.
type fault struct {
	method string
	err    error
	count  int
}

// InjectFault makes the next count calls of method ("" for any method) fail
// with err. Faults are consumed in the order they were injected.
func (c *Cloud) InjectFault(method string, err error, count int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.faults = append(c.faults, &fault{method: method, err: err, count: count})
}

// HoldCalls makes the calls of method wait, as a cloud that does not
// answer, until release is called (the calls then go on) or their context
// ends (they fail with its error). Unlike a latency, no call gets through
// on a slow machine before the test says so.
func (c *Cloud) HoldCalls(method string) (release func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.holds == nil {
		c.holds = map[string]chan struct{}{}
	}
	ch := make(chan struct{})
	c.holds[method] = ch
	var once sync.Once
	return func() {
		once.Do(func() {
			c.mu.Lock()
			if c.holds[method] == ch {
				delete(c.holds, method)
			}
			c.mu.Unlock()
			close(ch)
		})
	}
}

// held waits while method's calls are held (HoldCalls).
func (c *Cloud) held(ctx context.Context, method string) error {
	c.mu.Lock()
	ch := c.holds[method]
	c.mu.Unlock()
	if ch == nil {
		return nil
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// takeFault returns the error of the first matching fault, consuming one of
// its calls. Callers hold c.mu.
func (c *Cloud) takeFault(method string) error {
	for i, f := range c.faults {
		if f.method != "" && f.method != method {
			continue
		}
		f.count--
		if f.count <= 0 {
			c.faults = append(c.faults[:i], c.faults[i+1:]...)
		}
		return fmt.Errorf("sim: %s: injected fault: %w", method, f.err)
	}
	return nil
}
