# shellcheck shell=bash disable=SC2034
# Shared by up.sh, down.sh and smoke.sh. Sourced, not run.
#
# Everything OpenStack runs on Debian's own /usr/bin/python3: the machine's PATH
# may start with another Python (pyenv), so PATH and Python env vars are reset.

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
unset PYTHONPATH PYTHONHOME PYTHONSTARTUP VIRTUAL_ENV PYENV_VERSION PYTHONNOUSERSITE
export PYTHONDONTWRITEBYTECODE=1 LC_ALL=C.UTF-8 LANG=C.UTF-8
PY=/usr/bin/python3
OSC=/usr/bin/openstack

LAB=${CANOPY_OS_LAB:-/var/tmp/canopy-openstack}
ETC=$LAB/etc
DATA=$LAB/data
LOG=$LAB/log
PIDDIR=$LAB/pid
RUN=$LAB/run
STATE=$LAB/state

HOST=127.0.0.1
REGION=RegionOne
# Nova's compute host name. Neutron's in-package `test` ML2 mechanism driver binds
# ports only for this host (see README.md), so the fake compute must carry it.
COMPUTE_HOST=host-ovs-filter-active

# Ports (all on 127.0.0.1).
PORT_MYSQL=3306
PORT_RABBIT=5672
PORT_RABBIT_DIST=25672
PORT_EPMD=4369
PORT_MEMCACHED=11211
PORT_KEYSTONE=5000
PORT_GLANCE=9292
PORT_PLACEMENT=8778
PORT_NOVA=8774
PORT_NEUTRON=9696
PORT_CINDER=8776
PORT_SWIFT=8080
PORT_SWIFT_OBJECT=6200
PORT_SWIFT_CONTAINER=6201
PORT_SWIFT_ACCOUNT=6202
PORT_SWIFT_LOG=5140 # UDP: swift logs only to syslog; a tiny catcher writes log/swift.log

KEYSTONE_URL=http://$HOST:$PORT_KEYSTONE/v3

# Names of what up.sh creates for tests.
TEST_CLOUD=canopy-test
ADMIN_CLOUD=canopy-admin
APPCRED_CLOUD=canopy-test-appcred
APPCRED_NAME=canopy-test-appcred
TEST_PROJECT=canopy-test
TEST_USER=canopy-test
TEST_FLAVOR=canopy.tiny
TEST_IMAGE=canopy-test-image
TEST_NETWORK=canopy-net
TEST_SUBNET=canopy-subnet
EXT_NETWORK=canopy-public
EXT_SUBNET=canopy-public-subnet
TEST_ROUTER=canopy-router
VOLUME_TYPE=fake

# One up.sh/down.sh at a time per lab (test suites may call up.sh concurrently).
lab_lock() {
	mkdir -p "$LAB"
	exec 9>"$LAB/.lab.lock"
	if ! flock -n 9; then
		log "waiting for another up.sh/down.sh on $LAB"
		flock -w 900 9 || die "could not lock $LAB/.lock"
	fi
}

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { printf '[%s] ERROR: %s\n' "$(date +%H:%M:%S)" "$*" >&2; exit 1; }

# --- processes -------------------------------------------------------------
# Each daemon is started with setsid (its own session and process group) and
# recorded as "PID STARTTIME NAME" in $PIDDIR/NAME.pid; STARTTIME (from
# /proc/PID/stat) guards against a recycled PID.

proc_starttime() { # pid -> start time in clock ticks since boot; fails if gone or a zombie
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) } # drop "pid (comm) " (comm may hold spaces)
	# shellcheck disable=SC2086
	set -- $stat
	[[ $1 != Z && $1 != X ]] || return 1
	echo "${20}" # field 22 overall
}

# pid_of NAME -> prints the recorded PID if that very process is still alive.
pid_of() {
	local f=$PIDDIR/$1.pid pid st _
	[[ -s $f ]] || return 1
	read -r pid st _ <"$f" || return 1
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	[[ "$(proc_starttime "$pid")" == "$st" ]] || return 1
	echo "$pid"
}

alive() { pid_of "$1" >/dev/null; }

record_pid() { # name pid
	local st
	st=$(proc_starttime "$2") || return 1
	echo "$2 $st $1" >"$PIDDIR/$1.pid"
}

proc_is() { # pid starttime: that very process is alive (no fork: used in wait loops)
	local stat
	read -r stat 2>/dev/null <"/proc/$1/stat" || return 1
	stat=${stat##*) }
	local -a fields
	read -r -a fields <<<"$stat"
	[[ ${fields[0]} != Z && ${fields[0]} != X && ${fields[19]} == "$2" ]]
}

descendants() { # pid -> PIDs of all its descendants (some helpers leave the process group)
	ps -e -o pid=,ppid= | awk -v root="$1" '
		{ kids[$2] = kids[$2] " " $1 }
		END {
			n = split(kids[root], q, " ")
			for (i = 1; i <= n; i++) {
				print q[i]
				m = split(kids[q[i]], more, " ")
				for (j = 1; j <= m; j++) q[++n] = more[j]
			}
		}'
}

# stop_daemons GRACE NAME...: TERM each recorded daemon (its whole process
# group), wait up to GRACE seconds for it and all its descendants to go, then
# KILL what is left of exactly those processes.
stop_daemons() {
	local grace=$1 name pid p st
	shift
	local -a procs=() names=()
	for name in "$@"; do
		if ! pid=$(pid_of "$name"); then
			rm -f "$PIDDIR/$name.pid"
			continue
		fi
		names+=("$name:$pid")
		for p in "$pid" $(descendants "$pid"); do
			st=$(proc_starttime "$p") && procs+=("$p:$st")
		done
		if [[ $(ps -o pgid= -p "$pid" | tr -d ' ') == "$pid" ]]; then
			kill -TERM -- "-$pid" 2>/dev/null || true
		else
			kill -TERM "$pid" 2>/dev/null || true
		fi
	done
	((${#names[@]})) || return 0
	local -a left
	local deadline=$((SECONDS + grace))
	while :; do
		left=()
		for p in "${procs[@]}"; do
			proc_is "${p%%:*}" "${p#*:}" && left+=("$p")
		done
		((${#left[@]} && SECONDS < deadline)) || break
		sleep 0.2
	done
	for p in "${left[@]}"; do
		log "  pid ${p%%:*} still running after ${grace}s: KILL"
		kill -KILL "${p%%:*}" 2>/dev/null || true
	done
	for name in "${names[@]}"; do
		rm -f "$PIDDIR/${name%%:*}.pid"
		log "  stopped ${name%%:*} (pid ${name#*:})"
	done
}

# --- checks ----------------------------------------------------------------
tcp_open() { # port
	(exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null
}

http_code() { # url -> HTTP status code ("000" when nothing answers)
	curl -s -o /dev/null -m 5 -w '%{http_code}' "$1" 2>/dev/null || true
}

http_ok() { # url: any answer below 500 means the API process serves requests
	local c
	c=$(http_code "$1")
	[[ $c =~ ^[1-4][0-9][0-9]$ ]]
}
