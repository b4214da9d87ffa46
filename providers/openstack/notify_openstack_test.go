//go:build openstack

package openstack_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/providers/openstack"
)

// recordedProject is the project of the recorded payloads (the lab's canopy-test).
const recordedProject = "a5738170c3904612bd18ec043df5fcf6"

// labBus is the lab's RabbitMQ (test/openstack/lib.sh).
const labBus = "rabbit://guest:guest@127.0.0.1:5672/"

// recordingSink keeps what a feed reports.
type recordingSink struct {
	live    chan bool
	changes chan providers.Change
}

func newRecordingSink() *recordingSink {
	return &recordingSink{live: make(chan bool, 16), changes: make(chan providers.Change, 256)}
}

func (s *recordingSink) Live(up bool, _ error)      { s.live <- up }
func (s *recordingSink) Change(ch providers.Change) { s.changes <- ch }

// recorded reads a notification recorded from the lab, its project id
// replaced by project.
func recorded(t *testing.T, name, project string) []byte {
	t.Helper()
	raw, err := os.ReadFile("testdata/notifications/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var env struct {
		Message string `json:"oslo.message"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		t.Fatal(err)
	}
	msg := strings.ReplaceAll(env.Message, recordedProject, project)
	out, _ := json.Marshal(map[string]string{"oslo.version": "2.0", "oslo.message": msg})
	return out
}

// TestNotificationFeedRabbitMQ: the feed consumes from its own queue on
// the lab's real RabbitMQ, bound on the configured exchanges (declared
// when no service has yet), unwraps oslo's v2 envelope, and hands on only
// the changes of its own project's resources.
func TestNotificationFeedRabbitMQ(t *testing.T) {
	ex := fmt.Sprintf("canopy-test-%d", time.Now().UnixNano())
	path, cloud := labCloud(t)
	c := openLab(t, map[string]any{"clouds_yaml": path, "cloud": cloud, "notifications": map[string]any{"transport_url": labBus, "exchanges": []any{ex}}})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	project, err := openstack.ProjectID(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	sink := newRecordingSink()
	fctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := c.FeedChanges(fctx, sink); err != nil {
			t.Errorf("FeedChanges: %v", err)
		}
	}()
	defer wg.Wait()
	defer stop()
	select {
	case up := <-sink.live:
		if !up {
			t.Fatal("the feed did not connect")
		}
	case <-ctx.Done():
		t.Fatal("no Live report")
	}

	conn, err := amqp.Dial("amqp://guest:guest@127.0.0.1:5672/")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ch.ExchangeDelete(ex, false, false) }()
	publish := func(topic string, body []byte) {
		t.Helper()
		if err := ch.PublishWithContext(ctx, ex, topic+".info", false, false, amqp.Publishing{ContentType: "application/json", Body: body}); err != nil {
			t.Fatal(err)
		}
	}
	publish("versioned_notifications", recorded(t, "nova-instance-update-active.json", "another-project"))
	publish("versioned_notifications", recorded(t, "nova-instance-update-active.json", project))
	publish("notifications", recorded(t, "cinder-volume-create-end.json", project))
	publish("notifications", []byte(`{"oslo.version": "2.0", "oslo.message": "not json"}`))
	publish("notifications", recorded(t, "cinder-volume-delete-end.json", project))

	want := []struct {
		kind    string
		status  providers.Status
		deleted bool
	}{
		{providers.KindServer, providers.StatusActive, false}, // the other project's is not handed on
		{providers.KindVolume, providers.StatusActive, false},
		{providers.KindVolume, providers.StatusDeleted, true},
	}
	for i, w := range want {
		select {
		case got := <-sink.changes:
			st := providers.StatusUnknown
			switch {
			case got.Server != nil:
				st = got.Server.Status
			case got.Volume != nil:
				st = got.Volume.Status
			}
			if got.Kind != w.kind || got.Deleted != w.deleted || (!w.deleted && st != w.status) {
				t.Fatalf("change %d: %s %s deleted=%v status=%s; want %s deleted=%v status=%s", i, got.Kind, got.NativeID, got.Deleted, st, w.kind, w.deleted, w.status)
			}
		case <-ctx.Done():
			t.Fatalf("change %d (%s) never came", i, w.kind)
		}
	}
	select {
	case got := <-sink.changes:
		t.Fatalf("an extra change: %+v", got)
	default:
	}
}
