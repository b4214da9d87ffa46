package replicate

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/providers/sim"
)

func TestChoose(t *testing.T) {
	aws, os := Defaults("aws"), Defaults("openstack")
	qc := Formats{Preferred: "qcow2", Accepted: []string{"qcow2"}}
	for _, tc := range []struct {
		f       Formats
		src     string
		want    string
		convert bool
		err     error
	}{
		{aws, "raw", "raw", false, nil},
		{aws, "qcow2", "raw", true, nil},
		{aws, "vhd", "raw", true, nil},
		{aws, "iso", "", false, providers.ErrInvalid},
		{os, "vmdk", "vmdk", false, nil},
		{os, "iso", "iso", false, nil},
		{qc, "raw", "qcow2", true, nil},
		{qc, "QCOW2", "qcow2", false, nil},
		{Formats{Preferred: "vdi", Accepted: []string{"vdi"}}, "raw", "", false, providers.ErrInvalid},
		{Defaults("docker"), "raw", "", false, providers.ErrUnsupported},
	} {
		got, convert, err := tc.f.Choose(tc.src)
		if got != tc.want || convert != tc.convert || !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
			t.Errorf("%v.Choose(%s) = %q, %v, %v; want %q, %v, %v", tc.f, tc.src, got, convert, err, tc.want, tc.convert, tc.err)
		}
	}
}

func TestSums(t *testing.T) {
	for _, tc := range []struct {
		im          providers.Image
		own, source string
	}{
		{providers.Image{Common: providers.Common{Labels: map[string]string{SHA256Key: "AB", SourceSHA256Key: "cd"}}}, "ab", "cd"},
		{providers.Image{Common: providers.Common{Properties: map[string]string{SHA256Key: "ab"}}}, "ab", ""},
		{providers.Image{Common: providers.Common{Properties: map[string]string{"os_hash_algo": "sha256", "os_hash_value": "ef"}}}, "ef", ""},
		{providers.Image{Common: providers.Common{Properties: map[string]string{"os_hash_algo": "sha512", "os_hash_value": "ef"}}}, "", ""},
	} {
		if own, source := Sums(tc.im); own != tc.own || source != tc.source {
			t.Errorf("Sums(%v) = %q, %q; want %q, %q", tc.im, own, source, tc.own, tc.source)
		}
	}
}

func put(t *testing.T, c *sim.Cloud, name, format string, data []byte) providers.Image {
	t.Helper()
	w, err := c.NewImageWriter(context.Background(), providers.ImageSpec{Name: name, DiskFormat: format, Size: int64(len(data))})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	im, err := w.Commit()
	if err != nil {
		t.Fatal(err)
	}
	return im
}

func read(t *testing.T, c *sim.Cloud, id string) []byte {
	t.Helper()
	r, _, err := c.NewImageReader(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func disk() []byte {
	b := make([]byte, 1<<20)
	for i := 0; i < len(b); i += 8192 {
		copy(b[i:], "replicate test")
		b[i+20] = byte(i >> 13)
	}
	return b
}

func hexSum(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// Every conversion qemu-img makes lands in the target in that format and
// converts back to the same disk; the scratch directory is empty after.
func TestCopyConverts(t *testing.T) {
	if _, err := exec.LookPath("qemu-img"); err != nil {
		t.Skip("qemu-img (Debian's qemu-utils) is not installed: scripts/tools.sh installs it")
	}
	ctx := context.Background()
	src := sim.New(sim.Options{})
	data := disk()
	im := put(t, src, "d", "raw", data)
	scratch := t.TempDir()
	c := &Copier{Scratch: scratch, BufSize: 64 << 10}
	for _, to := range []string{"qcow2", "vmdk", "vhd", "vhdx"} {
		t.Run(to, func(t *testing.T) {
			dst := sim.New(sim.Options{})
			res, err := c.Copy(ctx, Source{Transfer: src, ID: im.NativeID, Format: "raw", Size: int64(len(data))},
				Target{Transfer: dst, List: dst.ListImages, Formats: Formats{Preferred: to, Accepted: []string{to}}, Spec: providers.ImageSpec{Name: "d"}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			got := read(t, dst, res.Image.NativeID)
			if res.Format != to || res.Image.DiskFormat != to || res.SHA256 != hexSum(got) || res.Moved != int64(len(got)) || res.SourceSHA256 != hexSum(data) {
				t.Fatalf("Copy = %+v; the target holds %d bytes %s", res, len(got), hexSum(got))
			}
			own, source := Sums(res.Image)
			if own != res.SHA256 || source != hexSum(data) {
				t.Errorf("the replica is marked %q/%q", own, source)
			}
			dir := t.TempDir()
			_ = os.WriteFile(filepath.Join(dir, "in"), got, 0o600)
			if out, err := exec.Command("qemu-img", "convert", "-f", qemuName(to), "-O", "raw", filepath.Join(dir, "in"), filepath.Join(dir, "out")).CombinedOutput(); err != nil {
				t.Fatalf("qemu-img: %v: %s", err, out)
			}
			back, _ := os.ReadFile(filepath.Join(dir, "out"))
			if !bytes.Equal(back[:len(data)], data) || bytes.Count(back[len(data):], []byte{0}) != len(back)-len(data) {
				t.Errorf("the %s replica converted back is not the disk", to)
			}
			if left, _ := os.ReadDir(scratch); len(left) != 0 {
				t.Errorf("scratch files left: %v", left)
			}
			// Again: the target has it (converted from the same bytes).
			again, err := c.Copy(ctx, Source{Transfer: src, ID: im.NativeID, Format: "raw", SHA256: res.SourceSHA256},
				Target{Transfer: dst, List: dst.ListImages, Formats: Formats{Preferred: to, Accepted: []string{to}}, Spec: providers.ImageSpec{Name: "d"}}, nil)
			if err != nil || !again.Reused || again.Moved != 0 || again.Read != 0 || again.Image.NativeID != res.Image.NativeID {
				t.Errorf("second copy = %+v, %v; want the first reused, nothing read or moved", again, err)
			}
		})
	}
}

// A source whose bytes are not the sha256 it claims leaves nothing in the
// target; an unknown sha256 is learned by reading first.
func TestCopyIntegrity(t *testing.T) {
	ctx := context.Background()
	src, dst := sim.New(sim.Options{}), sim.New(sim.Options{})
	data := disk()
	im := put(t, src, "d", "raw", data)
	c := &Copier{}
	tgt := Target{Transfer: dst, List: dst.ListImages, Formats: Defaults("sim"), Spec: providers.ImageSpec{Name: "d"}}
	_, err := c.Copy(ctx, Source{Transfer: src, ID: im.NativeID, Format: "raw", SHA256: strings.Repeat("0", 64)}, tgt, nil)
	if !errors.Is(err, providers.ErrIntegrity) {
		t.Fatalf("Copy with a wrong sha256: %v, want ErrIntegrity", err)
	}
	if list, _ := dst.ListImages(ctx); len(list) != countCatalogue(t) {
		t.Fatalf("a failed copy left %d images in the target", len(list)-countCatalogue(t))
	}
	var states []string
	res, err := c.Copy(ctx, Source{Transfer: src, ID: im.NativeID, Format: "raw", Size: -1}, tgt, func(p Progress) {
		if len(states) == 0 || states[len(states)-1] != p.State {
			states = append(states, p.State)
		}
	})
	if err != nil || res.Read != 2*int64(len(data)) || res.Moved != int64(len(data)) || res.SHA256 != hexSum(data) {
		t.Fatalf("Copy of unknown sha256 = %+v, %v: want it read twice (hash, then copy), written once", res, err)
	}
	if strings.Join(states, ",") != "reading,uploading" {
		t.Errorf("progress states %v", states)
	}
	if got := read(t, dst, res.Image.NativeID); !bytes.Equal(got, data) {
		t.Errorf("the target holds other bytes")
	}
}

func countCatalogue(t *testing.T) int {
	list, err := sim.New(sim.Options{}).ListImages(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return len(list)
}
