package server

import (
	"io"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// jsonFlood is a 50 MB JSON body made on the fly (the client holds none
// of it): {"name":"xxxx…"}.
type jsonFlood struct{ left int }

const floodSize = 50 << 20

func (f *jsonFlood) Read(p []byte) (int, error) {
	if f.left == 0 {
		return 0, io.EOF
	}
	n := min(len(p), f.left)
	for i := range n {
		switch pos := floodSize - f.left + i; {
		case pos < 9:
			p[i] = `{"name":"`[pos]
		case pos == floodSize-2:
			p[i] = '"'
		case pos == floodSize-1:
			p[i] = '}'
		default:
			p[i] = 'x'
		}
	}
	f.left -= n
	return n, nil
}

// BenchmarkRESTBigBodies sends 50 MB JSON bodies, several at once, to
// POST /v1/servers and reports what canopyd allocates per request
// (B/req, the whole process: the in-process client streams its body from
// a generator), the peak live heap while they arrive and the process's
// peak RSS. With the body limit (4 MiB by default) a body with a declared
// length is refused before it is read and a chunked one once 4 MiB have
// been read; grpc-gateway read each whole before (~500 MiB RSS after four).
//
//	go test -run '^$' -bench RESTBigBodies -benchtime 8x ./server/
func BenchmarkRESTBigBodies(b *testing.B) {
	for _, mode := range []string{"declared", "chunked"} {
		b.Run(mode, func(b *testing.B) {
			e := newEnv(b, oneCloud)
			const concurrent = 4
			var peak atomic.Uint64
			stop := make(chan struct{})
			sampled := make(chan struct{})
			go func() {
				defer close(sampled)
				var ms runtime.MemStats
				for {
					runtime.ReadMemStats(&ms)
					if ms.HeapInuse > peak.Load() {
						peak.Store(ms.HeapInuse)
					}
					select {
					case <-stop:
						return
					case <-time.After(5 * time.Millisecond):
					}
				}
			}()
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			b.ResetTimer()
			for range b.N {
				var wg sync.WaitGroup
				for range concurrent {
					wg.Go(func() {
						req, _ := http.NewRequest("POST", e.rest+"/v1/servers", &jsonFlood{left: floodSize})
						if mode == "declared" {
							req.ContentLength = floodSize
						}
						req.Header.Set("Authorization", "Bearer "+e.token)
						resp, err := http.DefaultClient.Do(req)
						if err != nil {
							return // the server may close while the client still writes
						}
						body, _ := io.ReadAll(resp.Body)
						resp.Body.Close()
						if resp.StatusCode != http.StatusRequestEntityTooLarge {
							b.Errorf("status %d: %s", resp.StatusCode, body)
						}
					})
				}
				wg.Wait()
			}
			b.StopTimer()
			runtime.ReadMemStats(&after)
			close(stop)
			<-sampled
			b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(b.N*concurrent), "B/req")
			b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
			if hwm := procStatusKiB("VmHWM"); hwm > 0 {
				b.ReportMetric(float64(hwm)/1024, "peak-RSS-MiB")
			}
		})
	}
}

// procStatusKiB reads a kB figure of /proc/self/status (0 where there is none).
func procStatusKiB(key string) int64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, key+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return 0
}

