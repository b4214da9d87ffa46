#!/usr/bin/env bash
# Runs the client packages against a real canopyd, installed as a user
# installs them:
#   python  `pip install clients/python` into a clean venv, then the pytest
#           suite (every RPC at least once, sync and asyncio); the sdist and
#           wheel from `python -m build`, the wheel into another clean venv
#           and a smoke test with it;
#   c++     clients/cpp built (code generated from proto/ with Debian's
#           protobuf and gRPC), its ctest suite (servers, volumes, a streamed
#           object upload and download, auth), installed, and a consumer
#           project outside the tree built against the installed package
#           with find_package(canopy CONFIG).
# Starts canopyd on free loopback ports and stops exactly that one.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

work="$(mktemp -d)"
pid=""
cleanup() { [[ -n "$pid" ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
GRPC="127.0.0.1:$(free_port)"
REST="127.0.0.1:$(free_port)"

go build -o "$work/canopyd" ./cmd/canopyd
CREDS="$work/credentials.json"
XDG_DATA_HOME="$work/data" CANOPY_CREDENTIALS="$CREDS" "$work/canopyd" --grpc-addr "$GRPC" --rest-addr "$REST" >"$work/canopyd.log" 2>&1 &
pid=$!
for _ in $(seq 100); do
  curl -fs "http://$REST/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fs "http://$REST/healthz" >/dev/null || { cat "$work/canopyd.log"; exit 1; }

# The clients authenticate with the first-run credentials file (CREDS), as a
# user's would.

PIP=(--disable-pip-version-check -q)
CONSTRAINTS=(-c clients/python/requirements.txt)
pyenv_test() { # venv: the suite's own needs (pytest, requests), pinned
  "$1/bin/pip" install "${PIP[@]}" "${CONSTRAINTS[@]}" pytest requests
}
# The tests see only the installed package: run from outside the source tree.
pytest_in() { # venv args...
  local venv="$1"; shift
  (cd "$work" && CANOPY_ADDR="$GRPC" CANOPY_REST="http://$REST" CANOPY_CREDENTIALS="$CREDS" CANOPY_TOKEN= \
    "$venv/bin/python" -m pytest -q -p no:cacheprovider "$@")
}

echo "== python client: pip install clients/python in a clean venv"
python3 -m venv "$work/venv-src"
"$work/venv-src/bin/pip" install "${PIP[@]}" ./clients/python
pyenv_test "$work/venv-src"
pytest_in "$work/venv-src" "$ROOT/clients/python/tests"

echo "== python client: python -m build (sdist, then the wheel from it), the wheel in a clean venv"
.venv/bin/python -m build --outdir "$work/dist" clients/python >"$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }
python3 -m venv "$work/venv-whl"
"$work/venv-whl/bin/pip" install "${PIP[@]}" "$work"/dist/canopy_client-*.whl
pyenv_test "$work/venv-whl"
pytest_in "$work/venv-whl" "$ROOT/clients/python/tests/test_compute.py"

echo "== c++ client: build (code generated from proto/), ctest against canopyd, install, an out-of-tree find_package consumer"
make -s cpp >"$work/cpp-build.log" 2>&1 || { tail -40 "$work/cpp-build.log"; exit 1; }
export CANOPY_ADDR="$GRPC" CANOPY_CREDENTIALS="$CREDS"
ctest --test-dir .cache/cpp-build --output-on-failure
out="$(.cache/cpp-build/canopy-cpp-flavors)"
grep -q m1.tiny <<<"$out" || { echo "canopy-cpp-flavors did not list m1.tiny:"; echo "$out"; exit 1; }
cmake --install .cache/cpp-build --prefix "$work/cpp-prefix" >/dev/null
cmake -S clients/cpp/consumer -B "$work/consumer" -DCMAKE_PREFIX_PATH="$work/cpp-prefix" >"$work/consumer.log" 2>&1 &&
  cmake --build "$work/consumer" >>"$work/consumer.log" 2>&1 || { cat "$work/consumer.log"; exit 1; }
out="$("$work/consumer/canopy-consumer")"
grep -q "local sim" <<<"$out" || { echo "the consumer did not list the local cloud:"; echo "$out"; exit 1; }
echo "out-of-tree consumer (find_package(canopy CONFIG), canopy::client) listed: $out"
