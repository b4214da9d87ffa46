package client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"

	"golang.org/x/oauth2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
)

// DefaultAddr is canopyd's gRPC address on its embedded default.
const DefaultAddr = "127.0.0.1:8470"

// ErrPlaintextToken is Dial's refusal to send a token in plaintext to an
// address that is not loopback.
var ErrPlaintextToken = errors.New("refusing to send a token in plaintext")

// Client is one connection to canopyd and a stub for each service. The
// stubs are the generated ones: every RPC is reachable through them, and
// their errors are *Error (see FromError).
type Client struct {
	Conn          *grpc.ClientConn
	Compute       canopyv1.ComputeServiceClient
	Volumes       canopyv1.VolumeServiceClient
	Objects       canopyv1.ObjectServiceClient
	ImageTransfer canopyv1.ImageTransferServiceClient
	Containers    canopyv1.ContainerServiceClient
	Networks      canopyv1.NetworkServiceClient
	Operations    canopyv1.OperationServiceClient
	Clouds        canopyv1.CloudServiceClient
	Auth          canopyv1.AuthServiceClient
	addr          string
	tokenSrc      oauth2.TokenSource
}

// Addr is the address the client dials.
func (c *Client) Addr() string { return c.addr }

// TokenSource is where the client's tokens come from (nil: none are sent).
func (c *Client) TokenSource() oauth2.TokenSource { return c.tokenSrc }

// Close closes the connection.
func (c *Client) Close() error { return c.Conn.Close() }

// Option configures Dial.
type Option func(*options) error

type options struct {
	tls         *tls.Config
	tokenSrc    oauth2.TokenSource
	creds       *Credentials
	credsPath   string
	profile     string
	tokenURL    string
	tokenCache  bool
	userAgent   string
	dialOptions []grpc.DialOption
	insecureTok bool
}

// WithTLS connects over TLS with cfg (nil: the system's roots).
func WithTLS(cfg *tls.Config) Option {
	return func(o *options) error {
		if cfg == nil {
			cfg = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		o.tls = cfg
		return nil
	}
}

// WithCAFile connects over TLS trusting the PEM certificates in path
// (canopyd's own CA, or its self-signed certificate).
func WithCAFile(path string) Option {
	return func(o *options) error {
		cfg, err := LoadCAFile(path)
		if err != nil {
			return err
		}
		o.tls = cfg
		return nil
	}
}

// LoadCAFile is a TLS configuration trusting only the PEM certificates in
// path: what WithCAFile uses for the gRPC channel and the token endpoint.
func LoadCAFile(path string) (*tls.Config, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("CA file %s: no certificate found", path)
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool}, nil
}

// HTTPClient is an HTTP client whose TLS configuration is cfg (nil: Go's
// defaults). Dial gives it to the token requests of client credentials so
// that the token endpoint is trusted exactly as the gRPC channel is; put
// it in a context under oauth2.HTTPClient for requests of your own.
func HTTPClient(cfg *tls.Config) *http.Client {
	if cfg == nil {
		return &http.Client{}
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = cfg.Clone()
	return &http.Client{Transport: tr}
}

// WithToken sends token as is on every call (it is not refreshed).
func WithToken(token string) Option {
	return WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: token}))
}

// WithTokenSource sends src's tokens on every call. Wrap a source that
// does not cache in oauth2.ReuseTokenSourceWithExpiry.
func WithTokenSource(src oauth2.TokenSource) Option {
	return func(o *options) error { o.tokenSrc = src; return nil }
}

// WithCredentials gets tokens with c's client credentials
// (Credentials.TokenSource: refreshed RefreshBefore they expire).
func WithCredentials(c Credentials) Option {
	return func(o *options) error { o.creds = &c; return nil }
}

// WithCredentialsFile reads the client credentials from path (its
// default profile unless WithProfile names another; see ReadProfile) and
// gets tokens with them.
func WithCredentialsFile(path string) Option {
	return func(o *options) error { o.credsPath = path; return nil }
}

// WithProfile picks the profile of the WithCredentialsFile file.
func WithProfile(name string) Option {
	return func(o *options) error { o.profile = name; return nil }
}

// WithTokenURL overrides the credentials' token endpoint.
func WithTokenURL(url string) Option {
	return func(o *options) error { o.tokenURL = url; return nil }
}

// WithTokenCache keeps the token obtained with client credentials on disk
// (Credentials.CachedTokenSource at TokenCachePath), shared by processes.
func WithTokenCache() Option {
	return func(o *options) error { o.tokenCache = true; return nil }
}

// WithUserAgent sets the user agent canopyd logs.
func WithUserAgent(ua string) Option {
	return func(o *options) error { o.userAgent = ua; return nil }
}

// WithDialOptions adds gRPC dial options (after the client's own).
func WithDialOptions(opts ...grpc.DialOption) Option {
	return func(o *options) error { o.dialOptions = append(o.dialOptions, opts...); return nil }
}

// WithInsecureToken allows sending a token in plaintext to an address that
// is not loopback (a trusted network, a TLS-terminating sidecar). Without
// it Dial refuses.
func WithInsecureToken() Option {
	return func(o *options) error { o.insecureTok = true; return nil }
}

// Dial connects to canopyd at addr ("host:port"). It does not wait for the
// connection: the first call makes it. Without WithTLS or WithCAFile (or
// credentials whose profile sets tls or ca_file) the connection is
// plaintext, and a token is then sent only to a loopback address (unless
// WithInsecureToken). Token requests made with client credentials use the
// same TLS configuration as the gRPC channel, unless ctx already carries
// an oauth2.HTTPClient.
func Dial(ctx context.Context, addr string, opts ...Option) (*Client, error) {
	var o options
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	if o.credsPath != "" && o.creds == nil {
		c, err := ReadProfile(o.credsPath, o.profile)
		if err != nil {
			return nil, err
		}
		o.creds = &c
	}
	if o.creds != nil && o.tls == nil {
		switch {
		case o.creds.CAFile != "":
			cfg, err := LoadCAFile(o.creds.CAFile)
			if err != nil {
				return nil, err
			}
			o.tls = cfg
		case o.creds.TLS:
			o.tls = &tls.Config{MinVersion: tls.VersionTLS12}
		}
	}
	if o.creds != nil && o.tokenSrc == nil {
		c := *o.creds
		if o.tokenURL != "" {
			c.TokenURL = o.tokenURL
		}
		if o.tls != nil && ctx.Value(oauth2.HTTPClient) == nil {
			ctx = context.WithValue(ctx, oauth2.HTTPClient, HTTPClient(o.tls))
		}
		if o.tokenCache {
			o.tokenSrc = c.CachedTokenSource(ctx, TokenCachePath(c))
		} else {
			o.tokenSrc = c.TokenSource(ctx)
		}
	}
	transport := insecure.NewCredentials()
	if o.tls != nil {
		transport = credentials.NewTLS(o.tls)
	}
	ua := o.userAgent
	if ua == "" {
		ua = "canopy-go-client"
	}
	dopts := []grpc.DialOption{
		grpc.WithTransportCredentials(transport),
		grpc.WithUserAgent(ua),
		// Streamed downloads: read the socket 1 MiB at a time, not 32 KiB
		// (about 20% more throughput on loopback; BENCHMARKS.md, P5).
		grpc.WithReadBufferSize(1 << 20),
		grpc.WithChainUnaryInterceptor(errorsUnary),
		grpc.WithChainStreamInterceptor(errorsStream),
	}
	if o.tokenSrc != nil {
		if o.tls == nil && !o.insecureTok && !IsLoopback(addr) {
			return nil, fmt.Errorf("%w to %s: use TLS (WithTLS, WithCAFile)", ErrPlaintextToken, addr)
		}
		dopts = append(dopts, grpc.WithPerRPCCredentials(PerRPCCredentials(o.tokenSrc)))
	}
	dopts = append(dopts, o.dialOptions...)
	conn, err := grpc.NewClient(addr, dopts...)
	if err != nil {
		return nil, err
	}
	return &Client{
		Conn:          conn,
		Compute:       canopyv1.NewComputeServiceClient(conn),
		Volumes:       canopyv1.NewVolumeServiceClient(conn),
		Objects:       canopyv1.NewObjectServiceClient(conn),
		ImageTransfer: canopyv1.NewImageTransferServiceClient(conn),
		Containers:    canopyv1.NewContainerServiceClient(conn),
		Networks:      canopyv1.NewNetworkServiceClient(conn),
		Operations:    canopyv1.NewOperationServiceClient(conn),
		Clouds:        canopyv1.NewCloudServiceClient(conn),
		Auth:          canopyv1.NewAuthServiceClient(conn),
		addr:          addr,
		tokenSrc:      o.tokenSrc,
	}, nil
}

// DialEnv dials as the canopy CLI does with no flags: the address from
// $CANOPY_ADDR, else the credentials' grpc_addr, else DefaultAddr; a raw
// token from $CANOPY_TOKEN, else client credentials: the profile
// $CANOPY_PROFILE (default: DefaultProfile) of $CANOPY_CREDENTIALS or
// DefaultCredentialsPath (if that file exists; a named profile must;
// $CANOPY_TOKEN_URL overrides its token_url); TLS when $CANOPY_CA_FILE
// names a CA file, else as the profile says. opts come after these and
// override them.
func DialEnv(ctx context.Context, opts ...Option) (*Client, error) {
	var pre []Option
	addr := os.Getenv("CANOPY_ADDR")
	if tok := os.Getenv("CANOPY_TOKEN"); tok != "" {
		pre = append(pre, WithToken(tok))
	} else {
		path := os.Getenv("CANOPY_CREDENTIALS")
		if path == "" {
			path = DefaultCredentialsPath()
		}
		profile := os.Getenv(ProfileEnv)
		c, err := ReadProfile(path, profile)
		switch {
		case (errors.Is(err, fs.ErrNotExist) || errors.Is(err, ErrNoProfile)) && profile == "":
		case err != nil:
			return nil, err
		default:
			if u := os.Getenv("CANOPY_TOKEN_URL"); u != "" {
				c.TokenURL = u
			}
			if addr == "" {
				addr = c.GRPCAddr
			}
			pre = append(pre, WithCredentials(c))
		}
	}
	if ca := os.Getenv("CANOPY_CA_FILE"); ca != "" {
		pre = append(pre, WithCAFile(ca))
	}
	if addr == "" {
		addr = DefaultAddr
	}
	return Dial(ctx, addr, append(pre, opts...)...)
}

// PerRPCCredentials sends src's token as "authorization: Bearer …" on every
// call. It does not itself require TLS: Dial decides where plaintext is
// allowed.
func PerRPCCredentials(src oauth2.TokenSource) credentials.PerRPCCredentials {
	return tokenCreds{src}
}

type tokenCreds struct{ src oauth2.TokenSource }

func (c tokenCreds) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	tok, err := c.src.Token()
	if err != nil {
		return nil, fmt.Errorf("get a token: %w", err)
	}
	return map[string]string{"authorization": "Bearer " + tok.AccessToken}, nil
}

func (tokenCreds) RequireTransportSecurity() bool { return false }

// IsLoopback reports whether addr ("host:port") is a loopback address,
// where a token may travel in plaintext.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
