#!/usr/bin/env bash
# Build the render test's inputs (no registry, no root, no install of a
# kernel on this host):
#
#   test/render/rootfs.sh [DIR]    (default .cache/render)
#
# DIR/rootfs.tar   the busybox root filesystem of test/containers/rootfs.sh
#                  plus /sbin/init (a Go template printing a marker with
#                  the render-time hostname), /boot/vmlinuz (Debian's
#                  linux-image kernel, extracted with dpkg-deb -x) and
#                  /boot/initrd.img (busybox loading the virtio and ext4
#                  modules Debian builds as modules, then switch_root to
#                  the cmdline's root=/dev/..., else /dev/vda)
# DIR/manifest.yaml the manifest rendering it to raw, qcow2 and oci
#
# Prints DIR.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DIR=${1:-$ROOT/.cache/render}
log() { echo "render/rootfs: $*" >&2; }
mkdir -p "$DIR/kernel"
BASE=$("$ROOT/test/containers/rootfs.sh")

# Debian's kernel, not installed: the newest linux-image-*-amd64 the
# linux-image-amd64 metapackage depends on.
pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
[[ -n $pkg ]] || { log "no linux-image package known to apt (apt-get update?)"; exit 1; }
deb=$(ls "$DIR/kernel/${pkg}"_*.deb 2>/dev/null | head -n1 || true)
if [[ -z $deb ]]; then
	log "downloading $pkg"
	(cd "$DIR/kernel" && apt-get download "$pkg" >/dev/null 2>&1)
	deb=$(ls "$DIR/kernel/${pkg}"_*.deb | head -n1)
fi
x=$DIR/kernel/x
if [[ ! -d $x/boot ]]; then
	rm -rf "$x"
	dpkg-deb -x "$deb" "$x"
fi
vmlinuz=$(ls "$x"/boot/vmlinuz-* | head -n1)
kver=${vmlinuz##*/vmlinuz-}
mods=$x/lib/modules/$kver/kernel

OUT=$DIR/rootfs.tar
if [[ -e $OUT && $OUT -nt ${BASH_SOURCE[0]} && $OUT -nt $BASE && $OUT -nt $deb ]]; then
	echo "$DIR"
	exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The initrd: busybox, the modules in dependency order, an init that
# mounts the root and switches to it.
ird=$work/initrd
mkdir -p "$ird"/{bin,dev,proc,sys,newroot,lib/modules}
cp /bin/busybox "$ird/bin/busybox"
order=(lib/crc16 fs/mbcache fs/jbd2/jbd2 crypto/crc32c_generic fs/ext4/ext4 drivers/virtio/virtio_ring drivers/virtio/virtio
	drivers/virtio/virtio_pci_legacy_dev drivers/virtio/virtio_pci_modern_dev drivers/virtio/virtio_pci drivers/block/virtio_blk)
names=()
for m in "${order[@]}"; do
	f=$mods/$m.ko
	if [[ -e $f ]]; then
		cp "$f" "$ird/lib/modules/"
	elif [[ -e $f.xz ]]; then
		xz -dc "$f.xz" >"$ird/lib/modules/${m##*/}.ko"
	else
		log "no module $m in $pkg"
		exit 1
	fi
	names+=("${m##*/}")
done
cat >"$ird/init" <<INIT
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t devtmpfs dev /dev
for m in ${names[*]}; do insmod /lib/modules/\$m.ko || echo "initrd: insmod \$m failed"; done
root=/dev/vda
for a in \$(cat /proc/cmdline); do case \$a in root=/dev/*) root=\${a#root=};; esac; done
i=0
while [ ! -b \$root ] && [ \$i -lt 100 ]; do sleep 0.1; i=\$((i+1)); done
mount -t ext4 \$root /newroot || { echo "initrd: cannot mount \$root"; poweroff -f; }
mount --move /dev /newroot/dev
umount /proc
exec switch_root /newroot /sbin/init
INIT
chmod 755 "$ird/init"

tree=$work/tree
mkdir -p "$tree"
tar -C "$tree" -xf "$BASE"
mkdir -p "$tree/boot" "$tree/sbin" "$tree/var/cache" "$tree/data"
cp "$vmlinuz" "$tree/boot/vmlinuz"
(cd "$ird" && find . | LC_ALL=C sort | busybox cpio -o -H newc 2>/dev/null | gzip -n -1) >"$tree/boot/initrd.img"
echo "stale cache" >"$tree/var/cache/junk"
# /sbin/init is a template: the marker carries the render-time hostname.
cat >"$tree/sbin/init" <<'INIT'
#!/bin/sh
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc 2>/dev/null
hostname {{quote .hostname}} 2>/dev/null
echo "canopy-render-marker: hello from {{.hostname}} ({{len .ssh_keys}} ssh keys)"
echo "canopy-render-net: {{.network_interface}}"
{{- range .ssh_keys}}
echo "ssh key: {{.}}"
{{- end}}
if grep -q canopy_vm /proc/cmdline 2>/dev/null && [ "$$" = 1 ]; then
	sync
	poweroff -f
fi
INIT
chmod 755 "$tree/sbin/init"
rm -f "$tree/etc/hostname"
echo '{{.hostname}}' >"$tree/etc/hostname"
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$tree" -cf "$OUT.tmp" .
mv "$OUT.tmp" "$OUT"

cat >"$DIR/manifest.yaml" <<'YAML'
name: canopy-render-test
arch: x86_64
os: linux
boot:
  kernel: /boot/vmlinuz
  initrd: /boot/initrd.img
  cmdline: console=ttyS0 root=/dev/vda rw panic=-1 canopy_vm
size: 64MiB
templates: [/sbin/init, /etc/hostname]
inputs:
  hostname: {description: the instance's host name, default: canopy}
  ssh_keys: {type: list, description: "authorized keys, one a line", default: ""}
  network_interface: {description: "the NIC the cloud's machines see (a cloud's render preset)", default: eth0}
persistent: [/data]
volatile: [/var/cache, /tmp]
container:
  entrypoint: [/sbin/init]
outputs:
  - format: raw
  - format: qcow2
  - format: oci
YAML
log "built $OUT ($(du -h "$OUT" | cut -f1)) and $DIR/manifest.yaml (kernel $kver)"
echo "$DIR"
