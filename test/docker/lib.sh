# Shared settings for test/docker/*.sh (sourced, not run).
# shellcheck shell=bash disable=SC2034  # the variables are for the scripts that source this
#
# Everything lives under .cache/docker: a containerd of our own (its own
# socket, root and state, never /run/containerd, so neither the host's nor
# the containerd adapter's under .cache/containerd is touched) and a dockerd
# over it with its own data root, exec root, pid file and unix socket.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CACHE="$ROOT/.cache"
# DOCKER_INSTANCE picks one of several dockerds (test/docker/up.sh N): the
# first lives in .cache/docker, the n-th in .cache/docker<n>, each with its
# own containerd, data root and sockets.
INSTANCE=${DOCKER_INSTANCE:-1}
[[ $INSTANCE =~ ^[1-9]$ ]] || { printf 'docker: DOCKER_INSTANCE %q: want 1-9\n' "$INSTANCE" >&2; exit 2; }
if [[ $INSTANCE == 1 ]]; then DIR="$CACHE/docker"; else DIR="$CACHE/docker$INSTANCE"; fi
# Unix socket paths are limited to 108 bytes; the sockets sit directly in
# $DIR/run so a deep checkout still fits.
RUN="$DIR/run"
SOCK="$RUN/docker.sock"
DOCKER_HOST_URL="unix://$SOCK"
CTRD_SOCK="$RUN/containerd.sock"
CTRD_CONFIG="$DIR/containerd.toml"
CTRD_PIDFILE="$DIR/containerd.pid"
CTRD_LOG="$DIR/containerd.log"
DOCKERD_PIDFILE="$DIR/dockerd.pid"
DOCKERD_CONFIG="$DIR/daemon.json"
DOCKERD_LOG="$DIR/dockerd.log"
IMAGE=canopy-test/busybox:latest

log() { printf 'docker: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# docker_cli runs Debian's docker client (its API matches the daemon's)
# against our daemon only, never the host's default socket.
docker_cli() {
	DOCKER_HOST=$DOCKER_HOST_URL DOCKER_CONFIG="$DIR/cli" "$(docker_bin)" "$@"
}

docker_bin() {
	if [[ -x /usr/bin/docker ]]; then echo /usr/bin/docker; else command -v docker; fi
}

# alive PIDFILE CMDLINE: the recorded PID is alive and its command line
# contains CMDLINE.
alive() {
	local pidfile=$1 name=$2 pid
	[[ -s $pidfile ]] || return 1
	pid=$(<"$pidfile")
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	kill -0 "$pid" 2>/dev/null || return 1
	[[ $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) == *"$name"* ]]
}

# Ours: the command line names our config or socket (a reused PID does not).
containerd_running() { alive "$CTRD_PIDFILE" "containerd --config $CTRD_CONFIG"; }
dockerd_running() { alive "$DOCKERD_PIDFILE" "dockerd --host $DOCKER_HOST_URL"; }

# answers: our dockerd replies on our socket (the docker client, not curl:
# a fresh Debian 12 has no curl, and docker.io brings the client).
answers() {
	[[ -S $SOCK ]] || return 1
	DOCKER_HOST=$DOCKER_HOST_URL DOCKER_CONFIG="$DIR/cli" timeout 5 "$(docker_bin)" version --format '{{.Server.Version}}' >/dev/null 2>&1
}

# stop PIDFILE: TERM the recorded process, KILL it after 20 s, forget it.
stop() {
	local pidfile=$1 what=$2 pid
	pid=$(<"$pidfile")
	kill -TERM "$pid" 2>/dev/null || true
	for _ in $(seq 1 200); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		log "$what (pid $pid) ignored SIGTERM; sending SIGKILL"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -f "$pidfile"
	log "stopped $what (pid $pid)"
}
