# Shared settings for test/moto/*.sh (sourced, not run).
# shellcheck shell=bash disable=SC2034  # the variables are for the scripts that source this
MOTO_VERSION=5.2.5
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CACHE="$ROOT/.cache"
VENV="$CACHE/moto-venv"
LOGFILE="$CACHE/moto-${CANOPY_MOTO_PORT:-5055}.log"
PORT=${CANOPY_MOTO_PORT:-5055}
# One pid file per port, so mocks on several ports never stop each other.
PIDFILE="$CACHE/moto-$PORT.pid"
ENDPOINT="http://127.0.0.1:$PORT"

log() { printf 'moto: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# answers: moto's own API replies on the port (any moto server does). Its
# config endpoint is cheap whatever moto holds (data.json dumps everything).
answers() {
	python3 - "$ENDPOINT" <<'PY' 2>/dev/null
import sys, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1] + "/moto-api/config", timeout=5) as r:
        sys.exit(0 if 200 <= r.status < 300 else 1)
except Exception:
    sys.exit(1)
PY
}

# ours_running: the recorded PID is alive and is a moto_server.
ours_running() {
	[[ -s $PIDFILE ]] || return 1
	local pid
	pid=$(<"$PIDFILE")
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	kill -0 "$pid" 2>/dev/null || return 1
	tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q moto_server
}
