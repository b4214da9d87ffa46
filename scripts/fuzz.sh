#!/usr/bin/env bash
# make fuzz: every Go native fuzz target in the module, one at a time, each
# for CANOPY_FUZZTIME (default 10m), failing on the first crash. `make
# test` runs only the targets' seed corpora (plain `go test`); this is the
# long run. A crash leaves its input in the package's testdata/fuzz/<Target>/
# (commit it with the fix: it becomes a seed).
#
#   CANOPY_FUZZTIME=30s scripts/fuzz.sh            # every target, 30s each
#   scripts/fuzz.sh ./server/ FuzzCheckJSON        # one package, one target
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
fuzztime="${CANOPY_FUZZTIME:-10m}"
pkgs="${1:-./...}"
only="${2:-}"

# `go test -list` prints a package's matching tests, then "ok  <pkg> …".
mapfile -t targets < <(go test -list '^Fuzz' $pkgs | awk '
	/^Fuzz/ { names[++n] = $1; next }
	/^ok / { for (i = 1; i <= n; i++) print $2 " " names[i]; n = 0 }')
if ((${#targets[@]} == 0)); then
	echo "fuzz: no Fuzz targets found in $pkgs" >&2
	exit 1
fi
echo "fuzz: ${#targets[@]} targets, $fuzztime each"
failed=()
start=$SECONDS
for t in "${targets[@]}"; do
	read -r pkg name <<<"$t"
	[[ -n "$only" && "$name" != "$only" ]] && continue
	printf '\n==== %s %s (%s)\n' "$pkg" "$name" "$(date +%T)"
	log="$(mktemp)"
	if go test "$pkg" -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" >"$log" 2>&1; then
		grep -E '^fuzz: elapsed' "$log" | tail -n 1 || true
		echo "ok"
	else
		cat "$log"
		failed+=("$pkg $name")
	fi
	rm -f "$log"
done
printf '\nfuzz: %d targets in %ds' "${#targets[@]}" $((SECONDS - start))
if ((${#failed[@]} > 0)); then
	printf ', %d failed:\n' "${#failed[@]}"
	printf '  %s\n' "${failed[@]}"
	exit 1
fi
printf ', no crash\n'
