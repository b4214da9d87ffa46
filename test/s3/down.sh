#!/usr/bin/env bash
# Stop the MinIO that test/s3/up.sh started (exactly the PID it recorded in
# .cache/minio-PORT.pid). Nothing to do when it is not running. Its data
# dir is removed too (CANOPY_S3_KEEP_DATA=1 keeps it).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=test/s3/lib.sh
. "$HERE/lib.sh"
# shellcheck source=test/lib/stop.sh
. "$HERE/../lib/stop.sh"

stop_recorded 100
[[ ${CANOPY_S3_KEEP_DATA:-} == 1 ]] || rm -rf "$DATA"
