#!/usr/bin/env bash
# Run the AWS adapter's tests against moto:
#
#   test/moto/test.sh [go test flags...]
#
# Starts moto (test/moto/up.sh: installs it on first use), runs
# `go test -tags aws -count=1 ./providers/aws/...` with CANOPY_MOTO_ENDPOINT
# set, and stops moto again if this script was the one that started it
# (CANOPY_MOTO_KEEP=1 leaves it running).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=test/moto/lib.sh
. "$HERE/lib.sh"

was_up=
if ours_running && answers; then was_up=1; fi
endpoint=$("$HERE/up.sh" | tail -n 1)
if [[ -z $was_up && ${CANOPY_MOTO_KEEP:-} != 1 ]]; then
	trap '"$HERE/down.sh"' EXIT
fi
cd "$ROOT"
CANOPY_MOTO_ENDPOINT=$endpoint go test -tags aws -count=1 "$@" ./providers/aws/...
# The crash-safety lineages on moto: canopyd killed at every failpoint of
# its story, resources counted with the AWS SDK (cmd/canopyd/crash_aws_test.go).
CANOPY_MOTO_ENDPOINT=$endpoint go test -tags aws -count=1 -timeout 30m -run 'TestCrashSafetyAWS' "$@" ./cmd/canopyd/
