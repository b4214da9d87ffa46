package sim

import (
	"fmt"
	"maps"
	"time"

	"github.com/canopy-cloud/canopy/providers"
)

// DuplicateServer makes a second server carrying the same idempotency
// token as server id — what a create repeated after a crash leaves on a
// cloud whose look-up missed the first one — for tests of how canopy
// finds and removes such duplicates. It returns the new server's id.
func (c *Cloud) DuplicateServer(id string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	rec, ok := c.servers[id]
	if !ok {
		return "", fmt.Errorf("sim: duplicate server %q: %w", id, providers.ErrNotFound)
	}
	now := time.Now()
	s := cloneServer(rec.s)
	s.NativeID = c.newID("srv")
	s.Created, s.Updated = now, now
	s.Properties = maps.Clone(rec.s.Properties)
	c.servers[s.NativeID] = &server{s: s, to: providers.StatusActive}
	c.save()
	return s.NativeID, nil
}

// DuplicateVolume does the same for a volume: a second available volume
// with the same token.
func (c *Cloud) DuplicateVolume(id string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	rec, ok := c.vol.Volumes[id]
	if !ok {
		return "", fmt.Errorf("sim: duplicate volume %q: %w", id, providers.ErrNotFound)
	}
	now := time.Now()
	v := rec.V
	v.Labels, v.Properties = maps.Clone(v.Labels), maps.Clone(v.Properties)
	v.NativeID = c.newID("vol")
	v.Created, v.Updated = now, now
	v.Attachments = nil
	c.vol.Volumes[v.NativeID] = &volRec{V: v, T: transition{To: "available"}, Token: rec.Token}
	c.save()
	return v.NativeID, nil
}
