// Package replicate copies an image's bytes from one cloud to another:
// streamed from the source's providers.ImageTransfer into the target's,
// hashed on the way, converted with qemu-img where the target does not
// take the source's disk format, and not copied at all when the target
// already holds an image with the same sha256 (as openstacksdk's
// create_image does). It knows nothing of canopy ids, placements or
// operations: server/image_replicate.go records those around Copy.
//
// Memory is one buffer per copy whatever the image's size. Scratch disk
// is used only for a conversion, because qemu-img needs seekable files:
// the source lands there, is converted beside itself, and both are
// removed when Copy returns.
package replicate

import (
	"fmt"
	"slices"
	"strings"

	"github.com/canopy-cloud/canopy/providers"
)

// Convertible are the disk formats qemu-img converts between.
var Convertible = []string{"raw", "qcow2", "vmdk", "vhd", "vhdx"}

// qemuName is qemu-img's name of a disk format (Glance's "vhd" is
// qemu-img's "vpc").
func qemuName(format string) string {
	if format == "vhd" {
		return "vpc"
	}
	return format
}

// Formats are the disk formats a cloud takes: an image in one of
// Accepted goes as it is; any other is converted to Preferred.
type Formats struct {
	Preferred string
	Accepted  []string
}

// Defaults are the formats of each cloud kind when its config says
// nothing: EBS snapshots hold raw blocks; Glance takes every format and
// Nova's libvirt prefers qcow2; the simulator takes what Glance takes.
func Defaults(kind string) Formats {
	switch kind {
	case "aws":
		return Formats{Preferred: "raw", Accepted: []string{"raw"}}
	case "openstack":
		return Formats{Preferred: "qcow2", Accepted: []string{"raw", "qcow2", "vmdk", "vhd", "vhdx", "vdi", "iso", "ami"}}
	case "sim":
		return Formats{Preferred: "raw", Accepted: []string{"raw", "qcow2", "vmdk", "vhd", "vhdx", "vdi", "iso", "ami"}}
	}
	return Formats{} // container clouds: no disk images
}

// Choose is the format an image in format src has in a cloud taking f,
// and whether getting there needs a conversion. A format the cloud does
// not take and qemu-img cannot convert is ErrInvalid.
func (f Formats) Choose(src string) (string, bool, error) {
	src = strings.ToLower(src)
	if len(f.Accepted) == 0 && f.Preferred == "" {
		return "", false, fmt.Errorf("%w: the cloud takes no disk images", providers.ErrUnsupported)
	}
	if slices.Contains(f.Accepted, src) {
		return src, false, nil
	}
	if !slices.Contains(Convertible, src) {
		return "", false, fmt.Errorf("%w: disk format %q is not one the cloud takes (%s) and qemu-img converts only %s",
			providers.ErrInvalid, src, strings.Join(f.Accepted, ", "), strings.Join(Convertible, ", "))
	}
	if !slices.Contains(Convertible, f.Preferred) {
		return "", false, fmt.Errorf("%w: the cloud's preferred disk format %q is not one qemu-img makes (%s)",
			providers.ErrInvalid, f.Preferred, strings.Join(Convertible, ", "))
	}
	return f.Preferred, true, nil
}
