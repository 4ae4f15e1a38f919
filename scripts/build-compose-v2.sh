#!/usr/bin/env bash
# Build the Docker Compose v2 CLI plugin from its Go source module, with caching, so the tests can cover
# vault-setup's `docker compose` path on hosts that only have compose v1. It is NOT installed anywhere: a test
# points the docker CLI at it with a private DOCKER_CONFIG dir holding cli-plugins/docker-compose.
#
# Usage: scripts/build-compose-v2.sh
#   Prints the absolute path of the plugin binary as the LAST line on stdout; progress goes to stderr.
#   Idempotent: a cached binary is printed at once.
#
# Environment:
#   VAULT_SETUP_CACHE  cache root (default: $HOME/.cache/vault-setup)
#   GOPROXY etc.       honoured as configured in the environment
#
# Cache layout (under $VAULT_SETUP_CACHE, shared with scripts/build-vault.sh):
#   compose-v2-<version>/docker-compose   the built plugin
#   gomod/ gocache/                       GOMODCACHE / GOCACHE
#   src/compose-v2-<version>/             writable copy of the source module
set -euo pipefail

# v2.40.3 is the last v2 release (compose continues as module .../v5). It still talks to Docker 20.10 (API 1.41).
COMPOSE_VERSION=2.40.3
COMPOSE_MODULE=github.com/docker/compose/v2

log() { printf '[build-compose-v2] %s\n' "$*" >&2; }
die() { printf '[build-compose-v2] ERROR: %s\n' "$*" >&2; exit 1; }

CACHE_ROOT="${VAULT_SETUP_CACHE:-${HOME:?HOME is not set}/.cache/vault-setup}"
mkdir -p "$CACHE_ROOT"
CACHE_ROOT="$(cd "$CACHE_ROOT" && pwd -P)"
BIN_DIR="$CACHE_ROOT/compose-v2-$COMPOSE_VERSION"
BIN="$BIN_DIR/docker-compose"

# shellcheck source=lib/go-cache.sh
. "$(dirname "$0")/lib/go-cache.sh"
go_cache_begin compose-v2 "$BIN"

# `go install <module>/cmd@version` refuses this module (its go.mod has `exclude` directives), so build from a
# writable copy of the module source, where the go.mod counts as the main module.
SRC="$CACHE_ROOT/src/compose-v2-$COMPOSE_VERSION"
if [ ! -f "$SRC/.vault-setup-prepared" ]; then
  log "downloading $COMPOSE_MODULE@v$COMPOSE_VERSION (go $("$GO" env GOVERSION))"
  out="$(cd "$CACHE_ROOT" && "$GO" mod download -json "$COMPOSE_MODULE@v$COMPOSE_VERSION" 2>&1)" \
    || die "go mod download failed:"$'\n'"$out"
  ! printf '%s\n' "$out" | grep -q '"Error"' || die "go mod download failed:"$'\n'"$out"
  mod="$(printf '%s\n' "$out" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p' | head -n1)"
  [ -n "$mod" ] && [ -d "$mod" ] || die "go mod download gave no module directory:"$'\n'"$out"
  tmp="$(mktemp -d "$CACHE_ROOT/src/.compose-v2-$COMPOSE_VERSION.XXXXXX")"
  cp -R "$mod/." "$tmp/"
  chmod -R u+w "$tmp"
  touch "$tmp/.vault-setup-prepared"
  rm -rf "$SRC"
  mv "$tmp" "$SRC"
fi

TMP_BIN="$BIN_DIR/.docker-compose.tmp.$$"
log "building compose v$COMPOSE_VERSION (a cold build downloads ~150 modules and takes about 2 minutes)"
start=$(date +%s)
(cd "$SRC" && "$GO" build -mod=mod -trimpath \
  -ldflags "-s -w -X $COMPOSE_MODULE/internal.Version=v$COMPOSE_VERSION" -o "$TMP_BIN" ./cmd) >&2 \
  || { rm -f "$TMP_BIN"; die "go build failed in $SRC"; }
log "built in $(( $(date +%s) - start ))s"

VOUT="$("$TMP_BIN" version 2>&1)" || { rm -f "$TMP_BIN"; die "'docker-compose version' failed: $VOUT"; }
[ "$VOUT" = "Docker Compose version v$COMPOSE_VERSION" ] || { rm -f "$TMP_BIN"; die "unexpected version output: $VOUT"; }
log "$VOUT"
mv -f "$TMP_BIN" "$BIN"
printf '%s\n' "$BIN"
