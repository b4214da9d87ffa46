#!/usr/bin/env bash
# Start a toxiproxy server on loopback for the fault tests (test/faults).
#
#   test/faults/up.sh   build toxiproxy-server (pinned, test/faults/lib.sh)
#                       into .tools/bin if missing, start it on
#                       127.0.0.1:$CANOPY_TOXIPROXY_PORT (default 8474), wait
#                       until its API answers.
#
# Idempotent. The PID is in .cache/toxiproxy-PORT.pid, the log beside it;
# test/faults/down.sh stops exactly that process. It starts with no
# proxies: each test creates the proxies it needs through the API (to
# moto, to the OpenStack lab's services) and deletes them. The last line
# printed is the API URL (export it as CANOPY_TOXIPROXY).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=test/faults/lib.sh
. "$HERE/lib.sh"

mkdir -p "$CACHE"
install_toxiproxy
if ours_running && answers; then
	log "already up (pid $(<"$PIDFILE"))"
	echo "$API"
	exit 0
fi
if ours_running; then
	log "pid $(<"$PIDFILE") is running but not answering yet"
elif answers; then
	die "port $PORT answers but is not the toxiproxy this script started ($PIDFILE); stop it or set CANOPY_TOXIPROXY_PORT"
else
	rm -f "$PIDFILE"
	log "starting toxiproxy-server on 127.0.0.1:$PORT (log $LOGFILE)"
	nohup "$BIN" -host 127.0.0.1 -port "$PORT" >"$LOGFILE" 2>&1 &
	echo $! >"$PIDFILE"
fi
for _ in $(seq 1 100); do
	answers && break
	ours_running || die "toxiproxy-server exited; see $LOGFILE"
	sleep 0.1
done
answers || die "toxiproxy-server does not answer on $API; see $LOGFILE"
log "up (pid $(<"$PIDFILE"))"
echo "$API"
