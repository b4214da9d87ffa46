#!/usr/bin/env bash
# Run the etcd store's tests against a real 3-member etcd cluster:
#
#   test/etcd/test.sh [go test flags...]
#
# Starts the cluster (test/etcd/up.sh), runs with CANOPY_ETCD_ENDPOINTS set
# `go test -tags etcd -count=1 ./store/etcd/...` (storetest, the lost-answer
# and kill-a-member tests, the watch and cache-coherence tests), the
# issuer's cross-replica token tests (./auth) and canopyd end to end on --store etcd://
# (TestCanopydOnEtcd), and stops the cluster again if this script was the
# one that started it (CANOPY_ETCD_KEEP=1 leaves it running). The kill test
# restarts the member it killed through up.sh.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=test/etcd/lib.sh
. "$HERE/lib.sh"

was_up=1
for m in "${MEMBERS[@]}"; do pid_of "$m" >/dev/null || was_up=; done
endpoints=$("$HERE/up.sh" | tail -n 1)
if [[ -z $was_up && ${CANOPY_ETCD_KEEP:-} != 1 ]]; then
	trap '"$HERE/down.sh"' EXIT
fi
cd "$ROOT"
export CANOPY_ETCD_ENDPOINTS=$endpoints
go test -tags etcd -count=1 "$@" ./store/etcd/...
# On its own: the store's kill test stops a member, which would stall the
# status relay's timing checks if the two packages ran side by side.
go test -tags etcd -count=1 "$@" ./ownership/
go test -tags etcd -count=1 -run 'TestTenantIsolation' "$@" ./sched/
go test -tags etcd -count=1 -run 'TestOperationsTakenOverAfterDeath|TestDeposedReplicaWritesAreFenced' "$@" ./jobs/
go test -tags etcd -count=1 -run 'TestTokensVerifyOnEveryReplica|TestRotationReachesEveryReplica' "$@" ./auth/
go test -tags etcd -count=1 -run 'TestCanopydOnEtcd|TestCanopydReplicasOnEtcd' "$@" ./cmd/canopyd/
