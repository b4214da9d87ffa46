package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/canopy-cloud/canopy/auth"
	"github.com/canopy-cloud/canopy/config"
	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/providers/sim"
	"github.com/canopy-cloud/canopy/router"
	"github.com/canopy-cloud/canopy/store"
	"github.com/canopy-cloud/canopy/store/bolt"
)

// env is a canopyd served in-process on loopback, over real gRPC and REST.
type env struct {
	t        testing.TB
	srv      *Server
	st       store.Store
	compute  canopyv1.ComputeServiceClient
	clouds   canopyv1.CloudServiceClient
	authc    canopyv1.AuthServiceClient
	rest     string
	token    string // an admin token of project "default"
	grpcAddr string
	stop     func()
}

// fastSim is a sim cloud config whose transitions take tens of ms.
const fastSim = `{boot_delay: 30ms, action_delay: 20ms, delete_delay: 20ms}`

func testConfig(t testing.TB, yaml string) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(yaml), t.Name())
	if err != nil {
		t.Fatal(err)
	}
	cfg.Auth.IssuerURL = "http://canopy.test"
	cfg.Wait.MinInterval = config.Duration(10 * time.Millisecond)
	cfg.Wait.MaxInterval = config.Duration(50 * time.Millisecond)
	return cfg
}

func newEnv(t testing.TB, yaml string, opts ...Option) *env {
	t.Helper()
	st, err := bolt.Open(t.TempDir() + "/canopy.db")
	if err != nil {
		t.Fatal(err)
	}
	// Registered before startEnv's stop, so it runs after it (cleanups run
	// last-in first-out): the store closes only once Serve has returned.
	t.Cleanup(func() { st.Close() })
	return startEnv(t, testConfig(t, yaml), st, opts...)
}

// startEnv serves cfg over st; stop() shuts it down (the store stays open).
func startEnv(t testing.TB, cfg *config.Config, st store.Store, opts ...Option) *env {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := New(ctx, cfg, st, log, opts...)
	if err != nil {
		t.Fatal(err)
	}
	gl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, Listeners{GRPC: gl, REST: rl}, 2*time.Second) }()
	token := mintToken(t, srv, "default", auth.ScopeAdmin)
	cc, err := grpc.NewClient(gl.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()), boundUnary(), boundStream(), grpc.WithPerRPCCredentials(bearer(token)))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, srv: srv, st: st, compute: canopyv1.NewComputeServiceClient(cc), clouds: canopyv1.NewCloudServiceClient(cc),
		authc: canopyv1.NewAuthServiceClient(cc), rest: "http://" + rl.Addr().String(), token: token, grpcAddr: gl.Addr().String()}
	stopped := false
	e.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cc.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
		srv.Close()
	}
	t.Cleanup(e.stop)
	return e
}

func (e *env) sim(cloud string) *sim.Cloud {
	e.t.Helper()
	c, ok := e.srv.Provider(cloud).(*sim.Cloud)
	if !ok {
		e.t.Fatalf("cloud %q is not a sim", cloud)
	}
	return c
}

// testDeadline bounds each of a test's calls and waits so that a hang
// fails the test; it checks no speed. It is long because a loaded 2-core
// machine under -race stalls for many seconds (the store's fsyncs behind
// other builds): 20s deadlines ran out in -count=20 runs.
const testDeadline = time.Minute

// testRun bounds a whole test's context (ctxT): the backstop for what is
// not a call. The calls are bounded one by one (boundUnary, boundStream):
// one deadline shared by a lifecycle test's dozens of calls ran out
// under load although no call hung.
const testRun = 10 * time.Minute

// perCall marks a context whose calls get testDeadline each.
type perCall struct{}

// ctxT is a test's context: it ends with the test or after testRun, and
// each gRPC call made with it (or a context derived from it) through the
// test clients gets a fresh testDeadline of its own.
func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.WithValue(context.Background(), perCall{}, true), testRun)
	t.Cleanup(cancel)
	return ctx
}

// boundUnary gives each unary call on a ctxT context its own deadline
// (a shorter one the caller set stays).
func boundUnary() grpc.DialOption {
	return grpc.WithChainUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if ctx.Value(perCall{}) == nil {
			return invoker(ctx, method, req, reply, cc, opts...)
		}
		ctx, cancel := context.WithTimeout(ctx, testDeadline)
		defer cancel()
		return invoker(ctx, method, req, reply, cc, opts...)
	})
}

// boundStream gives each stream on a ctxT context its own deadline; it is
// released when the stream ends.
func boundStream() grpc.DialOption {
	return grpc.WithChainStreamInterceptor(func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		if ctx.Value(perCall{}) == nil {
			return streamer(ctx, desc, cc, method, opts...)
		}
		ctx, cancel := context.WithTimeout(ctx, testDeadline)
		cs, err := streamer(ctx, desc, cc, method, opts...)
		if err != nil {
			cancel()
			return nil, err
		}
		context.AfterFunc(cs.Context(), cancel)
		return cs, nil
	})
}

// wantErr checks the gRPC code, that the message mentions each of
// mentions, and (when field is set) a BadRequest violation on that field.
func wantErr(t *testing.T, err error, code codes.Code, field string, mentions ...string) {
	t.Helper()
	st, ok := status.FromError(err)
	if !ok || err == nil {
		t.Fatalf("err = %v, want %s", err, code)
	}
	if st.Code() != code {
		t.Fatalf("code = %s (%s), want %s", st.Code(), st.Message(), code)
	}
	for _, m := range mentions {
		if !strings.Contains(st.Message(), m) {
			t.Errorf("message %q does not mention %q", st.Message(), m)
		}
	}
	if field == "" {
		return
	}
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				if v.GetField() == field {
					return
				}
			}
		}
	}
	t.Errorf("no BadRequest violation on field %q in %v", field, st.Details())
}

// noCompute is an adapter with no compute capability, to test that canopy
// names the missing capability.
type noCompute struct{}

func (noCompute) Info(context.Context) (providers.Info, error) {
	return providers.Info{Regions: []string{"nc-1"}, Zones: []string{"nc-1a"}}, nil
}
func (noCompute) Close() error { return nil }

func init() {
	providers.Register("test-nocompute", func(context.Context, providers.Config) (providers.Provider, error) { return noCompute{}, nil })
	providers.Register("test-regional", func(ctx context.Context, cfg providers.Config) (providers.Provider, error) {
		return providers.Open(ctx, "sim", cfg)
	})
	providers.RegisterExpander("test-regional", func(cfg providers.Config) ([]providers.Config, error) {
		var out []providers.Config
		for _, r := range cfg.Regions {
			c := cfg
			c.Name, c.Regions, c.Zones = cfg.Name+"-"+r, []string{r}, nil
			out = append(out, c)
		}
		return out, nil
	})
	providers.Register("test-broken", func(context.Context, providers.Config) (providers.Provider, error) {
		return nil, errors.New("bad credentials file")
	})
}

// bearer sends a token with every call (over plaintext loopback).
type bearer string

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(b)}, nil
}
func (bearer) RequireTransportSecurity() bool { return false }

// mintToken signs a token with the server's own issuer.
func mintToken(t testing.TB, srv *Server, project string, scopes ...string) string {
	t.Helper()
	tok, _, err := srv.Issuer().Issue("test-client", project, scopes)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// get does an authenticated REST GET.
func (e *env) get(ctx context.Context, path string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", e.rest+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+e.token)
	return http.DefaultClient.Do(req)
}

func mustBolt(t testing.TB, dir string) store.Store {
	t.Helper()
	st, err := bolt.Open(dir + "/canopy.db")
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func grpcMetadata(ctx context.Context, kv ...string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, kv...)
}

// cloudNamed is a configured cloud's stack.
func (s *Server) cloudNamed(name string) *router.Cloud {
	cl, _ := s.rt.Cloud(name)
	return cl
}
