package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ghzRun is one external load run: ghz (github.com/bojand/ghz) in its own
// process, so the load generator shares neither the heap nor the
// scheduler of the server it measures — the in-process P3 does, which
// flatters neither side.
type ghzRun struct {
	bin, protoset, addr, token string
	call, data                 string
	conc, conns                int
	dur                        time.Duration
	rps                        int // 0: as fast as it goes
}

// ghzReport is the part of ghz's JSON report the figures use.
type ghzReport struct {
	Count   int64   `json:"count"`
	RPS     float64 `json:"rps"`
	Average int64   `json:"average"`
	Latency []struct {
		Percentage int   `json:"percentage"`
		Latency    int64 `json:"latency"`
	} `json:"latencyDistribution"`
	Status map[string]int64 `json:"statusCodeDistribution"`
	Errors map[string]int64 `json:"errorDistribution"`
}

func (g ghzRun) args(format string) []string {
	a := []string{"--insecure", "--protoset", g.protoset, "--call", g.call, "-d", g.data,
		"-c", strconv.Itoa(g.conc), "--connections", strconv.Itoa(g.conns), "-z", g.dur.String(), "-O", format}
	if g.rps > 0 {
		a = append(a, "--rps", strconv.Itoa(g.rps))
	}
	if g.token != "" {
		a = append(a, "-m", fmt.Sprintf(`{"authorization":"Bearer %s"}`, g.token))
	}
	return append(a, g.addr)
}

func (g ghzRun) output(ctx context.Context, format string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, g.bin, g.args(format)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("ghz %s on %s: %w: %s", g.call, g.addr, err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// report runs ghz and returns its summary; any status but OK is an error
// (a fast error is not throughput).
func (g ghzRun) report(ctx context.Context) (ghzReport, error) {
	var r ghzReport
	out, err := g.output(ctx, "json")
	if err != nil {
		return r, err
	}
	if err := json.Unmarshal(out, &r); err != nil {
		return r, fmt.Errorf("ghz %s: its JSON report: %w", g.call, err)
	}
	cut := int64(0)
	for msg, n := range r.Errors {
		if !endOfRun(msg) {
			return r, fmt.Errorf("ghz %s on %s: %d calls failed: %s", g.call, g.addr, n, msg)
		}
		cut += n
	}
	if cut > int64(g.conc) {
		return r, fmt.Errorf("ghz %s on %s: %d calls cut by closed connections, more than the %d in flight at the end: %v", g.call, g.addr, cut, g.conc, r.Errors)
	}
	return r, nil
}

// endOfRun reports whether a ghz error is a call still in flight when a
// -z run ended: ghz closes its connections then, and counts those calls as
// Unavailable. Any other error is the server's.
func endOfRun(msg string) bool {
	return strings.Contains(msg, "code = Unavailable") &&
		(strings.Contains(msg, "use of closed network connection") || strings.Contains(msg, "transport is closing") || strings.Contains(msg, "client connection is closing"))
}

func (r ghzReport) pct(p int) time.Duration {
	for _, l := range r.Latency {
		if l.Percentage == p {
			return time.Duration(l.Latency)
		}
	}
	return 0
}

// tail runs ghz at a fixed rate and returns every call's latency, sorted
// (ghz's CSV report: one line per call, the duration in ms first).
func (g ghzRun) tail(ctx context.Context) ([]time.Duration, error) {
	out, err := g.output(ctx, "csv")
	if err != nil {
		return nil, err
	}
	var lat []time.Duration
	cut := 0
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Split(sc.Text(), ",")
		if len(f) < 2 {
			continue
		}
		ms, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			continue // the header
		}
		if f[1] != "OK" {
			msg := strings.Join(f[2:], ",")
			if !endOfRun(msg) {
				return nil, fmt.Errorf("ghz %s: a call answered %s %s", g.call, f[1], msg)
			}
			if cut++; cut > g.conc {
				return nil, fmt.Errorf("ghz %s: %d calls cut by closed connections, more than the %d in flight at the end", g.call, cut, g.conc)
			}
			continue
		}
		lat = append(lat, time.Duration(ms*float64(time.Millisecond)))
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return lat, sc.Err()
}

// p3ghz is P3 as issue 21 asks it measured: ghz, conc concurrent over 4
// connections, against canopyd's cached GetServer and ListServers(100)
// and against a bare grpc-go server returning the same payloads; then,
// when tailDur > 0, a fixed-rate run of cached Gets whose slow calls are
// counted (the tail stalls).
func p3ghz(ctx context.Context, bin, protoset string, dur time.Duration, conc, tailRate int, tailDur, slow time.Duration) error {
	if bin == "" || protoset == "" {
		return fmt.Errorf("GHZ needs -ghz (the ghz binary) and -protoset (buf build -o FILE)")
	}
	if _, err := os.Stat(protoset); err != nil {
		return fmt.Errorf("-protoset: %w", err)
	}
	d, id, bareAddr, stop, err := p3Env(ctx, 1)
	if err != nil {
		return err
	}
	defer stop()
	upstreamBefore := d.sim("c1").Calls("")
	for _, c := range []struct{ name, call, data string }{
		{"GetServer", "canopy.v1.ComputeService/GetServer", fmt.Sprintf(`{"id":%q}`, id)},
		{"ListServers(100)", "canopy.v1.ComputeService/ListServers", `{"page_size":100}`},
	} {
		g := ghzRun{bin: bin, protoset: protoset, call: c.call, data: c.data, conc: conc, conns: 4, dur: dur}
		via, viaG := g, g
		via.addr, via.token = d.addr, d.token
		viaG.addr = bareAddr
		// Bare first, then canopyd, then bare again: the machine's drift
		// shows as the two bare runs' difference.
		b1, err := viaG.report(ctx)
		if err != nil {
			return err
		}
		v, err := via.report(ctx)
		if err != nil {
			return err
		}
		b2, err := viaG.report(ctx)
		if err != nil {
			return err
		}
		bareRPS := (b1.RPS + b2.RPS) / 2
		fmt.Printf("P3 ghz %s cached canopyd=%.0f/s (p50 %s p99 %s) bare_grpc=%.0f/s (runs %.0f, %.0f; p50 %s p99 %s) ratio=%.2f (goal >=0.9) concurrency=%d connections=4 duration=%s\n",
			c.name, v.RPS, ms(v.pct(50)), ms(v.pct(99)), bareRPS, b1.RPS, b2.RPS, ms(b1.pct(50)), ms(b1.pct(99)), v.RPS/bareRPS, conc, dur)
	}
	if tailDur > 0 {
		g := ghzRun{bin: bin, protoset: protoset, call: "canopy.v1.ComputeService/GetServer", data: fmt.Sprintf(`{"id":%q}`, id),
			conc: conc, conns: 4, dur: tailDur, rps: tailRate, addr: d.addr, token: d.token}
		lat, err := g.tail(ctx)
		if err != nil {
			return err
		}
		if len(lat) == 0 {
			return fmt.Errorf("tail run: ghz reported no calls")
		}
		n := 0
		for _, l := range lat {
			if l >= slow {
				n++
			}
		}
		fmt.Printf("P3 ghz tail GetServer at %d/s for %s: %d calls p50 %s p99 %s p99.9 %s max %s; %d calls (%.3f%%) took >= %s\n",
			tailRate, tailDur, len(lat), ms(pct(lat, 50)), ms(pct(lat, 99)), ms(pct(lat, 99.9)), ms(lat[len(lat)-1]), n, 100*float64(n)/float64(len(lat)), slow)
	}
	fmt.Printf("P3 ghz upstream calls during the cached runs: %d\n", d.sim("c1").Calls("")-upstreamBefore)
	return nil
}
