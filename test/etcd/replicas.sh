#!/usr/bin/env bash
# Run the canopyd-replica tests that need one cloud engine shared by every
# replica: the 3-member etcd cluster (test/etcd/up.sh) and moto
# (test/moto/up.sh; CANOPY_MOTO_PORT picks its port), with
#
#   go test -tags 'etcd aws' -count=1 -run 'TestReplicas.*Moto' ./cmd/canopyd/
#
# (one list per interval at the cloud across replicas, coherent reads
# across replicas, the chaos test). Whatever this script started it stops
# again (CANOPY_ETCD_KEEP=1 / CANOPY_MOTO_KEEP=1 leave them running).
#
#   test/etcd/replicas.sh [go test flags...]
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=test/etcd/lib.sh
. "$HERE/lib.sh"

stop=()
etcd_up=1
for m in "${MEMBERS[@]}"; do pid_of "$m" >/dev/null || etcd_up=; done
endpoints=$("$HERE/up.sh" | tail -n 1)
[[ -z $etcd_up && ${CANOPY_ETCD_KEEP:-} != 1 ]] && stop+=("\"$HERE/down.sh\"")
moto_port=${CANOPY_MOTO_PORT:-5055}
moto_up=
if curl -sf -o /dev/null "http://127.0.0.1:$moto_port/moto-api/config"; then moto_up=1; fi
moto=$("$ROOT/test/moto/up.sh" | tail -n 1)
[[ -z $moto_up && ${CANOPY_MOTO_KEEP:-} != 1 ]] && stop+=("\"$ROOT/test/moto/down.sh\"")
if ((${#stop[@]})); then
	trap "$(IFS=';'; echo "${stop[*]}")" EXIT
fi
cd "$ROOT"
export CANOPY_ETCD_ENDPOINTS=$endpoints CANOPY_MOTO_ENDPOINT=$moto
go test -tags 'etcd aws' -count=1 -run 'TestReplicas.*Moto' "$@" ./cmd/canopyd/
