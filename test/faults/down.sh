#!/usr/bin/env bash
# Stop the toxiproxy server test/faults/up.sh started on this port (its
# recorded PID, nothing else).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=test/faults/lib.sh
. "$HERE/lib.sh"

if ! ours_running; then
	log "not running"
	rm -f "$PIDFILE"
	exit 0
fi
pid=$(<"$PIDFILE")
kill -TERM "$pid"
for _ in $(seq 1 50); do
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
if kill -0 "$pid" 2>/dev/null; then
	log "pid $pid ignored SIGTERM; sending SIGKILL"
	kill -KILL "$pid" 2>/dev/null || true
fi
rm -f "$PIDFILE"
log "stopped (pid $pid)"
