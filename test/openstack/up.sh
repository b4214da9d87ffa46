#!/usr/bin/env bash
# Bring up a minimal real OpenStack (Zed, Debian 12's packages) on 127.0.0.1
# for canopy's tests. Idempotent: a run when everything is up only checks.
#
#   test/openstack/up.sh            install what is missing, configure, start
#   test/openstack/up.sh PHASE...   only these phases (install base keystone
#                                   glance placement neutron nova cinder swift
#                                   cinder_backup resources)
#
# State, configs, logs and PIDs live in $CANOPY_OS_LAB (default
# /var/tmp/canopy-openstack). The last line printed is the clouds.yaml path.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
# shellcheck source=test/lib/apt.sh
. "$HERE/../lib/apt.sh"

[[ $(id -u) == 0 ]] || die "run as root (installs packages, starts daemons as service users)"

PACKAGES=(
	curl ca-certificates
	mariadb-server python3-pymysql
	rabbitmq-server
	memcached python3-memcache
	uwsgi-core uwsgi-plugin-python3
	keystone python3-openstackclient python3-keystonemiddleware
	glance-api
	placement-api
	nova-api nova-conductor nova-scheduler python3-nova
	neutron-server
	cinder-api cinder-scheduler cinder-volume cinder-backup
	# os-brick asks dmidecode for the system uuid when /sys has no DMI (as
	# here) and fails on a missing binary, but not on one that finds nothing
	dmidecode
	swift swift-proxy swift-account swift-container swift-object python3-swiftclient
)

phase_install() {
	local missing=() p
	local -A ok=()
	while read -r p; do ok[$p]=1; done < <(dpkg-query -W -f='${Package} ${Status}\n' "${PACKAGES[@]}" 2>/dev/null |
		awk '$4 == "installed" { print $1 }')
	for p in "${PACKAGES[@]}"; do [[ -n ${ok[$p]:-} ]] || missing+=("$p"); done
	if ((${#missing[@]} == 0)); then
		log "install: all ${#PACKAGES[@]} packages present"
		return 0
	fi
	log "install: ${#missing[@]} missing packages: ${missing[*]}"
	# No service may start from a package's maintainer scripts (on a systemd or
	# sysvinit machine they would start with stock configs): apt_install
	# holds them off with Debian's policy-rc.d hook.
	apt_install "${missing[@]}" || die "apt-get install failed"
	return 0
}

# --- helpers -----------------------------------------------------------------

declare -A STARTED_AT=() # name -> UTC time it was started by this run

# start NAME CMD...: start CMD in its own session unless NAME is already running.
start() {
	local name=$1
	shift
	alive "$name" && return 0
	STARTED_AT[$name]=$(date -u '+%F %T')
	# own session and process group; cwd outside the caller's tree
	# (fd 9, the lab lock, must not leak into daemons: they would hold it forever)
	(cd "$LAB" && exec setsid "$@") >>"$LOG/$name.log" 2>&1 </dev/null 9>&- &
	local pid=$!
	record_pid "$name" "$pid" || die "$name exited at once; see $LOG/$name.log"
	log "  started $name (pid $pid), log $LOG/$name.log"
}

# wait_for NAME TIMEOUT CHECK...: poll CHECK; fail loudly if NAME dies or time runs out.
wait_for() {
	local name=$1 timeout=$2 t0=$SECONDS
	shift 2
	until "$@" >/dev/null 2>&1; do
		if [[ -n $name ]] && ! alive "$name"; then
			tail -n 40 "$LOG/$name.log" >&2 || true
			die "$name died (log: $LOG/$name.log)"
		fi
		if ((SECONDS - t0 > timeout)); then
			[[ -n $name ]] && { tail -n 40 "$LOG/$name.log" >&2 || true; }
			die "timed out after ${timeout}s waiting for $name: $*"
		fi
		sleep 0.5
	done
}

# wait_api NAME URL [TIMEOUT]
wait_api() {
	wait_for "$1" "${3:-120}" http_ok "$2"
	log "  $1 answers at $2"
}

# A port we need must not be held by somebody else's process.
port_free_or_ours() { # name port
	if ! alive "$1" && tcp_open "$2"; then
		die "port $2 on $HOST is in use by another process; cannot start $1"
	fi
}

# restart_on_change KEY FILE... -- NAME...: the named daemons must run with
# what the FILEs say. When the FILEs' digest differs from the one recorded
# for KEY (or none is recorded: a lab started before this check), the ones
# running are stopped, and the phase's start calls start them again.
restart_on_change() {
	local key=$1 sum n
	local -a files=() running=()
	shift
	while [[ $1 != -- ]]; do
		files+=("$1")
		shift
	done
	shift
	sum=$(cat "${files[@]}" | sha256sum)
	sum=${sum%% *}
	[[ $(cat "$STATE/$key.confsum" 2>/dev/null) == "$sum" ]] && return 0
	for n in "$@"; do alive "$n" && running+=("$n"); done
	if ((${#running[@]})); then
		log "  $key: configuration changed, restarting ${running[*]}"
		stop_daemons 20 "${running[@]}"
	fi
	echo "$sum" >"$STATE/$key.confsum"
}

done_mark() { [[ -e $STATE/$1.done ]]; }
mark() { date -Is >"$STATE/$1.done"; }

sql() { mariadb --no-defaults --socket="$RUN/mysqld.sock" -u root -N -B "$@"; }

# Run a service's management command on Debian's Python, logging to a file.
manage() { # logname cmd...
	local logf=$LOG/$1-manage.log
	shift
	log "  $(redact "$*")"
	"$@" >>"$logf" 2>&1 || { tail -n 30 "$logf" >&2; die "failed: $(redact "$*") (log: $logf)"; }
}

export_env() {
	export KEYSTONE_URL REGION HOST DATA STATE ADMIN_PW SERVICE_PW TEST_PW APPCRED_SECRET TEST_PROJECT TEST_USER \
		TEST_FLAVOR TEST_IMAGE TEST_NETWORK TEST_SUBNET EXT_NETWORK EXT_SUBNET TEST_ROUTER \
		VOLUME_TYPE COMPUTE_HOST APPCRED_NAME PORT_GLANCE PORT_PLACEMENT PORT_NOVA PORT_NEUTRON PORT_CINDER PORT_SWIFT
}

redact() { # text -> text without the lab's passwords
	local s=$1 v
	for v in "${DB_PW:-}" "${ADMIN_PW:-}" "${SERVICE_PW:-}" "${TEST_PW:-}" "${APPCRED_SECRET:-}"; do
		[[ -n $v ]] && s=${s//"$v"/***}
	done
	printf '%s' "$s"
}

gen_pw() { head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 20; }

db_url() { echo "mysql+pymysql://openstack:$DB_PW@$HOST:$PORT_MYSQL/$1?charset=utf8"; }

RABBIT_URL() { echo "rabbit://guest:guest@$HOST:$PORT_RABBIT/"; }

# [keystone_authtoken] for a service user.
authtoken() { # user
	cat <<EOF
[keystone_authtoken]
www_authenticate_uri = http://$HOST:$PORT_KEYSTONE
auth_url = http://$HOST:$PORT_KEYSTONE
memcached_servers = $HOST:$PORT_MEMCACHED
auth_type = password
project_domain_name = Default
user_domain_name = Default
project_name = service
username = $1
password = $SERVICE_PW
region_name = $REGION
service_token_roles_required = true
EOF
}

# Keystone credentials for a service talking to another service ([nova], [neutron], ...).
svc_auth() { # section user
	cat <<EOF
[$1]
auth_url = http://$HOST:$PORT_KEYSTONE
auth_type = password
project_domain_name = Default
user_domain_name = Default
project_name = service
username = $2
password = $SERVICE_PW
region_name = $REGION
EOF
}

# uwsgi_cmd PORT WSGI-FILE ENV... -> sets UWSGI (an array) to the command line.
uwsgi_cmd() {
	local port=$1 file=$2 e
	shift 2
	# uwsgi's --http-socket does not do keep-alive and does not say so: clients
	# reusing a connection get ECONNRESET. "Connection: close" tells them.
	UWSGI=(uwsgi --plugin python3 --http-socket "$HOST:$port" --wsgi-file "$file"
		--master --die-on-term --need-app --processes 1 --threads 8
		--no-threads-wait --reload-mercy 5 --worker-reload-mercy 5
		--buffer-size 65535 --add-header "Connection: close")
	for e in "$@"; do UWSGI+=(--env "$e"); done
}

# start_rabbitmq: start the lab's RabbitMQ unless it runs, and wait until it
# takes connections (phase_base; phase_rabbitmq_restart).
start_rabbitmq() {
	if ! alive rabbitmq; then
		port_free_or_ours rabbitmq "$PORT_RABBIT"
		# Not Debian's /usr/sbin/rabbitmq-server: its su puts the server in a new
		# session, out of reach of our process group. setpriv only changes user.
		start rabbitmq setpriv --reuid=rabbitmq --regid=rabbitmq --init-groups -- env \
			HOME=/var/lib/rabbitmq \
			RABBITMQ_NODENAME=rabbit@localhost \
			RABBITMQ_NODE_IP_ADDRESS="$HOST" \
			RABBITMQ_NODE_PORT="$PORT_RABBIT" \
			RABBITMQ_DIST_PORT="$PORT_RABBIT_DIST" \
			ERL_EPMD_ADDRESS="$HOST" \
			ERL_EPMD_PORT="$PORT_EPMD" \
			RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}" \
			RABBITMQ_MNESIA_BASE="$DATA/rabbitmq/mnesia" \
			RABBITMQ_LOG_BASE="$DATA/rabbitmq/log" \
			RABBITMQ_LOGS=- \
			RABBITMQ_ENABLED_PLUGINS_FILE="$DATA/rabbitmq/enabled_plugins" \
			RABBITMQ_CONFIG_FILE="$DATA/rabbitmq/rabbitmq" \
			RABBITMQ_PID_FILE="$DATA/rabbitmq/rabbit.pid" \
			/usr/lib/rabbitmq/bin/rabbitmq-server
	fi
	wait_for rabbitmq 90 tcp_open "$PORT_RABBIT"
}

# --- phases ------------------------------------------------------------------

phase_base() {
	mkdir -p "$LAB" "$ETC" "$DATA" "$LOG" "$PIDDIR" "$RUN" "$STATE"
	touch "$LAB/.canopy-openstack-lab"
	chmod 755 "$LAB" "$DATA" "$RUN"
	# configs and logs hold passwords; swift (user swift) reads only etc/swift
	chmod 711 "$ETC"
	chmod 750 "$LOG"
	chmod 700 "$PIDDIR" "$STATE"
	local u
	for u in rabbitmq swift; do
		runuser -u "$u" -- test -x "$LAB/data" ||
			die "user $u cannot traverse $LAB (choose CANOPY_OS_LAB outside /root etc.)"
	done
	local k
	for k in DB_PW ADMIN_PW SERVICE_PW TEST_PW APPCRED_SECRET; do
		if ! grep -q "^$k=" "$LAB/secrets.env" 2>/dev/null; then
			(umask 077 && echo "$k=$(gen_pw)" >>"$LAB/secrets.env")
		fi
	done
	# shellcheck disable=SC1091
	. "$LAB/secrets.env"

	# MariaDB
	if [[ ! -d $DATA/mysql/mysql ]]; then
		mkdir -p "$DATA/mysql"
		manage mariadb mariadb-install-db --no-defaults --datadir="$DATA/mysql" --user=root \
			--skip-test-db --auth-root-authentication-method=socket
	fi
	if ! alive mariadb; then
		port_free_or_ours mariadb "$PORT_MYSQL"
		start mariadb mariadbd --no-defaults --datadir="$DATA/mysql" --socket="$RUN/mysqld.sock" \
			--pid-file="$RUN/mysqld.pid" --port="$PORT_MYSQL" --bind-address="$HOST" --user=root \
			--skip-name-resolve --max-connections=2000 --innodb-buffer-pool-size=128M \
			--character-set-server=utf8 --collation-server=utf8_general_ci
	fi
	wait_for mariadb 60 mariadb-admin --no-defaults --socket="$RUN/mysqld.sock" ping
	local db dbs=""
	for db in keystone glance placement nova_api nova nova_cell0 neutron cinder; do
		dbs+="CREATE DATABASE IF NOT EXISTS $db CHARACTER SET utf8;"
	done
	sql -e "$dbs
		CREATE USER IF NOT EXISTS 'openstack'@'%' IDENTIFIED BY '$DB_PW';
		ALTER USER 'openstack'@'%' IDENTIFIED BY '$DB_PW';
		GRANT ALL PRIVILEGES ON *.* TO 'openstack'@'%';
		FLUSH PRIVILEGES;"

	# memcached (keystonemiddleware token cache, swift)
	if ! alive memcached; then
		port_free_or_ours memcached "$PORT_MEMCACHED"
		start memcached memcached -l "$HOST" -p "$PORT_MEMCACHED" -U 0 -m 64 -c 4096 -u memcache
	fi

	# RabbitMQ. epmd is started by us, in the foreground, so that it is ours to
	# stop: left to itself rabbit would daemonize one outside any process group.
	mkdir -p "$DATA/rabbitmq/mnesia" "$DATA/rabbitmq/log"
	echo '[].' >"$DATA/rabbitmq/enabled_plugins"
	: >"$DATA/rabbitmq/rabbitmq.conf"
	chown -R rabbitmq:rabbitmq "$DATA/rabbitmq"
	if ! alive epmd && ! tcp_open "$PORT_EPMD"; then
		start epmd env ERL_EPMD_ADDRESS="$HOST" epmd -port "$PORT_EPMD"
		wait_for epmd 20 tcp_open "$PORT_EPMD"
	fi
	start_rabbitmq
	# With notifications on, oslo.messaging declares the queues
	# notifications.* and versioned_notifications.* and fills them; only
	# canopy's own queues are consumed. Cap those so they never grow.
	if ! done_mark rabbit-notify-policy; then
		manage rabbitmq runuser -u rabbitmq -- env HOME=/var/lib/rabbitmq ERL_EPMD_ADDRESS="$HOST" ERL_EPMD_PORT="$PORT_EPMD" \
			rabbitmqctl -n rabbit@localhost set_policy --apply-to queues oslo-notifications \
			'^(versioned_)?notifications\.' '{"max-length":1000,"message-ttl":300000}'
		mark rabbit-notify-policy
	fi
	log "  mariadb :$PORT_MYSQL, rabbitmq :$PORT_RABBIT, memcached :$PORT_MEMCACHED up"
}

# Not one of ALL_PHASES: stop exactly the lab's RabbitMQ (its recorded PID)
# and start it again as phase_base does (test/openstack/rabbit-restart.sh).
# The services reconnect by themselves (oslo.messaging); so must canopy.
phase_rabbitmq_restart() {
	alive rabbitmq || die "the lab's rabbitmq is not running (no live pid in $PIDDIR/rabbitmq.pid): run up.sh"
	alive epmd || tcp_open "$PORT_EPMD" || die "epmd is not running: run up.sh"
	stop_daemons 60 rabbitmq
	log "rabbitmq down"
	start_rabbitmq
	log "rabbitmq up again (pid $(pid_of rabbitmq))"
}

load_secrets() {
	[[ -s $LAB/secrets.env ]] || die "no $LAB/secrets.env: run the base phase first"
	# shellcheck disable=SC1091
	. "$LAB/secrets.env"
	export_env
}

phase_keystone() {
	load_secrets
	mkdir -p "$ETC/keystone" "$DATA/keystone/fernet-keys" "$DATA/keystone/credential-keys"
	chmod 700 "$DATA/keystone/fernet-keys" "$DATA/keystone/credential-keys"
	cat >"$ETC/keystone/keystone.conf" <<EOF
[DEFAULT]
use_stderr = true
[database]
connection = $(db_url keystone)
[token]
provider = fernet
[fernet_tokens]
key_repository = $DATA/keystone/fernet-keys
[credential]
key_repository = $DATA/keystone/credential-keys
[cache]
enabled = true
backend = dogpile.cache.memcached
memcache_servers = $HOST:$PORT_MEMCACHED
EOF
	local kc=(--config-file "$ETC/keystone/keystone.conf")
	if ! done_mark keystone-db; then
		manage keystone keystone-manage "${kc[@]}" db_sync
		manage keystone keystone-manage "${kc[@]}" fernet_setup --keystone-user root --keystone-group root
		manage keystone keystone-manage "${kc[@]}" credential_setup --keystone-user root --keystone-group root
		OS_BOOTSTRAP_PASSWORD=$ADMIN_PW manage keystone keystone-manage "${kc[@]}" bootstrap \
			--bootstrap-admin-url "$KEYSTONE_URL/" --bootstrap-internal-url "$KEYSTONE_URL/" \
			--bootstrap-public-url "$KEYSTONE_URL/" --bootstrap-region-id "$REGION"
		mark keystone-db
	fi
	if ! alive keystone; then
		port_free_or_ours keystone "$PORT_KEYSTONE"
		uwsgi_cmd "$PORT_KEYSTONE" /usr/bin/keystone-wsgi-public "OS_KEYSTONE_CONFIG_DIR=$ETC/keystone"
		start keystone "${UWSGI[@]}"
	fi
	wait_api keystone "$KEYSTONE_URL"
	# The whole catalogue goes in before any other service starts: a service
	# that caches a catalogue lacking an endpoint keeps failing (nova-compute
	# with "network" missing fails every instance operation until restarted).
	if ! done_mark keystone-catalog; then
		manage keystone "$PY" "$HERE/oslab.py" catalog
		mark keystone-catalog
	fi
}

COMMON_OSLO() { # service [notification driver]
	cat <<EOF
[oslo_concurrency]
lock_path = $DATA/$1/lock
[oslo_messaging_notifications]
driver = ${2:-noop}
[oslo_policy]
enforce_new_defaults = false
enforce_scope = false
EOF
}

phase_glance() {
	load_secrets
	mkdir -p "$ETC/glance" "$DATA/glance/images" "$DATA/glance/staging" "$DATA/glance/tasks" "$DATA/glance/lock"
	cat >"$ETC/glance/glance-api.conf" <<EOF
[DEFAULT]
bind_host = $HOST
bind_port = $PORT_GLANCE
workers = 1
enabled_backends = fs:file
use_stderr = true
[database]
connection = $(db_url glance)
$(authtoken glance)
[paste_deploy]
flavor = keystone
config_file = /etc/glance/glance-api-paste.ini
[glance_store]
default_backend = fs
[fs]
filesystem_store_datadir = $DATA/glance/images/
[os_glance_staging_store]
filesystem_store_datadir = $DATA/glance/staging/
[os_glance_tasks_store]
filesystem_store_datadir = $DATA/glance/tasks/
$(COMMON_OSLO glance messagingv2)
EOF
	if ! done_mark glance-db; then
		manage glance glance-manage --config-file "$ETC/glance/glance-api.conf" db_sync
		mark glance-db
	fi
	restart_on_change glance "$ETC/glance/glance-api.conf" -- glance-api
	if ! alive glance-api; then
		port_free_or_ours glance-api "$PORT_GLANCE"
		start glance-api glance-api --config-file "$ETC/glance/glance-api.conf"
	fi
	wait_api glance-api "http://$HOST:$PORT_GLANCE/"
}

phase_placement() {
	load_secrets
	mkdir -p "$ETC/placement"
	cat >"$ETC/placement/placement.conf" <<EOF
[DEFAULT]
use_stderr = true
[api]
auth_strategy = keystone
[placement_database]
connection = $(db_url placement)
$(authtoken placement)
$(COMMON_OSLO placement)
EOF
	if ! done_mark placement-db; then
		manage placement placement-manage --config-file "$ETC/placement/placement.conf" db sync
		mark placement-db
	fi
	if ! alive placement-api; then
		port_free_or_ours placement-api "$PORT_PLACEMENT"
		uwsgi_cmd "$PORT_PLACEMENT" /usr/bin/placement-api "OS_PLACEMENT_CONFIG_DIR=$ETC/placement"
		start placement-api "${UWSGI[@]}"
	fi
	wait_api placement-api "http://$HOST:$PORT_PLACEMENT/"
}

phase_neutron() {
	load_secrets
	mkdir -p "$ETC/neutron" "$DATA/neutron/lock"
	cat >"$ETC/neutron/neutron.conf" <<EOF
[DEFAULT]
bind_host = $HOST
bind_port = $PORT_NEUTRON
api_workers = 1
rpc_workers = 0
rpc_state_report_workers = 0
core_plugin = ml2
service_plugins = router
auth_strategy = keystone
transport_url = $(RABBIT_URL)
state_path = $DATA/neutron
api_paste_config = /etc/neutron/api-paste.ini
notify_nova_on_port_status_changes = true
notify_nova_on_port_data_changes = true
allow_overlapping_ips = true
use_stderr = true
[database]
connection = $(db_url neutron)
$(authtoken neutron)
$(svc_auth nova nova)
[agent]
root_helper = true
$(COMMON_OSLO neutron messagingv2)
[ml2]
type_drivers = flat,vlan,vxlan
tenant_network_types = vxlan
# No agents, no data plane: the "test" driver shipped in python3-neutron binds
# every port whose binding:host_id is $COMPUTE_HOST (nova's [DEFAULT] host).
mechanism_drivers = test
extension_drivers = port_security
[ml2_type_flat]
flat_networks = *
[ml2_type_vlan]
network_vlan_ranges = public
[ml2_type_vxlan]
vni_ranges = 1:10000
EOF
	if ! done_mark neutron-db; then
		manage neutron neutron-db-manage --config-file "$ETC/neutron/neutron.conf" upgrade heads
		mark neutron-db
	fi
	restart_on_change neutron "$ETC/neutron/neutron.conf" -- neutron-server
	if ! alive neutron-server; then
		port_free_or_ours neutron-server "$PORT_NEUTRON"
		# -O: the test mechanism driver asserts on unit-test-only state; with
		# asserts on, every binding fails with PortBindingFailed.
		start neutron-server "$PY" -O /usr/bin/neutron-server --config-file "$ETC/neutron/neutron.conf"
	fi
	wait_api neutron-server "http://$HOST:$PORT_NEUTRON/"
}

phase_nova() {
	load_secrets
	mkdir -p "$ETC/nova" "$DATA/nova/instances" "$DATA/nova/lock"
	cat >"$ETC/nova/nova-common.conf" <<EOF
[DEFAULT]
host = $COMPUTE_HOST
my_ip = $HOST
compute_driver = fake.FakeDriver
enabled_apis = osapi_compute
osapi_compute_listen = $HOST
osapi_compute_listen_port = $PORT_NOVA
osapi_compute_workers = 1
transport_url = $(RABBIT_URL)
state_path = $DATA/nova
instances_path = $DATA/nova/instances
allow_resize_to_same_host = true
use_stderr = true
[wsgi]
api_paste_config = /etc/nova/api-paste.ini
$(authtoken nova)
$(svc_auth placement placement)
$(svc_auth neutron neutron)
$(svc_auth service_user nova)
send_service_user_token = true
[cinder]
os_region_name = $REGION
[glance]
region_name = $REGION
[conductor]
workers = 1
[scheduler]
workers = 1
discover_hosts_in_cells_interval = 10
[vnc]
enabled = false
[spice]
enabled = false
$(COMMON_OSLO nova messagingv2)
# Versioned notifications (topic versioned_notifications, exchange nova) on
# every vm and task state change: what canopy's notification consumer hears.
[notifications]
notification_format = versioned
notify_on_state_change = vm_and_task_state
EOF
	# nova-compute reaches the databases through nova-conductor only: its own
	# config has no [database]/[api_database] (with them it logs "No DB access
	# allowed in nova-compute" while computing its RPC version cap).
	{
		cat "$ETC/nova/nova-common.conf"
		cat <<EOF
[api_database]
connection = $(db_url nova_api)
[database]
connection = $(db_url nova)
EOF
	} >"$ETC/nova/nova.conf"
	local nc=(--config-file "$ETC/nova/nova.conf")
	if ! done_mark nova-db; then
		manage nova nova-manage "${nc[@]}" api_db sync
		# cell0's database is [database]/connection's with "_cell0" appended
		manage nova nova-manage "${nc[@]}" cell_v2 map_cell0
		local cells
		cells=$(nova-manage "${nc[@]}" cell_v2 list_cells 2>/dev/null || true)
		if ! grep -q ' cell1 ' <<<"$cells"; then
			manage nova nova-manage "${nc[@]}" cell_v2 create_cell --name cell1
		fi
		manage nova nova-manage "${nc[@]}" db sync
		mark nova-db
	fi
	restart_on_change nova "$ETC/nova/nova.conf" -- nova-api nova-conductor nova-scheduler nova-compute
	if ! alive nova-api; then
		port_free_or_ours nova-api "$PORT_NOVA"
		start nova-api nova-api "${nc[@]}"
	fi
	start nova-conductor nova-conductor "${nc[@]}"
	start nova-scheduler nova-scheduler "${nc[@]}"
	# The nova-compute package would pull libvirt/qemu; the code is in python3-nova.
	start nova-compute "$PY" -c 'import sys; from nova.cmd.compute import main; sys.exit(main())' \
		--config-file "$ETC/nova/nova-common.conf"
	wait_api nova-api "http://$HOST:$PORT_NOVA/"
	if ! done_mark nova-compute; then
		wait_for nova-compute 120 compute_node_registered
		manage nova nova-manage "${nc[@]}" cell_v2 discover_hosts
		manage nova "$PY" "$HERE/oslab.py" wait-compute
		mark nova-compute
	elif [[ -n ${STARTED_AT[nova-compute]:-} ]]; then
		# restarted: schedulable once it has reported in again
		wait_for nova-compute 90 service_reported nova.services "topic='compute' AND host='$COMPUTE_HOST'" \
			"${STARTED_AT[nova-compute]}"
		log "  nova-compute reported in"
	fi
	if ! alive nova-conductor || ! alive nova-scheduler || ! alive nova-compute; then
		die "a nova service died; see $LOG/nova-*.log"
	fi
}

# cinder_main CMD -> the Python that runs cinder-CMD with the lab's context
# fix: cinder.cmd.CMD first (it monkey-patches eventlet before anything else
# is imported), then canopy_lab_cinder_ctx, then main.
cinder_main() {
	echo "import sys; from cinder.cmd.$1 import main; import canopy_lab_cinder_ctx; sys.exit(main())"
}

compute_node_registered() {
	[[ $(sql -e "SELECT COUNT(*) FROM nova.compute_nodes WHERE host='$COMPUTE_HOST' AND deleted=0") -gt 0 ]]
}

phase_cinder() {
	load_secrets
	mkdir -p "$ETC/cinder" "$DATA/cinder/volumes" "$DATA/cinder/lock"
	cat >"$ETC/cinder/cinder.conf" <<EOF
[DEFAULT]
my_ip = $HOST
osapi_volume_listen = $HOST
osapi_volume_listen_port = $PORT_CINDER
osapi_volume_workers = 1
auth_strategy = keystone
transport_url = $(RABBIT_URL)
# Notifications (and RPC) on exchange "cinder", not oslo's default "openstack".
control_exchange = cinder
state_path = $DATA/cinder
volumes_dir = $DATA/cinder/volumes
api_paste_config = /etc/cinder/api-paste.ini
glance_api_servers = http://$HOST:$PORT_GLANCE
# cinder-backup (phase cinder_backup) keeps backups in Swift, in the
# container volumebackups of the user's own account (per_user auth).
backup_driver = cinder.backup.drivers.swift.SwiftBackupDriver
backup_swift_auth = per_user
enabled_backends = $VOLUME_TYPE
default_volume_type = $VOLUME_TYPE
use_stderr = true
[database]
connection = $(db_url cinder)
$(authtoken cinder)
$(svc_auth nova nova)
$(svc_auth service_user cinder)
send_service_user_token = true
[$VOLUME_TYPE]
# No device-mapper in this kernel, so no LVM: canopy_lab_cinder (beside
# this script) is the fake driver shipped in python3-cinder with each
# volume kept as a sparse file under state_path/canopy-volumes, so its
# bytes go through upload-to-image, volume-from-image, reimage and backups.
volume_driver = canopy_lab_cinder.CanopyFakeVolumeDriver
volume_backend_name = $VOLUME_TYPE
target_helper = fake
$(COMMON_OSLO cinder messagingv2)
EOF
	local cc=(--config-file "$ETC/cinder/cinder.conf")
	if ! done_mark cinder-db; then
		manage cinder cinder-manage "${cc[@]}" db sync
		mark cinder-db
	fi
	# Every cinder service runs with canopy_lab_cinder_ctx (Debian 12's
	# cinder fails every notifying call without it; see the file), so all
	# of them restart when it or the config changes (cinder-backup is
	# started again by its own phase).
	mkdir -p "$DATA/pylib"
	restart_on_change cinder "$ETC/cinder/cinder.conf" "$HERE/canopy_lab_cinder_ctx.py" -- \
		cinder-api cinder-scheduler cinder-volume cinder-backup
	cp "$HERE/canopy_lab_cinder_ctx.py" "$DATA/pylib/"
	if ! alive cinder-api; then
		port_free_or_ours cinder-api "$PORT_CINDER"
		start cinder-api env PYTHONPATH="$DATA/pylib" "$PY" -c "$(cinder_main api)" "${cc[@]}"
	fi
	if ! cmp -s "$HERE/canopy_lab_cinder.py" "$DATA/pylib/canopy_lab_cinder.py"; then
		# A changed lab driver: cinder-volume runs the old one until it
		# restarts, and the scheduler, which learns pools from volume
		# services as they start, restarts after it (below).
		stop_daemons 10 cinder-scheduler cinder-volume
		cp "$HERE/canopy_lab_cinder.py" "$DATA/pylib/"
	fi
	start cinder-volume env PYTHONPATH="$DATA/pylib" "$PY" -c "$(cinder_main volume)" "${cc[@]}"
	if [[ -n ${STARTED_AT[cinder-volume]:-} ]]; then
		wait_for cinder-volume 90 service_reported cinder.services "topic='cinder-volume' AND disabled=0" \
			"${STARTED_AT[cinder-volume]}"
		log "  cinder-volume reported in"
	fi
	# The scheduler asks every live volume service for its capabilities when it
	# starts; a volume service that comes up later is only heard of at its next
	# periodic report (up to a minute), and until then every create fails with
	# NoValidBackend. So: volume first, then the scheduler, then wait until the
	# scheduler really knows the backend's pool.
	start cinder-scheduler env PYTHONPATH="$DATA/pylib" "$PY" -c "$(cinder_main scheduler)" "${cc[@]}"
	wait_api cinder-api "http://$HOST:$PORT_CINDER/"
	if [[ -n ${STARTED_AT[cinder-volume]:-} || -n ${STARTED_AT[cinder-scheduler]:-} ]]; then
		manage cinder "$PY" "$HERE/oslab.py" wait-volume
		log "  cinder-scheduler knows the $VOLUME_TYPE pool"
	fi
}

# cinder-backup with Debian's Swift backup driver (configured in phase
# cinder), so native backups are real; it reaches volumes through the lab
# driver's "local" connections (their files). After swift: it is where
# backups go.
phase_cinder_backup() {
	load_secrets
	[[ -x /usr/bin/cinder-backup ]] || die "cinder-backup missing (package cinder-backup: run the install phase)"
	start cinder-backup env PYTHONPATH="$DATA/pylib" "$PY" -c "$(cinder_main backup)" --config-file "$ETC/cinder/cinder.conf"
	if [[ -n ${STARTED_AT[cinder-backup]:-} ]]; then
		wait_for cinder-backup 90 service_reported cinder.services "topic='cinder-backup' AND disabled=0" \
			"${STARTED_AT[cinder-backup]}"
		log "  cinder-backup reported in"
	fi
}

service_reported() { # table where since: a live service row updated since (UTC)
	[[ $(sql -e "SELECT COUNT(*) FROM $1 WHERE deleted=0 AND $2 AND updated_at >= '$3'") -gt 0 ]]
}

phase_swift() {
	load_secrets
	local sd=$ETC/swift
	mkdir -p "$sd" "$DATA/swift/node/d1" "$DATA/swift/cache" "$DATA/swift/run"
	chown -R swift:swift "$DATA/swift"
	[[ -e /etc/swift/swift.conf ]] || die "/etc/swift/swift.conf missing (package swift)"
	if [[ ! -e $sd/object.ring.gz || ! -e $sd/container.ring.gz || ! -e $sd/account.ring.gz ]]; then
		local r port
		for r in object container account; do
			case $r in object) port=$PORT_SWIFT_OBJECT ;; container) port=$PORT_SWIFT_CONTAINER ;; account) port=$PORT_SWIFT_ACCOUNT ;; esac
			rm -f "$sd/$r.builder" "$sd/$r.ring.gz"
			manage swift swift-ring-builder "$sd/$r.builder" create 10 1 1
			manage swift swift-ring-builder "$sd/$r.builder" add "r1z1-$HOST:$port/d1" 100
			manage swift swift-ring-builder "$sd/$r.builder" rebalance
		done
	fi
	local common="swift_dir = $sd
devices = $DATA/swift/node
mount_check = false
workers = 0
user = swift
bind_ip = $HOST
log_udp_host = $HOST
log_udp_port = $PORT_SWIFT_LOG"
	local r port
	for r in account container object; do
		case $r in object) port=$PORT_SWIFT_OBJECT ;; container) port=$PORT_SWIFT_CONTAINER ;; account) port=$PORT_SWIFT_ACCOUNT ;; esac
		cat >"$sd/$r-server.conf" <<EOF
[DEFAULT]
$common
bind_port = $port
log_name = $r-server
[pipeline:main]
pipeline = healthcheck recon $r-server
[app:$r-server]
use = egg:swift#$r
[filter:healthcheck]
use = egg:swift#healthcheck
[filter:recon]
use = egg:swift#recon
recon_cache_path = $DATA/swift/cache
[$r-replicator]
[$r-auditor]
[$r-updater]
EOF
	done
	cat >"$sd/proxy-server.conf" <<EOF
[DEFAULT]
$common
bind_port = $PORT_SWIFT
log_name = proxy-server
[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats bulk tempurl authtoken keystoneauth copy slo dlo versioned_writes proxy-logging proxy-server
[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true
[filter:catch_errors]
use = egg:swift#catch_errors
[filter:gatekeeper]
use = egg:swift#gatekeeper
[filter:healthcheck]
use = egg:swift#healthcheck
[filter:proxy-logging]
use = egg:swift#proxy_logging
[filter:cache]
use = egg:swift#memcache
memcache_servers = $HOST:$PORT_MEMCACHED
[filter:listing_formats]
use = egg:swift#listing_formats
[filter:bulk]
use = egg:swift#bulk
[filter:tempurl]
use = egg:swift#tempurl
[filter:authtoken]
paste.filter_factory = keystonemiddleware.auth_token:filter_factory
www_authenticate_uri = http://$HOST:$PORT_KEYSTONE
auth_url = http://$HOST:$PORT_KEYSTONE
auth_type = password
project_domain_name = Default
user_domain_name = Default
project_name = service
username = swift
password = $SERVICE_PW
region_name = $REGION
memcached_servers = $HOST:$PORT_MEMCACHED
delay_auth_decision = true
[filter:keystoneauth]
use = egg:swift#keystoneauth
operator_roles = admin, member
reseller_admin_role = ResellerAdmin
[filter:copy]
use = egg:swift#copy
[filter:slo]
use = egg:swift#slo
[filter:dlo]
use = egg:swift#dlo
[filter:versioned_writes]
use = egg:swift#versioned_writes
allow_versioned_writes = true
EOF
	chown -R root:swift "$sd"
	chmod -R g+rX,o-rwx "$sd"
	# Swift logs only to syslog; there is no /dev/log here, so it sends UDP to a catcher.
	cat >"$ETC/swift-udplog.py" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
out = open(sys.argv[3], "ab", buffering=0)
while True:
    data, _ = s.recvfrom(65535)
    out.write(data.rstrip(b"\0\n") + b"\n")
EOF
	start swift-udplog "$PY" "$ETC/swift-udplog.py" "$HOST" "$PORT_SWIFT_LOG" "$LOG/swift.log"
	for r in account container object; do
		case $r in object) port=$PORT_SWIFT_OBJECT ;; container) port=$PORT_SWIFT_CONTAINER ;; account) port=$PORT_SWIFT_ACCOUNT ;; esac
		if ! alive "swift-$r"; then
			port_free_or_ours "swift-$r" "$port"
			start "swift-$r" "swift-$r-server" "$sd/$r-server.conf"
		fi
	done
	if ! alive swift-proxy; then
		port_free_or_ours swift-proxy "$PORT_SWIFT"
		start swift-proxy swift-proxy-server "$sd/proxy-server.conf"
	fi
	for r in account container object; do
		case $r in object) port=$PORT_SWIFT_OBJECT ;; container) port=$PORT_SWIFT_CONTAINER ;; account) port=$PORT_SWIFT_ACCOUNT ;; esac
		wait_for "swift-$r" 60 http_ok "http://$HOST:$port/healthcheck"
	done
	wait_api swift-proxy "http://$HOST:$PORT_SWIFT/healthcheck"
}

write_clouds_yaml() {
	local f=$LAB/clouds.yaml
	umask 077
	cat >"$f.tmp" <<EOF
# Written by canopy test/openstack/up.sh. OpenStack Zed on $HOST.
clouds:
  $TEST_CLOUD:
    auth:
      auth_url: $KEYSTONE_URL
      username: $TEST_USER
      password: $TEST_PW
      project_name: $TEST_PROJECT
      user_domain_name: Default
      project_domain_name: Default
    auth_type: password
    identity_api_version: 3
    region_name: $REGION
    interface: public
  $ADMIN_CLOUD:
    auth:
      auth_url: $KEYSTONE_URL
      username: admin
      password: $ADMIN_PW
      project_name: admin
      user_domain_name: Default
      project_domain_name: Default
    auth_type: password
    identity_api_version: 3
    region_name: $REGION
    interface: public
  $APPCRED_CLOUD:
    auth:
      auth_url: $KEYSTONE_URL
      application_credential_id: $(cat "$STATE/appcred.id")
      application_credential_secret: $APPCRED_SECRET
    auth_type: v3applicationcredential
    identity_api_version: 3
    region_name: $REGION
    interface: public
EOF
	mv "$f.tmp" "$f"
	cat >"$LAB/canopy-test.env" <<EOF
# Names of the canopy test OpenStack's objects (source this file).
OS_CLIENT_CONFIG_FILE=$f
OS_CLOUD=$TEST_CLOUD
CANOPY_OS_ADMIN_CLOUD=$ADMIN_CLOUD
CANOPY_OS_APPCRED_CLOUD=$APPCRED_CLOUD
CANOPY_OS_FLAVOR=$TEST_FLAVOR
CANOPY_OS_IMAGE=$TEST_IMAGE
CANOPY_OS_NETWORK=$TEST_NETWORK
CANOPY_OS_SUBNET=$TEST_SUBNET
CANOPY_OS_EXTERNAL_NETWORK=$EXT_NETWORK
CANOPY_OS_ROUTER=$TEST_ROUTER
CANOPY_OS_VOLUME_TYPE=$VOLUME_TYPE
CANOPY_OS_REGION=$REGION
CANOPY_OS_AUTH_URL=$KEYSTONE_URL
EOF
	umask 027
}

phase_resources() {
	load_secrets
	if ! done_mark resources; then
		manage resources "$PY" "$HERE/oslab.py" resources
		mark resources
	fi
	if ! done_mark appcred || [[ ! -s $STATE/appcred.id ]]; then
		manage resources "$PY" "$HERE/oslab.py" appcred
		mark appcred
	fi
	write_clouds_yaml
}

ALL_PHASES=(install base keystone glance placement neutron nova cinder swift cinder_backup resources)

main() {
	local phases=("$@") t0 t1 ms start
	((${#phases[@]})) || phases=("${ALL_PHASES[@]}")
	start=$(date +%s)
	umask 027 # configs, logs and clouds.yaml hold passwords
	lab_lock
	for p in "${phases[@]}"; do
		declare -F "phase_$p" >/dev/null || die "unknown phase $p (known: ${ALL_PHASES[*]})"
		t0=$(date +%s%N)
		"phase_$p"
		t1=$(date +%s%N)
		ms=$(((t1 - t0) / 1000000))
		log "phase $p: $((ms / 1000)).$(((ms % 1000) / 100)) s"
	done
	log "total: $(($(date +%s) - start)) s"
	if [[ " ${phases[*]} " == *" resources "* ]]; then
		log "clouds: $TEST_CLOUD (tests), $ADMIN_CLOUD (admin), $APPCRED_CLOUD (test user's application credential)"
		log "names of flavor/image/network...: $LAB/canopy-test.env"
		echo "$LAB/clouds.yaml"
	fi
}

main "$@"
