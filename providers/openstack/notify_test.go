package openstack

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/canopy-cloud/canopy/providers"
)

func TestParseNotifications(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    any
		err  string // "" for none
		want Notifications
	}{
		{"defaults", map[string]any{"transport_url": "rabbit://u:p@h:5672/"}, "",
			Notifications{TransportURL: "rabbit://u:p@h:5672/", Exchanges: defaultExchanges, Topics: defaultTopics, ReconcileInterval: time.Minute}},
		{"all", map[string]any{"transport_url": "amqps://u:p@h:5671/v", "exchanges": []any{"nova"}, "topics": []any{"versioned_notifications"}, "reconcile_interval": "5m"}, "",
			Notifications{TransportURL: "amqps://u:p@h:5671/v", Exchanges: []string{"nova"}, Topics: []string{"versioned_notifications"}, ReconcileInterval: 5 * time.Minute}},
		{"not a map", "rabbit://h", "want a map", Notifications{}},
		{"no url", map[string]any{"exchanges": []any{"nova"}}, "transport_url: empty", Notifications{}},
		{"bad scheme", map[string]any{"transport_url": "kafka://h:9092"}, `scheme "kafka"`, Notifications{}},
		{"password not echoed", map[string]any{"transport_url": "kafka://u:secret@h:9092"}, "u:xxxxx@h", Notifications{}},
		{"unknown key", map[string]any{"transport_url": "rabbit://h/", "queue": "x"}, `unknown key "queue"`, Notifications{}},
		{"bad interval", map[string]any{"transport_url": "rabbit://h/", "reconcile_interval": "soon"}, "reconcile_interval", Notifications{}},
		{"zero interval", map[string]any{"transport_url": "rabbit://h/", "reconcile_interval": "0s"}, "reconcile_interval", Notifications{}},
		{"wildcard exchange", map[string]any{"transport_url": "rabbit://h/", "exchanges": []any{"*"}}, "plain name", Notifications{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseNotifications(tc.v)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one containing %q", err, tc.err)
				}
				if strings.Contains(err.Error(), "secret") {
					t.Fatalf("the error shows the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.TransportURL != tc.want.TransportURL || strings.Join(got.Exchanges, ",") != strings.Join(tc.want.Exchanges, ",") ||
				strings.Join(got.Topics, ",") != strings.Join(tc.want.Topics, ",") || got.ReconcileInterval != tc.want.ReconcileInterval {
				t.Fatalf("got %+v, want %+v", *got, tc.want)
			}
		})
	}
	if _, err := ParseOptions(map[string]any{"notifications": map[string]any{"transport_url": "rabbit://h/"}}); err != nil {
		t.Fatalf("ParseOptions with notifications: %v", err)
	}
}

// oslo's transport_url lists a cluster's hosts with a comma; each becomes
// an AMQP URL on the same virtual host.
func TestAMQPURLs(t *testing.T) {
	got, err := amqpURLs("rabbit://a:pa@h1:5672,b:pb@h2:5673/vh?ssl=0")
	if err != nil {
		t.Fatal(err)
	}
	if want := "amqp://a:pa@h1:5672/vh amqp://b:pb@h2:5673/vh"; strings.Join(got, " ") != want {
		t.Fatalf("got %v, want %s", got, want)
	}
	if got, _ := amqpURLs("rabbit://guest:guest@127.0.0.1:5672"); len(got) != 1 || got[0] != "amqp://guest:guest@127.0.0.1:5672/" {
		t.Fatalf("no vhost: got %v", got)
	}
}

// Nova's API status from a vm_state and task_state, as its API shows it,
// and canopy's status from that.
func TestNovaStatus(t *testing.T) {
	for _, tc := range []struct{ vm, task, want string }{
		{"building", "spawning", "BUILD"}, {"active", "", "ACTIVE"}, {"active", "rebooting", "REBOOT"},
		{"active", "rebooting_hard", "HARD_REBOOT"}, {"stopped", "", "SHUTOFF"}, {"active", "powering-off", "ACTIVE"},
		{"error", "", "ERROR"}, {"deleted", "", "DELETED"}, {"resized", "", "VERIFY_RESIZE"}, {"shelved_offloaded", "", "SHELVED_OFFLOADED"},
		{"soft-delete", "", "SOFT_DELETED"}, {"mystery", "", "UNKNOWN"},
	} {
		if got := novaStatus(tc.vm, tc.task); got != tc.want {
			t.Errorf("novaStatus(%q, %q) = %s, want %s", tc.vm, tc.task, got, tc.want)
		}
	}
}

func TestDecodeNotificationErrors(t *testing.T) {
	for name, body := range map[string]string{
		"not json":      `nope`,
		"old envelope":  `{"oslo.version": "1.0", "oslo.message": "{}"}`,
		"inner garbage": `{"oslo.version": "2.0", "oslo.message": "{"}`,
		"no event type": `{"oslo.version": "2.0", "oslo.message": "{\"payload\": {}}"}`,
	} {
		if _, err := decodeNotification([]byte(body)); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
}

// recordedProject owns the resources of the recorded notifications (the
// lab's canopy-test project when they were captured).
const recordedProject = "a5738170c3904612bd18ec043df5fcf6"

// Notifications recorded from the lab (test/openstack, notifications on):
// one server created, rebooted and deleted; one volume created and
// deleted; a snapshot and a backup of another created and deleted; a
// port; Glance's. Each reads as the change canopy acts on.
func TestRecordedNotifications(t *testing.T) {
	for _, tc := range []struct {
		file      string
		follow    bool // false: a notification canopy does not follow
		kind      string
		id        string
		status    providers.Status
		provider  string
		deleted   bool
		adoptable bool
	}{
		{"nova-instance-update-scheduling.json", true, providers.KindServer, "51412502-c8f1-4427-8bbf-139aa6e1a314", providers.StatusPending, "BUILD", false, false},
		{"nova-instance-create-start.json", true, providers.KindServer, "51412502-c8f1-4427-8bbf-139aa6e1a314", providers.StatusPending, "BUILD", false, false},
		{"nova-instance-update-spawning.json", true, providers.KindServer, "51412502-c8f1-4427-8bbf-139aa6e1a314", providers.StatusPending, "BUILD", false, false},
		{"nova-instance-update-active.json", true, providers.KindServer, "51412502-c8f1-4427-8bbf-139aa6e1a314", providers.StatusActive, "ACTIVE", false, true},
		{"nova-instance-create-end.json", true, providers.KindServer, "51412502-c8f1-4427-8bbf-139aa6e1a314", providers.StatusActive, "ACTIVE", false, true},
		{"nova-instance-update-rebooting.json", true, providers.KindServer, "51412502-c8f1-4427-8bbf-139aa6e1a314", providers.StatusUpdating, "REBOOT", false, true},
		{"nova-instance-reboot-start.json", true, providers.KindServer, "51412502-c8f1-4427-8bbf-139aa6e1a314", providers.StatusUpdating, "REBOOT", false, false},
		{"nova-instance-update-deleting.json", true, providers.KindServer, "51412502-c8f1-4427-8bbf-139aa6e1a314", providers.StatusDeleting, "ACTIVE", false, true},
		{"nova-instance-update-deleted.json", true, providers.KindServer, "51412502-c8f1-4427-8bbf-139aa6e1a314", providers.StatusDeleted, "DELETED", true, true},
		{"nova-instance-delete-end.json", true, providers.KindServer, "51412502-c8f1-4427-8bbf-139aa6e1a314", providers.StatusDeleted, "DELETED", true, false},
		{"cinder-volume-create-start.json", true, providers.KindVolume, "fb1725a7-af64-43e8-9d99-f9a7121b1d05", providers.StatusPending, "creating", false, true},
		{"cinder-volume-create-end.json", true, providers.KindVolume, "fb1725a7-af64-43e8-9d99-f9a7121b1d05", providers.StatusActive, "available", false, true},
		{"cinder-volume-delete-end.json", true, providers.KindVolume, "fb1725a7-af64-43e8-9d99-f9a7121b1d05", providers.StatusDeleted, "deleted", true, true},
		{"cinder-snapshot-create-start.json", true, providers.KindSnapshot, "db482f41-3405-4ea0-bd2e-0159ba654d0e", providers.StatusPending, "creating", false, false},
		{"cinder-snapshot-create-end.json", true, providers.KindSnapshot, "db482f41-3405-4ea0-bd2e-0159ba654d0e", providers.StatusActive, "available", false, false},
		{"cinder-snapshot-delete-end.json", true, providers.KindSnapshot, "db482f41-3405-4ea0-bd2e-0159ba654d0e", providers.StatusDeleted, "deleted", true, false},
		{"cinder-backup-create-end.json", true, providers.KindBackup, "db843cec-3c23-4da1-aed7-4c7898d86927", providers.StatusActive, "available", false, false},
		{"cinder-backup-delete-end.json", true, providers.KindBackup, "db843cec-3c23-4da1-aed7-4c7898d86927", providers.StatusDeleted, "deleted", true, false},
		{"neutron-port-create-end.json", true, providers.KindPort, "7da69e48-c49d-4e3d-8144-3271a320283d", 0, "", false, false},
		{"neutron-port-delete-end.json", true, providers.KindPort, "9f907446-220a-42bb-a06b-f5ba08926bd1", 0, "", true, false},
		{"glance-image-delete.json", true, providers.KindImage, "c1e3f11b-1b9a-4a13-9887-89cd219e5d94", 0, "", true, false},
		{"glance-image-send.json", true, providers.KindImage, "", 0, "", false, false}, // a download: no id, dropped
		{"nova-scheduler-select-destinations-start.json", false, "", "", 0, "", false, false},
	} {
		t.Run(tc.file, func(t *testing.T) {
			body, err := os.ReadFile("testdata/notifications/" + tc.file)
			if err != nil {
				t.Fatal(err)
			}
			n, err := decodeNotification(body)
			if err != nil {
				t.Fatal(err)
			}
			if got := payloadProject(n.Payload); tc.follow && tc.id != "" && got != recordedProject {
				t.Errorf("owner %q, want %q", got, recordedProject)
			}
			ch, ok, err := toChange("RegionOne", n)
			if err != nil || ok != tc.follow {
				t.Fatalf("toChange: followed %v, %v; want %v", ok, err, tc.follow)
			}
			if !ok {
				return
			}
			if ch.Kind != tc.kind || ch.NativeID != tc.id || ch.Deleted != tc.deleted || ch.Adoptable != tc.adoptable || ch.MessageID == "" || ch.Emitted.IsZero() {
				t.Fatalf("got %s %q deleted=%v adoptable=%v msg=%q emitted=%v; want %s %q deleted=%v adoptable=%v",
					ch.Kind, ch.NativeID, ch.Deleted, ch.Adoptable, ch.MessageID, ch.Emitted, tc.kind, tc.id, tc.deleted, tc.adoptable)
			}
			var c providers.Common
			switch {
			case ch.Server != nil:
				c = ch.Server.Common
				if ch.Server.FlavorID == "" || ch.Server.ImageID == "" || c.Properties["vm_state"] == "" || c.Region != "RegionOne" {
					t.Errorf("server lacks what a read shows: %+v", *ch.Server)
				}
				if c.Updated.Before(ch.Emitted) {
					t.Errorf("server dated %v, before Nova sent it (%v)", c.Updated, ch.Emitted)
				}
			case ch.Volume != nil:
				c = ch.Volume.Common
				if ch.Volume.SizeGiB != 1 {
					t.Errorf("volume size %d, want 1", ch.Volume.SizeGiB)
				}
			case ch.Snapshot != nil:
				c = ch.Snapshot.Common
				if ch.Snapshot.SizeGiB != 1 || ch.Snapshot.VolumeID != "77439f38-518d-4004-8c74-938f8754f64e" || c.Name != "rbcap-snap" {
					t.Errorf("snapshot lacks what the payload says: %+v", *ch.Snapshot)
				}
			case ch.Backup != nil:
				c = ch.Backup.Common
				if ch.Backup.SizeGiB != 1 || ch.Backup.VolumeID != "77439f38-518d-4004-8c74-938f8754f64e" || c.Name != "rbcap-bak" {
					t.Errorf("backup lacks what the payload says: %+v", *ch.Backup)
				}
			default:
				return
			}
			if c.Status != tc.status || c.ProviderStatus != tc.provider {
				t.Errorf("status %s (%s), want %s (%s)", c.Status, c.ProviderStatus, tc.status, tc.provider)
			}
		})
	}
}

// One server's recorded announcements, in the order Nova sent them, never
// go back in (updated_at, timestamp), which is how canopy orders them.
func TestRecordedServerOrder(t *testing.T) {
	files := []string{"nova-instance-update-scheduling.json", "nova-instance-create-start.json", "nova-instance-update-spawning.json",
		"nova-instance-update-active.json", "nova-instance-create-end.json", "nova-instance-update-rebooting.json", "nova-instance-reboot-start.json",
		"nova-instance-update-deleting.json", "nova-instance-update-deleted.json", "nova-instance-delete-end.json"}
	var last providers.Change
	for i, f := range files {
		body, err := os.ReadFile("testdata/notifications/" + f)
		if err != nil {
			t.Fatal(err)
		}
		n, err := decodeNotification(body)
		if err != nil {
			t.Fatal(err)
		}
		ch, _, err := toChange("RegionOne", n)
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 && (ch.Updated.Before(last.Updated) || (ch.Updated.Equal(last.Updated) && !ch.Emitted.After(last.Emitted))) {
			t.Fatalf("%s (updated %v, sent %v) orders before the one sent before it (%v, %v)", f, ch.Updated, ch.Emitted, last.Updated, last.Emitted)
		}
		last = ch
	}
}

// A backup's restore names only the backup (its volume_id is the
// backup's source): the change is the backup's, and the volumes are
// relisted to learn the restored one's state.
func TestBackupRestoreRelistsVolumes(t *testing.T) {
	body, err := os.ReadFile("testdata/notifications/cinder-backup-create-end.json")
	if err != nil {
		t.Fatal(err)
	}
	n, err := decodeNotification(body)
	if err != nil {
		t.Fatal(err)
	}
	for et, relist := range map[string]bool{"backup.restore.end": true, "backup.restore.start": true, "backup.create.end": false} {
		n.EventType = et
		ch, ok, err := toChange("RegionOne", n)
		if err != nil || !ok || ch.Kind != providers.KindBackup || ch.Backup == nil {
			t.Fatalf("%s: %+v %v %v", et, ch, ok, err)
		}
		if got := len(ch.Relist) == 1 && ch.Relist[0] == providers.KindVolume; got != relist {
			t.Errorf("%s: relist %v, want volumes relisted %v", et, ch.Relist, relist)
		}
	}
	n.EventType = "snapshot.exists"
	if _, ok, _ := toChange("RegionOne", n); ok {
		t.Error("snapshot.exists (an audit) followed")
	}
}
