#!/usr/bin/env bash
# Build the busybox root filesystem the container tests run, as a tar:
#
#   test/containers/rootfs.sh [OUT]    (default .cache/containers/busybox-rootfs.tar)
#
# No registry is reachable, so the image is made from Debian's busybox-static
# (installed here if missing): /bin/busybox with every applet linked, /etc
# with root and nobody, /tmp, and a /www holding index.html for httpd. Docker
# imports it with `docker import`; test/containers/oci.sh wraps it in an OCI
# image layout for containerd. The tar is reproducible (fixed mtimes and
# owners), so its digest changes only when busybox does. Prints the path.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=test/lib/apt.sh
. "$ROOT/test/lib/apt.sh"
OUT=${1:-$ROOT/.cache/containers/busybox-rootfs.tar}
log() { echo "containers/rootfs: $*" >&2; }

if ! dpkg -s busybox-static >/dev/null 2>&1; then
	log "installing busybox-static"
	apt_install busybox-static
fi
BB=/bin/busybox
if [[ -e $OUT && $OUT -nt $BB && $OUT -nt ${BASH_SOURCE[0]} ]]; then
	echo "$OUT"
	exit 0
fi
mkdir -p "$(dirname "$OUT")"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,www,root,proc,sys,dev,var/run}
chmod 1777 "$dir/tmp"
cp "$BB" "$dir/bin/busybox"
for applet in $("$BB" --list); do
	[[ $applet == busybox ]] && continue
	ln -sf busybox "$dir/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$dir/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$dir/etc/group"
printf '<html><body>canopy busybox</body></html>\n' >"$dir/www/index.html"
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$dir" -cf "$OUT.tmp" .
mv "$OUT.tmp" "$OUT"
log "built $OUT ($(du -h "$OUT" | cut -f1))"
echo "$OUT"
