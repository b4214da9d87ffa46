#!/usr/bin/env bash
# Stop the processes test/openstack/up.sh started (by their recorded PIDs only).
# Packages stay installed; state stays for the next up.sh.
#
#   test/openstack/down.sh           stop
#   test/openstack/down.sh --purge   stop and delete the lab state dir ($CANOPY_OS_LAB)
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"

purge=
for a in "$@"; do
	case $a in
	--purge) purge=1 ;;
	-h | --help)
		sed -n '2,7p' "$0"
		exit 0
		;;
	*) die "unknown argument $a" ;;
	esac
done

t0=$SECONDS
[[ -d $LAB ]] && lab_lock
# Clients first, then what they need: the OpenStack services together, then
# RabbitMQ and memcached, then epmd (after rabbit: a rabbit tool run while epmd
# is gone would start a new, unrecorded one) and MariaDB.
TIER1=(
	swift-proxy swift-object swift-container swift-account swift-udplog
	cinder-api cinder-volume cinder-scheduler cinder-backup
	nova-api nova-compute nova-scheduler nova-conductor
	neutron-server placement-api glance-api keystone
)
TIER2=(rabbitmq memcached)
TIER3=(epmd mariadb)
if [[ -d $PIDDIR ]]; then
	log "stopping the lab in $LAB"
	stop_daemons 20 "${TIER1[@]}"
	stop_daemons 60 "${TIER2[@]}"
	stop_daemons 60 "${TIER3[@]}"
	# Anything recorded that the lists above do not know.
	rest=()
	for f in "$PIDDIR"/*.pid; do
		[[ -e $f ]] && rest+=("$(basename "$f" .pid)")
	done
	((${#rest[@]} == 0)) || stop_daemons 20 "${rest[@]}"
else
	log "no pid dir $PIDDIR: nothing to stop"
fi

if [[ -n $purge ]]; then
	if [[ -d $LAB ]]; then
		[[ -e $LAB/.canopy-openstack-lab ]] || die "$LAB lacks .canopy-openstack-lab; not deleting it"
		[[ $LAB != / && $LAB != "$HOME" ]] || die "refusing to delete $LAB"
		rm -rf --one-file-system -- "$LAB"
		log "deleted $LAB"
	fi
fi
log "down: $((SECONDS - t0)) s"
