package client

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// Credentials is one profile of the credentials file: a client's id and
// secret, where to exchange them for tokens, and optionally where canopyd
// is and how to trust it.
type Credentials struct {
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
	TokenURL     string `json:"token_url"`
	// GRPCAddr is canopyd's gRPC address ("host:port").
	GRPCAddr string `json:"grpc_addr,omitempty"`
	// TLS says canopyd is reached over TLS (system roots unless CAFile).
	TLS bool `json:"tls,omitempty"`
	// CAFile is a PEM file of the CA canopyd's certificate chains to,
	// trusted for its gRPC port and its token endpoint alike.
	CAFile string `json:"ca_file,omitempty"`
}

// DefaultProfile is the profile used when none is named: the top level of
// the credentials file, which canopyd's first run writes and which the
// Python and C++ clients read.
const DefaultProfile = "default"

// ProfileEnv names the profile to use when no --profile (or
// DialEnv option) says otherwise.
const ProfileEnv = "CANOPY_PROFILE"

// CredentialsFile is the whole credentials file: the default profile at
// the top level (the shape every canopy client reads) and named profiles
// beside it, so one user can hold the first-run admin client and the
// clients they log in with, each kept apart:
//
//	{"client_id": "…", "client_secret": "…", "token_url": "…", "grpc_addr": "…",
//	 "profiles": {"reader": {"client_id": "…", …}}}
type CredentialsFile struct {
	Credentials
	Profiles map[string]Credentials `json:"profiles,omitempty"`
}

// ErrNoProfile is the error (wrapped) for a profile the file does not hold.
var ErrNoProfile = errors.New("no such profile")

var profileName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$`)

// CheckProfileName refuses a profile name that is not 1–63 letters,
// digits, '_', '.' or '-' (starting with a letter or digit).
func CheckProfileName(name string) error {
	if !profileName.MatchString(name) {
		return fmt.Errorf("profile %q: want 1-63 letters, digits, '_', '.' or '-', starting with a letter or digit", name)
	}
	return nil
}

// Profile returns the profile called name ("" is DefaultProfile). A
// profile the file lacks is ErrNoProfile, naming those it has.
func (f CredentialsFile) Profile(name string) (Credentials, error) {
	if name == "" || name == DefaultProfile {
		if f.Credentials == (Credentials{}) {
			return Credentials{}, fmt.Errorf("profile %q: %w (have: %s)", DefaultProfile, ErrNoProfile, strings.Join(f.Names(), ", "))
		}
		return f.Credentials, nil
	}
	c, ok := f.Profiles[name]
	if !ok {
		return Credentials{}, fmt.Errorf("profile %q: %w (have: %s)", name, ErrNoProfile, strings.Join(f.Names(), ", "))
	}
	return c, nil
}

// Set stores c as the profile called name ("" is DefaultProfile),
// leaving every other profile as it is.
func (f *CredentialsFile) Set(name string, c Credentials) {
	if name == "" || name == DefaultProfile {
		f.Credentials = c
		return
	}
	if f.Profiles == nil {
		f.Profiles = map[string]Credentials{}
	}
	f.Profiles[name] = c
}

// Names lists the profiles the file holds, DefaultProfile first.
func (f CredentialsFile) Names() []string {
	var names []string
	for n := range f.Profiles {
		names = append(names, n)
	}
	sort.Strings(names)
	if f.Credentials != (Credentials{}) {
		names = append([]string{DefaultProfile}, names...)
	}
	return names
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

// ReadCredentialsFile reads the whole credentials file. A missing file is
// an error satisfying errors.Is(err, fs.ErrNotExist).
func ReadCredentialsFile(path string) (CredentialsFile, error) {
	var f CredentialsFile
	raw, err := os.ReadFile(path)
	if err != nil {
		return f, err
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		return f, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// ReadCredentials reads the default profile of a credentials file.
func ReadCredentials(path string) (Credentials, error) {
	return ReadProfile(path, DefaultProfile)
}

// ReadProfile reads the profile called name of a credentials file; one
// without client_id, client_secret or token_url is an error naming it. A
// missing file is an error satisfying errors.Is(err, fs.ErrNotExist).
func ReadProfile(path, name string) (Credentials, error) {
	f, err := ReadCredentialsFile(path)
	if err != nil {
		return Credentials{}, err
	}
	c, err := f.Profile(name)
	if err != nil {
		return c, fmt.Errorf("%s: %w", path, err)
	}
	if c.ClientID == "" || c.ClientSecret == "" || c.TokenURL == "" {
		return c, fmt.Errorf("%s: profile %q needs client_id, client_secret and token_url", path, nameOr(name))
	}
	return c, nil
}

func nameOr(name string) string {
	if name == "" {
		return DefaultProfile
	}
	return name
}

// WriteCredentials stores c as the default profile of the file at path,
// keeping its other profiles (see WriteProfile).
func WriteCredentials(path string, c Credentials) error {
	return WriteProfile(path, DefaultProfile, c)
}

// WriteProfile stores c as the profile called name in the file at path
// (mode 0600, its directory 0700), keeping every other profile; the file
// is replaced atomically. A file that is not a credentials file is left
// alone and is an error.
func WriteProfile(path, name string, c Credentials) error {
	if name != "" && name != DefaultProfile {
		if err := CheckProfileName(name); err != nil {
			return err
		}
	}
	f, err := ReadCredentialsFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	f.Set(name, c)
	return writeFile(path, f)
}

func writeFile(path string, f CredentialsFile) error {
	raw, _ := json.MarshalIndent(f, "", "  ")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".credentials-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	_, werr := tmp.Write(append(raw, '\n'))
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return werr
	}
	return os.Rename(tmp.Name(), path)
}

// RefreshBefore is how long before its expiry a token is replaced: a call
// never starts with a token that could expire on its way.
const RefreshBefore = 30 * time.Second

// TokenSource gets tokens with the client-credentials grant at c.TokenURL
// (the id and secret in HTTP basic auth, as canopyd expects) and reuses
// each until RefreshBefore its expiry. ctx carries the HTTP client
// (oauth2.HTTPClient; see HTTPClient for one trusting canopyd's CA) and is
// not used for cancellation: the source outlives the call that made it.
func (c Credentials) TokenSource(ctx context.Context) oauth2.TokenSource {
	return oauth2.ReuseTokenSourceWithExpiry(nil, c.rawSource(ctx), RefreshBefore)
}

func (c Credentials) rawSource(ctx context.Context) oauth2.TokenSource {
	return c.config().TokenSource(context.WithoutCancel(ctx))
}

func (c Credentials) config() *clientcredentials.Config {
	return &clientcredentials.Config{ClientID: c.ClientID, ClientSecret: c.ClientSecret, TokenURL: c.TokenURL, AuthStyle: oauth2.AuthStyleInHeader}
}

// Token gets one token with c right away (no reuse, no cache): what
// `canopy login` does to check credentials before it saves them. ctx
// carries the HTTP client as for TokenSource.
func (c Credentials) Token(ctx context.Context) (*oauth2.Token, error) {
	return c.config().Token(ctx)
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
