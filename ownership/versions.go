package ownership

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Versions is cache.Coherence on etcd: a cloud's write version is the mod
// revision of <root>written/<cloud>, which each replica's write puts
// before it answers. Current is a linearizable read, so it sees every put
// that returned before it began; concurrent Currents share one read (a
// read that began after all of them arrived), so a replica serving many
// cached reads costs etcd about one range request per round trip, not
// one per read.
type Versions struct {
	cli    *clientv3.Client
	prefix string

	mu      sync.Mutex
	running bool
	next    *round // the read the next arrivals join; it starts after they did
}

// round is one shared read of every cloud's version.
type round struct {
	done chan struct{}
	vers map[string]int64
	err  error
}

// Versions returns the write versions of the clouds of e's store.
func (e *Etcd) Versions() *Versions { return &Versions{cli: e.cli, prefix: e.root + "written/"} }

// Written implements cache.Coherence.
func (v *Versions) Written(ctx context.Context, cloud string) error {
	if _, err := v.cli.Put(ctx, v.prefix+escape(cloud), ""); err != nil {
		return fmt.Errorf("ownership: announce a write to cloud %s: %w", cloud, err)
	}
	return nil
}

// Current implements cache.Coherence.
func (v *Versions) Current(ctx context.Context, cloud string) (int64, error) {
	v.mu.Lock()
	r := v.next
	if r == nil {
		r = &round{done: make(chan struct{})}
		v.next = r
		if !v.running {
			v.running = true
			go v.loop()
		}
	}
	v.mu.Unlock()
	select {
	case <-r.done:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	if r.err != nil {
		return 0, fmt.Errorf("ownership: write version of cloud %s: %w", cloud, r.err)
	}
	return r.vers[escape(cloud)], nil
}

// loop runs the rounds back to back while readers wait for one.
func (v *Versions) loop() {
	for {
		v.mu.Lock()
		r := v.next
		v.next = nil
		if r == nil {
			v.running = false
			v.mu.Unlock()
			return
		}
		v.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		resp, err := v.cli.Get(ctx, v.prefix, clientv3.WithPrefix(), clientv3.WithKeysOnly())
		cancel()
		if err != nil {
			r.err = err
		} else {
			r.vers = make(map[string]int64, len(resp.Kvs))
			for _, kv := range resp.Kvs {
				r.vers[strings.TrimPrefix(string(kv.Key), v.prefix)] = kv.ModRevision
			}
		}
		close(r.done)
	}
}
