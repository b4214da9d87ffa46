package sim

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/canopy-cloud/canopy/providers"
)

// state is what a persisted sim cloud writes to disk.
type state struct {
	Seq      uint64                       `json:"seq"`
	Servers  []savedServer                `json:"servers"`
	Keypairs map[string]providers.Keypair `json:"keypairs"`
	Volumes  *volumeState                 `json:"volumes,omitempty"` // volumes.go
	// Images uploaded (not the catalogue's) and those still importing
	// (images.go); their bytes are files beside the objects'.
	Images  []providers.Image    `json:"images,omitempty"`
	Imports map[string]time.Time `json:"imports,omitempty"`
	// Net is the networking (networks.go); a state file from before the
	// cloud had networks has none, and gets a new cloud's.
	Net *netState `json:"net,omitempty"`
}

type savedServer struct {
	Server   providers.Server `json:"server"`
	From     providers.Status `json:"from"`
	To       providers.Status `json:"to"`
	Until    time.Time        `json:"until"`
	RawUntil string           `json:"raw_until"`
	Ports    []string         `json:"ports,omitempty"`
}

// load restores the state file, reporting whether there was one.
func (c *Cloud) load() bool {
	if c.opts.StatePath == "" {
		return false
	}
	raw, err := os.ReadFile(c.opts.StatePath)
	if err != nil {
		return false
	}
	var st state
	if err := json.Unmarshal(raw, &st); err != nil {
		slog.Warn("sim: state file unreadable; starting empty", "path", c.opts.StatePath, "err", err)
		return false
	}
	c.seq = st.Seq
	for _, s := range st.Servers {
		c.servers[s.Server.NativeID] = &server{s: s.Server, from: s.From, to: s.To, until: s.Until, rawUntil: s.RawUntil, ports: s.Ports}
	}
	if st.Keypairs != nil {
		c.keypairs = st.Keypairs
	}
	if st.Volumes != nil {
		c.vol = st.Volumes
		c.vol.fill()
	}
	c.images = append(c.images, st.Images...)
	c.imports = st.Imports
	if st.Net != nil {
		c.net = st.Net
		c.net.fill()
	} else {
		c.seedNetworks()
	}
	return true
}

// save writes the state file atomically (temp file, fsync, rename). It is
// called with c.mu held after every mutation; the simulator is for the
// embedded default and tests, so simplicity beats throughput here.
func (c *Cloud) save() {
	if c.opts.StatePath == "" {
		return
	}
	st := state{Seq: c.seq, Keypairs: c.keypairs, Volumes: c.vol, Images: c.uploadedImages(), Imports: c.imports, Net: c.net}
	for _, r := range c.servers {
		st.Servers = append(st.Servers, savedServer{Server: r.s, From: r.from, To: r.to, Until: r.until, RawUntil: r.rawUntil, Ports: r.ports})
	}
	if err := writeFileAtomic(c.opts.StatePath, st); err != nil {
		slog.Error("sim: cannot save state", "path", c.opts.StatePath, "err", err)
	}
}

func writeFileAtomic(path string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(raw); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("rename: %w", err)
	}
	return nil
}
