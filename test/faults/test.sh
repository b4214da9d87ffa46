#!/usr/bin/env bash
# The fault tests (DESIGN R2, P6): canopyd over moto and the OpenStack lab's
# Nova with toxiproxy (latency, resets, blackholes, refused connections)
# and a 5xx front between them — `make test-faults`.
#
#   test/faults/test.sh [go test flags]
#
# Starts moto (test/moto/up.sh, port CANOPY_MOTO_PORT) and toxiproxy
# (test/faults/up.sh, port CANOPY_TOXIPROXY_PORT) if they are down, and stops
# again what it started (CANOPY_FAULTS_KEEP=1 leaves them running). The
# OpenStack lab must be up (test/openstack/up.sh); this script only reads its
# clouds.yaml and proxies to its Nova, it never starts or restarts its
# services. Lines starting FAULTS are the figures of BENCHMARKS.md (P6).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
LAB=${CANOPY_OS_LAB:-/var/tmp/canopy-openstack}

[[ -r $LAB/canopy-test.env ]] || { echo "faults: the OpenStack lab is not set up ($LAB/canopy-test.env): run test/openstack/up.sh" >&2; exit 1; }
# shellcheck disable=SC1091
set -a; . "$LAB/canopy-test.env"; set +a
curl -fsS --max-time 5 -o /dev/null http://127.0.0.1:8774/ || { echo "faults: the lab's Nova does not answer on 127.0.0.1:8774: run test/openstack/up.sh" >&2; exit 1; }

stop=()
cleanup() { local s; for s in "${stop[@]}"; do eval "$s" || true; done; }
trap cleanup EXIT

moto_was_up=
(. "$ROOT/test/moto/lib.sh" && ours_running && answers) && moto_was_up=1
CANOPY_MOTO_ENDPOINT=$("$ROOT/test/moto/up.sh" | tail -n 1)
[[ -z $moto_was_up && ${CANOPY_FAULTS_KEEP:-} != 1 ]] && stop+=("\"$ROOT/test/moto/down.sh\"")

toxi_was_up=
(. "$HERE/lib.sh" && ours_running && answers) && toxi_was_up=1
CANOPY_TOXIPROXY=$("$HERE/up.sh" | tail -n 1)
[[ -z $toxi_was_up && ${CANOPY_FAULTS_KEEP:-} != 1 ]] && stop+=("\"$HERE/down.sh\"")

export CANOPY_MOTO_ENDPOINT CANOPY_TOXIPROXY
cd "$ROOT"
go test -tags faults -count=1 -timeout 10m "$@" ./test/faults/
