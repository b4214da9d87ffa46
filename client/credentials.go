package client

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// Credentials is the file canopyd writes on its first start (its admin
// client) and `canopy login` writes: a client's id and secret, where to
// exchange them for tokens, and optionally canopyd's gRPC address.
type Credentials struct {
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
	TokenURL     string `json:"token_url"`
	GRPCAddr     string `json:"grpc_addr,omitempty"`
}

// DefaultCredentialsPath is where canopyd writes and the CLI looks:
// $XDG_CONFIG_HOME/canopy/credentials.json (the OS's user config dir).
func DefaultCredentialsPath() string {
	dir, err := os.UserConfigDir()
	if err != nil {
		dir = os.TempDir()
	}
	return filepath.Join(dir, "canopy", "credentials.json")
}

// ReadCredentials reads a credentials file; a file without client_id,
// client_secret or token_url is an error naming it. A missing file is an
// error satisfying errors.Is(err, fs.ErrNotExist).
func ReadCredentials(path string) (Credentials, error) {
	var c Credentials
	raw, err := os.ReadFile(path)
	if err != nil {
		return c, err
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return c, fmt.Errorf("%s: %w", path, err)
	}
	if c.ClientID == "" || c.ClientSecret == "" || c.TokenURL == "" {
		return c, fmt.Errorf("%s: needs client_id, client_secret and token_url", path)
	}
	return c, nil
}

// WriteCredentials writes c to path (mode 0600, its directory 0700),
// replacing the file atomically.
func WriteCredentials(path string, c Credentials) error {
	raw, _ := json.MarshalIndent(c, "", "  ")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(raw, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// RefreshBefore is how long before its expiry a token is replaced: a call
// never starts with a token that could expire on its way.
const RefreshBefore = 30 * time.Second

// TokenSource gets tokens with the client-credentials grant at c.TokenURL
// (the id and secret in HTTP basic auth, as canopyd expects) and reuses
// each until RefreshBefore its expiry. ctx carries the HTTP client
// (oauth2.HTTPClient) and is not used for cancellation: the source outlives
// the call that made it.
func (c Credentials) TokenSource(ctx context.Context) oauth2.TokenSource {
	return oauth2.ReuseTokenSourceWithExpiry(nil, c.rawSource(ctx), RefreshBefore)
}

func (c Credentials) rawSource(ctx context.Context) oauth2.TokenSource {
	cc := clientcredentials.Config{ClientID: c.ClientID, ClientSecret: c.ClientSecret, TokenURL: c.TokenURL, AuthStyle: oauth2.AuthStyleInHeader}
	return cc.TokenSource(context.WithoutCancel(ctx))
}

// TokenCachePath is where CachedTokenSource keeps c's token: under the
// user's cache dir, keyed on the client and token URL so switching clients
// never reuses another's token.
func TokenCachePath(c Credentials) string {
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	sum := sha256.Sum256([]byte(c.ClientID + "\x00" + c.TokenURL))
	return filepath.Join(dir, "canopy", "token-"+hex.EncodeToString(sum[:8])+".json")
}

// CachedTokenSource is c.TokenSource with the token also kept in a file
// (mode 0600) at path, so short-lived processes such as the CLI share one
// token instead of each asking for one (a token request costs canopyd a
// slow secret hash). A cached token is used until RefreshBefore its expiry.
func (c Credentials) CachedTokenSource(ctx context.Context, path string) oauth2.TokenSource {
	return oauth2.ReuseTokenSourceWithExpiry(nil, &diskCache{path: path, src: c.rawSource(ctx)}, RefreshBefore)
}

type diskCache struct {
	path string
	src  oauth2.TokenSource
}

func (d *diskCache) Token() (*oauth2.Token, error) {
	if raw, err := os.ReadFile(d.path); err == nil {
		var tok oauth2.Token
		if json.Unmarshal(raw, &tok) == nil && tok.AccessToken != "" && time.Until(tok.Expiry) > RefreshBefore {
			return &tok, nil
		}
	}
	tok, err := d.src.Token()
	if err != nil {
		return nil, err
	}
	raw, _ := json.Marshal(tok)
	if err := os.MkdirAll(filepath.Dir(d.path), 0o700); err == nil {
		// A temp file of its own: several processes may refresh at once.
		if f, err := os.CreateTemp(filepath.Dir(d.path), ".token-*"); err == nil {
			_, werr := f.Write(raw)
			if cerr := f.Close(); werr == nil && cerr == nil {
				_ = os.Rename(f.Name(), d.path)
			}
			_ = os.Remove(f.Name())
		}
	}
	return tok, nil
}
