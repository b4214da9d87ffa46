#!/usr/bin/env bash
# Runs the generated clients against a real canopyd: the Python tests
# (pytest, gRPC + REST) and the C++ example (built with Debian's protobuf and
# gRPC). Starts canopyd on free loopback ports and stops exactly that one.
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

# A token for the helpers that take one (the OAuth script test gets its own).
TOKEN="$(curl -fs -u "$(python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); print(c["client_id"]+":"+c["client_secret"])' "$CREDS")" \
  -d grant_type=client_credentials "http://$REST/oauth2/token" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')"

echo "== python client (pytest)"
CANOPY_ADDR="$GRPC" CANOPY_REST="http://$REST" CANOPY_TOKEN="$TOKEN" CANOPY_CREDENTIALS="$CREDS" \
  .venv/bin/python -m pytest -q clients/python/tests

echo "== c++ client"
make -s cpp >/dev/null
out="$(CANOPY_TOKEN="$TOKEN" .cache/cpp-build/canopy-cpp-flavors "$GRPC")"
grep -q m1.tiny <<<"$out" || { echo "canopy-cpp-flavors did not list m1.tiny:"; echo "$out"; exit 1; }
echo "canopy-cpp-flavors listed $(wc -l <<<"$out") lines including m1.tiny"
