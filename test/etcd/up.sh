#!/usr/bin/env bash
# Start a 3-member etcd cluster (Debian's etcd-server) on loopback for the
# etcd store's tests:
#
#   test/etcd/up.sh   install etcd-server if missing (its own service is
#                     kept from starting); on first use pick six free
#                     loopback ports and a fresh cluster token; start each
#                     member that is not running (setsid, data under
#                     .cache/etcd/mN); wait until all three report healthy.
#
# Idempotent: members already up are left alone, a member that died (or was
# killed by a test) is started again on its own data dir and rejoins the
# cluster. When no member is running and a recorded port has been taken by
# something else meanwhile, the old cluster is discarded and a new one made
# on new ports. Never systemd, never a port outside 127.0.0.1, nothing
# written outside .cache/etcd. PIDs are in .cache/etcd/mN.pid; down.sh stops
# exactly those. The last line printed is the client endpoints,
# comma-separated (export it as CANOPY_ETCD_ENDPOINTS).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=test/etcd/lib.sh
. "$HERE/lib.sh"
# shellcheck source=test/lib/apt.sh
. "$HERE/../lib/apt.sh"

# 1. The package. policy-rc.d keeps the package's own service from starting
# while it installs (it would listen on 127.0.0.1:2379).
if ! command -v etcd >/dev/null; then
	log "installing etcd-server"
	apt_install etcd-server || die "apt-get install etcd-server failed"
fi
ETCD=$(command -v etcd)
command -v curl >/dev/null || die "curl not on PATH (the health check uses it)"

mkdir -p "$DIR"
chmod 700 "$DIR"

# 2. Ports: the recorded ones while any member runs or all are still free,
# otherwise a new cluster on new ones.
running=0
for m in "${MEMBERS[@]}"; do pid_of "$m" >/dev/null && running=$((running + 1)); done
fresh=
if ! load_ports 2>/dev/null; then
	((running == 0)) || die "members are running but $PORTS is missing; stop them with test/etcd/down.sh"
	fresh=1
elif ((running == 0)); then
	for p in "${CLIENT[@]}" "${PEER[@]}"; do
		if port_busy "$p"; then
			log "recorded port $p is taken by another process: making a new cluster"
			fresh=1
			break
		fi
	done
fi
if [[ -n $fresh ]]; then
	for m in "${MEMBERS[@]}"; do rm -rf "${DIR:?}/$m" "$DIR/$m.pid"; done
	# Bind six sockets at once on port 0 so the kernel hands out six
	# distinct free ports, then release them for etcd.
	python3 -c '
import socket
ss = [socket.socket() for _ in range(6)]
for s in ss:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))
' >"$PORTS"
	head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n' | sed 's/^/canopy-test-/' >"$TOKENFILE"
	load_ports
	log "new cluster on ports $(<"$PORTS") (client peer, per member)"
fi
token=$(<"$TOKENFILE")
initial=()
for i in 0 1 2; do initial+=("${MEMBERS[i]}=http://127.0.0.1:${PEER[i]}"); done
initial=$(IFS=,; echo "${initial[*]}")

# 3. Start every member that is not running. --initial-cluster-state new is
# only read when the data dir is empty; a restarted member rejoins from its
# WAL. The txn-ops and request-size limits are etcd's defaults on purpose:
# the store must work within what a stock etcd allows.
for i in 0 1 2; do
	m=${MEMBERS[i]}
	if pid=$(pid_of "$m"); then
		log "$m already running (pid $pid)"
		continue
	fi
	for p in "${CLIENT[i]}" "${PEER[i]}"; do
		port_busy "$p" && die "port $p of $m is taken by a process this script did not start"
	done
	mkdir -p "$DIR/$m"
	chmod 700 "$DIR/$m"
	log "starting $m: client 127.0.0.1:${CLIENT[i]}, peer 127.0.0.1:${PEER[i]} (log $DIR/$m.log)"
	# setsid: the member outlives this script and its shell. ETCD_* from
	# the environment would override flags; none is passed.
	env -u ETCD_DATA_DIR -u ETCD_NAME setsid "$ETCD" --name "$m" --data-dir "$DIR/$m" \
		--listen-client-urls "http://127.0.0.1:${CLIENT[i]}" --advertise-client-urls "http://127.0.0.1:${CLIENT[i]}" \
		--listen-peer-urls "http://127.0.0.1:${PEER[i]}" --initial-advertise-peer-urls "http://127.0.0.1:${PEER[i]}" \
		--initial-cluster "$initial" --initial-cluster-state new --initial-cluster-token "$token" \
		--auto-compaction-mode periodic --auto-compaction-retention 10m \
		--logger zap --log-outputs stderr \
		>>"$DIR/$m.log" 2>&1 </dev/null &
	echo $! >"$DIR/$m.pid"
done

# 4. Wait until all three are healthy (a leader elected, each member in it).
for _ in $(seq 1 300); do
	ok=0
	for i in 0 1 2; do healthy "$i" && ok=$((ok + 1)); done
	if ((ok == 3)); then
		log "up: $(for m in "${MEMBERS[@]}"; do printf '%s=%s ' "$m" "$(pid_of "$m")"; done)"
		endpoints
		exit 0
	fi
	for m in "${MEMBERS[@]}"; do
		pid_of "$m" >/dev/null || { tail -n 20 "$DIR/$m.log" >&2 || true; die "$m exited at start"; }
	done
	sleep 0.1
done
for m in "${MEMBERS[@]}"; do tail -n 10 "$DIR/$m.log" >&2 || true; done
die "the cluster did not become healthy within 30s"
