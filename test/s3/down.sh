#!/usr/bin/env bash
# Stop the MinIO that test/s3/up.sh started (exactly the PID it recorded in
# .cache/minio-PORT.pid). Nothing to do when it is not running. Its data
# dir is removed too (CANOPY_S3_KEEP_DATA=1 keeps it).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=test/s3/lib.sh
. "$HERE/lib.sh"

if ! ours_running; then
	log "not running"
	rm -f "$PIDFILE"
	exit 0
fi
pid=$(<"$PIDFILE")
kill -TERM "$pid"
for _ in $(seq 1 100); do
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
if kill -0 "$pid" 2>/dev/null; then
	log "pid $pid ignored SIGTERM; sending SIGKILL"
	kill -KILL "$pid" 2>/dev/null || true
fi
rm -f "$PIDFILE"
[[ ${CANOPY_S3_KEEP_DATA:-} == 1 ]] || rm -rf "$DATA"
log "stopped (pid $pid)"
