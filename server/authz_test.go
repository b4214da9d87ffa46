package server

import (
	"context"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"gopkg.in/yaml.v3"

	"github.com/canopy-cloud/canopy/auth"
	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/store/bolt"
)

// matrixFixture is what the authorization matrix calls RPCs about: one
// resource of each kind, owned by project "default".
type matrixFixture struct {
	server, keypair, flavor, image, client string
}

// rpc is one method of a canopy service.
type rpc struct {
	full   string // /canopy.v1.ComputeService/GetServer
	method protoreflect.MethodDescriptor
}

// canopyRPCs lists every method of every canopy.v1 service: the matrix
// covers new RPCs without being told.
func canopyRPCs(t *testing.T) []rpc {
	var out []rpc
	protoregistry.GlobalFiles.RangeFilesByPackage("canopy.v1", func(fd protoreflect.FileDescriptor) bool {
		for i := 0; i < fd.Services().Len(); i++ {
			sd := fd.Services().Get(i)
			for j := 0; j < sd.Methods().Len(); j++ {
				md := sd.Methods().Get(j)
				out = append(out, rpc{full: "/" + string(sd.FullName()) + "/" + string(md.Name()), method: md})
			}
		}
		return true
	})
	if len(out) < 20 {
		t.Fatalf("found only %d canopy RPCs", len(out))
	}
	return out
}

// request builds a request for the method whose id-like fields name the
// fixture's resources.
func (f matrixFixture) request(t *testing.T, m protoreflect.MethodDescriptor) proto.Message {
	mt, err := protoregistry.GlobalTypes.FindMessageByName(m.Input().FullName())
	if err != nil {
		t.Fatal(err)
	}
	msg := mt.New()
	name := string(m.Name())
	id := f.server
	switch {
	case strings.Contains(name, "Keypair"):
		id = f.keypair
	case strings.Contains(name, "Flavor"):
		id = f.flavor
	case strings.Contains(name, "Image"):
		id = f.image
	case strings.Contains(name, "Client"):
		id = f.client
	case strings.Contains(name, "Cloud"):
		id = "local"
	}
	fields := msg.Descriptor().Fields()
	for _, fname := range []protoreflect.Name{"id", "name"} {
		if fd := fields.ByName(fname); fd != nil && fd.Kind() == protoreflect.StringKind && fd.Cardinality() != protoreflect.Repeated {
			msg.Set(fd, protoreflect.ValueOfString(id))
			break
		}
	}
	return msg.Interface()
}

// call invokes one RPC with a token; streams return their first message's
// error.
func call(ctx context.Context, cc *grpc.ClientConn, r rpc, req proto.Message, token string) error {
	if token != "" {
		ctx = withToken(ctx, token)
	}
	mt, _ := protoregistry.GlobalTypes.FindMessageByName(r.method.Output().FullName())
	resp := mt.New().Interface()
	if !r.method.IsStreamingServer() {
		return cc.Invoke(ctx, r.full, req, resp)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	st, err := cc.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, r.full)
	if err != nil {
		return err
	}
	if err := st.SendMsg(req); err != nil {
		return err
	}
	_ = st.CloseSend()
	return st.RecvMsg(resp)
}

func withToken(ctx context.Context, token string) context.Context {
	return grpcMetadata(ctx, "authorization", "Bearer "+token)
}

// pastAuth means "got past authentication and authorization", whatever the
// call then answered.
const pastAuth = codes.Code(1 << 20)

type tokenKind struct {
	name  string
	token string
	// want returns the exact code for a method needing scope, or pastAuth.
	want func(scope string) codes.Code
}

func TestAuthorizationMatrix(t *testing.T) {
	e := newEnv(t, `
clouds:
  - name: local
    kind: sim
    options: {servers: 1}
`)
	// 641 calls, under -race on a loaded 2-core machine: each call is
	// bounded by the server, the whole matrix only by this generous deadline.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	sv, err := e.compute.CreateServer(ctx, &canopyv1.CreateServerRequest{Name: "mine", Flavor: "m1.tiny", Image: "cirros-0.6.2"})
	if err != nil {
		t.Fatal(err)
	}
	kp, err := e.compute.CreateKeypair(ctx, &canopyv1.CreateKeypairRequest{Name: "mykey"})
	if err != nil {
		t.Fatal(err)
	}
	cl, err := e.authc.CreateClient(ctx, &canopyv1.CreateClientRequest{Name: "ci", Project: "default", Scopes: []string{auth.ScopeRead}})
	if err != nil {
		t.Fatal(err)
	}
	fl, _ := e.compute.GetFlavor(ctx, &canopyv1.GetFlavorRequest{Id: "m1.tiny"})
	// The image methods act on an image project default uploaded, its to
	// change and delete (a catalogue image is an admin's alone).
	im, err := e.as(t, "default", auth.ScopeWrite).upload(ctx, "matrix-img", []byte("x"), nil)
	if err != nil {
		t.Fatal(err)
	}
	fx := matrixFixture{server: sv.Id, keypair: kp.Id, flavor: fl.GetId(), image: im.GetId(), client: cl.Client.Id}

	kinds := matrixTokens(t, e)

	cc, err := grpc.NewClient(e.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()), boundUnary(), boundStream())
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	rpcs := canopyRPCs(t)
	calls := 0
	for _, k := range kinds {
		for _, r := range rpcs {
			want := k.want(wantScope(r.full))
			if k.name == "admin" && isDestructive(r.full) {
				continue // checked below, after the other rows
			}
			err := call(ctx, cc, r, fx.request(t, r.method), k.token)
			calls++
			got := status.Code(err)
			switch {
			case want != pastAuth && got != want:
				t.Errorf("%s × %s: %s (%v), want %s", k.name, r.full, got, err, want)
			case want == pastAuth && (got == codes.Unauthenticated || got == codes.PermissionDenied):
				t.Errorf("%s × %s: %s (%v), want it past auth", k.name, r.full, got, err)
			}
			if err != nil && k.token != "" && strings.Contains(status.Convert(err).Message(), k.token[:20]) {
				t.Errorf("%s × %s: error echoes the token", k.name, r.full)
			}
			// Another project's token never sees default's resources.
			if k.name == "other project" && strings.Contains(r.full, "ComputeService/") && !strings.Contains(r.full, "Flavor") &&
				!strings.Contains(r.full, "Image") && !strings.Contains(r.full, "List") && !strings.Contains(r.full, "Create") && !strings.Contains(r.full, "Watch") {
				if got != codes.NotFound {
					t.Errorf("other project × %s on default's resource: %s (%v), want NOT_FOUND", r.full, got, err)
				}
			}
		}
	}
	t.Logf("authorization matrix: %d gRPC calls over %d RPCs × %d token kinds", calls, len(rpcs), len(kinds))

	// No leak through lists, names or watches.
	octx := withToken(ctx, kinds[6].token)
	list, err := canopyv1.NewComputeServiceClient(cc).ListServers(octx, &canopyv1.ListServersRequest{})
	if err != nil || len(list.Servers) != 0 {
		t.Errorf("other project lists %d servers (%v), want 0", len(list.GetServers()), err)
	}
	keys, err := canopyv1.NewComputeServiceClient(cc).ListKeypairs(octx, &canopyv1.ListKeypairsRequest{})
	if err != nil || len(keys.Keypairs) != 0 {
		t.Errorf("other project lists %d keypairs (%v)", len(keys.GetKeypairs()), err)
	}
	if _, err := canopyv1.NewComputeServiceClient(cc).GetServer(octx, &canopyv1.GetServerRequest{Id: "mine"}); status.Code(err) != codes.NotFound {
		t.Errorf("other project gets default's server by name: %v", err)
	}
	w, err := canopyv1.NewComputeServiceClient(cc).WatchServers(octx, &canopyv1.WatchServersRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if ev, err := w.Recv(); err != nil || ev.Type != canopyv1.WatchServersResponse_EVENT_TYPE_SYNCED {
		t.Errorf("other project's watch starts with %v (%v), want SYNCED with nothing before", ev, err)
	}
	// And what the other project creates, default does not see.
	theirs, err := canopyv1.NewComputeServiceClient(cc).CreateServer(octx, &canopyv1.CreateServerRequest{Name: "theirs", Flavor: "m1.tiny", Image: "cirros-0.6.2"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.compute.GetServer(ctx, &canopyv1.GetServerRequest{Id: theirs.Id}); status.Code(err) != codes.NotFound {
		t.Errorf("default sees elsewhere's server: %v", err)
	}

	// Admin last, on the destructive methods.
	for _, r := range rpcs {
		if !isDestructive(r.full) {
			continue
		}
		if err := call(ctx, cc, r, fx.request(t, r.method), e.token); status.Code(err) == codes.Unauthenticated || status.Code(err) == codes.PermissionDenied {
			t.Errorf("admin × %s: %v", r.full, err)
		}
	}
}

// matrixTokens makes one token of every kind the matrix checks, all for
// project "default" unless said.
func matrixTokens(t *testing.T, e *env) []tokenKind {
	ctx := ctxT(t)
	raw := e.st.(*bolt.Store)
	issuer := func(mod func(*auth.IssuerOptions)) *auth.Issuer {
		o := auth.IssuerOptions{URL: "http://canopy.test"}
		mod(&o)
		i, err := auth.NewIssuer(ctx, raw, o)
		if err != nil {
			t.Fatal(err)
		}
		return i
	}
	other, err := bolt.Open(t.TempDir() + "/other.db")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	forger, _ := auth.NewIssuer(ctx, other, auth.IssuerOptions{URL: "http://canopy.test"})
	sign := func(i *auth.Issuer, project string, scopes ...string) string {
		tok, _, err := i.Issue("matrix", project, scopes)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	unauth := func(string) codes.Code { return codes.Unauthenticated }
	passes := func(string) codes.Code { return pastAuth }
	kinds := []tokenKind{
		{"no token", "", unauth},
		{"expired", sign(issuer(func(o *auth.IssuerOptions) { o.Now = func() time.Time { return time.Now().Add(-2 * time.Hour) } }), "default", auth.ScopeAdmin), unauth},
		{"bad signature", sign(forger, "default", auth.ScopeAdmin), unauth},
		{"wrong audience", sign(issuer(func(o *auth.IssuerOptions) { o.Audience = "not-canopy" }), "default", auth.ScopeAdmin), unauth},
		{"read-only", mintToken(t, e.srv, "default", auth.ScopeRead), func(scope string) codes.Code {
			if scope == auth.ScopeRead {
				return pastAuth
			}
			return codes.PermissionDenied
		}},
		{"write", mintToken(t, e.srv, "default", auth.ScopeWrite), func(scope string) codes.Code {
			if scope == auth.ScopeAdmin {
				return codes.PermissionDenied
			}
			return pastAuth
		}},
		{"other project", mintToken(t, e.srv, "elsewhere", auth.ScopeAdmin), passes},
		{"admin", e.token, passes},
	}

	return kinds
}

// wantScope is the test's own statement of which scope each RPC needs,
// independent of requiredScope: reads are the Get/List/Find/Watch/Wait/Download
// methods, AuthService is admin, everything else writes.
func wantScope(full string) string {
	svc, method, _ := strings.Cut(strings.TrimPrefix(full, "/"), "/")
	if svc == "canopy.v1.AuthService" {
		return auth.ScopeAdmin
	}
	switch method {
	case "CreateDownloadURL", "ContainerLogs", "TopContainer", "StreamContainerStats":
		return auth.ScopeRead
	}
	for _, read := range []string{"Get", "List", "Find", "Watch", "Wait", "Download"} {
		if strings.HasPrefix(method, read) {
			return auth.ScopeRead
		}
	}
	return auth.ScopeWrite
}

func isDestructive(full string) bool {
	for _, w := range []string{"Delete", "Rotate", "Stop", "Reboot"} {
		if strings.Contains(full, "/"+w) {
			return true
		}
	}
	return false
}

// TestAuthorizationMatrixREST drives every REST route with each kind of
// token and checks the HTTP status the gRPC code maps to.
func TestAuthorizationMatrixREST(t *testing.T) {
	e := newEnv(t, oneCloud)
	// Hundreds of requests under -race on a loaded 2-core machine: each is
	// bounded on its own (testDeadline), the whole matrix by a generous deadline,
	// as in the gRPC matrix (a shared 20s deadline ran out under load).
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	sv, err := e.compute.CreateServer(ctx, &canopyv1.CreateServerRequest{Name: "mine", Flavor: "m1.tiny", Image: "cirros-0.6.2"})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile("../proto/canopy/v1/http.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		HTTP struct {
			Rules []map[string]string `yaml:"rules"`
		} `yaml:"http"`
	}
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	kinds := matrixTokens(t, e)
	routes := 0
	covered := map[string]bool{} // selectors with at least one route
	for _, rule := range cfg.HTTP.Rules {
		sel := rule["selector"]
		for _, verb := range []string{"get", "post", "delete", "patch", "put"} {
			path, ok := rule[verb]
			if !ok {
				continue
			}
			routes++
			covered[sel] = true
			path = strings.NewReplacer("{id}", sv.Id, "{name}", "local").Replace(path)
			scope := wantScope("/" + sel[:strings.LastIndex(sel, ".")] + "/" + sel[strings.LastIndex(sel, ".")+1:])
			for _, k := range kinds {
				name, tok := k.name, k.token
				req, _ := http.NewRequestWithContext(ctx, strings.ToUpper(verb), e.rest+path, strings.NewReader("{}"))
				if tok != "" {
					req.Header.Set("Authorization", "Bearer "+tok)
				}
				want := 0
				switch code := k.want(scope); code {
				case codes.Unauthenticated:
					want = http.StatusUnauthorized
				case codes.PermissionDenied:
					want = http.StatusForbidden
				}
				rctx, rcancel := context.WithTimeout(ctx, testDeadline)
				req = req.WithContext(rctx)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					rcancel()
					t.Fatalf("%s %s: %v", verb, path, err)
				}
				var body []byte
				// A refused watch answers its error and ends; an allowed
				// one streams until cut, so only its status is read.
				if want != 0 || !strings.Contains(path, ":watch") {
					body, _ = io.ReadAll(io.LimitReader(resp.Body, 4096))
				}
				resp.Body.Close()
				rcancel()
				if want != 0 && resp.StatusCode != want && !(strings.Contains(path, ":watch") && strings.Contains(string(body), `"code":16`)) {
					t.Errorf("%s %s with %s token: %d %s, want %d", strings.ToUpper(verb), path, name, resp.StatusCode, body, want)
				}
				if want == 0 && (resp.StatusCode == 401 || resp.StatusCode == 403) {
					t.Errorf("%s %s with %s token: %d %s", strings.ToUpper(verb), path, name, resp.StatusCode, body)
				}
				if name == "other project" && strings.HasSuffix(path, sv.Id) && resp.StatusCode != http.StatusNotFound {
					t.Errorf("%s %s with another project's token: %d, want 404", strings.ToUpper(verb), path, resp.StatusCode)
				}
			}
		}
	}
	t.Logf("REST matrix: %d routes × %d token kinds", routes, len(kinds))
	// The matrix ran what it says: every RPC with a REST route (all but the
	// streamed transfers, served by transfer_http.go), and http.yaml names
	// only real RPCs. A misread YAML would otherwise pass with 0 routes.
	const minRoutes = 50
	if routes < minRoutes || len(kinds) < 4 {
		t.Fatalf("REST matrix ran %d routes × %d token kinds; want at least %d × 4", routes, len(kinds), minRoutes)
	}
	for _, r := range canopyRPCs(t) {
		sel := strings.ReplaceAll(strings.TrimPrefix(r.full, "/"), "/", ".")
		if !covered[sel] && !r.method.IsStreamingClient() && !r.method.IsStreamingServer() {
			t.Errorf("%s has no REST route in http.yaml: the REST matrix does not cover it", r.full)
		}
		delete(covered, sel)
	}
	for sel := range covered {
		t.Errorf("http.yaml routes %s, which is no canopy RPC", sel)
	}
}
