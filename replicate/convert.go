package replicate

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// convert runs qemu-img convert from the scratch file in (format from)
// to a new scratch file in format to, and returns its path.
func (c *Copier) convert(ctx context.Context, in, from, to string, progress func(Progress)) (string, error) {
	bin := c.QemuImg
	if bin == "" {
		p, err := exec.LookPath("qemu-img")
		if err != nil {
			return "", fmt.Errorf("convert %s to %s: qemu-img is not installed (Debian's qemu-utils): %w", from, to, err)
		}
		bin = p
	}
	f, err := c.scratchFile("canopy-replicate-out-*." + to)
	if err != nil {
		return "", err
	}
	out := f.Name()
	f.Close()
	progress(Progress{State: "converting", Detail: from + " -> " + to})
	args := []string{"convert", "-q", "-f", qemuName(from), "-O", qemuName(to)}
	if to == "vhd" {
		// A fixed-size VHD is what Azure and Hyper-V take; the dynamic
		// one qemu-img makes by default is not byte-stable either.
		args = append(args, "-o", "subformat=fixed,force_size")
	}
	cmd := exec.CommandContext(ctx, bin, append(args, in, out)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		_ = os.Remove(out)
		return "", fmt.Errorf("qemu-img convert %s to %s (%s): %w: %s", from, to, filepath.Base(in), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}
