# Shared settings for test/etcd/*.sh (sourced, not run).
# shellcheck shell=bash disable=SC2034  # the variables are for the scripts that source this
#
# A 3-member etcd cluster on loopback, all of it under .cache/etcd:
#
#   ports             the six ports chosen on first start ("C1 P1 C2 P2 C3 P3":
#                     client and peer port of each member), reused by every
#                     restart because a member's peer URL is part of the
#                     cluster's membership
#   token             the cluster token, fresh for each new cluster
#   mN/               member N's data dir
#   mN.pid, mN.log    member N's PID and log
#
# Nothing outside .cache/etcd is written; Debian's etcd service (which
# would listen on 127.0.0.1:2379 with /var/lib/etcd) is never started.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DIR="$ROOT/.cache/etcd"
PORTS="$DIR/ports"
TOKENFILE="$DIR/token"
MEMBERS=(m1 m2 m3)

log() { printf 'etcd: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# load_ports sets CLIENT[i] and PEER[i] (i = 0..2) from $PORTS.
load_ports() {
	local p
	read -r -a p <"$PORTS" || return 1
	((${#p[@]} == 6)) || return 1
	CLIENT=("${p[0]}" "${p[2]}" "${p[4]}")
	PEER=("${p[1]}" "${p[3]}" "${p[5]}")
}

# endpoints prints the client URLs, comma-separated.
endpoints() {
	local i out=()
	for i in 0 1 2; do out+=("http://127.0.0.1:${CLIENT[i]}"); done
	(IFS=,; echo "${out[*]}")
}

# pid_of N: member N's recorded PID, if it is alive and is the etcd we
# started for that data dir (a recycled PID is not ours).
pid_of() {
	local f="$DIR/$1.pid" pid
	[[ -s $f ]] || return 1
	pid=$(<"$f")
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	kill -0 "$pid" 2>/dev/null || return 1
	[[ $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) == *"etcd --name $1 --data-dir $DIR/$1 "* ]] || return 1
	echo "$pid"
}

# healthy I: member I (0..2) answers /health with true (it has a leader
# and can serve a linearizable read).
healthy() {
	curl -fs --max-time 2 "http://127.0.0.1:${CLIENT[$1]}/health" 2>/dev/null | grep -q '"health":"true"'
}

# port_busy P: something listens on 127.0.0.1:P.
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
