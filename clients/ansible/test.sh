#!/usr/bin/env bash
# Tests the canopy.cloud Ansible collection (what `make test-ansible` runs):
#   1. ansible-test sanity (every test, Python of /usr/bin/python3), clean;
#   2. ansible-test units (module_utils, modules against a fake REST API,
#      the inventory plugin);
#   3. the integration playbooks against a live canopyd with two simulated
#      clouds (east, west): every module, create -> rerun (changed=false) ->
#      check mode -> update -> delete; then nothing may be left behind;
#   4. the inventory plugin lists servers of both clouds with the right groups;
#   5. with CANOPY_OS_CLOUDS_YAML, the lab target: a server and a volume on
#      the real OpenStack lab through the modules.
# A second canopyd serves TLS (a throw-away CA made with openssl) for the tls
# target: api_url https, ca_cert, validate_certs.
# Installs what it needs: a venv with ansible-core under .cache/ansible-venv
# (Debian's python3 and python3-venv), ansible-test's requirements from PyPI.
# Starts canopyd on free loopback ports and stops exactly the one it started.
#
# Environment: ANSIBLE_TARGETS=server,volume runs only those integration
# targets; SKIP_SANITY=1 / SKIP_UNITS=1 skip those steps.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$ROOT/clients/ansible"
# shellcheck source=test/lib/apt.sh
. "$ROOT/test/lib/apt.sh"
COLL="$HERE/ansible_collections/canopy/cloud"
VENV="$ROOT/.cache/ansible-venv"
ANSIBLE_CORE_SPEC='ansible-core>=2.18,<2.19'
cd "$ROOT"

step() { printf '\n== ansible: %s (%s)\n' "$1" "$(date +%T)"; }
t_start=$SECONDS

# --- tools -------------------------------------------------------------------
PY=/usr/bin/python3
if ! "$PY" -c 'import ensurepip, venv' 2>/dev/null; then
  echo "installing python3-venv (Debian)"
  apt_install python3-venv
fi
PYV="$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
if ! "$VENV/bin/ansible-test" --version >/dev/null 2>&1 \
   || ! "$VENV/bin/python" -c 'import ansible, sys; v = tuple(int(x) for x in ansible.__version__.split(".")[:2]); sys.exit(v != (2, 18))' 2>/dev/null; then
  step "venv with $ANSIBLE_CORE_SPEC"
  rm -rf "$VENV"
  "$PY" -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "$ANSIBLE_CORE_SPEC"
fi
export PATH="$VENV/bin:$PATH"
echo "$(ansible --version | head -1), python $PYV"

# ansible-test bootstraps pip in each of its venvs with a script it fetches
# from ci-files.testing.ansible.com; where that host is out of reach, a shim
# (tools/get_pip_shim.py: ensurepip, then pip from PyPI) stands in for it.
pipv="$(python -c 'import re, ansible_test, os; p = os.path.join(os.path.dirname(ansible_test.__file__), "_internal", "python_requirements.py"); print(re.search(r"pip=.([0-9.]+).", open(p).read()).group(1))')"
getpip="$HOME/.ansible/test/cache/get_pip_${pipv//./_}.py"
if [[ ! -s "$getpip" ]] && ! curl -fs --max-time 10 -o "$getpip.download" "https://ci-files.testing.ansible.com/ansible-test/get-pip-$pipv.py" 2>/dev/null; then
  mkdir -p "$(dirname "$getpip")"
  cp "$HERE/tools/get_pip_shim.py" "$getpip"
  echo "pip bootstrap: ci-files.testing.ansible.com unreachable; using tools/get_pip_shim.py"
elif [[ -s "$getpip.download" ]]; then
  mv "$getpip.download" "$getpip"
fi

# --- sanity, units -------------------------------------------------------------
# Each runs into a log; the summary is shown, the whole log on failure.
logs="$(mktemp -d)"
if [[ -z "${SKIP_SANITY:-}" ]]; then
  step "ansible-test sanity"
  if ! (cd "$COLL" && ansible-test sanity --local --requirements --python "$PYV" --color no) >"$logs/sanity.log" 2>&1; then
    grep -vE '^(Collecting|  Downloading|  Using cached|Installing collected|Successfully installed|Requirement already| +━)' "$logs/sanity.log" | tail -80
    exit 1
  fi
  echo "$(grep -c '^Running sanity test' "$logs/sanity.log") sanity tests run, no issue: $(grep '^Running sanity test' "$logs/sanity.log" | sed -E 's/.*"(.*)".*/\1/' | tr '\n' ' ')"
  grep -E '^(WARNING|SKIP)' "$logs/sanity.log" | grep -vE 'locale|Reviewing previous' || true
fi
if [[ -z "${SKIP_UNITS:-}" ]]; then
  step "ansible-test units"
  if ! (cd "$COLL" && ansible-test units --local --requirements --python "$PYV" --color no) >"$logs/units.log" 2>&1; then
    tail -80 "$logs/units.log"; exit 1
  fi
  grep -E '^(Unit test|=+ .*(passed|failed|error))' "$logs/units.log"
fi
rm -rf "$logs"

# --- a live canopyd ------------------------------------------------------------
step "canopyd with simulated clouds east, west (and slow)"
work="$(mktemp -d)"
pid=""
tls_pid=""
cleanup() {
  local p
  for p in $pid $tls_pid; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
GRPC="127.0.0.1:$(free_port)"
REST="127.0.0.1:$(free_port)"
cat >"$work/canopy.yaml" <<'EOF'
clouds:
  - name: east
    kind: sim
    zones: [east-1a]
  - name: west
    kind: sim
    zones: [west-1a]
  - name: slow                    # the timeout target: servers boot in 6 s
    kind: sim
    zones: [slow-1a]
    options: {boot_delay: 6s}
EOF
go build -o "$work/canopyd" ./cmd/canopyd
"$work/canopyd" --config "$work/canopy.yaml" --store "$work/canopy.db" --grpc-addr "$GRPC" --rest-addr "$REST" \
  --credentials-file "$work/credentials.json" >"$work/canopyd.log" 2>&1 &
pid=$!
for _ in $(seq 100); do
  curl -fs "http://$REST/healthz" >/dev/null 2>&1 && [[ -s "$work/credentials.json" ]] && break
  sleep 0.1
done
curl -fs "http://$REST/healthz" >/dev/null || { cat "$work/canopyd.log"; exit 1; }
echo "canopyd pid $pid, REST $REST"

# A second canopyd serving TLS with a certificate of a throw-away CA, for the
# tls target (api_url https, ca_cert, validate_certs).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=canopy-test-ca \
  -keyout "$work/ca.key" -out "$work/ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=127.0.0.1 \
  -keyout "$work/tls.key" -out "$work/tls.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\n' >"$work/san.ext"
openssl x509 -req -in "$work/tls.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" -CAcreateserial -days 1 \
  -extfile "$work/san.ext" -out "$work/tls.pem" 2>/dev/null
TGRPC="127.0.0.1:$(free_port)"
TREST="127.0.0.1:$(free_port)"
"$work/canopyd" --store "$work/tls.db" --grpc-addr "$TGRPC" --rest-addr "$TREST" --tls-cert "$work/tls.pem" --tls-key "$work/tls.key" \
  --credentials-file "$work/tls-credentials.json" >"$work/canopyd-tls.log" 2>&1 &
tls_pid=$!
for _ in $(seq 100); do
  curl -fs --cacert "$work/ca.pem" "https://$TREST/healthz" >/dev/null 2>&1 && [[ -s "$work/tls-credentials.json" ]] && break
  sleep 0.1
done
curl -fs --cacert "$work/ca.pem" "https://$TREST/healthz" >/dev/null || { cat "$work/canopyd-tls.log"; exit 1; }
echo "canopyd (TLS) pid $tls_pid, REST https://$TREST"
export CANOPY_TEST_TLS_CREDENTIALS="$work/tls-credentials.json" CANOPY_TEST_TLS_CA="$work/ca.pem"

# The modules find canopyd through its credentials file (token_url) alone.
export CANOPY_CREDENTIALS="$work/credentials.json"
export XDG_CACHE_HOME="$work/cache"            # the token cache of this run
export ANSIBLE_COLLECTIONS_PATH="$HERE"
export ANSIBLE_LOCALHOST_WARNING=false ANSIBLE_INVENTORY_UNPARSED_WARNING=false
export ANSIBLE_NOCOLOR=1 ANSIBLE_RETRY_FILES_ENABLED=false
export ANSIBLE_CALLBACK_RESULT_FORMAT=yaml

step "integration playbooks"
t0=$SECONDS
extra=()
[[ -n "${ANSIBLE_TARGETS:-}" ]] && extra=(-e "targets=$ANSIBLE_TARGETS")
if ! ansible-playbook "$HERE/integration.yml" "${extra[@]}" >"$work/integration.log" 2>&1; then
  tail -60 "$work/integration.log"; echo "--- canopyd log"; tail -20 "$work/canopyd.log"; exit 1
fi
grep -E '^(TASK \[Run each target\]|included:|localhost +:)' "$work/integration.log" | sed -E 's#^included: .*/targets/([a-z_]+)/tasks/main.yml.*#  target \1#'
echo "integration: $((SECONDS - t0))s"

step "inventory plugin"
t0=$SECONDS
if ! ansible-playbook "$HERE/inventory_test.yml" >"$work/inventory.log" 2>&1; then
  tail -60 "$work/inventory.log"; exit 1
fi
grep -E '^localhost +:' "$work/inventory.log"
echo "inventory: $((SECONDS - t0))s"

# --- the OpenStack lab ----------------------------------------------------------
# With CANOPY_OS_CLOUDS_YAML (the lab's clouds.yaml, test/openstack/up.sh),
# the lab target runs a server and a volume through the modules on real Nova
# and Cinder, against a canopyd of its own (the lab holds other suites'
# resources, so the sim canopyd's leftover check stays apart).
if [[ -n "${CANOPY_OS_CLOUDS_YAML:-}" ]]; then
  step "the OpenStack lab (target lab)"
  t0=$SECONDS
  LGRPC="127.0.0.1:$(free_port)"
  LREST="127.0.0.1:$(free_port)"
  cat >"$work/lab.yaml" <<EOF2
clouds:
  - name: lab
    kind: openstack
    options: {clouds_yaml: "$CANOPY_OS_CLOUDS_YAML", cloud: "${CANOPY_OS_CLOUD:-canopy-test}"}
EOF2
  "$work/canopyd" --config "$work/lab.yaml" --store "$work/lab.db" --grpc-addr "$LGRPC" --rest-addr "$LREST" \
    --credentials-file "$work/lab-credentials.json" >"$work/canopyd-lab.log" 2>&1 &
  lab_pid=$!
  pid="$pid $lab_pid"
  for _ in $(seq 200); do
    curl -fs "http://$LREST/healthz" >/dev/null 2>&1 && [[ -s "$work/lab-credentials.json" ]] && break
    sleep 0.1
  done
  if ! CANOPY_CREDENTIALS="$work/lab-credentials.json" XDG_CACHE_HOME="$work/lab-cache" CANOPY_TEST_RUN="ansible-$$" \
      ansible-playbook "$HERE/integration.yml" -e targets=lab >"$work/lab.log" 2>&1; then
    tail -60 "$work/lab.log"; echo "--- canopyd log"; tail -20 "$work/canopyd-lab.log"; exit 1
  fi
  grep -E '^localhost +:' "$work/lab.log"
  echo "lab: $((SECONDS - t0))s"
fi

echo
echo "ansible collection: all passed in $((SECONDS - t_start))s"
