package sim

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/canopy-cloud/canopy/providers"
)

// The simulator's block storage: volumes, snapshots, backups and snapshot
// jobs, with Cinder's status words and state rules, every transition timed
// like servers' (evaluated when read), the data of each volume kept as bytes
// (VolumeData), and switches that take features away (VolumeOptions).

// VolumeOptions are the block-storage knobs of a simulated cloud; they are
// part of Options (YAML keys in parentheses).
type VolumeOptions struct {
	// NoVolumes: the cloud has no block storage at all (no_volumes).
	NoVolumes bool `json:"no_volumes"`
	// NoSnapshots: no volume snapshots (no_snapshots).
	NoSnapshots bool `json:"no_snapshots"`
	// NoBackups: no volume backups (no_backups).
	NoBackups bool `json:"no_backups"`
	// NoVolumeFromImage: CreateVolume refuses an image source, as EBS does
	// (no_volume_from_image); servers still get a root volume from an image
	// (ServerSpec.RootVolumeGiB), as EC2 does.
	NoVolumeFromImage bool `json:"no_volume_from_image"`
	// NoVolumeData: the cloud's volume content cannot be read or written
	// (no_volume_data), so canopy cannot emulate snapshots or backups.
	NoVolumeData bool `json:"no_volume_data"`
	// AsyncSnapshotIDs: CreateSnapshot answers with a job id; the snapshot
	// id comes from SnapshotJob after SnapshotJobDelay (async_snapshot_ids).
	AsyncSnapshotIDs bool `json:"async_snapshot_ids"`
	// VolumeDelay is how long volume creates, deletes, extends, attaches
	// and detaches take (volume_delay).
	VolumeDelay time.Duration `json:"-"`
	// SnapshotDelay is how long snapshots and backups take to create and
	// delete (snapshot_delay).
	SnapshotDelay time.Duration `json:"-"`
	// SnapshotJobDelay is how long a snapshot job runs before it tells the
	// snapshot id (snapshot_job_delay).
	SnapshotJobDelay time.Duration `json:"-"`
}

// volumeOptionKeys are the YAML keys of VolumeOptions; durations map to
// their fields.
var volumeOptionKeys = map[string]bool{"no_volumes": true, "no_snapshots": true, "no_backups": true, "no_volume_from_image": true,
	"no_volume_data": true, "async_snapshot_ids": true, "volume_delay": true, "snapshot_delay": true, "snapshot_job_delay": true}

func (o *VolumeOptions) durations() map[string]*time.Duration {
	return map[string]*time.Duration{"volume_delay": &o.VolumeDelay, "snapshot_delay": &o.SnapshotDelay, "snapshot_job_delay": &o.SnapshotJobDelay}
}

// volumeState is the simulator's block storage; it is persisted with the
// rest of the cloud (state.go). Callers hold c.mu.
type volumeState struct {
	Volumes   map[string]*volRec  `json:"volumes"`
	Snapshots map[string]*snapRec `json:"snapshots"`
	Backups   map[string]*snapRec `json:"backups"`
	Jobs      map[string]*jobRec  `json:"jobs"`
}

func newVolumeState() *volumeState {
	return &volumeState{Volumes: map[string]*volRec{}, Snapshots: map[string]*snapRec{}, Backups: map[string]*snapRec{}, Jobs: map[string]*jobRec{}}
}

// fill makes every map non-nil (after loading an older state file).
func (v *volumeState) fill() {
	if v.Volumes == nil {
		v.Volumes = map[string]*volRec{}
	}
	if v.Snapshots == nil {
		v.Snapshots = map[string]*snapRec{}
	}
	if v.Backups == nil {
		v.Backups = map[string]*snapRec{}
	}
	if v.Jobs == nil {
		v.Jobs = map[string]*jobRec{}
	}
}

// transition is a timed change of raw status: Raw until Until, then To
// ("deleted" removes the resource).
type transition struct {
	Raw   string    `json:"raw,omitempty"`
	To    string    `json:"to"`
	Until time.Time `json:"until"`
}

func (t transition) now(at time.Time) string {
	if at.Before(t.Until) {
		return t.Raw
	}
	return t.To
}

type volRec struct {
	V     providers.Volume `json:"volume"`
	T     transition       `json:"t"`
	Token string           `json:"token,omitempty"`
	Data  []byte           `json:"data,omitempty"`
}

// snapRec is a snapshot or a backup.
type snapRec struct {
	S     providers.Snapshot `json:"snapshot"`
	T     transition         `json:"t"`
	Token string             `json:"token,omitempty"`
	Data  []byte             `json:"data,omitempty"`
}

// jobRec is a snapshot job: the snapshot exists from the start but the
// cloud hides it (and its id) until the job is done.
type jobRec struct {
	SnapshotID string    `json:"snapshot_id"`
	Until      time.Time `json:"until"`
}

const deleted = "deleted"

// volumeStatus normalizes Cinder's volume, snapshot and backup words.
func volumeStatus(raw string) providers.Status {
	switch raw {
	case "creating", "restoring-backup", "downloading":
		return providers.StatusPending
	case "available", "in-use":
		return providers.StatusActive
	case "attaching", "detaching", "extending", "backing-up":
		return providers.StatusUpdating
	case "deleting":
		return providers.StatusDeleting
	case "error", "error_deleting", "error_extending":
		return providers.StatusError
	}
	return providers.StatusUnknown
}

// Has implements providers.Limited: the switches take capabilities away.
func (c *Cloud) Has(capability string) bool {
	o := c.opts.VolumeOptions
	switch capability {
	case providers.CapVolumes:
		return !o.NoVolumes
	case providers.CapSnapshots:
		return !o.NoVolumes && !o.NoSnapshots
	case providers.CapBackups:
		return !o.NoVolumes && !o.NoBackups
	case providers.CapVolumeFromImage:
		return !o.NoVolumes && !o.NoVolumeFromImage
	case providers.CapVolumeData:
		return !o.NoVolumes && !o.NoVolumeData
	}
	return true
}

// volCall is the prologue of every block-storage method: the usual call
// accounting and faults, then the capability switch.
func (c *Cloud) volCall(ctx context.Context, method, capability string) error {
	if err := c.call(ctx, method); err != nil {
		return err
	}
	if !c.Has(capability) {
		return fmt.Errorf("sim: %s: %w: this cloud has no %s", method, providers.ErrUnsupported, capability)
	}
	return nil
}

// volView returns the volume as a client would see it now, or false when
// it has finished deleting (and removes it). Attachments to servers that no
// longer exist are dropped, as Nova does when it deletes a server.
func (c *Cloud) volView(id string, now time.Time) (providers.Volume, bool) {
	r := c.vol.Volumes[id]
	if r == nil {
		return providers.Volume{}, false
	}
	raw := r.T.now(now)
	if raw == deleted {
		delete(c.vol.Volumes, id)
		return providers.Volume{}, false
	}
	if !now.Before(r.T.Until) && r.T.Until.After(r.V.Updated) {
		r.V.Updated = r.T.Until
	}
	var keep []providers.Attachment
	for _, a := range r.V.Attachments {
		if _, ok := c.view(a.ServerID, now); ok {
			keep = append(keep, a)
		}
	}
	if len(keep) != len(r.V.Attachments) {
		r.V.Attachments = keep
		if len(keep) == 0 && r.T.To == "in-use" {
			r.T = transition{To: "available"}
		}
		raw = r.T.now(now)
	}
	v := r.V
	v.Status, v.ProviderStatus = volumeStatus(raw), raw
	v.Labels, v.Properties = cloneMap(v.Labels), cloneMap(v.Properties)
	v.Attachments = append([]providers.Attachment(nil), v.Attachments...)
	return v, true
}

func (c *Cloud) snapView(m map[string]*snapRec, id string, now time.Time) (providers.Snapshot, bool) {
	r := m[id]
	if r == nil {
		return providers.Snapshot{}, false
	}
	if j, ok := c.jobOf(id); ok && now.Before(j.Until) {
		return providers.Snapshot{}, false // hidden until its job is done
	}
	raw := r.T.now(now)
	if raw == deleted {
		delete(m, id)
		return providers.Snapshot{}, false
	}
	s := r.S
	s.Status, s.ProviderStatus = volumeStatus(raw), raw
	s.Labels, s.Properties = cloneMap(s.Labels), cloneMap(s.Properties)
	return s, true
}

func (c *Cloud) jobOf(snapshotID string) (*jobRec, bool) {
	for _, j := range c.vol.Jobs {
		if j.SnapshotID == snapshotID {
			return j, true
		}
	}
	return nil, false
}

// ListVolumes implements providers.Volumes.
func (c *Cloud) ListVolumes(ctx context.Context) ([]providers.Volume, error) {
	if err := c.volCall(ctx, "ListVolumes", providers.CapVolumes); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	out := make([]providers.Volume, 0, len(c.vol.Volumes))
	for id := range c.vol.Volumes {
		if v, ok := c.volView(id, now); ok {
			out = append(out, v)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].NativeID < out[j].NativeID })
	return out, nil
}

// GetVolume implements providers.Volumes.
func (c *Cloud) GetVolume(ctx context.Context, id string) (providers.Volume, error) {
	if err := c.volCall(ctx, "GetVolume", providers.CapVolumes); err != nil {
		return providers.Volume{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.volView(id, time.Now())
	if !ok {
		return providers.Volume{}, fmt.Errorf("sim: volume %q: %w", id, providers.ErrNotFound)
	}
	return v, nil
}

// CreateVolume implements providers.Volumes. A token seen before returns
// the same volume.
func (c *Cloud) CreateVolume(ctx context.Context, spec providers.VolumeSpec) (providers.Volume, error) {
	if err := c.volCall(ctx, "CreateVolume", providers.CapVolumes); err != nil {
		return providers.Volume{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if v, ok := c.volumeByToken(spec.IdempotencyToken, now); ok {
		return v, nil
	}
	var data []byte
	var bootable bool
	switch {
	case spec.ImageID != "" && spec.SnapshotID != "":
		return providers.Volume{}, fmt.Errorf("sim: create volume: %w: both an image and a snapshot", providers.ErrInvalid)
	case spec.ImageID != "":
		if c.opts.NoVolumeFromImage {
			return providers.Volume{}, fmt.Errorf("sim: create volume: %w: this cloud cannot create a volume from an image", providers.ErrUnsupported)
		}
		im, ok := c.image(spec.ImageID)
		if !ok {
			return providers.Volume{}, fmt.Errorf("sim: create volume: %w: image %q does not exist", providers.ErrInvalid, spec.ImageID)
		}
		if min := imageGiB(im); spec.SizeGiB < min {
			return providers.Volume{}, fmt.Errorf("sim: create volume: %w: image %s needs at least %d GiB", providers.ErrInvalid, im.Name, min)
		}
		data, bootable = imageData(im), true
	case spec.SnapshotID != "":
		if c.opts.NoSnapshots {
			return providers.Volume{}, fmt.Errorf("sim: create volume: %w: this cloud has no snapshots", providers.ErrUnsupported)
		}
		s, ok := c.snapView(c.vol.Snapshots, spec.SnapshotID, now)
		if !ok {
			return providers.Volume{}, fmt.Errorf("sim: create volume: %w: snapshot %q does not exist", providers.ErrInvalid, spec.SnapshotID)
		}
		if s.Status != providers.StatusActive {
			return providers.Volume{}, fmt.Errorf("sim: create volume from snapshot %q in state %s: %w", spec.SnapshotID, s.ProviderStatus, providers.ErrConflict)
		}
		if spec.SizeGiB == 0 {
			spec.SizeGiB = s.SizeGiB
		}
		if spec.SizeGiB < s.SizeGiB {
			return providers.Volume{}, fmt.Errorf("sim: create volume: %w: smaller (%d GiB) than snapshot %s (%d GiB)", providers.ErrInvalid, spec.SizeGiB, spec.SnapshotID, s.SizeGiB)
		}
		data = append([]byte(nil), c.vol.Snapshots[spec.SnapshotID].Data...)
	}
	if spec.SizeGiB <= 0 {
		return providers.Volume{}, fmt.Errorf("sim: create volume: %w: size must be positive", providers.ErrInvalid)
	}
	zone, err := c.zoneOf(spec.Zone)
	if err != nil {
		return providers.Volume{}, fmt.Errorf("sim: create volume: %w", err)
	}
	v := c.newVolume(spec, zone, now, data)
	v.Bootable = bootable
	return v, nil
}

// newVolume records a volume in "creating". Callers hold c.mu.
func (c *Cloud) newVolume(spec providers.VolumeSpec, zone string, now time.Time, data []byte) providers.Volume {
	typ := spec.Type
	if typ == "" {
		typ = "standard"
	}
	v := providers.Volume{
		Common: providers.Common{
			NativeID: c.newID("vol"), Name: spec.Name, Region: c.opts.Regions[0], Zone: zone,
			Created: now, Updated: now, Labels: cloneMap(spec.Labels), Properties: map[string]string{},
		},
		SizeGiB: spec.SizeGiB, Type: typ, ImageID: spec.ImageID, SnapshotID: spec.SnapshotID, Bootable: spec.ImageID != "",
	}
	if spec.Description != "" {
		v.Properties["description"] = spec.Description
	}
	if spec.IdempotencyToken != "" {
		v.Properties["client_token"] = spec.IdempotencyToken
	}
	c.vol.Volumes[v.NativeID] = &volRec{V: v, T: transition{Raw: "creating", To: "available", Until: now.Add(c.opts.VolumeDelay)}, Token: spec.IdempotencyToken, Data: data}
	c.save()
	out, _ := c.volView(v.NativeID, now)
	return out
}

func (c *Cloud) volumeByToken(token string, now time.Time) (providers.Volume, bool) {
	if token == "" {
		return providers.Volume{}, false
	}
	for id, r := range c.vol.Volumes {
		if r.Token == token {
			return c.volView(id, now)
		}
	}
	return providers.Volume{}, false
}

func (c *Cloud) zoneOf(zone string) (string, error) {
	if zone == "" {
		return c.opts.Zones[0], nil
	}
	if !contains(c.opts.Zones, zone) {
		return "", fmt.Errorf("%w: zone %q does not exist", providers.ErrInvalid, zone)
	}
	return zone, nil
}

func (c *Cloud) image(id string) (providers.Image, bool) {
	for _, im := range c.images {
		if im.NativeID == id {
			return im, true
		}
	}
	return providers.Image{}, false
}

// imageGiB is the smallest volume an image fits on.
func imageGiB(im providers.Image) int64 {
	gib := (im.SizeBytes + 1<<30 - 1) >> 30
	if im.MinDiskGiB > gib {
		gib = im.MinDiskGiB
	}
	if gib < 1 {
		gib = 1
	}
	return gib
}

// imageData is what a volume made from an image holds in the simulator.
func imageData(im providers.Image) []byte { return []byte("image:" + im.NativeID) }

// changeVolume starts a transition of a volume that is in one of the
// states from. Callers hold c.mu.
func (c *Cloud) changeVolume(method, id string, from []string, raw, to string, mutate func(*volRec) error) error {
	now := time.Now()
	v, ok := c.volView(id, now)
	if !ok {
		return fmt.Errorf("sim: %s %q: %w", method, id, providers.ErrNotFound)
	}
	if !contains(from, v.ProviderStatus) {
		return fmt.Errorf("sim: cannot %s volume %q in state %s: %w", method, id, v.ProviderStatus, providers.ErrConflict)
	}
	if to == "" {
		to = v.ProviderStatus // back to where it was (extend)
	}
	r := c.vol.Volumes[id]
	if mutate != nil {
		if err := mutate(r); err != nil {
			return err
		}
	}
	r.T = transition{Raw: raw, To: to, Until: now.Add(c.opts.VolumeDelay)}
	r.V.Updated = now
	if to == deleted && c.opts.VolumeDelay <= 0 {
		delete(c.vol.Volumes, id)
	}
	c.save()
	return nil
}

// DeleteVolume implements providers.Volumes. Like Cinder it refuses a
// volume that is attached or has snapshots.
func (c *Cloud) DeleteVolume(ctx context.Context, id string) error {
	if err := c.volCall(ctx, "DeleteVolume", providers.CapVolumes); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if r := c.vol.Volumes[id]; r != nil && r.T.To == deleted {
		return nil // already deleting
	}
	now := time.Now()
	for sid, s := range c.vol.Snapshots {
		if s.S.VolumeID == id {
			if _, ok := c.snapView(c.vol.Snapshots, sid, now); ok || c.hiddenByJob(sid, now) {
				return fmt.Errorf("sim: delete volume %q: it has snapshot %s: %w", id, sid, providers.ErrConflict)
			}
		}
	}
	return c.changeVolume("delete", id, []string{"available", "error"}, "deleting", deleted, nil)
}

func (c *Cloud) hiddenByJob(snapshotID string, now time.Time) bool {
	j, ok := c.jobOf(snapshotID)
	return ok && now.Before(j.Until)
}

// ExtendVolume implements providers.Volumes.
func (c *Cloud) ExtendVolume(ctx context.Context, id string, sizeGiB int64) error {
	if err := c.volCall(ctx, "ExtendVolume", providers.CapVolumes); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.changeVolume("extend", id, []string{"available", "in-use"}, "extending", "", func(r *volRec) error {
		if sizeGiB <= r.V.SizeGiB {
			return fmt.Errorf("sim: extend volume %q to %d GiB: %w: it has %d GiB already", id, sizeGiB, providers.ErrInvalid, r.V.SizeGiB)
		}
		r.V.SizeGiB = sizeGiB
		return nil
	})
}

// AttachVolume implements providers.Volumes.
func (c *Cloud) AttachVolume(ctx context.Context, volumeID, serverID string) error {
	if err := c.volCall(ctx, "AttachVolume", providers.CapVolumes); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	sv, ok := c.view(serverID, time.Now())
	if !ok {
		return fmt.Errorf("sim: attach volume %q: %w: server %q does not exist", volumeID, providers.ErrNotFound, serverID)
	}
	if sv.Status != providers.StatusActive && sv.Status != providers.StatusStopped {
		return fmt.Errorf("sim: attach volume %q to server %q in state %s: %w", volumeID, serverID, sv.ProviderStatus, providers.ErrConflict)
	}
	return c.changeVolume("attach", volumeID, []string{"available"}, "attaching", "in-use", func(r *volRec) error {
		if r.V.Zone != sv.Zone {
			return fmt.Errorf("sim: attach volume %q (zone %s) to server %q (zone %s): %w: not in the same zone", volumeID, r.V.Zone, serverID, sv.Zone, providers.ErrInvalid)
		}
		r.V.Attachments = []providers.Attachment{{ServerID: serverID, Device: "/dev/vdb"}}
		return nil
	})
}

// DetachVolume implements providers.Volumes.
func (c *Cloud) DetachVolume(ctx context.Context, volumeID, serverID string) error {
	if err := c.volCall(ctx, "DetachVolume", providers.CapVolumes); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.changeVolume("detach", volumeID, []string{"in-use"}, "detaching", "available", func(r *volRec) error {
		for _, a := range r.V.Attachments {
			if a.ServerID == serverID {
				r.V.Attachments = nil
				return nil
			}
		}
		return fmt.Errorf("sim: detach volume %q: %w: not attached to server %q", volumeID, providers.ErrConflict, serverID)
	})
}

// ReadVolumeData implements providers.VolumeData: a reader over a copy of
// the bytes written (the simulator keeps a volume's data in memory; it is
// the default and test cloud, never a place for gigabytes).
func (c *Cloud) ReadVolumeData(ctx context.Context, volumeID string) (io.ReadCloser, error) {
	if err := c.volCall(ctx, "ReadVolumeData", providers.CapVolumeData); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.volView(volumeID, time.Now()); !ok {
		return nil, fmt.Errorf("sim: read volume %q: %w", volumeID, providers.ErrNotFound)
	}
	return io.NopCloser(bytes.NewReader(append([]byte(nil), c.vol.Volumes[volumeID].Data...))), nil
}

// WriteVolumeData implements providers.VolumeData: the bytes replace the
// volume's content. They must fit the volume; the volume must be available
// before and after the stream (it is read without the lock held).
func (c *Cloud) WriteVolumeData(ctx context.Context, volumeID string, r io.Reader) error {
	if err := c.volCall(ctx, "WriteVolumeData", providers.CapVolumeData); err != nil {
		return err
	}
	check := func() (int64, error) {
		v, ok := c.volView(volumeID, time.Now())
		if !ok {
			return 0, fmt.Errorf("sim: write volume %q: %w", volumeID, providers.ErrNotFound)
		}
		if v.Status != providers.StatusActive {
			return 0, fmt.Errorf("sim: write volume %q in state %s: %w", volumeID, v.ProviderStatus, providers.ErrConflict)
		}
		return v.SizeGiB << 30, nil
	}
	c.mu.Lock()
	limit, err := check()
	c.mu.Unlock()
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(r, limit+1))
	if err != nil {
		return fmt.Errorf("sim: write volume %q: %w", volumeID, err)
	}
	if n > limit {
		return fmt.Errorf("sim: write volume %q: %w: more bytes than its %d GiB", volumeID, providers.ErrInvalid, limit>>30)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := check(); err != nil {
		return err
	}
	c.vol.Volumes[volumeID].Data = buf.Bytes()
	c.save()
	return nil
}
