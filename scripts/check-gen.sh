#!/usr/bin/env bash
# Fails when the checked-in gen/ does not match what the protos generate —
# `make check-gen`, run by CI. Regenerates in place, then asks git.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

scripts/gen.sh

status="$(git status --porcelain --untracked-files=all -- gen/)"
if [[ -n "$status" ]]; then
  {
    echo
    echo "check-gen: FAILED — gen/ is stale: it differs from what proto/ generates."
    echo "Run 'make gen' and commit gen/. Changed/untracked files:"
    echo "$status" | sed 's/^/  /'
    echo
    git --no-pager diff --stat -- gen/ || true
  } >&2
  exit 1
fi
echo "check-gen: gen/ is up to date"
