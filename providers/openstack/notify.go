package openstack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/canopy-cloud/canopy/providers"
)

// Notifications configure a cloud's notification feed (the `notifications`
// option): canopy declares its own queue on the cloud's message bus, binds
// it to the services' notification topics on their exchanges, and learns
// every state change as the services announce it instead of polling for
// it.
type Notifications struct {
	// TransportURL is oslo.messaging's transport_url of the bus the
	// services notify on: rabbit://user:pass@host:port[,user:pass@host2:port]/vhost
	// (amqp:// and amqps:// are taken as they are).
	TransportURL string `json:"transport_url"`
	// Exchanges are the services' control exchanges (default nova,
	// cinder, glance, neutron).
	Exchanges []string `json:"exchanges"`
	// Topics are the notification topics (default versioned_notifications,
	// Nova's, and notifications, everyone else's).
	Topics []string `json:"topics"`
	// ReconcileInterval is how often canopy still lists while the feed is
	// connected (default 60s), as a string like "60s".
	ReconcileInterval time.Duration `json:"-"`
}

// DefaultReconcileInterval is the list interval while the feed is heard.
const DefaultReconcileInterval = time.Minute

var defaultExchanges = []string{"nova", "cinder", "glance", "neutron"}
var defaultTopics = []string{"versioned_notifications", "notifications"}

// parseNotifications reads the `notifications` option.
func parseNotifications(v any) (*Notifications, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("openstack: option notifications: want a map with transport_url and exchanges, got %T", v)
	}
	for k := range m {
		switch k {
		case "transport_url", "exchanges", "topics", "reconcile_interval":
		default:
			return nil, fmt.Errorf("openstack: option notifications: unknown key %q (known: transport_url, exchanges, topics, reconcile_interval)", k)
		}
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("openstack: option notifications: %w", err)
	}
	var n Notifications
	if err := json.Unmarshal(raw, &n); err != nil {
		return nil, fmt.Errorf("openstack: option notifications: %w", err)
	}
	if _, err := amqpURLs(n.TransportURL); err != nil {
		return nil, fmt.Errorf("openstack: option notifications.transport_url: %w", err)
	}
	n.ReconcileInterval = DefaultReconcileInterval
	if v, ok := m["reconcile_interval"]; ok {
		s, _ := v.(string)
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("openstack: option notifications.reconcile_interval %v: want a positive duration like \"60s\"", v)
		}
		n.ReconcileInterval = d
	}
	if len(n.Exchanges) == 0 {
		n.Exchanges = defaultExchanges
	}
	if len(n.Topics) == 0 {
		n.Topics = defaultTopics
	}
	for _, list := range [][]string{n.Exchanges, n.Topics} {
		for _, s := range list {
			if s == "" || strings.ContainsAny(s, "*# ") {
				return nil, fmt.Errorf("openstack: option notifications: exchange or topic %q: want a plain name", s)
			}
		}
	}
	return &n, nil
}

// amqpURLs turns an oslo transport_url into one AMQP URL per host (oslo
// lists a cluster's hosts comma-separated, each with its credentials).
func amqpURLs(transport string) ([]string, error) {
	if transport == "" {
		return nil, errors.New("empty: want rabbit://user:pass@host:port/vhost")
	}
	scheme, rest, ok := strings.Cut(transport, "://")
	if !ok {
		return nil, fmt.Errorf("%q: want rabbit://user:pass@host:port/vhost", redactURL(transport))
	}
	switch scheme {
	case "rabbit", "amqp":
		scheme = "amqp"
	case "amqps":
	default:
		return nil, fmt.Errorf("%q: scheme %q: want rabbit, amqp or amqps", redactURL(transport), scheme)
	}
	hosts, path := rest, "/"
	if i := strings.Index(rest, "/"); i >= 0 {
		hosts, path = rest[:i], rest[i:]
	}
	if q := strings.Index(path, "?"); q >= 0 {
		path = path[:q] // oslo's driver options
	}
	var out []string
	for _, h := range strings.Split(hosts, ",") {
		u := scheme + "://" + h + path
		if _, err := amqp.ParseURI(u); err != nil {
			return nil, fmt.Errorf("%q: %w", redactURL(transport), err)
		}
		out = append(out, u)
	}
	return out, nil
}

// redactURL hides the passwords of a transport URL.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		if at := strings.LastIndex(s, "@"); at >= 0 {
			if i := strings.Index(s, "://"); i >= 0 && i < at {
				return s[:i+3] + "***" + s[at:]
			}
		}
		return s
	}
	return u.Redacted()
}

var _ providers.ChangeFeed = (*Cloud)(nil)

// Changes implements providers.ChangeFeed.
func (c *Cloud) Changes() (bool, time.Duration) {
	if c.opts.Notifications == nil {
		return false, 0
	}
	return true, c.opts.Notifications.ReconcileInterval
}

// projectID is the project the cloud's credentials are scoped to: only its
// resources' notifications concern canopy (the bus carries every
// project's).
func (c *Cloud) projectID(ctx context.Context) (string, error) {
	cl, err := c.clients(ctx)
	if err != nil {
		return "", err
	}
	if r, ok := cl.provider.GetAuthResult().(tokens.CreateResult); ok {
		if p, err := r.ExtractProject(); err == nil && p != nil && p.ID != "" {
			return p.ID, nil
		}
	}
	return "", fmt.Errorf("openstack: cloud %s: the credentials are not scoped to a project: %w", c.name, providers.ErrInvalid)
}

// FeedChanges implements providers.ChangeFeed: it consumes the cloud's
// notifications until ctx ends, reconnecting after a loss with backoff
// (100 ms doubling to 30 s, back to 100 ms after a connection that lasted).
func (c *Cloud) FeedChanges(ctx context.Context, sink providers.ChangeSink) error {
	n := c.opts.Notifications
	if n == nil {
		return fmt.Errorf("openstack: cloud %s: notifications are not configured: %w", c.name, providers.ErrUnsupported)
	}
	urls, err := amqpURLs(n.TransportURL)
	if err != nil {
		return err
	}
	const minBackoff, maxBackoff = 100 * time.Millisecond, 30 * time.Second
	backoff := minBackoff
	for attempt := 0; ctx.Err() == nil; attempt++ {
		start := time.Now()
		err := c.consume(ctx, n, urls[attempt%len(urls)], sink)
		if ctx.Err() != nil {
			return nil
		}
		sink.Live(false, err)
		if time.Since(start) > maxBackoff {
			backoff = minBackoff
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		if backoff *= 2; backoff > maxBackoff {
			backoff = maxBackoff
		}
	}
	return nil
}

// consume runs one connection: its own queue (exclusive, gone with the
// connection), bound to every topic on every exchange; it returns why the
// connection ended.
func (c *Cloud) consume(ctx context.Context, n *Notifications, u string, sink providers.ChangeSink) error {
	project, err := c.projectID(ctx)
	if err != nil {
		return err
	}
	conn, err := amqp.DialConfig(u, amqp.Config{Heartbeat: 10 * time.Second, Locale: "en_US", Dial: amqp.DefaultDial(10 * time.Second),
		Properties: amqp.Table{"connection_name": "canopy " + c.name}})
	if err != nil {
		return fmt.Errorf("openstack: cloud %s: notifications: connect to %s: %w", c.name, redactURL(u), err)
	}
	var once sync.Once
	closeConn := func() { once.Do(func() { _ = conn.Close() }) }
	defer closeConn()
	stop := context.AfterFunc(ctx, closeConn)
	defer stop()

	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("openstack: cloud %s: notifications: channel: %w", c.name, err)
	}
	for _, ex := range n.Exchanges {
		if ch, err = ensureExchange(conn, ch, ex); err != nil {
			return fmt.Errorf("openstack: cloud %s: notifications: exchange %q: %w", c.name, ex, err)
		}
	}
	q, err := ch.QueueDeclare("", false, true, true, false, amqp.Table{"x-max-length": int32(100000)})
	if err != nil {
		return fmt.Errorf("openstack: cloud %s: notifications: declare queue: %w", c.name, err)
	}
	for _, ex := range n.Exchanges {
		for _, topic := range n.Topics {
			if err := ch.QueueBind(q.Name, topic+".*", ex, false, nil); err != nil {
				return fmt.Errorf("openstack: cloud %s: notifications: bind %s.* on %q: %w", c.name, topic, ex, err)
			}
		}
	}
	deliveries, err := ch.Consume(q.Name, "canopy-"+c.name, true, true, false, false, nil)
	if err != nil {
		return fmt.Errorf("openstack: cloud %s: notifications: consume: %w", c.name, err)
	}
	closed := conn.NotifyClose(make(chan *amqp.Error, 1))
	sink.Live(true, nil)
	region := c.Region()
	for {
		select {
		case d, ok := <-deliveries:
			if !ok { // the channel or the connection closed
				select {
				case e := <-closed:
					if e != nil {
						return fmt.Errorf("openstack: cloud %s: notifications: connection lost: %w", c.name, e)
					}
				case <-time.After(time.Second):
				}
				return fmt.Errorf("openstack: cloud %s: notifications: the bus closed the consumer", c.name)
			}
			c.deliver(region, project, d.Body, sink)
		case e := <-closed:
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("openstack: cloud %s: notifications: connection lost: %v", c.name, e)
		}
	}
}

// ensureExchange makes sure an exchange exists to bind to: a service that
// has not notified yet has not declared it, so canopy declares it the way
// oslo.messaging does (topic, not durable), and takes a durable one as it
// is. A failed declaration closes the channel: the next one is returned.
func ensureExchange(conn *amqp.Connection, ch *amqp.Channel, name string) (*amqp.Channel, error) {
	if err := ch.ExchangeDeclarePassive(name, "topic", false, false, false, false, nil); err == nil {
		return ch, nil
	}
	ch, err := conn.Channel()
	if err != nil {
		return nil, err
	}
	if err := ch.ExchangeDeclare(name, "topic", false, false, false, false, nil); err != nil {
		return nil, err
	}
	return ch, nil
}

// deliver hands one notification to the sink, if it is about a resource
// of the cloud's project.
func (c *Cloud) deliver(region, project string, body []byte, sink providers.ChangeSink) {
	n, err := decodeNotification(body)
	if err != nil {
		return
	}
	if owner := payloadProject(n.Payload); owner != "" && owner != project {
		return
	}
	ch, ok, err := toChange(region, n)
	if err != nil || !ok || ch.NativeID == "" {
		return
	}
	sink.Change(ch)
}

// payloadProject finds the project owning the resource a payload
// describes: Nova's tenant_id (in nova_object.data), Cinder's tenant_id,
// Glance's owner, Neutron's project_id (in the resource's object).
func payloadProject(raw json.RawMessage) string {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return ""
	}
	if data, ok := m["nova_object.data"]; ok {
		return payloadProject(data)
	}
	for _, k := range []string{"tenant_id", "project_id", "owner"} {
		var s string
		if json.Unmarshal(m[k], &s) == nil && s != "" {
			return s
		}
	}
	for _, v := range m { // Neutron: {"port": {...}}
		if len(v) > 0 && v[0] == '{' {
			if s := payloadProject(v); s != "" {
				return s
			}
		}
	}
	return ""
}
