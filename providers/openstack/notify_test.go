package openstack

import (
	"strings"
	"testing"
	"time"
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
