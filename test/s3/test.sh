#!/usr/bin/env bash
# Run the AWS adapter's object conformance against an S3 engine that
# verifies signatures (MinIO):
#
#   test/s3/test.sh [go test flags...]
#
# Starts MinIO (test/s3/up.sh: builds it on first use), runs
# `go test -tags s3 -count=1 ./providers/aws/` with CANOPY_S3_ENDPOINT,
# CANOPY_S3_ACCESS_KEY and CANOPY_S3_SECRET_KEY set, and stops MinIO again
# if this script was the one that started it (CANOPY_S3_KEEP=1 leaves it
# running).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=test/s3/lib.sh
. "$HERE/lib.sh"

was_up=
if ours_running && answers; then was_up=1; fi
endpoint=$("$HERE/up.sh" | tail -n 1)
if [[ -z $was_up && ${CANOPY_S3_KEEP:-} != 1 ]]; then
	trap '"$HERE/down.sh"' EXIT
fi
cd "$ROOT"
CANOPY_S3_ENDPOINT=$endpoint CANOPY_S3_ACCESS_KEY=$ACCESS_KEY CANOPY_S3_SECRET_KEY=$SECRET_KEY \
	go test -tags s3 -count=1 "$@" ./providers/aws/
