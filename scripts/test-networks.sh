#!/usr/bin/env bash
# Issue 15's global networks and security groups end to end on real
# engines (cmd/canopyd/networks_e2e_test.go): one canopyd over the
# OpenStack lab and EC2 on moto, each cloud checked with its own API.
# What `make test-networks` and that section of scripts/test.sh run.
#
#   scripts/test-networks.sh [go test flags...]
#
# Starts the lab if it is down (test/openstack/up.sh: idempotent, seconds
# when up; it is left running, as everywhere) and moto on
# CANOPY_MOTO_PORT (default 5055) if it is not up, stopping moto again
# only if this script started it. The test's log is
# ${TMPDIR:-/tmp}/canopy-networks-e2e.log; its figures (FIGURE lines) are
# printed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# shellcheck source=test/lib/engines.sh
. test/lib/engines.sh
clouds_yaml="$(lab_clouds_yaml)"
moto_for_script
((moto_started)) && trap 'test/moto/down.sh >/dev/null 2>&1 || true' EXIT

log="${TMPDIR:-/tmp}/canopy-networks-e2e.log"
CANOPY_OS_CLOUDS_YAML="$clouds_yaml" CANOPY_MOTO_ENDPOINT="$moto_endpoint" \
	go test -tags 'openstack aws' -count=1 -timeout 10m -v -run 'TestGlobalNetworksE2E' "$@" ./cmd/canopyd/ 2>&1 \
	| tee "$log" | grep -E '^(--- |PASS|FAIL|ok)|FIGURE|    networks_e2e' || true
# passed: the test ran, and nothing failed.
! grep -qE '^(FAIL|--- FAIL)' "$log" && grep -qE '^--- PASS: TestGlobalNetworksE2E' "$log" || { tail -80 "$log"; exit 1; }
