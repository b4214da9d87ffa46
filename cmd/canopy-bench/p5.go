package main

// P5: object bytes through canopyd vs the provider's SDK straight to the
// same engine (moto's S3), in the same run: throughput ratio and canopyd's
// RSS growth. canopyd runs as its own process (the real binary, built
// here), so its RSS is its own; the bench samples /proc/PID/status.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
)

// p5Part is the part size of canopy's uploads (the aws adapter's
// default); the SDK path uses the upload manager's own defaults (5 MiB
// parts, 5 in flight), as a user of the SDK would.
const p5Part = 5 << 20

// source is size bytes of incompressible data (a random 4 MiB block
// repeated with a varying prefix), cheap enough not to be measured itself.
type source struct {
	block []byte
	size  int64
	off   int64
}

func newSource(size int64) *source {
	b := make([]byte, 4<<20)
	r := rand.New(rand.NewPCG(5, 5))
	for i := 0; i+8 <= len(b); i += 8 {
		v := r.Uint64()
		for j := range 8 {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return &source{block: b, size: size}
}

func (s *source) Read(p []byte) (int, error) {
	if s.off >= s.size {
		return 0, io.EOF
	}
	i := s.off % int64(len(s.block))
	n := copy(p, s.block[i:])
	if rest := s.size - s.off; int64(n) > rest {
		n = int(rest)
	}
	if i == 0 && n >= 8 { // every block starts differently
		copy(p, strconv.AppendInt(nil, s.off, 16))
	}
	s.off += int64(n)
	return n, nil
}

// proc is canopyd running as a process.
type proc struct {
	cmd       *exec.Cmd
	grpc, api string
	token     string
	dir       string
}

func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startCanopyd builds canopyd (unless bin is given) and runs it with yaml.
func startCanopyd(ctx context.Context, bin, yaml string) (*proc, error) {
	dir, err := os.MkdirTemp("", "canopy-p5")
	if err != nil {
		return nil, err
	}
	if bin == "" {
		bin = filepath.Join(dir, "canopyd")
		out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/canopy-cloud/canopy/cmd/canopyd").CombinedOutput()
		if err != nil {
			return nil, fmt.Errorf("build canopyd: %v\n%s", err, out)
		}
	}
	cfg := filepath.Join(dir, "canopy.yaml")
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		return nil, err
	}
	p := &proc{grpc: freeAddr(), api: freeAddr(), dir: dir}
	p.cmd = exec.Command(bin, "--config", cfg, "--grpc-addr", p.grpc, "--rest-addr", p.api, "--log-level", "warn")
	p.cmd.Env = append(os.Environ(), "XDG_DATA_HOME="+dir, "XDG_CONFIG_HOME="+filepath.Join(dir, "config"), "CANOPY_STORE=", "CANOPY_CREDENTIALS=")
	p.cmd.Stdout, p.cmd.Stderr = os.Stderr, os.Stderr
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + p.api + "/healthz")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, fmt.Errorf("canopyd did not serve within 30s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "config", "canopy", "credentials.json"))
	if err != nil {
		p.stop()
		return nil, err
	}
	var c struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	_ = json.Unmarshal(raw, &c)
	req, _ := http.NewRequest("POST", "http://"+p.api+"/oauth2/token", strings.NewReader("grant_type=client_credentials"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(c.ClientID, c.ClientSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		p.stop()
		return nil, err
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		p.stop()
		return nil, fmt.Errorf("token: HTTP %d %v", resp.StatusCode, err)
	}
	p.token = tok.AccessToken
	return p, nil
}

func (p *proc) stop() {
	_ = p.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
	}
	os.RemoveAll(p.dir)
}

// rss is a process's resident set, bytes.
func rss(pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// peakRSS samples pid's RSS every 20 ms until stop is called, returning
// the peak.
func peakRSS(pid int) (stop func() int64) {
	var peak atomic.Int64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			if r := rss(pid); r > peak.Load() {
				peak.Store(r)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() int64 { close(done); wg.Wait(); return peak.Load() }
}

func mibps(n int64, d time.Duration) float64 { return float64(n) / d.Seconds() / (1 << 20) }

// p5 moves size bytes up and down, rounds times, three ways on the same
// engine: the SDK straight to it (the same uploader settings canopy's
// adapter uses), canopyd's gRPC UploadObject/DownloadObject, and canopyd's
// REST byte endpoints. The paths alternate within each round so the
// engine's drift (moto slows as it works) hits them alike; medians are
// reported. Uploads go through one canopyd process and downloads through
// another, each sampled for its RSS from before its first transfer.
func p5(ctx context.Context, endpoint, bin string, size int64, rounds int) error {
	if endpoint == "" {
		return errors.New("no S3 engine: pass -moto http://127.0.0.1:5055 (test/moto/up.sh starts one) or set CANOPY_MOTO_ENDPOINT")
	}
	endpoint = strings.TrimRight(endpoint, "/")
	cl := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: awssdk.String(endpoint), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("testing", "testing", ""), DisableLogOutputChecksumValidationSkipped: true})
	suffix := strconv.FormatInt(time.Now().UnixNano()%1e9, 36)
	direct, via := "p5-direct-"+suffix, "p5-canopy-"+suffix
	if _, err := cl.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &direct}); err != nil {
		return fmt.Errorf("create bucket on %s: %w", endpoint, err)
	}
	defer cleanupBucket(cl, direct)
	defer cleanupBucket(cl, via)
	yaml := fmt.Sprintf(`
clouds:
  - name: s3
    kind: aws
    regions: [us-east-1]
    options: {endpoint: %q, access_key_id: testing, secret_access_key: testing, s3_part_size: %d}
    rate_limit: {rate: -1}
`, endpoint, p5Part)
	// One canopyd per direction and path, so each RSS growth is its own.
	ds := map[string]*running{}
	for _, k := range []string{"up gRPC", "up REST", "down gRPC", "down REST"} {
		d, err := openCanopyd(ctx, bin, yaml)
		if err != nil {
			return err
		}
		defer d.close()
		ds[k] = d
	}
	upD, upR, downD, downR := ds["up gRPC"], ds["up REST"], ds["down gRPC"], ds["down REST"]
	b, err := upD.oc.CreateBucket(ctx, &canopyv1.CreateBucketRequest{Name: via})
	if err != nil {
		return fmt.Errorf("canopyd: create bucket: %w", err)
	}
	up := manager.NewUploader(cl)
	key := awssdk.String("blob")
	for _, d := range ds {
		d.base = rss(d.pid())
	}
	var t struct{ sdkUp, canUp, restUp, urlUp, sdkDown, canDown, restDown, urlDown []time.Duration }
	var obj *canopyv1.Object
	timed := func(d *[]time.Duration, f func() error) error {
		t0 := time.Now()
		err := f()
		*d = append(*d, time.Since(t0))
		return err
	}
	// The four ways up and the four ways down, each a step of a round.
	// Within a round they run in an order that rotates from round to round,
	// so no path always goes first (moto slows as it works, and the
	// machine's other load comes and goes); ratios are taken within a
	// round, then their median and range reported.
	ups := []func() error{
		func() error {
			return timed(&t.sdkUp, func() error {
				_, err := up.Upload(ctx, &s3.PutObjectInput{Bucket: &direct, Key: key, Body: newSource(size)})
				if err != nil {
					return fmt.Errorf("sdk upload: %w", err)
				}
				return nil
			})
		},
		func() error {
			return upD.sample("gRPC", func() error {
				return timed(&t.canUp, func() error {
					var err error
					obj, err = uploadThrough(ctx, upD.oc, b.Id, "blob", newSource(size), size)
					if err == nil && obj.SizeBytes != size {
						err = fmt.Errorf("stored %d of %d bytes", obj.SizeBytes, size)
					}
					if err != nil {
						return fmt.Errorf("canopyd upload: %w", err)
					}
					return nil
				})
			})
		},
		func() error {
			return upR.sample("REST", func() error {
				return timed(&t.restUp, func() error { return restPut(ctx, upR.api, upR.token, via, "blob-rest", newSource(size), size) })
			})
		},
		// The presigned path: canopyd signs, the bytes go straight to S3.
		func() error {
			return timed(&t.urlUp, func() error {
				u, err := upD.oc.CreateUploadURL(ctx, &canopyv1.CreateUploadURLRequest{Bucket: b.Id, Key: "blob-url"})
				if err == nil {
					err = urlDo(ctx, u, newSource(size), size, nil)
				}
				if err != nil {
					return fmt.Errorf("presigned upload: %w", err)
				}
				return nil
			})
		},
	}
	whole := func(what string, n int64, err error) error {
		if err == nil && n != size {
			err = fmt.Errorf("%d of %d bytes", n, size)
		}
		if err != nil {
			return fmt.Errorf("%s download: %w", what, err)
		}
		return nil
	}
	downs := []func() error{
		func() error {
			return timed(&t.sdkDown, func() error {
				out, err := cl.GetObject(ctx, &s3.GetObjectInput{Bucket: &direct, Key: key})
				if err != nil {
					return whole("sdk", 0, err)
				}
				defer out.Body.Close()
				n, err := io.Copy(io.Discard, out.Body)
				return whole("sdk", n, err)
			})
		},
		func() error {
			return downD.sample("gRPC", func() error {
				return timed(&t.canDown, func() error {
					n, err := downloadThrough(ctx, downD.oc, via, "blob")
					return whole("canopyd gRPC", n, err)
				})
			})
		},
		func() error {
			return downR.sample("REST", func() error {
				return timed(&t.restDown, func() error {
					n, err := restGet(ctx, downR.api, downR.token, via, "blob-rest")
					return whole("canopyd REST", n, err)
				})
			})
		},
		func() error {
			return timed(&t.urlDown, func() error {
				u, err := downD.oc.CreateDownloadURL(ctx, &canopyv1.CreateDownloadURLRequest{Bucket: via, Key: "blob-url"})
				if err != nil {
					return whole("presigned", 0, err)
				}
				var n int64
				err = urlDo(ctx, u, nil, 0, &n)
				return whole("presigned", n, err)
			})
		},
	}
	for r := 0; r < rounds; r++ {
		for _, steps := range [][]func() error{ups, downs} {
			for i := range steps {
				if err := steps[(i+r)%len(steps)](); err != nil {
					return err
				}
			}
		}
		for _, k := range []string{"blob", "blob-rest", "blob-url"} {
			_, _ = cl.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &via, Key: awssdk.String(k)})
		}
		_, _ = cl.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &direct, Key: key})
	}
	med := func(d []time.Duration) time.Duration { return sortDur(append([]time.Duration(nil), d...))[len(d)/2] }
	// ratio is the median and range of sdk/path over the rounds, each
	// round's pair timed minutes apart at most.
	ratio := func(sdk, path []time.Duration) string {
		rs := make([]float64, len(sdk))
		for i := range sdk {
			rs[i] = sdk[i].Seconds() / path[i].Seconds()
		}
		sort.Float64s(rs)
		return fmt.Sprintf("ratio %.2f (%.2f-%.2f)", rs[len(rs)/2], rs[0], rs[len(rs)-1])
	}
	line := func(what string, sdk, grpcD, rest, url []time.Duration) {
		fmt.Printf("P5 %-8s sdk %6.1f MiB/s | through canopyd: gRPC %6.1f MiB/s, %s; REST %6.1f MiB/s, %s | presigned by canopyd %6.1f MiB/s, %s  (goal ratio >= 0.9)\n",
			what, mibps(size, med(sdk)), mibps(size, med(grpcD)), ratio(sdk, grpcD), mibps(size, med(rest)), ratio(sdk, rest), mibps(size, med(url)), ratio(sdk, url))
	}
	fmt.Printf("P5 object transfer: %s (%d bytes), engine moto S3 at %s; canopy: parts of %d MiB; sdk: upload manager defaults; medians of %d rounds, paths in rotating order\n",
		byteLabel(size), size, endpoint, p5Part>>20, rounds)
	line("upload", t.sdkUp, t.canUp, t.restUp, t.urlUp)
	line("download", t.sdkDown, t.canDown, t.restDown, t.urlDown)
	growth := func(r *running) string {
		return fmt.Sprintf("%.1f → %.1f MiB (+%.1f)", mib64(r.base), mib64(r.peak), mib64(r.peak-r.base))
	}
	fmt.Printf("P5 canopyd RSS growth, one process each (goal <= 64 MiB): upload gRPC %s, REST %s; download gRPC %s, REST %s; last upload: %d parts\n",
		growth(upD), growth(upR), growth(downD), growth(downR), obj.GetParts())
	return nil
}

// running is a canopyd process with a client, sampled for its RSS.
type running struct {
	p          *proc
	conn       *grpc.ClientConn
	oc         canopyv1.ObjectServiceClient
	api, token string
	base, peak int64
}

func openCanopyd(ctx context.Context, bin, yaml string) (*running, error) {
	p, err := startCanopyd(ctx, bin, yaml)
	if err != nil {
		return nil, err
	}
	conn, err := grpc.NewClient(p.grpc, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithPerRPCCredentials(bearer(p.token)),
		grpc.WithInitialWindowSize(4<<20), grpc.WithInitialConnWindowSize(8<<20), grpc.WithReadBufferSize(1<<20))
	if err != nil {
		p.stop()
		return nil, err
	}
	return &running{p: p, conn: conn, oc: canopyv1.NewObjectServiceClient(conn), api: p.api, token: p.token}, nil
}

func (r *running) pid() int { return r.p.cmd.Process.Pid }

// sample runs f while sampling the process's RSS.
func (r *running) sample(_ string, f func() error) error {
	stop := peakRSS(r.pid())
	err := f()
	r.peak = max(r.peak, stop())
	return err
}

func (r *running) close() {
	r.conn.Close()
	r.p.stop()
}

// urlDo does a presigned request: a PUT of body, or a GET counted in n.
func urlDo(ctx context.Context, u *canopyv1.SignedURL, body io.Reader, size int64, n *int64) error {
	req, err := http.NewRequestWithContext(ctx, u.Method, u.Url, body)
	if err != nil {
		return err
	}
	if body != nil {
		req.ContentLength = size
	}
	for k, v := range u.Headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("%s: HTTP %d: %s", u.Method, resp.StatusCode, b)
	}
	got, err := io.Copy(io.Discard, resp.Body)
	if n != nil {
		*n = got
	}
	return err
}

// restPut uploads through canopyd's REST byte endpoint.
func restPut(ctx context.Context, api, token, bucket, key string, body io.Reader, size int64) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, "http://"+api+"/v1/buckets/"+bucket+"/objects/"+key, body)
	if err != nil {
		return err
	}
	req.ContentLength = size
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("REST upload: HTTP %d: %s", resp.StatusCode, b)
	}
	return nil
}

func restGet(ctx context.Context, api, token, bucket, key string) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+api+"/v1/buckets/"+bucket+"/objects/"+key+"?alt=media", nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("REST download: HTTP %d", resp.StatusCode)
	}
	return io.Copy(io.Discard, resp.Body)
}

func mib64(n int64) float64 { return float64(n) / (1 << 20) }

func byteLabel(n int64) string {
	if n >= 1<<30 {
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

func cleanupBucket(cl *s3.Client, bucket string) {
	ctx := context.Background()
	if out, err := cl.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &bucket}); err == nil {
		for _, o := range out.Contents {
			_, _ = cl.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &bucket, Key: o.Key})
		}
	}
	_, _ = cl.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: &bucket})
}

// uploadThrough streams src to canopyd in 1 MiB messages.
func uploadThrough(ctx context.Context, oc canopyv1.ObjectServiceClient, bucket, key string, src io.Reader, size int64) (*canopyv1.Object, error) {
	st, err := oc.UploadObject(ctx)
	if err != nil {
		return nil, err
	}
	if err := st.Send(&canopyv1.UploadObjectRequest{Data: &canopyv1.UploadObjectRequest_Header{Header: &canopyv1.ObjectUploadHeader{Bucket: bucket, Key: key, SizeBytes: &size}}}); err != nil {
		return nil, err
	}
	buf := make([]byte, 1<<20)
	for {
		n, err := io.ReadFull(src, buf)
		if n > 0 {
			if err := st.Send(&canopyv1.UploadObjectRequest{Data: &canopyv1.UploadObjectRequest_Chunk{Chunk: buf[:n]}}); err != nil {
				_, err = st.CloseAndRecv()
				return nil, err
			}
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	return st.CloseAndRecv()
}

func downloadThrough(ctx context.Context, oc canopyv1.ObjectServiceClient, bucket, key string) (int64, error) {
	st, err := oc.DownloadObject(ctx, &canopyv1.DownloadObjectRequest{Bucket: bucket, Key: key})
	if err != nil {
		return 0, err
	}
	var n int64
	for {
		msg, err := st.Recv()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		n += int64(len(msg.GetChunk()))
	}
}
