#!/usr/bin/env bash
# Start MinIO on loopback for the signature-verifying S3 run of the AWS
# adapter's object conformance (test/s3/test.sh).
#
#   test/s3/up.sh   build MinIO (pinned, from the Go module proxy) into
#                   .cache/minio-bin if missing, start it on
#                   127.0.0.1:$CANOPY_S3_PORT (default 9055) with its data in
#                   .cache/minio-PORT-data, wait until it answers.
#
# Idempotent and fast when MinIO is already up. The PID is in
# .cache/minio-PORT.pid, the log in .cache/minio-PORT.log; test/s3/down.sh
# stops exactly that process. The last line printed is the endpoint (export
# it as CANOPY_S3_ENDPOINT).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=test/s3/lib.sh
. "$HERE/lib.sh"

mkdir -p "$CACHE"

# 1. MinIO, built at the pinned version (a few minutes on first use).
stamp="$BIN/.minio-$MINIO_VERSION"
if [[ ! -e $stamp || ! -x $MINIO ]]; then
	command -v go >/dev/null || die "go not on PATH"
	log "building $MINIO_MODULE@$MINIO_VERSION into $BIN (minutes on first use)"
	rm -rf "$BIN"
	mkdir -p "$BIN"
	GOBIN="$BIN" go install "$MINIO_MODULE@$MINIO_VERSION"
	touch "$stamp"
fi

# 2. The server, unless ours is already up.
if ours_running && answers; then
	log "already up (pid $(<"$PIDFILE"))"
	echo "$ENDPOINT"
	exit 0
fi
if ours_running; then
	log "pid $(<"$PIDFILE") is running but not answering yet"
elif answers; then
	die "port $PORT answers but is not the MinIO this script started ($PIDFILE); stop it or set CANOPY_S3_PORT"
else
	rm -f "$PIDFILE"
	mkdir -p "$DATA"
	log "starting minio on 127.0.0.1:$PORT (log $LOGFILE)"
	# Loopback only, no console, no update checks or telemetry.
	# setsid: the server outlives this script and its shell.
	MINIO_ROOT_USER=$ACCESS_KEY MINIO_ROOT_PASSWORD=$SECRET_KEY MINIO_BROWSER=off MINIO_UPDATE=off \
		MINIO_CALLHOME_ENABLE=off MINIO_REGION=us-east-1 \
		setsid "$MINIO" server --quiet --address "127.0.0.1:$PORT" "$DATA" >>"$LOGFILE" 2>&1 </dev/null &
	echo $! >"$PIDFILE"
fi

# 3. Wait until it answers.
for _ in $(seq 1 300); do
	if answers; then
		log "up (pid $(<"$PIDFILE"))"
		echo "$ENDPOINT"
		exit 0
	fi
	ours_running || { tail -n 30 "$LOGFILE" >&2 || true; die "minio exited at start"; }
	sleep 0.1
done
tail -n 30 "$LOGFILE" >&2 || true
die "minio did not answer on $ENDPOINT within 30s"
