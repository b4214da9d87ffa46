#!/usr/bin/env bash
# Start a real containerd (Debian's containerd package) for the containerd
# adapter's tests, sharing nothing with the host's containerd or with the
# one test/docker runs for dockerd, and changing nothing on the network:
#
#   test/containerd/up.sh   install containerd and runc if missing; write
#                           .cache/containerd/containerd.toml (its own root,
#                           state, gRPC/ttrpc sockets; no debug or metrics
#                           listener; the CRI plugin, which would set up CNI
#                           networking, off); start containerd in the
#                           background; wait until `ctr version` answers;
#                           import the busybox OCI image (test/containers/
#                           oci.sh) as canopy-test/busybox:latest into the
#                           namespace canopy unless that very image is there.
#
# Containers the adapter makes get a network namespace of their own with
# loopback only (or the host's, when asked): no bridge, no CNI, no iptables.
# Idempotent and fast when containerd is already up. The PID is in
# .cache/containerd/containerd.pid, the log beside it; test/containerd/down.sh
# stops exactly that process. The last line printed is the socket path
# (export it as CANOPY_CONTAINERD_ADDRESS).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=test/containerd/lib.sh
. "$HERE/lib.sh"
# shellcheck source=test/lib/apt.sh
. "$HERE/../lib/apt.sh"

# 1. The packages. policy-rc.d keeps the package's own service from
# starting while it installs (it would listen on /run/containerd).
missing=()
command -v containerd >/dev/null || missing+=(containerd)
command -v ctr >/dev/null || missing+=(containerd)
command -v containerd-shim-runc-v2 >/dev/null || missing+=(containerd)
command -v runc >/dev/null || missing+=(runc)
if ((${#missing[@]})); then
	log "installing ${missing[*]}"
	apt_install "${missing[@]}" || die "apt-get install ${missing[*]} failed"
fi

mkdir -p "$RUN" "$DIR/root" "$DIR/state" "$DIR/opt"

# 2. containerd, unless ours is already up.
if ours_running && answers; then
	log "already up (pid $(<"$PIDFILE"))"
elif ours_running; then
	log "pid $(<"$PIDFILE") is running but not answering yet"
else
	if answers; then
		die "$SOCK answers but is not the containerd this script started ($PIDFILE)"
	fi
	rm -f "$PIDFILE" "$SOCK" "$SOCK.ttrpc"
	cat >"$CONFIG" <<TOML
# Written by test/containerd/up.sh; rewritten on every start.
version = 2
root = "$DIR/root"
state = "$DIR/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$SOCK"
[ttrpc]
  address = "$SOCK.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "$DIR/opt"
TOML
	log "starting containerd on $SOCK (log $LOGFILE)"
	# setsid: it outlives this script and its shell.
	setsid containerd --config "$CONFIG" >>"$LOGFILE" 2>&1 </dev/null &
	echo $! >"$PIDFILE"
fi

# 3. Wait until it answers.
for _ in $(seq 1 200); do
	answers && break
	ours_running || { tail -n 30 "$LOGFILE" >&2 || true; die "containerd exited at start"; }
	sleep 0.1
done
answers || { tail -n 30 "$LOGFILE" >&2 || true; die "containerd did not answer on $SOCK within 20s"; }
log "up (pid $(<"$PIDFILE"))"

# 4. The test image, unless the very manifest the tarball holds is there.
oci=$("$ROOT/test/containers/oci.sh")
want=$(tar -xOf "$oci" index.json | grep -o '"digest":"sha256:[0-9a-f]*"' | head -n 1 | cut -d'"' -f4)
have=$(ctr_cli -n "$NAMESPACE" images ls "name==$IMAGE" 2>/dev/null | awk 'NR > 1 {print $3}')
if [[ $have != "$want" ]]; then
	log "importing $IMAGE ($want) into namespace $NAMESPACE"
	ctr_cli -n "$NAMESPACE" images import --all-platforms "$oci" >&2
	have=$(ctr_cli -n "$NAMESPACE" images ls "name==$IMAGE" | awk 'NR > 1 {print $3}')
	[[ $have == "$want" ]] || die "import left $IMAGE at '$have', want $want"
fi
echo "$SOCK"
