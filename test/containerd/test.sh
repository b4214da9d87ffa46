#!/usr/bin/env bash
# Run the containerd adapter's tests against a real containerd:
#
#   test/containerd/test.sh [go test flags...]
#
# Starts containerd (test/containerd/up.sh: installs it on first use and
# imports the busybox test image), runs
# `go test -tags containerd -count=1 ./providers/containerd/...` with
# CANOPY_CONTAINERD_ADDRESS set, and stops containerd again if this script
# was the one that started it (CANOPY_CONTAINERD_KEEP=1 leaves it running).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=test/containerd/lib.sh
. "$HERE/lib.sh"

was_up=
if ours_running && answers; then was_up=1; fi
address=$("$HERE/up.sh" | tail -n 1)
if [[ -z $was_up && ${CANOPY_CONTAINERD_KEEP:-} != 1 ]]; then
	trap '"$HERE/down.sh"' EXIT
fi
cd "$ROOT"
CANOPY_CONTAINERD_ADDRESS=$address go test -tags containerd -count=1 "$@" ./providers/containerd/...
