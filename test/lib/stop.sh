# stop_recorded — the one way test/*/down.sh stop a daemon their up.sh
# started: exactly the PID recorded in $PIDFILE, never anything else.
# Sourced after the engine's own lib.sh, which defines PIDFILE, log and
# ours_running (the recorded PID is alive and is that engine's binary).
# shellcheck shell=bash

# stop_recorded TENTHS: SIGTERM the recorded PID, wait up to TENTHS tenths
# of a second for it to go, then SIGKILL it; remove the pid file. Nothing
# to do (and success) when the recorded process is not running.
stop_recorded() {
	local tenths=$1 pid
	if ! ours_running; then
		log "not running"
		rm -f "$PIDFILE"
		return 0
	fi
	pid=$(<"$PIDFILE")
	kill -TERM "$pid"
	for _ in $(seq 1 "$tenths"); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		log "pid $pid ignored SIGTERM; sending SIGKILL"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -f "$PIDFILE"
	log "stopped (pid $pid)"
}
