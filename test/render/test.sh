#!/usr/bin/env bash
# The RenderImage end-to-end test (issue 16, `make test-render`):
#
#   1. test/render/rootfs.sh builds a busybox root filesystem tarball whose
#      /sbin/init is a template printing a marker with the render-time
#      hostname, with Debian's kernel and a busybox initrd in /boot;
#   2. a canopyd of our own (one sim cloud, scratch under .cache) renders it
#      with `canopy image render … --input hostname=… --wait` to raw,
#      qcow2 and oci, uploading each to the sim cloud;
#   3. the images are downloaded back (sha256 checked) and the qcow2 is
#      BOOTED under QEMU — KVM when /dev/kvm works, else TCG — with the
#      kernel and initrd read out of the raw image by debugfs and the
#      manifest's cmdline: the marker must appear on the serial console
#      before the deadline;
#   4. the same render again moves no bytes (tarball not sent, nothing
#      rendered, converted or uploaded);
#   5. bad input through the CLI is refused naming the field;
#   6. when the OpenStack lab is up: the qcow2 into its Glance, whose
#      disk_format and checksum are checked, then deleted;
#   7. render-time presets: the oci output for the sim cloud local (no
#      presets) and the sim cloud edge (render_presets network_interface:
#      ens3) is two images, whose /sbin/init says eth0 and ens3; the lab's
#      qcow2 (step 6) takes OpenStack's preset ens3 and is a render of its
#      own;
#   8. with a dockerd (test/docker/up.sh, under .cache/docker) as canopy's
#      docker cloud: the oci output rendered to it (a `docker load` through
#      canopy's image upload), run with `canopy container run` naming the
#      rendered image's canopy id, and the marker read back with
#      `canopy container logs` (ContainerService); container and image are
#      deleted through canopy again.
#
# Env: CANOPY_RENDER_PORT (gRPC port, REST is +1; default 18470),
# CANOPY_RENDER_OPENSTACK=0 skips step 6, CANOPY_RENDER_DOCKER=0 step 8,
# CANOPY_RENDER_AWS=0 the EC2 step.
# Everything it starts it stops.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
log() { echo "render/test: $*" >&2; }
fail() { log "FAIL: $*"; exit 1; }
# shellcheck source=test/lib/apt.sh
. "$ROOT/test/lib/apt.sh"

for p in mke2fs debugfs qemu-img qemu-system-x86_64; do
	command -v "$p" >/dev/null || PATH=$PATH:/usr/sbin:/sbin
done
missing=()
command -v mke2fs >/dev/null || missing+=(e2fsprogs)
command -v qemu-img >/dev/null || missing+=(qemu-utils)
command -v qemu-system-x86_64 >/dev/null || missing+=(qemu-system-x86)
command -v mkfs.fat >/dev/null || missing+=(dosfstools)
command -v mcopy >/dev/null || missing+=(mtools)
command -v syslinux >/dev/null || missing+=(syslinux)
[[ -e /usr/lib/syslinux/mbr/mbr.bin ]] || missing+=(syslinux-common)
if ((${#missing[@]})); then
	log "installing ${missing[*]}"
	apt_install "${missing[@]}" || fail "apt-get install ${missing[*]}"
fi

DIR=$(test/render/rootfs.sh)
W=$ROOT/.cache/render/e2e
rm -rf "$W"
mkdir -p "$W/data"
go build -o "$W/canopyd" ./cmd/canopyd
go build -o "$W/canopy" ./cmd/canopy

PORT=${CANOPY_RENDER_PORT:-18470}
# The OpenStack lab, when it is up (started from /work/main by the lead:
# test/openstack/up.sh), is a second target: Glance must show the qcow2.
OS_YAML=${CANOPY_OS_CLOUDS_YAML:-/var/tmp/canopy-openstack/clouds.yaml}
LAB=0
if [[ ${CANOPY_RENDER_OPENSTACK:-1} != 0 && -s $OS_YAML ]] && curl -fs -m 5 127.0.0.1:5000/v3 >/dev/null; then LAB=1; fi
# EC2 on moto (test/moto/up.sh; stopped again if this script started it)
# is a third: the raw output becomes an EBS snapshot written through the
# EBS direct API and an AMI registered from it, read back block by block.
# shellcheck source=test/lib/engines.sh
. "$ROOT/test/lib/engines.sh"
MOTO=0
moto_started=0
if [[ ${CANOPY_RENDER_AWS:-1} != 0 ]]; then
	moto_for_script
	MOTO_URL=$moto_endpoint MOTO=1
fi
# A dockerd of our own (test/docker/up.sh, under .cache/docker) is a fourth:
# the oci output runs there as a container through canopy.
DOCKER=0
DOCKER_STARTED=0
if [[ ${CANOPY_RENDER_DOCKER:-1} != 0 ]] && command -v dockerd >/dev/null; then
	pgrep -F .cache/docker/dockerd.pid >/dev/null 2>&1 || DOCKER_STARTED=1
	DOCKER_URL=$(test/docker/up.sh | tail -n 1)
	DOCKER=1
fi
{
	echo "clouds:"
	echo "  - {name: local, kind: sim}"
	echo "  - {name: edge, kind: sim, render_presets: {network_interface: ens3}}"
	((DOCKER)) && echo "  - {name: dock, kind: docker, options: {hosts: [\"$DOCKER_URL\"]}}"
	((LAB)) && echo "  - {name: lab, kind: openstack, options: {clouds_yaml: \"$OS_YAML\", cloud: canopy-test}}"
	((MOTO)) && echo "  - {name: aws, kind: aws, regions: [us-east-1], options: {endpoint: $MOTO_URL, access_key_id: testing, secret_access_key: testing, instance_types: [t3.micro]}}"
	echo "render:"
	echo "  scratch_dir: $W/scratch"
} >"$W/canopyd.yaml"
export XDG_DATA_HOME=$W/data CANOPY_CREDENTIALS=$W/credentials.yaml CANOPY_ADDR=127.0.0.1:$PORT
"$W/canopyd" --config "$W/canopyd.yaml" --grpc-addr "127.0.0.1:$PORT" --rest-addr "127.0.0.1:$((PORT + 1))" >"$W/canopyd.log" 2>&1 &
CANOPYD=$!
cleanup() {
	kill "$CANOPYD" 2>/dev/null && wait "$CANOPYD" 2>/dev/null || true
	if ((DOCKER_STARTED)); then test/docker/down.sh >/dev/null 2>&1 || true; fi
	if ((moto_started)); then test/moto/down.sh >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT
for _ in $(seq 100); do
	[[ -s $CANOPY_CREDENTIALS ]] && curl -fs "http://127.0.0.1:$((PORT + 1))/healthz" >/dev/null && break
	kill -0 "$CANOPYD" 2>/dev/null || { cat "$W/canopyd.log" >&2; fail "canopyd exited"; }
	sleep 0.1
done
curl -fs "http://127.0.0.1:$((PORT + 1))/healthz" >/dev/null || fail "canopyd did not come up"

HOST=web1-$RANDOM
log "render 1 (hostname=$HOST)"
"$W/canopy" image render "$DIR/manifest.yaml" "$DIR/rootfs.tar" --input "hostname=$HOST" --cloud local --wait --wait-timeout 10m -o json \
	>"$W/render1.json" 2>"$W/render1.err" || { cat "$W/render1.err" >&2; fail "render 1"; }
cat "$W/render1.err" >&2
field() { python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }
for f in raw qcow2 oci; do
	id=$(field "$W/render1.json" "[o for o in r['outputs'] if o['format']=='$f'][0]['placements'][0]['image']['id']")
	sum=$(field "$W/render1.json" "[o for o in r['outputs'] if o['format']=='$f'][0]['sha256']")
	"$W/canopy" image download "$id" "$W/out.$f" 2>/dev/null
	got=$(sha256sum "$W/out.$f" | cut -d' ' -f1)
	[[ $got == "$sum" ]] || fail "$f: downloaded sha256 $got, rendered $sum"
	log "$f: image $id, $(stat -c %s "$W/out.$f") bytes, sha256 ${sum:0:16} (downloaded and checked)"
done
[[ $(head -c 4 "$W/out.qcow2" | od -An -c | tr -d ' ') == 'QFI373' ]] || fail "the qcow2 output is not qcow2"
qemu-img info "$W/out.qcow2" | grep -q 'file format: qcow2' || fail "qemu-img does not read the qcow2 output"

# Boot the qcow2. The kernel and initrd come out of the raw image (the
# same filesystem), the cmdline from the manifest.
debugfs -R "dump /boot/vmlinuz $W/vmlinuz" "$W/out.raw" 2>/dev/null
debugfs -R "dump /boot/initrd.img $W/initrd.img" "$W/out.raw" 2>/dev/null
cmdline=$(sed -n 's/^ *cmdline: *//p' "$DIR/manifest.yaml")
boot() { # accel seconds
	log "booting the qcow2 under QEMU ($1, deadline $2 s)"
	timeout "$2" qemu-system-x86_64 -machine "q35,accel=$1" -cpu max -m 256 -nographic -no-reboot -nodefaults \
		-serial "file:$W/serial-$1.log" -kernel "$W/vmlinuz" -initrd "$W/initrd.img" -append "$cmdline" \
		-drive "file=$W/out.qcow2,format=qcow2,if=virtio,snapshot=on" >"$W/qemu-$1.log" 2>&1 || true
	grep -q "canopy-render-marker: hello from $HOST" "$W/serial-$1.log"
}
booted=0
if [[ -r /dev/kvm && -w /dev/kvm ]] && boot kvm "${CANOPY_RENDER_KVM_DEADLINE:-20}"; then
	booted=1
elif boot tcg "${CANOPY_RENDER_TCG_DEADLINE:-300}"; then
	booted=1
	[[ -e /dev/kvm ]] && log "(KVM did not boot it in time here: nested /dev/kvm; TCG did)"
fi
((booted)) || { tail -n 30 "$W"/serial-*.log >&2; fail "no marker on the serial console"; }
log "serial console: $(grep -h 'canopy-render-marker' "$W"/serial-*.log | head -n1 | tr -d '\r')"

# The same tree with bootloader: syslinux, booted as a cloud boots an
# image: firmware, MBR, syslinux, the kernel from the disk's own boot
# partition; nothing given to QEMU but the disk.
log "booting the syslinux disk under QEMU (TCG): TestSyslinuxBootsUnderQEMU"
CANOPY_RENDER_DIR=$DIR go test -count=1 -timeout 15m -run 'TestSyslinuxDisk|TestSyslinuxBootsUnderQEMU' -v ./render/ >"$W/syslinux.log" 2>&1 ||
	{ tail -n 40 "$W/syslinux.log" >&2; fail "the syslinux disk did not boot"; }
grep -q -- '--- SKIP' "$W/syslinux.log" && { cat "$W/syslinux.log" >&2; fail "the syslinux tests skipped"; }
log "$(grep -h 'booted through syslinux' "$W/syslinux.log" | sed 's/^ *//')"

log "render 2 (the same): no bytes may move"
"$W/canopy" image render "$DIR/manifest.yaml" "$DIR/rootfs.tar" --input "hostname=$HOST" --cloud local --wait --wait-timeout 10m -o json \
	>"$W/render2.json" 2>"$W/render2.err" || { cat "$W/render2.err" >&2; fail "render 2"; }
grep -q "is cached on canopyd: not sent" "$W/render2.err" || fail "render 2 sent the tarball again"
[[ $(field "$W/render2.json" "r.get('tarball_bytes_moved','0')") == 0 ]] || fail "render 2 moved tarball bytes"
[[ $(field "$W/render2.json" "r.get('cached')") == True ]] || fail "render 2 rendered again"
[[ $(field "$W/render2.json" "sum(int(p.get('bytes_uploaded','0')) for o in r['outputs'] for p in o['placements'])") == 0 ]] || fail "render 2 uploaded bytes"
[[ $(field "$W/render2.json" "all(o.get('cached') and all(p.get('reused') for p in o['placements']) for o in r['outputs'])") == True ]] || fail "render 2 did not reuse every output"
ids1=$(field "$W/render1.json" "' '.join(sorted(p['image']['id'] for o in r['outputs'] for p in o['placements']))")
ids2=$(field "$W/render2.json" "' '.join(sorted(p['image']['id'] for o in r['outputs'] for p in o['placements']))")
[[ $ids1 == "$ids2" ]] || fail "render 2 answered other images: $ids2, not $ids1"
log "render 2: 0 tarball bytes sent, cached, 0 bytes uploaded, the same images"

log "bad input is refused, naming the field"
sed 's/^name:/nmae:/' "$DIR/manifest.yaml" >"$W/bad.yaml"
if "$W/canopy" image render "$W/bad.yaml" "$DIR/rootfs.tar" --cloud local 2>"$W/bad.err" >/dev/null; then fail "a manifest with an unknown field was taken"; fi
grep -q 'nmae: unknown field' "$W/bad.err" || { cat "$W/bad.err" >&2; fail "the error does not name the field"; }
mkdir -p "$W/evil/dev" && tar -C "$W/evil" -cf "$W/evil.tar" --absolute-names /etc/hostname 2>/dev/null
if "$W/canopy" image render "$DIR/manifest.yaml" "$W/evil.tar" --cloud local 2>"$W/evil.err" >/dev/null; then fail "a tarball with an absolute path was taken"; fi
grep -q 'absolute path' "$W/evil.err" || { cat "$W/evil.err" >&2; fail "the error does not name the entry"; }

if ((MOTO)); then
	log "the raw output into EC2 on moto"
	grep -v -e '- format: qcow2' -e '- format: oci' "$DIR/manifest.yaml" >"$W/aws.yaml"
	"$W/canopy" image render "$W/aws.yaml" "$DIR/rootfs.tar" --input "hostname=$HOST" --cloud aws --wait --wait-timeout 15m -o json \
		>"$W/aws.json" 2>"$W/aws.err" || { cat "$W/aws.err" >&2; fail "render to aws"; }
	awsimg=$(field "$W/aws.json" "r['outputs'][0]['placements'][0]['image']['id']")
	native=$(field "$W/aws.json" "r['outputs'][0]['placements'][0]['image']['native_id']")
	[[ $native == ami-* ]] || fail "the aws placement is $native, not an AMI"
	want=$(field "$W/aws.json" "r['outputs'][0]['sha256']")
	# Downloading through canopy reads the AMI's EBS snapshot back with
	# ListSnapshotBlocks/GetSnapshotBlock: its blocks must be the raw bytes.
	"$W/canopy" image download "$awsimg" "$W/aws.raw" 2>/dev/null || fail "download the AMI's snapshot"
	got=$(sha256sum "$W/aws.raw" | cut -d' ' -f1)
	[[ $got == "$want" ]] || fail "the AMI's snapshot blocks: sha256 $got, the raw output $want"
	"$W/canopy" image delete "$awsimg" >/dev/null || fail "delete the AMI"
	log "EC2: $native registered from an EBS snapshot whose blocks are the raw output (sha256 ${got:0:16}; deleted again)"
fi

if ((LAB)); then
	log "the qcow2 into the OpenStack lab's Glance"
	grep -v -e '- format: raw' -e '- format: oci' "$DIR/manifest.yaml" >"$W/lab.yaml"
	"$W/canopy" image render "$W/lab.yaml" "$DIR/rootfs.tar" --input "hostname=$HOST" --cloud lab --wait --wait-timeout 10m -o json \
		>"$W/lab.json" 2>"$W/lab.err" || { cat "$W/lab.err" >&2; fail "render to the lab"; }
	labimg=$(field "$W/lab.json" "r['outputs'][0]['placements'][0]['image']['id']")
	trap '"$W/canopy" image delete "$labimg" >/dev/null 2>&1 || true; cleanup' EXIT
	[[ $(field "$W/lab.json" "r['outputs'][0]['placements'][0]['image']['disk_format']") == qcow2 ]] || fail "Glance does not show qcow2"
	want=$(md5sum "$W/scratch/renders/$(field "$W/lab.json" "r['outputs'][0]['key']")/disk.qcow2" | cut -d' ' -f1)
	got=$(field "$W/lab.json" "r['outputs'][0]['placements'][0]['image']['properties']['checksum']")
	[[ $got == "$want" ]] || fail "Glance's checksum $got, the rendered qcow2's md5 $want"
	[[ $(field "$W/lab.json" "r.get('tarball_bytes_moved','0')") == 0 ]] || fail "the lab render sent the tarball again"
	# OpenStack presets network_interface=ens3 (Nova's virtio NIC): the
	# lab's qcow2 is a render of its own.
	[[ $(field "$W/lab.json" "r['outputs'][0]['inputs']['network_interface']") == ens3 ]] || fail "the lab's render did not take OpenStack's preset"
	[[ $(field "$W/lab.json" "r['outputs'][0]['sha256']") != $(field "$W/render1.json" "[o for o in r['outputs'] if o['format']=='qcow2'][0]['sha256']") ]] ||
		fail "the lab's qcow2 (ens3) has the bytes of the sim's (eth0)"
	"$W/canopy" image delete "$labimg" >/dev/null
	log "Glance: image $labimg, disk_format qcow2, checksum $got = md5 of the rendered qcow2 (deleted again)"
else
	log "OpenStack lab: skipped (not up, or CANOPY_RENDER_OPENSTACK=0)"
fi

log "render-time presets: the oci output for local (none) and edge (network_interface=ens3)"
grep -v -e '- format: raw' -e '- format: qcow2' "$DIR/manifest.yaml" >"$W/oci.yaml"
"$W/canopy" image render "$W/oci.yaml" "$DIR/rootfs.tar" --input "hostname=$HOST" --cloud local --cloud edge --wait --wait-timeout 10m -o json \
	>"$W/presets.json" 2>"$W/presets.err" || { cat "$W/presets.err" >&2; fail "render for local and edge"; }
[[ $(field "$W/presets.json" "len(r['outputs'])") == 2 ]] || fail "local and edge's presets differ, but not two outputs: $(<"$W/presets.json")"
for c in local:eth0 edge:ens3; do
	want=${c#*:} c=${c%%:*}
	o="[o for o in r['outputs'] if o['placements'][0]['cloud']=='$c'][0]"
	[[ $(field "$W/presets.json" "$o['inputs']['network_interface']") == "$want" ]] || fail "$c's output: network_interface is not $want"
	"$W/canopy" image download "$(field "$W/presets.json" "$o['placements'][0]['image']['id']")" "$W/presets.$c.oci" 2>/dev/null
	# /sbin/init in the image's layer carries the value.
	python3 - "$W/presets.$c.oci" "$want" <<'PY' || fail "$c's image: /sbin/init does not say $want"
import io, json, sys, tarfile
t = tarfile.open(sys.argv[1])
man = json.load(t.extractfile("manifest.json"))[0]
layer = tarfile.open(fileobj=io.BytesIO(t.extractfile(man["Layers"][0]).read()))
init = layer.extractfile("./sbin/init").read().decode()
sys.exit(0 if "canopy-render-net: " + sys.argv[2] in init else 1)
PY
done
log "presets: two images, /sbin/init says eth0 in local's and ens3 in edge's"

if ((DOCKER)); then
	log "the oci output as a container on the docker cloud, through canopy"
	"$W/canopy" image render "$W/oci.yaml" "$DIR/rootfs.tar" --input "hostname=$HOST" --cloud dock --wait --wait-timeout 10m -o json \
		>"$W/dock.json" 2>"$W/dock.err" || { cat "$W/dock.err" >&2; fail "render to the docker cloud"; }
	dockimg=$(field "$W/dock.json" "r['outputs'][0]['placements'][0]['image']['id']")
	ref=$(field "$W/dock.json" "r['outputs'][0]['placements'][0]['image']['native_id']")
	[[ $(field "$W/dock.json" "r['outputs'][0]['placements'][0]['image']['container_format']") == docker ]] || fail "the docker cloud's image is not a container image"
	[[ $(field "$W/dock.json" "r['outputs'][0].get('cached')") == True ]] || fail "the docker render made the oci output again"
	ctr=render-$RANDOM
	trap '"$W/canopy" container rm -f "$ctr" >/dev/null 2>&1 || true; "$W/canopy" image delete "$dockimg" >/dev/null 2>&1 || true; cleanup' EXIT
	"$W/canopy" container run --cloud dock --name "$ctr" "$dockimg" >"$W/ctr.id" 2>"$W/ctr.err" || { cat "$W/ctr.err" >&2; fail "canopy container run $dockimg"; }
	"$W/canopy" container wait "$ctr" >"$W/ctr.exit" || fail "canopy container wait $ctr"
	[[ $(<"$W/ctr.exit") == 0 ]] || fail "the container exited $(<"$W/ctr.exit")"
	"$W/canopy" container logs "$ctr" >"$W/ctr.log" 2>&1 || { cat "$W/ctr.log" >&2; fail "canopy container logs $ctr"; }
	grep -q "canopy-render-marker: hello from $HOST" "$W/ctr.log" || { cat "$W/ctr.log" >&2; fail "the container's logs lack the marker"; }
	[[ $("$W/canopy" container inspect "$ctr" -o json | field /dev/stdin "r['image']") == "$ref" ]] || fail "the container does not run $ref"
	"$W/canopy" container rm "$ctr" >/dev/null || fail "canopy container rm $ctr"
	"$W/canopy" image delete "$dockimg" >/dev/null || fail "canopy image delete $dockimg"
	log "docker cloud: image $dockimg ($ref) ran as container $ctr through canopy; its logs: $(grep -m1 canopy-render-marker "$W/ctr.log")"
else
	log "docker: skipped (no dockerd, or CANOPY_RENDER_DOCKER=0)"
fi
log "PASS"
