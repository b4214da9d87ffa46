#!/usr/bin/env bash
# Start a real dockerd (Debian's docker.io) for the Docker adapter's tests,
# changing nothing on the host's network and sharing nothing with the
# host's docker or containerd:
#
#   test/docker/up.sh   install docker.io, containerd and runc if missing;
#                       start a containerd of our own under .cache/docker
#                       (its own socket, root and state; the CRI plugin off)
#                       and a dockerd over it with --bridge=none and no
#                       iptables, forwarding or masquerading, its own data
#                       root, exec root, pid file and unix socket; wait
#                       until it answers; import the busybox test image
#                       (test/containers/rootfs.sh) as canopy-test/busybox.
#
# Containers run with --network none (or host): there is no bridge. No
# registry is reachable, so nothing is ever pulled. Idempotent and fast when
# dockerd is already up. PIDs are in .cache/docker/{containerd,dockerd}.pid,
# logs beside them; test/docker/down.sh stops exactly those processes. The
# last line printed is the DOCKER_HOST value (export it as CANOPY_DOCKER_HOST).
#
#   test/docker/up.sh N   start N such dockerds (1-9), each with its own
#                       containerd and everything under .cache/docker<n>
#                       (the first in .cache/docker), labelled
#                       canopy.test.instance=<n>; prints their DOCKER_HOST
#                       values one a line, in order (the last line is the
#                       N-th). down.sh stops every one of them.
set -euo pipefail
if [[ $# -gt 0 && -z ${DOCKER_INSTANCE:-} ]]; then
	[[ $1 =~ ^[1-9]$ ]] || { echo "usage: $0 [number of dockerds, 1-9]" >&2; exit 2; }
	for i in $(seq 1 "$1"); do
		DOCKER_INSTANCE=$i "$0"
	done
	exit 0
fi
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=test/docker/lib.sh
. "$HERE/lib.sh"
# shellcheck source=test/lib/apt.sh
. "$HERE/../lib/apt.sh"

# 1. The packages. policy-rc.d keeps the packages' own services from
# starting while they install (a system dockerd would make docker0 and
# iptables rules, which is exactly what this script must not do).
missing=()
command -v dockerd >/dev/null || missing+=(docker.io)
command -v containerd >/dev/null || missing+=(containerd)
command -v runc >/dev/null || missing+=(runc)
[[ -x /usr/bin/docker ]] || command -v docker >/dev/null || missing+=(docker.io)
if ((${#missing[@]})); then
	log "installing ${missing[*]}"
	apt_install "${missing[@]}" || die "apt-get install ${missing[*]} failed"
fi

mkdir -p "$RUN" "$DIR/containerd/root" "$DIR/containerd/state" "$DIR/containerd/opt" "$DIR/data" "$DIR/exec" "$DIR/cli"

# 2. containerd, unless ours is already up.
if ! containerd_running; then
	rm -f "$CTRD_PIDFILE" "$CTRD_SOCK" "$CTRD_SOCK.ttrpc"
	cat >"$CTRD_CONFIG" <<TOML
version = 2
root = "$DIR/containerd/root"
state = "$DIR/containerd/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$CTRD_SOCK"
[ttrpc]
  address = "$CTRD_SOCK.ttrpc"
[debug]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "$DIR/containerd/opt"
TOML
	log "starting containerd on $CTRD_SOCK (log $CTRD_LOG)"
	# setsid: it outlives this script and its shell.
	setsid containerd --config "$CTRD_CONFIG" >>"$CTRD_LOG" 2>&1 </dev/null &
	echo $! >"$CTRD_PIDFILE"
	for _ in $(seq 1 100); do
		[[ -S $CTRD_SOCK ]] && break
		# kill -0, not containerd_running: until setsid has exec'd, the
		# fresh PID's command line is still this shell's.
		kill -0 "$(<"$CTRD_PIDFILE")" 2>/dev/null || { tail -n 30 "$CTRD_LOG" >&2 || true; die "containerd exited at start"; }
		sleep 0.1
	done
	[[ -S $CTRD_SOCK ]] || die "containerd did not open $CTRD_SOCK within 10s"
fi

# 3. dockerd, unless ours is already up.
if dockerd_running && answers; then
	log "dockerd already up (pid $(<"$DOCKERD_PIDFILE"))"
else
	if dockerd_running; then
		log "dockerd pid $(<"$DOCKERD_PIDFILE") is running but not answering yet"
	else
		# dockerd refuses to start while its own pid file names a live
		# process, which after a reboot may be any process.
		rm -f "$DOCKERD_PIDFILE" "$SOCK" "$DIR/exec/dockerd.pid"
		# Our own (empty) daemon.json: the host's /etc/docker/daemon.json
		# must not apply.
		echo '{}' >"$DOCKERD_CONFIG"
		log "starting dockerd on $SOCK (log $DOCKERD_LOG)"
		setsid dockerd \
			--host "$DOCKER_HOST_URL" \
			--containerd "$CTRD_SOCK" \
			--data-root "$DIR/data" \
			--exec-root "$DIR/exec" \
			--pidfile "$DIR/exec/dockerd.pid" \
			--config-file "$DOCKERD_CONFIG" \
			--bridge=none --iptables=false --ip6tables=false --ip-forward=false --ip-masq=false \
			--userland-proxy=false \
			--label "canopy.test.instance=$INSTANCE" \
			>>"$DOCKERD_LOG" 2>&1 </dev/null &
		# dockerd keeps a pid file of its own (and refuses to start while it
		# exists); ours records the PID at once, so a daemon that hangs at
		# start is still ours to stop.
		echo $! >"$DOCKERD_PIDFILE"
	fi
	up=
	for _ in $(seq 1 300); do
		if answers; then
			up=1
			break
		fi
		kill -0 "$(<"$DOCKERD_PIDFILE")" 2>/dev/null || { tail -n 30 "$DOCKERD_LOG" >&2 || true; die "dockerd exited at start"; }
		sleep 0.1
	done
	[[ -n $up ]] || { tail -n 30 "$DOCKERD_LOG" >&2 || true; die "dockerd did not answer on $SOCK within 30s"; }
	log "dockerd up (pid $(<"$DOCKERD_PIDFILE"))"
fi

# 4. The test image, from the busybox root filesystem (no registry). It has
# no CMD, as the conformance suite's fixture says: tests name commands.
if ! docker_cli image inspect "$IMAGE" >/dev/null 2>&1; then
	rootfs=$("$ROOT/test/containers/rootfs.sh")
	log "importing $rootfs as $IMAGE"
	docker_cli import "$rootfs" "$IMAGE" >/dev/null
fi
echo "$DOCKER_HOST_URL"
