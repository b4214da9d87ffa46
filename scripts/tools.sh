#!/usr/bin/env bash
# Installs every tool the code generation and the tests need, idempotently.
#
#   Go tools      -> .tools/bin (GOBIN), one version stamp per tool in
#                    .tools/bin/.stamps; rebuilt only when the pin changes;
#                    binaries cached in ~/.cache/canopy-tools across checkouts
#   Debian pkgs   -> protoc, grpc_cpp_plugin, C++ libs
#   Python        -> .venv (made with the python3 on PATH, pyenv's here),
#                    pins from clients/python/requirements.txt: the tools
#                    that build and test the Python client (the client
#                    itself is installed into a clean venv by
#                    scripts/test-clients.sh)
#
# Fast path (everything present): well under a second, no network.
# Pins live here (Go tools not in go.mod) and in go.mod (protoc-gen-go and the
# grpc-gateway plugins follow the runtime versions the generated code uses).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

BUF_VERSION=v1.75.0
PROTOC_GEN_GO_GRPC_VERSION=v1.6.2

# qemu-utils: qemu-img, which image replication (package replicate) converts
# disk formats with.
APT_PACKAGES=(protobuf-compiler protobuf-compiler-grpc libprotobuf-dev libgrpc++-dev pkg-config qemu-utils)

TOOLS_BIN="$ROOT/.tools/bin"
STAMPS="$TOOLS_BIN/.stamps"
VENV="$ROOT/.venv"
REQS="$ROOT/clients/python/requirements.txt"
# Built binaries are also kept outside the work tree, keyed by package@version,
# so a fresh checkout on the same machine copies them instead of rebuilding
# (buf alone takes ~4-5 min to build from a cold Go cache).
BIN_CACHE="${CANOPY_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/canopy-tools}"

log() { printf 'tools: %s\n' "$*" >&2; }

# Version of a module required by go.mod (block or single-line require).
gomod_version() {
  awk -v m="$1" '
    $1 == "require" { $1 = ""; $0 = $0 }
    $1 == m && $2 ~ /^v/ { print $2; exit }' go.mod
}

PROTOBUF_VERSION="$(gomod_version google.golang.org/protobuf)"
GATEWAY_VERSION="$(gomod_version github.com/grpc-ecosystem/grpc-gateway/v2)"
if [[ -z "$PROTOBUF_VERSION" || -z "$GATEWAY_VERSION" ]]; then
  log "go.mod must require google.golang.org/protobuf and github.com/grpc-ecosystem/grpc-gateway/v2"
  exit 1
fi

# name|package@version
GO_TOOLS=(
  "buf|github.com/bufbuild/buf/cmd/buf@$BUF_VERSION"
  "protoc-gen-go|google.golang.org/protobuf/cmd/protoc-gen-go@$PROTOBUF_VERSION"
  "protoc-gen-go-grpc|google.golang.org/grpc/cmd/protoc-gen-go-grpc@$PROTOC_GEN_GO_GRPC_VERSION"
  "protoc-gen-grpc-gateway|github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-grpc-gateway@$GATEWAY_VERSION"
  "protoc-gen-openapiv2|github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-openapiv2@$GATEWAY_VERSION"
)

go_tool_ok() { # name want
  [[ -x "$TOOLS_BIN/$1" && -f "$STAMPS/$1" && "$(<"$STAMPS/$1")" == "$2" ]]
}

missing_go_tools() {
  local t
  for t in "${GO_TOOLS[@]}"; do
    go_tool_ok "${t%%|*}" "${t#*|}" || echo "$t"
  done
}

missing_apt_packages() {
  local p
  for p in "${APT_PACKAGES[@]}"; do
    [[ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null)" == ii* ]] || echo "$p"
  done
}

venv_ok() {
  [[ -x "$VENV/bin/python" && -f "$VENV/.requirements.txt" ]] && cmp -s "$REQS" "$VENV/.requirements.txt"
}

# buf_from_npm fetches the official buf binary that the npm registry ships
# (@bufbuild/buf-linux-x64) instead of building it from source (~4-5 min on
# 2 cores). Falls back to go install when npm or the package is unavailable.
buf_from_npm() {
  local version="$1" tmp
  [[ "$(uname -s)-$(uname -m)" == Linux-x86_64 ]] && command -v npm >/dev/null || return 1
  tmp="$(mktemp -d)"
  if (cd "$tmp" && npm pack --silent "@bufbuild/buf-linux-x64@$version" >/dev/null 2>&1) &&
     tar -xzf "$tmp"/bufbuild-buf-linux-x64-*.tgz -C "$tmp" package/bin/buf &&
     "$tmp/package/bin/buf" --version >/dev/null 2>&1; then
    mv -f "$tmp/package/bin/buf" "$TOOLS_BIN/buf"
    rm -rf "$tmp"
    return 0
  fi
  rm -rf "$tmp"
  return 1
}

# ---- fast path -------------------------------------------------------------
need_go="$(missing_go_tools)"
need_apt="$(missing_apt_packages)"
if [[ -z "$need_go" && -z "$need_apt" ]] && venv_ok; then
  exit 0
fi

# ---- slow path (serialised: several make targets may run this at once) ------
mkdir -p "$STAMPS"
exec 9>"$ROOT/.tools/.lock"
flock 9
need_go="$(missing_go_tools)"
need_apt="$(missing_apt_packages)"

if [[ -n "$need_apt" ]]; then
  # shellcheck disable=SC2206
  pkgs=($need_apt)
  SUDO=()
  [[ "$(id -u)" == 0 ]] || SUDO=(sudo)
  APT=("${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900)
  log "apt: installing ${pkgs[*]}"
  # Another engineer may be running apt: the lock timeout waits for them; the
  # retry covers apt-get update's list lock on older apts.
  for i in 1 2 3 4 5; do
    "${APT[@]}" -qq update && break
    log "apt-get update failed (attempt $i), retrying in 20s"; sleep 20
  done
  "${APT[@]}" -y -qq install --no-install-recommends "${pkgs[@]}"
fi

if [[ -n "$need_go" ]]; then
  while IFS= read -r t; do
    name="${t%%|*}"; pkg="${t#*|}"
    cached="$BIN_CACHE/${pkg//\//_}"
    if [[ -x "$cached" ]]; then
      log "$name: from $cached"
      cp "$cached" "$TOOLS_BIN/$name.tmp" && mv -f "$TOOLS_BIN/$name.tmp" "$TOOLS_BIN/$name"
    elif [[ "$name" == buf ]] && buf_from_npm "${BUF_VERSION#v}"; then
      log "buf: from the npm registry's @bufbuild/buf-linux-x64@${BUF_VERSION#v}"
    else
      log "go install $pkg"
      start=$SECONDS
      GOBIN="$TOOLS_BIN" go install "$pkg"
      log "  $name done in $((SECONDS - start))s"
      mkdir -p "$BIN_CACHE"
      cp "$TOOLS_BIN/$name" "$cached.tmp.$$" && mv -f "$cached.tmp.$$" "$cached" || true
    fi
    printf '%s\n' "$pkg" >"$STAMPS/$name"
  done <<<"$need_go"
fi

if ! venv_ok; then
  log "python: creating $VENV from $(command -v python3) ($(python3 --version 2>&1))"
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$REQS"
  cp "$REQS" "$VENV/.requirements.txt"
fi

log "all tools present"
