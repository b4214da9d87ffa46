#!/usr/bin/env bash
# The servers view across kinds of cloud end to end (issue 14):
# cmd/canopyd/servers_view_openstack_test.go — one canopyd over the
# OpenStack lab, a dockerd of the project's own and a sim cloud, a server
# created on each and listed side by side. What that section of
# scripts/test.sh runs.
#
#   scripts/test-servers-view.sh [go test flags...]
#
# Starts the lab if it is down (test/openstack/up.sh; left running, as
# everywhere) and dockerd (test/docker/up.sh), stopping dockerd again only
# if this script started it.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=test/docker/lib.sh
. test/docker/lib.sh

# shellcheck source=test/lib/engines.sh
. test/lib/engines.sh
clouds_yaml="$(lab_clouds_yaml)"
docker_was_up=
dockerd_running && docker_was_up=1
docker_host="$(test/docker/up.sh | tail -n 1)"
[[ -n $docker_was_up ]] || trap 'test/docker/down.sh >/dev/null 2>&1 || true' EXIT

log="${TMPDIR:-/tmp}/canopy-servers-view.log"
CANOPY_OS_CLOUDS_YAML="$clouds_yaml" CANOPY_DOCKER_HOST="$docker_host" \
	go test -tags 'containers openstack' -count=1 -timeout 15m -v -run 'TestServersViewOpenStack' "$@" ./cmd/canopyd/ 2>&1 \
	| tee "$log" | grep -E '^(--- |PASS|FAIL|ok)|servers_view' || true
! grep -qE '^(FAIL|--- FAIL)' "$log" && grep -qE '^--- PASS: TestServersViewOpenStack' "$log" || { tail -80 "$log"; exit 1; }
