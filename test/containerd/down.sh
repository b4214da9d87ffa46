#!/usr/bin/env bash
# Stop the containerd that test/containerd/up.sh started (exactly the PID it
# recorded in .cache/containerd/containerd.pid). Nothing to do when it is
# not running. Containers' shims outlive containerd by design; their tasks
# are killed first (namespace canopy) so no process is left behind.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=test/containerd/lib.sh
. "$HERE/lib.sh"

if ! ours_running; then
	log "not running"
	rm -f "$PIDFILE"
	exit 0
fi
if answers; then
	for task in $(ctr_cli -n "$NAMESPACE" tasks ls -q 2>/dev/null); do
		ctr_cli -n "$NAMESPACE" tasks kill -s SIGKILL "$task" >/dev/null 2>&1 || true
		ctr_cli -n "$NAMESPACE" tasks rm -f "$task" >/dev/null 2>&1 || true
	done
fi
pid=$(<"$PIDFILE")
kill -TERM "$pid"
for _ in $(seq 1 200); do
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
if kill -0 "$pid" 2>/dev/null; then
	log "pid $pid ignored SIGTERM; sending SIGKILL"
	kill -KILL "$pid" 2>/dev/null || true
fi
rm -f "$PIDFILE"
log "stopped (pid $pid)"
