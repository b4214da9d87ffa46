# Shared settings for test/s3/*.sh (sourced, not run): MinIO, an S3 engine
# that verifies SigV4 signatures (headers and presigned query strings) and
# X-Amz-Expires, which moto does not.
# shellcheck shell=bash disable=SC2034  # the variables are for the scripts that source this
# MinIO publishes no semver tags; this is the Go module proxy's pseudo-version
# of its master branch (go list -m github.com/minio/minio@latest, 2026-02-12).
MINIO_MODULE=github.com/minio/minio
MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CACHE="$ROOT/.cache"
BIN="$CACHE/minio-bin"
MINIO="$BIN/minio"
PORT=${CANOPY_S3_PORT:-9055}
# One pid file, data dir and log per port, so engines on several ports never
# stop each other.
PIDFILE="$CACHE/minio-$PORT.pid"
DATA="$CACHE/minio-$PORT-data"
LOGFILE="$CACHE/minio-$PORT.log"
ENDPOINT="http://127.0.0.1:$PORT"
# Test-only credentials (loopback only); the tests read them from
# CANOPY_S3_ACCESS_KEY and CANOPY_S3_SECRET_KEY.
ACCESS_KEY=canopy-test
SECRET_KEY=canopy-test-secret

log() { printf 's3: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# answers: an S3 engine's liveness endpoint replies on the port.
answers() { curl -fs -o /dev/null --max-time 3 "$ENDPOINT/minio/health/live"; }

# ours_running: the recorded PID is alive and is the minio of this checkout
# serving this port's data dir.
ours_running() {
	[[ -s $PIDFILE ]] || return 1
	local pid
	pid=$(<"$PIDFILE")
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	kill -0 "$pid" 2>/dev/null || return 1
	tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$DATA"
}
