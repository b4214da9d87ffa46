# Shared settings for test/containerd/*.sh (sourced, not run).
# shellcheck shell=bash disable=SC2034  # the variables are for the scripts that source this
#
# Everything lives under .cache/containerd: the config this script writes,
# containerd's root (content, snapshots, metadata) and state, its gRPC and
# ttrpc sockets, its PID and log. Never /run/containerd or the host's
# socket, and never .cache/docker (test/docker runs a containerd of its own
# for dockerd): nothing is shared, so both can run at once.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CACHE="$ROOT/.cache"
DIR="$CACHE/containerd"
# Unix socket paths are limited to 108 bytes; the sockets sit directly in
# $DIR/run so a deep checkout still fits.
RUN="$DIR/run"
SOCK="$RUN/containerd.sock"
CONFIG="$DIR/containerd.toml"
PIDFILE="$DIR/containerd.pid"
LOGFILE="$DIR/containerd.log"
NAMESPACE=${CANOPY_CONTAINERD_NAMESPACE:-canopy}
IMAGE=canopy-test/busybox:latest

log() { printf 'containerd: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# ctr_cli runs Debian's ctr against our containerd only.
ctr_cli() { ctr --address "$SOCK" "$@"; }

# answers: our containerd replies to a version call on our socket.
answers() {
	[[ -S $SOCK ]] || return 1
	timeout 5 ctr --address "$SOCK" --timeout 5s version >/dev/null 2>&1
}

# ours_running: the recorded PID is alive and is a containerd with our config.
ours_running() {
	[[ -s $PIDFILE ]] || return 1
	local pid
	pid=$(<"$PIDFILE")
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	kill -0 "$pid" 2>/dev/null || return 1
	[[ $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) == *"containerd --config $CONFIG"* ]]
}
