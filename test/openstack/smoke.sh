#!/usr/bin/env bash
# Smoke test of the lab OpenStack brought up by test/openstack/up.sh, with
# Debian's openstack CLI (/usr/bin/openstack) against $LAB/clouds.yaml.
# Exits non-zero on the first failed check.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"

export OS_CLIENT_CONFIG_FILE=$LAB/clouds.yaml
export OS_CLOUD=$TEST_CLOUD
[[ -s $OS_CLIENT_CONFIG_FILE ]] || die "no $OS_CLIENT_CONFIG_FILE: run up.sh first"
unset OS_AUTH_URL OS_USERNAME OS_PASSWORD OS_PROJECT_NAME OS_TOKEN OS_AUTH_TYPE

RUN_ID=smoke-$(date +%s)-$$
SERVER=$RUN_ID-server
VOLUME=$RUN_ID-volume
CONTAINER=$RUN_ID-container
OBJECT=hello.txt
TMP=$(mktemp -d)
passed=0
failed=0
current=
T0=$SECONDS

os() { "$OSC" "$@"; }

cleanup() {
	local rc=$?
	set +e
	if [[ -n $current ]]; then
		failed=$((failed + 1))
		printf 'FAIL %s\n' "$current" >&2
	fi
	os server delete --wait "$SERVER" >/dev/null 2>&1
	os volume delete "$VOLUME" >/dev/null 2>&1
	os object delete "$CONTAINER" "$OBJECT" >/dev/null 2>&1
	os container delete "$CONTAINER" >/dev/null 2>&1
	rm -rf "$TMP"
	echo "smoke: $passed passed, $failed failed ($((SECONDS - T0)) s)"
	((failed == 0 && rc == 0)) || exit 1
}
trap cleanup EXIT

begin() { current=$1; printf '%-44s' "$1"; _t=$SECONDS; }
ok() { printf 'ok (%ss)\n' "$((SECONDS - _t))"; passed=$((passed + 1)); current=; }
fail() { echo "FAILED: $*"; exit 1; }

# wait_status KIND NAME WANT [TIMEOUT]
wait_status() {
	local kind=$1 name=$2 want=$3 timeout=${4:-120} t0=$SECONDS s
	while :; do
		s=$(os "$kind" show -f value -c status "$name" 2>/dev/null || echo "?")
		[[ $s == "$want" ]] && return 0
		[[ $s == ERROR || $s == error ]] && fail "$kind $name is $s"
		((SECONDS - t0 > timeout)) && fail "$kind $name is $s after ${timeout}s, wanted $want"
		sleep 2
	done
}

begin "token issue"
PROJECT_ID=$(os token issue -f value -c project_id)
[[ $PROJECT_ID =~ ^[0-9a-f]{32}$ ]] || fail "project id '$PROJECT_ID'"
ok

begin "token issue (application credential)"
ac_project=$(os --os-cloud "$APPCRED_CLOUD" token issue -f value -c project_id)
[[ $ac_project == "$PROJECT_ID" ]] || fail "project '$ac_project', want $PROJECT_ID"
ok

begin "flavor list has $TEST_FLAVOR"
# (output captured first: grep -q closing the pipe early makes the CLI fail under pipefail)
out=$(os flavor list -f value -c Name)
grep -qx "$TEST_FLAVOR" <<<"$out" || fail "no flavor $TEST_FLAVOR in: $out"
ok

begin "image list has $TEST_IMAGE"
out=$(os image list -f value -c Name -c Status)
grep -qx "$TEST_IMAGE active" <<<"$out" || fail "no active image $TEST_IMAGE in: $out"
ok

begin "server create --wait -> ACTIVE"
os server create --flavor "$TEST_FLAVOR" --image "$TEST_IMAGE" --network "$TEST_NETWORK" \
	--wait "$SERVER" -f value -c status >"$TMP/create" || fail "$(cat "$TMP/create")"
s=$(os server show -f value -c status "$SERVER")
[[ $s == ACTIVE ]] || fail "status $s"
addr=$(os server show -f value -c addresses "$SERVER")
[[ $addr == *"$TEST_NETWORK"* ]] || fail "no address on $TEST_NETWORK: $addr"
port_status=$(os port list --server "$SERVER" -f value -c Status)
[[ $port_status == ACTIVE ]] || fail "port status '$port_status' (binding failed?)"
ok

begin "server stop -> SHUTOFF"
os server stop "$SERVER"
wait_status server "$SERVER" SHUTOFF
ok

begin "server start -> ACTIVE"
os server start "$SERVER"
wait_status server "$SERVER" ACTIVE
ok

begin "server delete --wait"
os server delete --wait "$SERVER"
os server show "$SERVER" >/dev/null 2>&1 && fail "server still there"
ok

begin "volume create -> available"
os volume create --size 1 "$VOLUME" >/dev/null
wait_status volume "$VOLUME" available
ok

begin "volume delete"
os volume delete "$VOLUME"
t0=$SECONDS
while os volume show "$VOLUME" >/dev/null 2>&1; do
	((SECONDS - t0 > 60)) && fail "volume still there after 60s"
	sleep 1
done
ok

begin "swift container create"
os container create "$CONTAINER" >/dev/null
out=$(os container list -f value -c Name)
grep -qx "$CONTAINER" <<<"$out" || fail "container not listed"
ok

begin "swift object upload + download"
echo "canopy smoke $RUN_ID" >"$TMP/$OBJECT"
(cd "$TMP" && os object create "$CONTAINER" "$OBJECT" >/dev/null)
os object save --file "$TMP/back" "$CONTAINER" "$OBJECT"
cmp -s "$TMP/$OBJECT" "$TMP/back" || fail "downloaded object differs"
ok

begin "swift TempURL GET -> 200"
KEY=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
os object store account set --property "Temp-URL-Key=$KEY"
path=$(/usr/bin/swift tempurl GET 600 "/v1/AUTH_$PROJECT_ID/$CONTAINER/$OBJECT" "$KEY")
[[ $path == /v1/* ]] || fail "swift tempurl printed '$path'"
SWIFT_BASE=http://$HOST:$PORT_SWIFT
code=$(curl -s -o "$TMP/temp" -w '%{http_code}' "$SWIFT_BASE$path")
[[ $code == 200 ]] || fail "HTTP $code"
cmp -s "$TMP/$OBJECT" "$TMP/temp" || fail "TempURL body differs"
ok

begin "swift tampered TempURL -> 401"
sig=${path#*temp_url_sig=}
sig=${sig%%&*}
last=${sig: -1}
[[ $last == 0 ]] && new=1 || new=0
bad=${path/temp_url_sig=$sig/temp_url_sig=${sig%?}$new}
[[ $bad != "$path" ]] || fail "could not tamper with $path"
code=$(curl -s -o /dev/null -w '%{http_code}' "$SWIFT_BASE$bad")
[[ $code == 401 ]] || fail "HTTP $code"
ok

begin "swift object + container delete"
os object delete "$CONTAINER" "$OBJECT"
os container delete "$CONTAINER"
ok
