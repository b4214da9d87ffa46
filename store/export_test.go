package store

import "time"

// SetClock makes c's tombstones read their time from now.
func SetClock(c *Cached, now func() time.Time) { c.now = now }

// SetMaxTombstones bounds c's tombstones at n.
func SetMaxTombstones(c *Cached, n int) { c.gone.max = n }
