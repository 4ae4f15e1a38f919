#!/usr/bin/env bash
# Build the HashiCorp Vault server binary from its Go source module, with caching.
#
# Usage: scripts/build-vault.sh [VERSION]   (default 1.17.6; e.g. 1.21.4)
#   Prints the absolute path of the vault binary as the LAST line on stdout.
#   All progress goes to stderr. Idempotent: if the binary is already cached,
#   it prints the path and exits immediately.
#
# Environment:
#   VAULT_SETUP_CACHE  cache root (default: $HOME/.cache/vault-setup)
#   GOPROXY etc.       honoured as configured in the environment
#
# Cache layout (all under $VAULT_SETUP_CACHE):
#   vault-<version>/vault      the built binary
#   gomod/                     GOMODCACHE (sources, incl. the Go toolchain) - read-only
#                              files; remove with `GOMODCACHE=... go clean -modcache`
#                              or `chmod -R u+w` before `rm -rf`
#   gocache/                   GOCACHE (compiled packages)
#   src/vault-<version>/       writable copy of the source module with patched replaces
#
# Patches: scripts/patches/vault-<version>/*.patch (if any) are applied in name order with
# `patch -p1` at the root of that copy, in the layout of the Vault repository (`vault/...`
# for the main module, `sdk/...` for the nested sdk module, ...). A nested module that a
# patch touches is copied (writable) to its in-repo path, so go.mod's own local replace
# (e.g. `=> ./sdk`) is kept and points at the patched copy; the other nested modules are
# replaced with their read-only tagged versions in $GOMODCACHE.
set -euo pipefail

# ---- versions ----------------------------------------------------------------
# 1.17.6 is the newest 1.17 patch published as open source (1.17.7+ are
# enterprise-only and not served by the Go module proxy). 1.21.4 is the default
# image's release line (hashicorp/vault:1.21).
VAULT_VERSION="${1:-1.17.6}"
case "$VAULT_VERSION" in
  *[!0-9.]*|"") printf '[build-vault] ERROR: not a version: %s\n' "$VAULT_VERSION" >&2; exit 2 ;;
esac
# Metadata of the official release, so `vault version` matches it; for other versions it is taken from the
# module proxy's record of the tag (commit hash and time).
VAULT_GIT_COMMIT=""
VAULT_BUILD_DATE=""
if [ "$VAULT_VERSION" = 1.17.6 ]; then
  VAULT_GIT_COMMIT=69a720d5d940bfcd590d7c24f3c98f178673d796
  VAULT_BUILD_DATE=2024-09-24T19:48:40Z
fi
VAULT_MODULE=github.com/hashicorp/vault
PATCH_DIR="$(cd "$(dirname "$0")" && pwd -P)/patches/vault-$VAULT_VERSION"
# ------------------------------------------------------------------------------

log() { printf '[build-vault] %s\n' "$*" >&2; }
die() { printf '[build-vault] ERROR: %s\n' "$*" >&2; exit 1; }
set -o errtrace
trap 'printf "[build-vault] ERROR: command failed (exit %s) at %s line %s: %s\n" "$?" "${BASH_SOURCE[0]}" "$LINENO" "$BASH_COMMAND" >&2' ERR

CACHE_ROOT="${VAULT_SETUP_CACHE:-${HOME:?HOME is not set}/.cache/vault-setup}"
BIN_DIR="$CACHE_ROOT/vault-$VAULT_VERSION"
BIN="$BIN_DIR/vault"

mkdir -p "$CACHE_ROOT"
CACHE_ROOT="$(cd "$CACHE_ROOT" && pwd -P)"
BIN_DIR="$CACHE_ROOT/vault-$VAULT_VERSION"
BIN="$BIN_DIR/vault"
# shellcheck source=lib/go-cache.sh
. "$(dirname "$0")/lib/go-cache.sh"
go_cache_begin "vault-$VAULT_VERSION" "$BIN"

# `go mod download -json` -> value of "Dir" (fails loudly on "Error").
mod_dir() {
  local out dir
  out="$(cd "$CACHE_ROOT" && GOTOOLCHAIN=local "$GO" mod download -json "$1" 2>&1)" \
    || die "go mod download $1 failed:"$'\n'"$out"
  if printf '%s\n' "$out" | grep -q '"Error"'; then
    die "go mod download $1 failed:"$'\n'"$out"
  fi
  dir="$(printf '%s\n' "$out" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p' | head -n1)"
  [ -n "$dir" ] && [ -d "$dir" ] || die "go mod download $1 gave no module directory:"$'\n'"$out"
  printf '%s\n' "$dir"
}

# ---- source: download + writable copy with patched replace directives ---------
SRC="$CACHE_ROOT/src/vault-$VAULT_VERSION"
PATCHES=()
if [ -d "$PATCH_DIR" ]; then mapfile -t PATCHES < <(find "$PATCH_DIR" -maxdepth 1 -type f -name '*.patch' | LC_ALL=C sort); fi
# The marker records the cache root, because the patched replaces are absolute paths
# into $GOMODCACHE: if the cache dir was moved, prepare the copy again. With patches it
# also records their checksum, so an edited patch prepares the copy again.
PREPARED="$CACHE_ROOT"
if [ "${#PATCHES[@]}" -gt 0 ]; then
  command -v patch >/dev/null 2>&1 || die "the 'patch' command is needed for $PATCH_DIR (Debian: patch)"
  PREPARED="$CACHE_ROOT patches:$(cat "${PATCHES[@]}" | sha256sum | cut -c1-16)"
fi
if [ "$(cat "$SRC/.vault-setup-prepared" 2>/dev/null || true)" != "$PREPARED" ]; then
  log "downloading $VAULT_MODULE@v$VAULT_VERSION (go $("$GO" env GOVERSION))"
  MOD_SRC="$(mod_dir "$VAULT_MODULE@v$VAULT_VERSION")"
  mkdir -p "$CACHE_ROOT/src"
  TMP_SRC="$(mktemp -d "$CACHE_ROOT/src/.vault-$VAULT_VERSION.XXXXXX")"
  cp -R "$MOD_SRC/." "$TMP_SRC/"
  chmod -R u+w "$TMP_SRC"

  # Local-path replaces (e.g. `replace github.com/hashicorp/vault/api => ./api`)
  # point at nested modules that are not in the module zip. Print "module version path"
  # for each, taking the version from the require lines.
  mapfile -t LOCAL_REPLACES < <(awk '
    function strip(s) { sub(/\/\/.*/, "", s); return s }
    { line = strip($0) }
    /^replace[ \t]*\($/ { inrep = 1; next }
    /^require[ \t]*\($/ { inreq = 1; next }
    /^\)/ { inrep = 0; inreq = 0; next }
    {
      n = split(line, f, /[ \t]+/); j = 0
      for (i = 1; i <= n; i++) if (f[i] != "") w[++j] = f[i]
      if (j == 0) next
      if (w[1] == "replace") { for (i = 1; i < j; i++) w[i] = w[i+1]; j-- ; rep = 1 }
      else if (w[1] == "require") { for (i = 1; i < j; i++) w[i] = w[i+1]; j-- ; req = 1 }
      else { rep = inrep; req = inreq }
      if (rep && j == 3 && w[2] == "=>" && w[3] ~ /^\.\.?(\/|$)/) local_[w[1]] = w[3]
      if (rep && j == 4 && w[3] == "=>" && w[4] ~ /^\.\.?(\/|$)/) local_[w[1]] = w[4]
      if (req && j >= 2 && w[2] ~ /^v/) ver[w[1]] = w[2]
      rep = 0; req = 0
    }
    END { for (m in local_) print m, (m in ver ? ver[m] : "-"), local_[m] }
  ' "$TMP_SRC/go.mod" | sort)

  for entry in "${LOCAL_REPLACES[@]}"; do
    read -r mod ver lpath <<<"$entry"
    [ "$ver" != "-" ] \
      || die "go.mod replaces $mod with a local path but does not require a version of it"
    dir="$(mod_dir "$mod@$ver")"
    rel="${lpath#./}"; rel="${rel%/}"
    if [ "${#PATCHES[@]}" -gt 0 ] && [ "${rel#../}" = "$rel" ] \
       && grep -q -E "^\+\+\+ [^/[:space:]]+/$rel/" "${PATCHES[@]}"; then
      # Patched below: a writable copy at the path of go.mod's own replace, which stays.
      log "nested module $mod@$ver -> writable copy at $lpath (patched)"
      mkdir -p "$TMP_SRC/$rel"
      cp -R "$dir/." "$TMP_SRC/$rel/"
      chmod -R u+w "$TMP_SRC/$rel"
    else
      log "nested module $mod@$ver (replace => local path absent from the module zip)"
      (cd "$TMP_SRC" && GOTOOLCHAIN=local "$GO" mod edit -replace "$mod=$dir") \
        || die "go mod edit -replace $mod=$dir failed"
    fi
  done
  [ "${#LOCAL_REPLACES[@]}" -gt 0 ] || log "note: no local-path replace directives found"

  for p in "${PATCHES[@]}"; do
    log "applying patch ${p#"$(dirname "$PATCH_DIR")"/}"
    out="$(cd "$TMP_SRC" && patch -p1 --forward --batch --no-backup-if-mismatch < "$p" 2>&1)" \
      || die "patch $p failed:"$'\n'"$out"
  done

  printf '%s\n' "$PREPARED" > "$TMP_SRC/.vault-setup-prepared"
  rm -rf "$SRC"
  mv "$TMP_SRC" "$SRC"
else
  log "reusing prepared source $SRC"
fi

# Commit and date of the tag, from the module proxy's record (the .info file named by
# `go mod download -json`: {"Version","Time"[,"Origin":{..."Hash"...}]}), when they are not
# pinned above. The proxy's record of v1.21.4 has a time but no commit.
if [ -z "$VAULT_GIT_COMMIT" ]; then
  DL="$(cd "$CACHE_ROOT" && GOTOOLCHAIN=local "$GO" mod download -json "$VAULT_MODULE@v$VAULT_VERSION" 2>/dev/null || true)"
  INFO_FILE="$(printf '%s\n' "$DL" | sed -n 's/^[[:space:]]*"Info": "\(.*\)",\{0,1\}$/\1/p' | head -n1)"
  INFO="$( { [ -n "$INFO_FILE" ] && cat "$INFO_FILE"; } 2>/dev/null || true)"
  VAULT_GIT_COMMIT="$(printf '%s\n' "$INFO" | grep -o '"Hash": *"[0-9a-f]\{40\}"' | grep -o '[0-9a-f]\{40\}' | head -n1 || true)"
  VAULT_BUILD_DATE="$(printf '%s\n' "$INFO" | grep -o '"Time": *"[^"]*"' | sed 's/.*"\([^"]*\)"$/\1/' | head -n1 || true)"
  log "release metadata from the module proxy: commit ${VAULT_GIT_COMMIT:-unknown}, date ${VAULT_BUILD_DATE:-unknown}"
fi

# ---- toolchain: what the source asks for ----------------------------------------
# Vault pins its release toolchain in .go-version (1.22.7 for 1.17.6); go.mod only
# has a minimum `go` line. Prefer .go-version, then `toolchain`, then `go`.
GO_WANT=""
[ -f "$SRC/.go-version" ] && GO_WANT="$(tr -d ' \t\r\n' < "$SRC/.go-version")"
[ -n "$GO_WANT" ] || GO_WANT="$(awk '$1=="toolchain"{sub(/^go/,"",$2); print $2; exit}' "$SRC/go.mod")"
[ -n "$GO_WANT" ] || GO_WANT="$(awk '$1=="go"{print $2; exit}' "$SRC/go.mod")"
[ -n "$GO_WANT" ] || die "cannot determine the Go version wanted by $SRC"
export GOTOOLCHAIN="go$GO_WANT"
log "using GOTOOLCHAIN=$GOTOOLCHAIN (fetched through the module proxy on first use)"
GOERR="$(mktemp)"
GOVER="$(cd "$SRC" && "$GO" env GOVERSION 2>"$GOERR")" \
  || die "cannot get Go toolchain $GOTOOLCHAIN:"$'\n'"$(cat "$GOERR")"
cat "$GOERR" >&2; rm -f "$GOERR"
[ "$GOVER" = "$GOTOOLCHAIN" ] || die "expected $GOTOOLCHAIN but go reports '$GOVER'"

# ---- build ------------------------------------------------------------------------
# No `ui` tag: the web UI is stubbed out (http/assets_stub.go). Symbols stripped.
LDFLAGS="-s -w${VAULT_GIT_COMMIT:+ -X $VAULT_MODULE/version.GitCommit=$VAULT_GIT_COMMIT}${VAULT_BUILD_DATE:+ -X $VAULT_MODULE/version.BuildDate=$VAULT_BUILD_DATE}"
TMP_BIN="$BIN_DIR/.vault.tmp.$$"
log "go mod download (all dependencies)"
(cd "$SRC" && "$GO" mod download) >&2 || die "go mod download in $SRC failed"
log "building vault $VAULT_VERSION with $GOVER (CGO_ENABLED=0); a cold build takes several minutes"
start=$(date +%s)
# -mod=mod: the tagged nested modules differ slightly from the in-tree ones of the
# release (e.g. sdk v0.13.0 for 1.17.6 still imports github.com/google/tink/go), so
# go.mod/go.sum of the copy may need extra requirements; let the go command add them.
(cd "$SRC" && "$GO" build -mod=mod -trimpath -ldflags "$LDFLAGS" -o "$TMP_BIN" .) >&2 \
  || { rm -f "$TMP_BIN"; die "go build failed in $SRC"; }
log "built in $(( $(date +%s) - start ))s"

# ---- verify -----------------------------------------------------------------------
VOUT="$("$TMP_BIN" version 2>&1)" || { rm -f "$TMP_BIN"; die "'vault version' failed: $VOUT"; }
case "$VOUT" in
  # "Vault v1.17.6 (<commit>), built <date>", or without a commit "Vault v1.21.4, built <date>"
  "Vault v$VAULT_VERSION "*|"Vault v$VAULT_VERSION,"*|"Vault v$VAULT_VERSION") log "$VOUT" ;;
  *) rm -f "$TMP_BIN"; die "unexpected 'vault version' output: $VOUT" ;;
esac
mv -f "$TMP_BIN" "$BIN"
printf '%s\n' "$BIN"
