# Shared settings for test/faults/*.sh (sourced, not run).
# shellcheck shell=bash disable=SC2034  # the variables are for the scripts that source this
#
# toxiproxy (Shopify's TCP fault proxy) from the Go module proxy, built into
# the project's .tools/bin at a pinned version (stamp in .tools/bin/.stamps).
TOXIPROXY_VERSION=v2.5.0
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CACHE="$ROOT/.cache"
TOOLS_BIN="$ROOT/.tools/bin"
STAMP="$TOOLS_BIN/.stamps/toxiproxy-server"
BIN="$TOOLS_BIN/toxiproxy-server"
PORT=${CANOPY_TOXIPROXY_PORT:-8474}
# One pid file per port, so proxies on several ports never stop each other.
PIDFILE="$CACHE/toxiproxy-$PORT.pid"
LOGFILE="$CACHE/toxiproxy-$PORT.log"
API="http://127.0.0.1:$PORT"

log() { printf 'toxiproxy: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# answers: a toxiproxy API replies on the port.
answers() { curl -fsS --max-time 2 "$API/version" >/dev/null 2>&1; }

# ours_running: the recorded PID is alive and is a toxiproxy-server.
ours_running() {
	[[ -s $PIDFILE ]] || return 1
	local pid
	pid=$(<"$PIDFILE")
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	kill -0 "$pid" 2>/dev/null || return 1
	tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q toxiproxy-server
}

# install_toxiproxy builds toxiproxy-server at the pinned version unless the
# stamp says it is there.
install_toxiproxy() {
	local pkg="github.com/Shopify/toxiproxy/v2/cmd/server@$TOXIPROXY_VERSION" tmp
	if [[ -x $BIN && -f $STAMP && "$(<"$STAMP")" == "$pkg" ]]; then
		return 0
	fi
	command -v go >/dev/null || die "go not on PATH"
	mkdir -p "$TOOLS_BIN/.stamps"
	tmp=$(mktemp -d)
	log "building $pkg (Go module proxy)"
	GOBIN="$tmp" GOFLAGS=-mod=mod go install "$pkg"
	mv -f "$tmp/server" "$BIN"
	rm -rf "$tmp"
	echo "$pkg" >"$STAMP"
}
