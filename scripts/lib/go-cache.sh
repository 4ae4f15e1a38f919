# Sourced by scripts/build-vault.sh and scripts/build-compose-v2.sh: a Go build cached under $CACHE_ROOT.
# The caller defines log() and die() and sets CACHE_ROOT (absolute) before calling go_cache_begin.

# go_cache_begin NAME BIN
#   When BIN is built (also by a concurrent run we waited for), prints its path and exits the script.
#   Otherwise holds the lock for NAME, sets GO and exports a Go environment whose module and build caches live in
#   CACHE_ROOT (shared between the builds), so a re-run after deleting BIN rebuilds in seconds.
go_cache_begin() {
  local name=$1 bin=$2
  if [ -x "$bin" ]; then log "cached: $bin"; printf '%s\n' "$bin"; exit 0; fi
  mkdir -p "$CACHE_ROOT" "$(dirname "$bin")" "$CACHE_ROOT/src"
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$CACHE_ROOT/.build-$name.lock"
    log "acquiring lock $CACHE_ROOT/.build-$name.lock"
    flock 9
    if [ -x "$bin" ]; then log "cached: $bin (built by a concurrent run)"; printf '%s\n' "$bin"; exit 0; fi
  fi
  GO="$(command -v go 2>/dev/null || true)"
  [ -n "$GO" ] || { [ -x /usr/local/go/bin/go ] && GO=/usr/local/go/bin/go; } || true
  [ -n "$GO" ] || die "no 'go' found on PATH or at /usr/local/go/bin/go; install Go (Debian: golang)"
  export GOMODCACHE="$CACHE_ROOT/gomod" GOCACHE="$CACHE_ROOT/gocache"
  export GOFLAGS="-buildvcs=false" GOWORK=off CGO_ENABLED=0 GO111MODULE=on
  mkdir -p "$GOMODCACHE" "$GOCACHE"
}
