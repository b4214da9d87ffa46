package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// clientCreds is the file canopyd writes on first start and `canopy login`
// writes: a client's id and secret and where to get tokens.
type clientCreds struct {
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
	TokenURL     string `json:"token_url"`
	GRPCAddr     string `json:"grpc_addr,omitempty"`
}

func defaultCredentialsPath() string {
	dir, err := os.UserConfigDir()
	if err != nil {
		dir = os.TempDir()
	}
	return filepath.Join(dir, "canopy", "credentials.json")
}

func readCredentials(path string) (clientCreds, error) {
	var c clientCreds
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

func writeCredentials(path string, c clientCreds) error {
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

// tokenSource picks how the CLI authenticates: a raw token (--token or
// $CANOPY_TOKEN), else the credentials file's client, else none (canopyd
// then answers UNAUTHENTICATED with a hint).
func (a *app) tokenSource(ctx context.Context) (oauth2.TokenSource, error) {
	if a.token != "" {
		return oauth2.StaticTokenSource(&oauth2.Token{AccessToken: a.token}), nil
	}
	c, err := readCredentials(a.credentials)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if a.tokenURL != "" {
		c.TokenURL = a.tokenURL
	}
	cc := clientcredentials.Config{ClientID: c.ClientID, ClientSecret: c.ClientSecret, TokenURL: c.TokenURL, AuthStyle: oauth2.AuthStyleInHeader}
	return oauth2.ReuseTokenSource(nil, &diskCache{path: tokenCachePath(c), src: cc.TokenSource(context.WithoutCancel(ctx))}), nil
}

// tokenCachePath keys the cache on the client and token URL, so switching
// clients never reuses another's token.
func tokenCachePath(c clientCreds) string {
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	sum := sha256.Sum256([]byte(c.ClientID + "\x00" + c.TokenURL))
	return filepath.Join(dir, "canopy", "token-"+hex.EncodeToString(sum[:8])+".json")
}

// diskCache reuses a token across CLI invocations (a token request costs
// the server a slow secret hash), refreshing it when it is about to expire.
type diskCache struct {
	path string
	src  oauth2.TokenSource
}

func (d *diskCache) Token() (*oauth2.Token, error) {
	if raw, err := os.ReadFile(d.path); err == nil {
		var tok oauth2.Token
		if json.Unmarshal(raw, &tok) == nil && tok.AccessToken != "" && time.Until(tok.Expiry) > 30*time.Second {
			return &tok, nil
		}
	}
	tok, err := d.src.Token()
	if err != nil {
		return nil, err
	}
	raw, _ := json.Marshal(tok)
	if err := os.MkdirAll(filepath.Dir(d.path), 0o700); err == nil {
		_ = os.WriteFile(d.path, raw, 0o600)
	}
	return tok, nil
}
