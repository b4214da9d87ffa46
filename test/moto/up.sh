#!/usr/bin/env bash
# Start moto's server mode on loopback for the AWS adapter's tests.
#
#   test/moto/up.sh     install moto[server] (pinned) into .cache/moto-venv if
#                       missing, start moto_server on 127.0.0.1:$CANOPY_MOTO_PORT
#                       (default 5055) in the background, wait until it answers.
#
# Idempotent and fast when moto is already up. The PID is in .cache/moto-PORT.pid,
# the log in .cache/moto.log; test/moto/down.sh stops exactly that process.
# The last line printed is the endpoint (export it as CANOPY_MOTO_ENDPOINT).
#
# CANOPY_MOTO_AUTH=1 starts a moto that checks credentials and signatures
# from its first request (IAM auth: INITIAL_NO_AUTH_ACTION_COUNT=0), for
# TestBadCredentials; run it on a port of its own (test/moto/test.sh uses
# CANOPY_MOTO_AUTH_PORT, default 5056), never on the shared one.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=test/moto/lib.sh
. "$HERE/lib.sh"

mkdir -p "$CACHE"

# 1. moto in a project-local venv, at the pinned version.
stamp="$VENV/.moto-$MOTO_VERSION"
if [[ ! -e $stamp || ! -x $VENV/bin/moto_server ]] || ! "$VENV/bin/python" -c '' 2>/dev/null; then
	command -v python3 >/dev/null || die "python3 not on PATH"
	log "installing moto[server]==$MOTO_VERSION into $VENV"
	rm -rf "$VENV"
	python3 -m venv "$VENV"
	# A current pip resolves moto's many extras much faster than the one
	# the interpreter ships.
	"$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip
	"$VENV/bin/python" -m pip install -q --disable-pip-version-check "moto[server]==$MOTO_VERSION"
	touch "$stamp"
fi

# 2. moto_server, unless ours is already up.
if ours_running && answers; then
	log "already up (pid $(<"$PIDFILE"))"
	echo "$ENDPOINT"
	exit 0
fi
if ours_running; then
	log "pid $(<"$PIDFILE") is running but not answering yet"
elif answers; then
	die "port $PORT answers but is not the moto this script started ($PIDFILE); stop it or set CANOPY_MOTO_PORT"
else
	rm -f "$PIDFILE"
	log "starting moto_server on 127.0.0.1:$PORT (log $LOGFILE)"
	# moto accepts unknown AMIs, instance types and key names unless told to
	# check them as EC2 does. setsid: moto outlives this script and its shell.
	auth=()
	if [[ ${CANOPY_MOTO_AUTH:-} == 1 ]]; then
		log "IAM auth on: credentials and signatures checked from the first request"
		auth=(INITIAL_NO_AUTH_ACTION_COUNT=0)
	fi
	env "${auth[@]}" MOTO_ENABLE_AMI_VALIDATION=true MOTO_EC2_ENABLE_INSTANCE_TYPE_VALIDATION=true MOTO_ENABLE_KEYPAIR_VALIDATION=true \
		setsid "$VENV/bin/moto_server" -H 127.0.0.1 -p "$PORT" >>"$LOGFILE" 2>&1 </dev/null &
	echo $! >"$PIDFILE"
fi

# 3. Wait until it answers (moto loads its catalogues lazily: seconds).
for _ in $(seq 1 300); do
	if answers; then
		log "up (pid $(<"$PIDFILE"))"
		echo "$ENDPOINT"
		exit 0
	fi
	ours_running || { tail -n 30 "$LOGFILE" >&2 || true; die "moto_server exited at start"; }
	sleep 0.1
done
tail -n 30 "$LOGFILE" >&2 || true
die "moto_server did not answer on $ENDPOINT within 30s"
