#!/usr/bin/env bash
# Run the AWS adapter's tests against moto:
#
#   test/moto/test.sh [go test flags...]
#
# Starts moto (test/moto/up.sh: installs it on first use), runs
# `go test -tags aws -count=1 ./providers/aws/...` with CANOPY_MOTO_ENDPOINT
# set, and stops moto again if this script was the one that started it
# (CANOPY_MOTO_KEEP=1 leaves it running). A second moto with IAM auth on
# (CANOPY_MOTO_AUTH=1 up.sh, port CANOPY_MOTO_AUTH_PORT, default 5056) is
# CANOPY_MOTO_AUTH_ENDPOINT, for TestBadCredentials; it is stopped likewise.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=test/moto/lib.sh
. "$HERE/lib.sh"

was_up=
if ours_running && answers; then was_up=1; fi
endpoint=$("$HERE/up.sh" | tail -n 1)
auth_port=${CANOPY_MOTO_AUTH_PORT:-5056}
auth_was_up=
if (PORT=$auth_port PIDFILE="$CACHE/moto-$auth_port.pid" ENDPOINT="http://127.0.0.1:$auth_port" && ours_running && answers); then auth_was_up=1; fi
auth_endpoint=$(CANOPY_MOTO_PORT=$auth_port CANOPY_MOTO_AUTH=1 "$HERE/up.sh" | tail -n 1)
stop=()
[[ -z $was_up && ${CANOPY_MOTO_KEEP:-} != 1 ]] && stop+=("\"$HERE/down.sh\"")
[[ -z $auth_was_up && ${CANOPY_MOTO_KEEP:-} != 1 ]] && stop+=("CANOPY_MOTO_PORT=$auth_port \"$HERE/down.sh\"")
if ((${#stop[@]})); then
	trap "$(IFS=';'; echo "${stop[*]}")" EXIT
fi
cd "$ROOT"
export CANOPY_MOTO_AUTH_ENDPOINT=$auth_endpoint
CANOPY_MOTO_ENDPOINT=$endpoint go test -tags aws -count=1 "$@" ./providers/aws/...
# The crash-safety lineages on moto: canopyd killed at every failpoint of
# its stories (block storage, networking), resources counted with the AWS
# SDK (cmd/canopyd/crash_aws_test.go, crash_net_aws_test.go).
CANOPY_MOTO_ENDPOINT=$endpoint go test -tags aws -count=1 -timeout 30m -run 'TestCrashSafetyAWS' "$@" ./cmd/canopyd/
