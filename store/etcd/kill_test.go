//go:build etcd

package etcd_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/canopy-cloud/canopy/store"
)

// member is one etcd that test/etcd/up.sh started.
type member struct {
	name, endpoint, pidfile string
}

// ourCluster reads the members test/etcd/up.sh recorded under .cache/etcd,
// and skips the test when CANOPY_ETCD_ENDPOINTS names another cluster (one
// this test may not kill).
func ourCluster(t *testing.T) (root string, ms []member) {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, ".cache", "etcd")
	raw, err := os.ReadFile(filepath.Join(dir, "ports"))
	if err != nil {
		t.Skipf("no cluster started by test/etcd/up.sh (%v): nothing this test may kill", err)
	}
	ports := strings.Fields(string(raw))
	if len(ports) != 6 {
		t.Fatalf("%s/ports: %q, want six ports", dir, raw)
	}
	var eps []string
	for i := range 3 {
		m := member{name: fmt.Sprintf("m%d", i+1), endpoint: "http://127.0.0.1:" + ports[2*i]}
		m.pidfile = filepath.Join(dir, m.name+".pid")
		ms = append(ms, m)
		eps = append(eps, m.endpoint)
	}
	if got := strings.Join(endpoints(t), ","); got != strings.Join(eps, ",") {
		t.Skipf("CANOPY_ETCD_ENDPOINTS=%s is not the cluster test/etcd/up.sh started (%s)", got, strings.Join(eps, ","))
	}
	return root, ms
}

func (m member) pid(t *testing.T) int {
	t.Helper()
	raw, err := os.ReadFile(m.pidfile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil {
		t.Fatalf("%s: %v", m.pidfile, err)
	}
	cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if !strings.Contains(string(cmdline), "--name\x00"+m.name+"\x00") {
		t.Fatalf("pid %d (%s) is not etcd member %s: %q", pid, m.pidfile, m.name, cmdline)
	}
	return pid
}

// memberStatus is a member's own view: its raft index and whether it leads.
func memberStatus(ctx context.Context, cli *clientv3.Client, ep string) (index uint64, leads bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	resp, err := cli.Status(ctx, ep)
	if err != nil {
		return 0, false, err
	}
	return resp.RaftIndex, resp.Leader == resp.Header.MemberId, nil
}

// The leader of the 3-member cluster is killed (SIGKILL) while four writers
// are busy: every write still succeeds (the store retries through the
// election, and the two members left are a quorum), writes commit while the
// member is down, and once test/etcd/up.sh starts it again on its data dir
// it catches up and serves every key written in its absence from its own
// copy.
func TestKillMemberMidRun(t *testing.T) {
	root, ms := ourCluster(t)
	st := open(t, freshPrefix(t))
	ctx := t.Context()
	cli := st.Client()

	victim := -1
	for i, m := range ms {
		if _, leads, err := memberStatus(ctx, cli, m.endpoint); err != nil {
			t.Fatalf("status of %s: %v", m.name, err)
		} else if leads {
			victim = i
		}
	}
	if victim < 0 {
		t.Fatal("no member leads")
	}
	v := ms[victim]
	up := func() {
		out, err := exec.Command(filepath.Join(root, "test", "etcd", "up.sh")).CombinedOutput()
		if err != nil {
			t.Fatalf("test/etcd/up.sh: %v\n%s", err, out)
		}
	}
	// However the test ends, the cluster is whole again for the next one.
	t.Cleanup(func() {
		if err := syscall.Kill(v.pid(t), 0); err != nil {
			up()
		}
	})

	type write struct {
		at  time.Time
		dur time.Duration
		id  string
		err error
	}
	var (
		mu     sync.Mutex
		writes []write
		wg     sync.WaitGroup
		stop   = make(chan struct{})
	)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				start := time.Now()
				m, _, err := st.Reserve(ctx, store.Mapping{Cloud: "c1", Kind: "server", Project: "p1", RequestID: fmt.Sprintf("w%d-%d", w, i)})
				if err == nil {
					_, err = st.Bind(ctx, m.ID, fmt.Sprintf("n%d-%d", w, i))
				}
				if err == nil {
					_, _, err = st.CreateRecord(ctx, "kill", fmt.Sprintf("%d-%d", w, i), []byte(m.ID))
				}
				mu.Lock()
				writes = append(writes, write{at: time.Now(), dur: time.Since(start), id: m.ID, err: err})
				mu.Unlock()
			}
		}()
	}

	time.Sleep(time.Second)
	pid := v.pid(t)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill %s (pid %d): %v", v.name, pid, err)
	}
	killed := time.Now()
	for syscall.Kill(pid, 0) == nil {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(4 * time.Second)
	restart := time.Now()
	up()
	restarted := time.Now()
	time.Sleep(500 * time.Millisecond)
	close(stop)
	wg.Wait()

	var before, during, after int
	var firstAfterKill time.Time
	var longest time.Duration
	for _, w := range writes {
		if w.err != nil {
			t.Errorf("write at +%s (kill at +0): %v", w.at.Sub(killed).Round(time.Millisecond), w.err)
			continue
		}
		longest = max(longest, w.dur)
		switch {
		case w.at.Before(killed):
			before++
		case w.at.Before(restart):
			during++
			if firstAfterKill.IsZero() || w.at.Before(firstAfterKill) {
				firstAfterKill = w.at
			}
		default:
			after++
		}
	}
	if during < 10 {
		t.Errorf("%d writes completed while %s was down, want ≥ 10: the quorum of two should carry on", during, v.name)
	}
	for _, w := range writes {
		if w.err == nil {
			if _, err := st.Get(ctx, w.id); err != nil {
				t.Errorf("mapping %s written during the run: %v", w.id, err)
			}
		}
	}

	// Rejoin: the restarted member catches up to the others' raft index
	// and holds every key under the prefix in its own copy (a serializable
	// read is answered locally, without the leader).
	var want uint64
	for i, m := range ms {
		if i != victim {
			idx, _, err := memberStatus(ctx, cli, m.endpoint)
			if err != nil {
				t.Fatal(err)
			}
			want = max(want, idx)
		}
	}
	only, err := clientv3.New(clientv3.Config{Endpoints: []string{v.endpoint}, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer only.Close()
	var caught time.Time
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if idx, _, err := memberStatus(ctx, only, v.endpoint); err == nil && idx >= want {
			caught = time.Now()
			break
		}
	}
	if caught.IsZero() {
		t.Fatalf("%s did not catch up to raft index %d within 15s of its restart", v.name, want)
	}
	all, err := cli.Get(ctx, st.Prefix(), clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		t.Fatal(err)
	}
	local, err := only.Get(ctx, st.Prefix(), clientv3.WithPrefix(), clientv3.WithCountOnly(), clientv3.WithSerializable())
	if err != nil {
		t.Fatal(err)
	}
	if local.Count != all.Count || all.Count == 0 {
		t.Errorf("%s holds %d keys under the prefix, the cluster %d", v.name, local.Count, all.Count)
	}
	t.Logf("killed leader %s: %d writes before, %d while it was down (first %s after the kill), %d after its restart; longest write %s; up.sh restarted it in %s, caught up %s after",
		v.name, before, during, firstAfterKill.Sub(killed).Round(time.Millisecond), after, longest.Round(time.Millisecond),
		restarted.Sub(restart).Round(time.Millisecond), caught.Sub(restarted).Round(time.Millisecond))
}
