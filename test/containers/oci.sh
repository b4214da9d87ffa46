#!/usr/bin/env bash
# Wrap the busybox root filesystem (test/containers/rootfs.sh) in an OCI
# image layout tarball, the form containerd imports without a registry:
#
#   test/containers/oci.sh [OUT]    (default .cache/containers/busybox-oci.tar)
#
# The layout holds one gzipped layer (the rootfs tar), an image config whose
# rootfs.diff_ids names the uncompressed layer, a manifest, an index.json
# annotating that manifest with the image's name (canopy-test/busybox:latest
# as both org.opencontainers.image.ref.name and io.containerd.image.name,
# the one `ctr images import` reads first) and the oci-layout marker.
#
# Reproducible: the rootfs tar is; gzip -n stores no name or time; the JSON
# is written byte for byte here with a fixed creation time; the outer tar
# has fixed names, order, owners and mtimes. So the digests change only when
# busybox does. Plain bash and coreutils. Prints the path.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT=${1:-$ROOT/.cache/containers/busybox-oci.tar}
NAME=canopy-test/busybox:latest
log() { echo "containers/oci: $*" >&2; }

rootfs=$("$HERE/rootfs.sh")
if [[ -e $OUT && $OUT -nt $rootfs && $OUT -nt ${BASH_SOURCE[0]} ]]; then
	echo "$OUT"
	exit 0
fi

case $(uname -m) in
x86_64) arch=amd64 ;;
aarch64 | arm64) arch=arm64 ;;
armv7l) arch=arm ;;
ppc64le) arch=ppc64le ;;
s390x) arch=s390x ;;
riscv64) arch=riscv64 ;;
*) arch=$(uname -m) ;;
esac

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
blobs="$dir/blobs/sha256"
mkdir -p "$blobs"

# put FILE: move FILE into the blob store under its digest; prints
# "sha256:<hex> <size>".
put() {
	local hex size
	hex=$(sha256sum "$1" | cut -d' ' -f1)
	size=$(stat -c %s "$1")
	mv "$1" "$blobs/$hex"
	echo "sha256:$hex $size"
}

# The layer: diff_id is the digest of the uncompressed tar, the descriptor
# names the gzipped blob.
diff_id=sha256:$(sha256sum "$rootfs" | cut -d' ' -f1)
gzip -n -9 -c "$rootfs" >"$dir/layer"
read -r layer_digest layer_size < <(put "$dir/layer")

# The image config: no CMD, like the image `docker import` makes of the same
# tar (test/docker): every container names its command.
printf '%s' '{"created":"1970-01-01T00:00:00Z","architecture":"'"$arch"'","os":"linux",'\
'"config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"WorkingDir":"/"},'\
'"rootfs":{"type":"layers","diff_ids":["'"$diff_id"'"]},'\
'"history":[{"created":"1970-01-01T00:00:00Z","created_by":"test/containers/rootfs.sh (busybox-static)"}]}' >"$dir/config"
read -r config_digest config_size < <(put "$dir/config")

printf '%s' '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",'\
'"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"'"$config_digest"'","size":'"$config_size"'},'\
'"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"'"$layer_digest"'","size":'"$layer_size"'}]}' >"$dir/manifest"
read -r manifest_digest manifest_size < <(put "$dir/manifest")

printf '%s' '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{'\
'"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"'"$manifest_digest"'","size":'"$manifest_size"','\
'"platform":{"architecture":"'"$arch"'","os":"linux"},'\
'"annotations":{"io.containerd.image.name":"'"$NAME"'","org.opencontainers.image.ref.name":"'"$NAME"'"}}]}' >"$dir/index.json"
printf '%s' '{"imageLayoutVersion":"1.0.0"}' >"$dir/oci-layout"

mkdir -p "$(dirname "$OUT")"
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --mode=a+r,u+w,go-w -C "$dir" -cf "$OUT.tmp" oci-layout index.json blobs
mv "$OUT.tmp" "$OUT"
log "built $OUT ($NAME, manifest $manifest_digest)"
echo "$OUT"
