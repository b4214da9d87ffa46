#!/usr/bin/env bash
# Stop the dockerd and containerd that test/docker/up.sh started (exactly
# the PIDs it recorded under .cache/docker). Containers still running are
# stopped by dockerd as it shuts down (their shims exit with containerd's
# tasks). Nothing to do when neither is running. The image store and the
# data root stay, so the next up.sh is fast.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# Every instance up.sh N started: each stops its own recorded PIDs.
if [[ -z ${DOCKER_INSTANCE:-} ]]; then
	ROOT=$(cd "$HERE/../.." && pwd)
	for d in "$ROOT"/.cache/docker[2-9]; do
		[[ -d $d ]] && DOCKER_INSTANCE=${d##*/docker} "$0"
	done
	export DOCKER_INSTANCE=1
fi
# shellcheck source=test/docker/lib.sh
. "$HERE/lib.sh"

if dockerd_running; then
	stop "$DOCKERD_PIDFILE" dockerd
else
	log "dockerd not running"
	rm -f "$DOCKERD_PIDFILE"
fi
if containerd_running; then
	stop "$CTRD_PIDFILE" containerd
else
	log "containerd not running"
	rm -f "$CTRD_PIDFILE"
fi
# dockerd leaves mounts behind when it stops: its network namespace's
# under the exec root (exec/netns/default) and its data root mounted onto
# itself; drop them, so nothing of ours stays mounted and the checkout can
# be removed.
for m in "$DIR"/exec/netns/* "$DIR/data"; do
	if [[ -e $m ]] && mountpoint -q "$m" 2>/dev/null; then
		umount "$m" && log "unmounted $m"
	fi
done
