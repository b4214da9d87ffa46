#!/usr/bin/env bash
# Run the Docker adapter's tests against a real dockerd:
#
#   test/docker/test.sh [go test flags...]
#
# Starts two dockerds (test/docker/up.sh 2: installs Debian's docker.io on
# first use), runs `go test -tags docker -count=1 ./providers/docker/...`
# with CANOPY_DOCKER_HOST and CANOPY_DOCKER_HOST2 set, and stops dockerd again if this script was the one
# that started it (CANOPY_DOCKER_KEEP=1 leaves it running).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=test/docker/lib.sh
. "$HERE/lib.sh"

# Up already: both dockerds answer (then this script leaves them up).
was_up=
if dockerd_running && answers && DOCKER_INSTANCE=2 bash -c '. "$1/lib.sh" && dockerd_running && answers' _ "$HERE"; then was_up=1; fi
# Two dockerds: the scheduler's tests place across hosts.
hosts=$("$HERE/up.sh" 2)
host=$(sed -n 1p <<<"$hosts")
host2=$(sed -n 2p <<<"$hosts")
if [[ -z $was_up && ${CANOPY_DOCKER_KEEP:-} != 1 ]]; then
	trap '"$HERE/down.sh"' EXIT
fi
cd "$ROOT"
CANOPY_DOCKER_HOST=$host CANOPY_DOCKER_HOST2=$host2 go test -tags docker -count=1 "$@" ./providers/docker/...
