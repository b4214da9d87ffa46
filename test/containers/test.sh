#!/usr/bin/env bash
# Everything containers need from real runtimes, in one run:
#
#   test/containers/test.sh [go test flags...]
#
# Starts two dockerds and a containerd of the project's own (test/docker/up.sh,
# test/containerd/up.sh: loopback only, nothing on the host's network
# changed), then runs
#   - the Containers conformance on Docker and on containerd (the adapters'
#     tagged tests, test/docker/test.sh and test/containerd/test.sh), with
#     the Volumes section (volumes, mounts, data as a tar) bare and through
#     canopy's emulation of snapshots and backups, and
#   - canopyd end to end over both (cmd/canopyd/containers_e2e_test.go:
#     healthcheck, exec, logs -f, a depends_on chain, kill -9 in the middle
#     of it, lists checked against docker ps and ctr;
#     container_volumes_e2e_test.go: a volume mounted, written, snapshotted,
#     backed up, restored and read back in other containers;
#     containers_aws_e2e_test.go: an image uploaded into an aws cloud on
#     moto, kept as an S3 object, runs on the Docker cloud;
#     sched_containerd_e2e_test.go: the scheduler on containerd's host
#     report; sched_replicas_e2e_test.go: two replicas on the 3-member
#     etcd (test/etcd, found or started, stopped only if started here)
#     keep two projects on different dockerds), and
# stops the engines it started (CANOPY_CONTAINERS_KEEP=1 leaves them up;
# moto, on CANOPY_MOTO_PORT, is found or started by test/lib/engines.sh
# and stopped only when this script started it).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
keep=${CANOPY_CONTAINERS_KEEP:-}
# The engines stay up across the three runs; this script stops them.
export CANOPY_DOCKER_KEEP=1 CANOPY_CONTAINERD_KEEP=1
docker_hosts=$("$ROOT/test/docker/up.sh" 2)
docker_host=$(sed -n 1p <<<"$docker_hosts")
docker_host2=$(sed -n 2p <<<"$docker_hosts")
containerd_addr=$("$ROOT/test/containerd/up.sh" | tail -n 1)
cd "$ROOT"
# shellcheck source=test/lib/engines.sh
. "$ROOT/test/lib/engines.sh"
moto_for_script
# The 3-member etcd, for the scheduler across two replicas.
etcd_was_up=$(bash -c '. test/etcd/lib.sh; for m in "${MEMBERS[@]}"; do pid_of "$m" >/dev/null || exit 0; done; echo 1')
etcd_endpoints=$(test/etcd/up.sh | tail -n 1)
stop=()
[[ $keep != 1 ]] && stop+=('"$ROOT/test/docker/down.sh"' '"$ROOT/test/containerd/down.sh"')
((moto_started)) && stop+=('test/moto/down.sh >/dev/null 2>&1 || true')
[[ -z $etcd_was_up && ${CANOPY_ETCD_KEEP:-} != 1 ]] && stop+=('test/etcd/down.sh >/dev/null 2>&1 || true')
if ((${#stop[@]})); then
	trap "$(IFS=';'; echo "${stop[*]}")" EXIT
fi
"$ROOT/test/docker/test.sh" "$@"
"$ROOT/test/containerd/test.sh" "$@"
CANOPY_DOCKER_HOST=$docker_host CANOPY_DOCKER_HOST2=$docker_host2 CANOPY_CONTAINERD_ADDRESS=$containerd_addr CANOPY_MOTO_ENDPOINT=$moto_endpoint \
	go test -tags containers -count=1 -timeout 20m -run 'TestContainer' "$@" ./cmd/canopyd/
# tenant_isolation across two canopyd replicas on etcd over both dockerds
# (sched_replicas_e2e_test.go).
CANOPY_DOCKER_HOST=$docker_host CANOPY_DOCKER_HOST2=$docker_host2 CANOPY_CONTAINERD_ADDRESS=$containerd_addr CANOPY_ETCD_ENDPOINTS=$etcd_endpoints \
	go test -tags 'containers etcd' -count=1 -timeout 10m -run 'TestSchedulerReplicasOnEtcd' "$@" ./cmd/canopyd/
