package sim

import (
	"fmt"
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
