#!/usr/bin/env bash
# Diffs every command's --help between two revisions: `scripts/help-diff.sh OLD [NEW]` (NEW: the working tree).
# Each revision is built in a temporary worktree with this checkout's node_modules; a command that only one of the
# two has is listed, not diffed. Exit 0 when the texts are the same, 1 when they differ.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
old=${1:?usage: scripts/help-diff.sh OLD [NEW]}
new=${2:-}
node_bin=$("$root/scripts/ensure-node.sh")
export PATH="$node_bin:$PATH"
work=$(mktemp -d)
trap 'for w in "$work"/tree-*; do [ -d "$w" ] && git -C "$root" worktree remove --force "$w" >/dev/null 2>&1; done; rm -rf "$work"' EXIT

build() { # REV|"" -> the checkout's path, built
  local rev=$1 dir
  if [ -z "$rev" ]; then dir=$root; else
    dir="$work/tree-$(git -C "$root" rev-parse --short "$rev")"
    git -C "$root" worktree add -q --detach "$dir" "$rev"
    ln -s "$root/node_modules" "$dir/node_modules"
  fi
  (cd "$dir" && npx tsc -p tsconfig.build.json >&2)
  echo "$dir"
}

capture() { # checkout out-dir
  local dir=$1 out=$2
  mkdir -p "$out"
  node "$dir/bin/vault-setup.js" --help > "$out/vault-setup.txt" 2>&1 || true
  for c in $(sed -n 's/^  \([a-z-]*\)  .*/\1/p' "$out/vault-setup.txt"); do
    node "$dir/bin/vault-setup.js" "$c" --help > "$out/$c.txt" 2>&1 || true
  done
}

capture "$(build "$old")" "$work/old"
capture "$(build "$new")" "$work/new"
status=0
for f in "$work"/old/*.txt; do
  n=$(basename "$f")
  if [ ! -f "$work/new/$n" ]; then echo "only in $old: ${n%.txt}"; continue; fi
  [ "$n" = vault-setup.txt ] && continue
  diff -u --label "$old ${n%.txt} --help" --label "${new:-working tree} ${n%.txt} --help" "$f" "$work/new/$n" || status=1
done
for f in "$work"/new/*.txt; do [ -f "$work/old/$(basename "$f")" ] || echo "only in ${new:-working tree}: $(basename "$f" .txt)"; done
exit $status
