#!/usr/bin/env bash
# Stop the etcd members that test/etcd/up.sh started (exactly the PIDs it
# recorded in .cache/etcd/mN.pid, each checked to be etcd on our data dir).
# Nothing to do for a member that is not running. The data stays, so the
# next up.sh brings the same cluster back; `down.sh --purge` removes
# .cache/etcd as well.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=test/etcd/lib.sh
. "$HERE/lib.sh"

for m in "${MEMBERS[@]}"; do
	if ! pid=$(pid_of "$m"); then
		log "$m not running"
		rm -f "$DIR/$m.pid"
		continue
	fi
	kill -TERM "$pid"
	for _ in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		log "$m (pid $pid) ignored SIGTERM; sending SIGKILL"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -f "$DIR/$m.pid"
	log "stopped $m (pid $pid)"
done
if [[ ${1:-} == --purge ]]; then
	rm -rf "${DIR:?}"
	log "removed $DIR"
fi
