#!/usr/bin/env bash
# Issue 16's image placements end to end on real engines
# (cmd/canopyd/replicate_e2e_test.go): one canopyd over the OpenStack lab,
# EC2 on moto and a sim cloud; an image replicated between them with
# qemu-img conversions, checked with Glance's and the EBS direct API's
# own answers, and moving 0 bytes the second time. What
# `make test-replicate` and that section of scripts/test.sh run.
#
#   scripts/test-replicate.sh [go test flags...]
#
# Starts the lab if it is down (test/openstack/up.sh: idempotent, seconds
# when up; it is left running, as everywhere) and moto on
# CANOPY_MOTO_PORT (default 5055) if it is not up, stopping moto again
# only if this script started it. Needs qemu-img (Debian's qemu-utils).
# The test's log is ${TMPDIR:-/tmp}/canopy-replicate-e2e.log.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# shellcheck source=test/lib/engines.sh
. test/lib/engines.sh
clouds_yaml="$(lab_clouds_yaml)"
moto_for_script
((moto_started)) && trap 'test/moto/down.sh >/dev/null 2>&1 || true' EXIT

log="${TMPDIR:-/tmp}/canopy-replicate-e2e.log"
CANOPY_OS_CLOUDS_YAML="$clouds_yaml" CANOPY_MOTO_ENDPOINT="$moto_endpoint" \
	go test -tags 'openstack aws' -count=1 -timeout 15m -v -run 'TestReplicateImageE2E' "$@" ./cmd/canopyd/ 2>&1 \
	| tee "$log" | grep -E '^(--- |PASS|FAIL|ok)|    --- (SKIP|FAIL)|replicate_e2e' || true
# passed: the test ran, and nothing failed.
! grep -qE '^(FAIL|--- FAIL)' "$log" && grep -qE '^--- PASS: TestReplicateImageE2E' "$log" || { tail -80 "$log"; exit 1; }
