package sim

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/canopy-cloud/canopy/providers"
)

// ---------------------------------------------------------------- snapshots

// ListSnapshots implements providers.Snapshots.
func (c *Cloud) ListSnapshots(ctx context.Context) ([]providers.Snapshot, error) {
	if err := c.volCall(ctx, "ListSnapshots", providers.CapSnapshots); err != nil {
		return nil, err
	}
	return c.listSnaps(c.vol.Snapshots), nil
}

func (c *Cloud) listSnaps(m map[string]*snapRec) []providers.Snapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	out := make([]providers.Snapshot, 0, len(m))
	for id := range m {
		if s, ok := c.snapView(m, id, now); ok {
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].NativeID < out[j].NativeID })
	return out
}

// GetSnapshot implements providers.Snapshots.
func (c *Cloud) GetSnapshot(ctx context.Context, id string) (providers.Snapshot, error) {
	if err := c.volCall(ctx, "GetSnapshot", providers.CapSnapshots); err != nil {
		return providers.Snapshot{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.snapView(c.vol.Snapshots, id, time.Now())
	if !ok {
		return providers.Snapshot{}, fmt.Errorf("sim: snapshot %q: %w", id, providers.ErrNotFound)
	}
	return s, nil
}

// copyOf records a snapshot or backup of a volume. Callers hold c.mu.
func (c *Cloud) copyOf(m map[string]*snapRec, prefix, what, name, volumeID, description, token string, labels map[string]string) (*snapRec, error) {
	now := time.Now()
	for _, r := range m {
		if token != "" && r.Token == token {
			return r, nil
		}
	}
	v, ok := c.volView(volumeID, now)
	if !ok {
		return nil, fmt.Errorf("sim: create %s: %w: volume %q does not exist", what, providers.ErrInvalid, volumeID)
	}
	if v.ProviderStatus != "available" && v.ProviderStatus != "in-use" {
		return nil, fmt.Errorf("sim: create %s of volume %q in state %s: %w", what, volumeID, v.ProviderStatus, providers.ErrConflict)
	}
	s := providers.Snapshot{
		Common: providers.Common{
			NativeID: c.newID(prefix), Name: name, Region: c.opts.Regions[0], Zone: v.Zone,
			Created: now, Updated: now, Labels: cloneMap(labels), Properties: map[string]string{},
		},
		VolumeID: volumeID, SizeGiB: v.SizeGiB, Description: description,
	}
	if token != "" {
		s.Properties["client_token"] = token
	}
	r := &snapRec{S: s, T: transition{Raw: "creating", To: "available", Until: now.Add(c.opts.SnapshotDelay)}, Token: token,
		Data: append([]byte(nil), c.vol.Volumes[volumeID].Data...)}
	m[s.NativeID] = r
	return r, nil
}

// CreateSnapshot implements providers.Snapshots. With AsyncSnapshotIDs it
// answers with a job and hides the snapshot until the job is done.
func (c *Cloud) CreateSnapshot(ctx context.Context, spec providers.SnapshotSpec) (providers.Snapshot, error) {
	if err := c.volCall(ctx, "CreateSnapshot", providers.CapSnapshots); err != nil {
		return providers.Snapshot{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	r, err := c.copyOf(c.vol.Snapshots, "snap", "snapshot", spec.Name, spec.VolumeID, spec.Description, spec.IdempotencyToken, spec.Labels)
	if err != nil {
		return providers.Snapshot{}, err
	}
	now := time.Now()
	if c.opts.AsyncSnapshotIDs {
		for jid, j := range c.vol.Jobs {
			if j.SnapshotID == r.S.NativeID {
				c.save()
				return providers.Snapshot{Common: providers.Common{Name: spec.Name, Status: providers.StatusPending, ProviderStatus: "job-running", Created: r.S.Created},
					VolumeID: spec.VolumeID, SizeGiB: r.S.SizeGiB, Description: spec.Description, JobID: jid}, nil
			}
		}
		jid := c.newID("job")
		c.vol.Jobs[jid] = &jobRec{SnapshotID: r.S.NativeID, Until: now.Add(c.opts.SnapshotJobDelay)}
		c.save()
		return providers.Snapshot{Common: providers.Common{Name: spec.Name, Status: providers.StatusPending, ProviderStatus: "job-running", Created: r.S.Created},
			VolumeID: spec.VolumeID, SizeGiB: r.S.SizeGiB, Description: spec.Description, JobID: jid}, nil
	}
	c.save()
	s, _ := c.snapView(c.vol.Snapshots, r.S.NativeID, now)
	return s, nil
}

// SnapshotJob implements providers.SnapshotJobs.
func (c *Cloud) SnapshotJob(ctx context.Context, jobID string) (string, error) {
	if err := c.volCall(ctx, "SnapshotJob", providers.CapSnapshots); err != nil {
		return "", err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	j, ok := c.vol.Jobs[jobID]
	if !ok {
		return "", fmt.Errorf("sim: snapshot job %q: %w", jobID, providers.ErrNotFound)
	}
	if time.Now().Before(j.Until) {
		return "", nil
	}
	return j.SnapshotID, nil
}

// DeleteSnapshot implements providers.Snapshots.
func (c *Cloud) DeleteSnapshot(ctx context.Context, id string) error {
	if err := c.volCall(ctx, "DeleteSnapshot", providers.CapSnapshots); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.deleteCopy(c.vol.Snapshots, "snapshot", id)
}

func (c *Cloud) deleteCopy(m map[string]*snapRec, what, id string) error {
	now := time.Now()
	if r := m[id]; r != nil && r.T.To == deleted {
		return nil
	}
	s, ok := c.snapView(m, id, now)
	if !ok {
		return fmt.Errorf("sim: delete %s %q: %w", what, id, providers.ErrNotFound)
	}
	if s.ProviderStatus != "available" && s.ProviderStatus != "error" {
		return fmt.Errorf("sim: cannot delete %s %q in state %s: %w", what, id, s.ProviderStatus, providers.ErrConflict)
	}
	r := m[id]
	r.T = transition{Raw: "deleting", To: deleted, Until: now.Add(c.opts.SnapshotDelay)}
	if c.opts.SnapshotDelay <= 0 {
		delete(m, id)
	}
	for jid, j := range c.vol.Jobs {
		if j.SnapshotID == id {
			delete(c.vol.Jobs, jid)
		}
	}
	c.save()
	return nil
}
