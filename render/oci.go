package render

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path"
	"strings"
	"time"
)

// The container output is one tarball that is both an OCI image layout
// (oci-layout, index.json, blobs/sha256/…) and what `docker save` writes
// (manifest.json naming the same blobs), so docker load, containerd's
// import and OCI tools all take it. Its single uncompressed layer is the
// original tarball re-streamed — owners and modes as the author gave
// them, no root needed — with the templates' rendered bytes in place of
// their sources and the volatile paths emptied.

const (
	mtLayer    = "application/vnd.oci.image.layer.v1.tar"
	mtConfig   = "application/vnd.oci.image.config.v1+json"
	mtManifest = "application/vnd.oci.image.manifest.v1+json"
	mtIndex    = "application/vnd.oci.image.index.v1+json"
)

type descriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// hashWriter counts and hashes what goes through it.
type hashWriter struct {
	w io.Writer
	h hash.Hash
	n int64
}

func (w *hashWriter) Write(p []byte) (int, error) {
	n, err := w.w.Write(p)
	w.h.Write(p[:n])
	w.n += int64(n)
	return n, err
}

// writeLayer re-streams the tarball at src into dst with templates
// replaced and volatile contents dropped; it returns the layer's digest
// and size.
func writeLayer(src, dst string, m *Manifest, filled map[string][]byte) (string, int64, error) {
	in, err := os.Open(src)
	if err != nil {
		return "", 0, fmt.Errorf("render: %w", err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return "", 0, fmt.Errorf("render: %w", err)
	}
	defer out.Close()
	hw := &hashWriter{w: out, h: sha256.New()}
	tw := tar.NewWriter(hw)
	tr := tar.NewReader(in)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", 0, bad("tarball", "not a tar archive: %v", err)
		}
		name, err := checkHeader(h)
		if err != nil {
			return "", 0, err
		}
		if volatileChild(m, name) {
			continue
		}
		var body io.Reader = tr
		if b, ok := filled[name]; ok && h.Typeflag == tar.TypeReg {
			h.Size, body = int64(len(b)), strings.NewReader(string(b))
		}
		h.Format = tar.FormatPAX
		if err := tw.WriteHeader(h); err != nil {
			return "", 0, fmt.Errorf("render: layer %s: %w", h.Name, err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := io.Copy(tw, body); err != nil {
				return "", 0, fmt.Errorf("render: layer %s: %w", h.Name, err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		return "", 0, fmt.Errorf("render: layer: %w", err)
	}
	if err := out.Close(); err != nil {
		return "", 0, fmt.Errorf("render: layer: %w", err)
	}
	return hex.EncodeToString(hw.h.Sum(nil)), hw.n, nil
}

// volatileChild reports whether name lies strictly inside a volatile path.
func volatileChild(m *Manifest, name string) bool {
	for _, v := range m.Volatile {
		if strings.HasPrefix(name, strings.TrimPrefix(v, "/")+"/") {
			return true
		}
	}
	return false
}

func ociArch(a string) string {
	switch a {
	case "aarch64", "arm64":
		return "arm64"
	}
	return "amd64"
}

// RepoTag is the name:tag a container output loads as.
func RepoTag(m *Manifest) string { return strings.ToLower(m.Name) + ":latest" }

// writeOCI writes the container image tarball to out.
func writeOCI(src, scratch, out string, m *Manifest, filled map[string][]byte) error {
	layerFile := path.Join(scratch, "layer.tar")
	defer os.Remove(layerFile)
	layerSum, layerSize, err := writeLayer(src, layerFile, m, filled)
	if err != nil {
		return err
	}
	c := m.Container
	if c == nil {
		c = &Container{}
	}
	vols := map[string]struct{}{}
	for _, p := range m.Persistent {
		vols[p] = struct{}{}
	}
	type runConfig struct {
		Entrypoint []string            `json:"Entrypoint,omitempty"`
		Cmd        []string            `json:"Cmd,omitempty"`
		Env        []string            `json:"Env,omitempty"`
		WorkingDir string              `json:"WorkingDir,omitempty"`
		User       string              `json:"User,omitempty"`
		Volumes    map[string]struct{} `json:"Volumes,omitempty"`
		Labels     map[string]string   `json:"Labels,omitempty"`
	}
	cfg, _ := json.Marshal(map[string]any{
		"architecture": ociArch(m.Arch), "os": "linux", "created": time.Unix(0, 0).UTC().Format(time.RFC3339),
		"config": runConfig{Entrypoint: c.Entrypoint, Cmd: c.Cmd, Env: c.Env, WorkingDir: c.WorkingDir, User: c.User, Volumes: vols,
			Labels: map[string]string{"org.opencontainers.image.title": m.Name}},
		"rootfs":  map[string]any{"type": "layers", "diff_ids": []string{"sha256:" + layerSum}},
		"history": []map[string]string{{"created_by": "canopy image render"}},
	})
	cfgD := descriptor{MediaType: mtConfig, Digest: "sha256:" + sum(cfg), Size: int64(len(cfg))}
	layerD := descriptor{MediaType: mtLayer, Digest: "sha256:" + layerSum, Size: layerSize}
	man, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": mtManifest, "config": cfgD, "layers": []descriptor{layerD}})
	manD := descriptor{MediaType: mtManifest, Digest: "sha256:" + sum(man), Size: int64(len(man)),
		Annotations: map[string]string{"org.opencontainers.image.ref.name": "latest", "io.containerd.image.name": "docker.io/library/" + RepoTag(m)}}
	index, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": mtIndex, "manifests": []descriptor{manD}})
	docker, _ := json.Marshal([]map[string]any{{"Config": "blobs/sha256/" + sum(cfg), "RepoTags": []string{RepoTag(m)},
		"Layers": []string{"blobs/sha256/" + layerSum}}})

	f, err := os.Create(out + ".tmp")
	if err != nil {
		return fmt.Errorf("render: %w", err)
	}
	defer func() { f.Close(); os.Remove(out + ".tmp") }()
	tw := tar.NewWriter(f)
	add := func(name string, b []byte) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0)}); err != nil {
			return err
		}
		_, err := tw.Write(b)
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: "blobs/", Mode: 0o755, Typeflag: tar.TypeDir, ModTime: time.Unix(0, 0)}); err != nil {
		return fmt.Errorf("render: oci: %w", err)
	}
	if err := tw.WriteHeader(&tar.Header{Name: "blobs/sha256/", Mode: 0o755, Typeflag: tar.TypeDir, ModTime: time.Unix(0, 0)}); err != nil {
		return fmt.Errorf("render: oci: %w", err)
	}
	for _, e := range []struct {
		name string
		b    []byte
	}{{"oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)}, {"index.json", index}, {"manifest.json", docker},
		{"blobs/sha256/" + sum(cfg), cfg}, {"blobs/sha256/" + sum(man), man}} {
		if err := add(e.name, e.b); err != nil {
			return fmt.Errorf("render: oci: %w", err)
		}
	}
	lf, err := os.Open(layerFile)
	if err != nil {
		return fmt.Errorf("render: %w", err)
	}
	defer lf.Close()
	if err := tw.WriteHeader(&tar.Header{Name: "blobs/sha256/" + layerSum, Mode: 0o644, Size: layerSize, Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0)}); err != nil {
		return fmt.Errorf("render: oci: %w", err)
	}
	if _, err := io.Copy(tw, lf); err != nil {
		return fmt.Errorf("render: oci: %w", err)
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("render: oci: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("render: oci: %w", err)
	}
	return os.Rename(out+".tmp", out)
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
