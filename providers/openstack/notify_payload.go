package openstack

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/canopy-cloud/canopy/providers"
)

// envelope is oslo.messaging's v2 wire format: the message itself is a JSON
// string inside it ("messagingv2" driver). A v1 ("messaging") message is
// the inner object directly.
type envelope struct {
	Version string `json:"oslo.version"`
	Message string `json:"oslo.message"`
}

// notification is one oslo notification.
type notification struct {
	MessageID   string          `json:"message_id"`
	PublisherID string          `json:"publisher_id"`
	EventType   string          `json:"event_type"`
	Priority    string          `json:"priority"`
	Timestamp   string          `json:"timestamp"`
	Payload     json.RawMessage `json:"payload"`
	ProjectID   string          `json:"_context_project_id"`
}

// decodeNotification unwraps one AMQP body into its notification.
func decodeNotification(body []byte) (notification, error) {
	var n notification
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return n, fmt.Errorf("notification: %w", err)
	}
	inner := body
	if env.Message != "" {
		if !strings.HasPrefix(env.Version, "2.") {
			return n, fmt.Errorf("notification: oslo.version %q: want 2.x", env.Version)
		}
		inner = []byte(env.Message)
	}
	if err := json.Unmarshal(inner, &n); err != nil {
		return n, fmt.Errorf("notification: message: %w", err)
	}
	if n.EventType == "" {
		return n, fmt.Errorf("notification: no event_type")
	}
	return n, nil
}

// osloTime parses the times oslo and the services write: oslo's
// "2006-01-02 15:04:05.999999" (UTC, no zone), RFC 3339, and Nova's
// "2006-01-02T15:04:05Z".
func osloTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999", "2006-01-02T15:04:05.999999", "2006-01-02 15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

// novaObject is a versioned notification's object: its fields are in data.
type novaObject struct {
	Name string          `json:"nova_object.name"`
	Data json.RawMessage `json:"nova_object.data"`
}

// instancePayload is what canopy reads of Nova's InstancePayload (and the
// InstanceUpdatePayload and InstanceActionPayload built on it).
type instancePayload struct {
	UUID             string            `json:"uuid"`
	DisplayName      string            `json:"display_name"`
	State            string            `json:"state"`
	TaskState        *string           `json:"task_state"`
	PowerState       string            `json:"power_state"`
	TenantID         string            `json:"tenant_id"`
	ImageUUID        string            `json:"image_uuid"`
	KeyName          string            `json:"key_name"`
	AvailabilityZone string            `json:"availability_zone"`
	CreatedAt        string            `json:"created_at"`
	UpdatedAt        string            `json:"updated_at"`
	Metadata         map[string]string `json:"metadata"`
	Tags             []string          `json:"tags"`
	Flavor           *novaObject       `json:"flavor"`
	IPAddresses      []novaObject      `json:"ip_addresses"`
	Fault            *novaObject       `json:"fault"`
}

type flavorPayload struct {
	FlavorID string `json:"flavorid"`
	Name     string `json:"name"`
}

type ipPayload struct {
	Label   string `json:"label"`
	Address string `json:"address"`
	Version int32  `json:"version"`
}

type faultPayload struct {
	Message string `json:"exception_message"`
}

// novaStatus is the API status Nova shows for a vm_state and task_state
// (nova/api/openstack/common.py's state map), which the list path reads.
func novaStatus(vmState, taskState string) string {
	task := strings.ToLower(taskState)
	switch strings.ToLower(vmState) {
	case "active":
		switch task {
		case "rebooting", "reboot_pending", "reboot_started":
			return "REBOOT"
		case "rebooting_hard", "reboot_pending_hard", "reboot_started_hard":
			return "HARD_REBOOT"
		case "updating_password":
			return "PASSWORD"
		case "resize_prep", "resize_migrating", "resize_migrated", "resize_finish":
			return "RESIZE"
		case "migrating":
			return "MIGRATING"
		case "rebuilding", "rebuild_block_device_mapping", "rebuild_spawning":
			return "REBUILD"
		}
		return "ACTIVE"
	case "building":
		return "BUILD"
	case "stopped":
		switch task {
		case "resize_prep", "resize_migrating", "resize_migrated", "resize_finish":
			return "RESIZE"
		case "rebuilding", "rebuild_block_device_mapping", "rebuild_spawning":
			return "REBUILD"
		}
		return "SHUTOFF"
	case "resized":
		if task == "resize_reverting" {
			return "REVERT_RESIZE"
		}
		return "VERIFY_RESIZE"
	case "paused":
		if task == "migrating" {
			return "MIGRATING"
		}
		return "PAUSED"
	case "suspended":
		return "SUSPENDED"
	case "rescued":
		return "RESCUE"
	case "error":
		if task == "rebuilding" {
			return "REBUILD"
		}
		return "ERROR"
	case "deleted":
		return "DELETED"
	case "soft-delete":
		return "SOFT_DELETED"
	case "shelved":
		return "SHELVED"
	case "shelved_offloaded":
		return "SHELVED_OFFLOADED"
	}
	return "UNKNOWN"
}

// novaPowerState is the name gophercloud gives Nova's power state (what a
// listed server's power_state property holds).
func novaPowerState(s string) string {
	switch strings.ToLower(s) {
	case "", "pending":
		return "NOSTATE"
	}
	return strings.ToUpper(s)
}

// serverChange reads a Nova versioned instance.* notification.
func serverChange(region string, n notification) (providers.Change, error) {
	var obj novaObject
	if err := json.Unmarshal(n.Payload, &obj); err != nil || len(obj.Data) == 0 {
		return providers.Change{}, fmt.Errorf("%s: not a versioned payload", n.EventType)
	}
	var p instancePayload
	if err := json.Unmarshal(obj.Data, &p); err != nil {
		return providers.Change{}, fmt.Errorf("%s: %s: %w", n.EventType, obj.Name, err)
	}
	if p.UUID == "" {
		return providers.Change{}, fmt.Errorf("%s: no instance uuid", n.EventType)
	}
	task := ""
	if p.TaskState != nil {
		task = *p.TaskState
	}
	status := novaStatus(p.State, task)
	props := map[string]string{"vm_state": p.State, "power_state": novaPowerState(p.PowerState)}
	if task != "" {
		props["task_state"] = task
	}
	var user []string
	for _, t := range p.Tags {
		if tok, ok := strings.CutPrefix(t, tokenTagPrefix); ok {
			props[providers.PropToken] = tok
		} else {
			user = append(user, t)
		}
	}
	if len(user) > 0 {
		props["tags"] = strings.Join(user, ",")
	}
	sv := providers.Server{
		Common: providers.Common{
			NativeID: p.UUID, Name: p.DisplayName, Region: region, Zone: p.AvailabilityZone,
			Status: serverStatus(status, task), ProviderStatus: status,
			Created: osloTime(p.CreatedAt), Updated: osloTime(p.UpdatedAt), Labels: copyMap(p.Metadata), Properties: props,
		},
		ImageID: p.ImageUUID, Keypair: p.KeyName,
	}
	if p.Flavor != nil {
		var f flavorPayload
		if json.Unmarshal(p.Flavor.Data, &f) == nil {
			sv.FlavorID = f.FlavorID
			if f.Name != "" {
				props["flavor_name"] = f.Name
			}
		}
	}
	for _, ip := range p.IPAddresses {
		var a ipPayload
		if json.Unmarshal(ip.Data, &a) == nil && a.Address != "" {
			sv.Addresses = append(sv.Addresses, providers.Address{Network: a.Label, IP: a.Address, Version: a.Version, Type: "fixed"})
		}
	}
	if p.Fault != nil {
		var f faultPayload
		if json.Unmarshal(p.Fault.Data, &f) == nil {
			sv.StatusMessage = f.Message
		}
	}
	// Nova fills the payload before the save it announces, so updated_at
	// is the previous change's (recorded: an instance.update saying ACTIVE
	// at 17:44:34.25 carries updated_at 17:44:17). It still orders one
	// server's announcements (it never goes back); the server as shown
	// is dated when Nova sent it.
	emitted := osloTime(n.Timestamp)
	updated := sv.Updated
	if emitted.After(sv.Updated) {
		sv.Updated = emitted
	}
	ch := providers.Change{Kind: providers.KindServer, NativeID: p.UUID, Server: &sv,
		Updated: updated, Emitted: emitted, MessageID: n.MessageID, EventType: n.EventType,
		// InstanceUpdatePayload and InstanceCreatePayload carry tags, the
		// action payloads not; and while Nova builds, the tags a create
		// posted may not be on the instance yet.
		Adoptable: p.Tags != nil && !strings.EqualFold(p.State, "building")}
	switch n.EventType {
	case "instance.delete.end", "instance.soft_delete.end":
		ch.Deleted = true
	}
	if strings.EqualFold(p.State, "deleted") {
		ch.Deleted = true
	}
	return ch, nil
}

// volumePayload is what canopy reads of Cinder's (unversioned) volume.*
// notification payload (cinder/volume/volume_utils.py
// _usage_from_volume).
type volumePayload struct {
	VolumeID         string          `json:"volume_id"`
	TenantID         string          `json:"tenant_id"`
	DisplayName      string          `json:"display_name"`
	Size             int64           `json:"size"`
	Status           string          `json:"status"`
	AvailabilityZone string          `json:"availability_zone"`
	CreatedAt        string          `json:"created_at"`
	UpdatedAt        string          `json:"updated_at"`
	SnapshotID       string          `json:"snapshot_id"`
	Metadata         json.RawMessage `json:"metadata"`
	Attachments      []struct {
		InstanceUUID string `json:"instance_uuid"`
		Mountpoint   string `json:"mountpoint"`
		AttachStatus string `json:"attach_status"`
	} `json:"volume_attachment"`
}

// volumeChange reads a Cinder volume.* notification. Its volume_type is the
// type's id where a read shows its name, and it lacks the description and
// bootable, so the volume is Partial: the caller lays only the status,
// size and attachments of it over the volume it knows.
func volumeChange(region string, n notification) (providers.Change, error) {
	var p volumePayload
	if err := json.Unmarshal(n.Payload, &p); err != nil {
		return providers.Change{}, fmt.Errorf("%s: %w", n.EventType, err)
	}
	if p.VolumeID == "" {
		return providers.Change{}, fmt.Errorf("%s: no volume_id", n.EventType)
	}
	v := providers.Volume{
		Common: providers.Common{
			NativeID: p.VolumeID, Name: p.DisplayName, Region: region, Zone: p.AvailabilityZone,
			Status: volumeStatus(p.Status), ProviderStatus: p.Status,
			Created: osloTime(p.CreatedAt), Updated: osloTime(p.UpdatedAt),
		},
		SizeGiB: p.Size, SnapshotID: p.SnapshotID, Partial: true,
	}
	emitted := osloTime(n.Timestamp)
	updated := v.Updated
	if v.Updated.IsZero() {
		// Zed's payload has no updated_at: the volume as shown is dated
		// when Cinder sent it (ordering still uses what the payload says).
		v.Updated = emitted
	}
	if md := volumeMetadata(p.Metadata); len(md) > 0 {
		labels, token := splitToken(md)
		v.Labels = labels
		if token != "" {
			v.Properties = map[string]string{providers.PropToken: token}
		}
	}
	if v.Status == providers.StatusError {
		v.StatusMessage = "Cinder reports the volume in status " + p.Status
	}
	for _, a := range p.Attachments {
		if a.InstanceUUID != "" && a.AttachStatus != "detached" {
			v.Attachments = append(v.Attachments, providers.Attachment{ServerID: a.InstanceUUID, Device: a.Mountpoint})
		}
	}
	ch := providers.Change{Kind: providers.KindVolume, NativeID: p.VolumeID, Volume: &v,
		Updated: updated, Emitted: emitted, MessageID: n.MessageID, EventType: n.EventType,
		Adoptable: len(p.Metadata) > 0 && string(p.Metadata) != "null"}
	if n.EventType == "volume.delete.end" || p.Status == "deleted" {
		ch.Deleted = true
	}
	return ch, nil
}

// volumeMetadata reads Cinder's metadata, a {key: value} object or a list
// of {key, value} (both appear across releases).
func volumeMetadata(raw json.RawMessage) map[string]string {
	if len(raw) == 0 {
		return nil
	}
	var m map[string]string
	if json.Unmarshal(raw, &m) == nil {
		return m
	}
	var kv []struct{ Key, Value string }
	if json.Unmarshal(raw, &kv) == nil {
		m = map[string]string{}
		for _, x := range kv {
			m[x.Key] = x.Value
		}
	}
	return m
}

// idPayload finds a resource id in an unversioned payload (Glance's image
// is the payload itself; Neutron nests it under the resource name).
func idPayload(raw json.RawMessage, nested string) string {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return ""
	}
	if nested != "" {
		if inner, ok := m[nested]; ok {
			if id := idPayload(inner, ""); id != "" {
				return id
			}
		}
		if id, ok := m[nested+"_id"]; ok {
			var s string
			_ = json.Unmarshal(id, &s)
			return s
		}
	}
	var s string
	_ = json.Unmarshal(m["id"], &s)
	return s
}

// toChange reads any notification canopy follows. ok is false for one it
// does not (volume.exists audits, compute.*, ...). Cinder's snapshot.* and
// backup.* are read in notify_copies.go. Glance's and Neutron's
// carry only the kind and id: they make the caller relist that kind.
func toChange(region string, n notification) (ch providers.Change, ok bool, err error) {
	et := n.EventType
	base := providers.Change{Emitted: osloTime(n.Timestamp), MessageID: n.MessageID, EventType: et}
	switch {
	case strings.HasPrefix(et, "instance."):
		if strings.HasPrefix(et, "instance.exists") {
			return ch, false, nil
		}
		ch, err = serverChange(region, n)
		return ch, err == nil, err
	case strings.HasPrefix(et, "volume."):
		if et == "volume.exists" || strings.HasPrefix(et, "volume.usage") {
			return ch, false, nil
		}
		ch, err = volumeChange(region, n)
		return ch, err == nil, err
	case strings.HasPrefix(et, "snapshot."):
		if et == "snapshot.exists" {
			return ch, false, nil
		}
		ch, err = snapshotChange(region, n)
		return ch, err == nil, err
	case strings.HasPrefix(et, "backup."):
		if et == "backup.exists" {
			return ch, false, nil
		}
		if strings.HasPrefix(et, "backup.restore.") {
			// About the restore's target volume, which the payload does
			// not name (its volume_id is the backup's source): the
			// volumes are relisted, and the backup's own state taken.
			ch, err = backupChange(region, n)
			if err == nil {
				ch.Relist = []string{providers.KindVolume}
			}
			return ch, err == nil, err
		}
		ch, err = backupChange(region, n)
		return ch, err == nil, err
	case strings.HasPrefix(et, "image."):
		base.Kind, base.NativeID = providers.KindImage, idPayload(n.Payload, "")
		base.Deleted = et == "image.delete"
		return base, true, nil
	}
	for prefix, kind := range map[string]string{"network.": providers.KindNetwork, "port.": providers.KindPort, "floatingip.": providers.KindFloatingIP, "security_group.": providers.KindSecurityGroup, "security_group_rule.": providers.KindSecurityGroup} {
		if strings.HasPrefix(et, prefix) {
			nested := strings.TrimSuffix(prefix, ".")
			base.Kind, base.NativeID = kind, idPayload(n.Payload, nested)
			base.Deleted = strings.HasSuffix(et, ".delete.end")
			return base, true, nil
		}
	}
	return ch, false, nil
}
