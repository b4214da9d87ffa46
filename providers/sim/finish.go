package sim

// Hooks for tests: the sim's transitions run on the wall clock, so a test
// that must see a resource mid-transition gives the cloud a long delay (an
// hour) and ends the transition itself once it has seen it, rather than
// racing a short delay on a loaded machine. FinishTransition (sim.go) is
// the servers' one.

import "time"

// FinishSnapshotJobs ends every snapshot job still running, as if its
// delay (snapshot_job_delay) had passed, and says how many it ended.
func (c *Cloud) FinishSnapshotJobs() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	now, n := time.Now(), 0
	for _, j := range c.vol.Jobs {
		if now.Before(j.Until) {
			j.Until = now
			n++
		}
	}
	if n > 0 {
		c.save()
	}
	return n
}

// FinishVolumeTransitions ends every volume transition in flight (a
// create, an extend, a delete), as if its delay (volume_delay) had passed,
// and says how many it ended.
func (c *Cloud) FinishVolumeTransitions() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	now, n := time.Now(), 0
	for _, r := range c.vol.Volumes {
		if now.Before(r.T.Until) {
			r.T.Until = now
			n++
		}
	}
	if n > 0 {
		c.save()
	}
	return n
}

// FinishImports ends every image import in flight, as if its delay
// (image_import_delay) had passed: the images are ACTIVE. It says how many
// it ended.
func (c *Cloud) FinishImports() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	now, n := time.Now(), 0
	for id, until := range c.imports {
		if now.Before(until) {
			c.imports[id] = now
			n++
		}
	}
	if n > 0 {
		c.settleImports(now)
		c.save()
	}
	return n
}
