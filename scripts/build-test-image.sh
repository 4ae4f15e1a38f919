#!/usr/bin/env bash
# Builds a local test image (no registry) from a server binary.
#   build-test-image.sh LAYOUT BINARY TAG      LAYOUT: openbao | vault
# openbao layout: /openbao/{config,logs,file,data}, /bin/bao (+ vault link), user openbao
# vault layout:   /vault/{config,logs,file,data},   /bin/vault,              user vault
# uid 100 / gid 1000 in both, as in the official images.
set -euo pipefail
layout=$1 binary=$2 tag=$3
root=$(cd "$(dirname "$0")/.." && pwd)
[ -x "$binary" ] || { echo "build-test-image: no executable server binary at $binary" >&2; exit 1; }
busybox=/bin/busybox
file -L "$busybox" 2>/dev/null | grep -q 'statically linked' || {
  echo "build-test-image: $busybox is not static: apt-get install busybox-static" >&2; exit 1; }
case "$layout" in
  openbao) bin=bao user=openbao home=/openbao prefix=BAO ;;
  vault)   bin=vault user=vault home=/vault prefix=VAULT ;;
  *) echo "build-test-image: layout must be openbao or vault" >&2; exit 2 ;;
esac
ctx=$(mktemp -d); trap 'rm -rf "$ctx"' EXIT
rf=$ctx/rootfs
mkdir -p "$rf"/{bin,usr/bin,etc,tmp,root} "$rf$home"/{config,logs,file,data}
cp "$busybox" "$rf/bin/busybox"
for a in $("$busybox" --list); do [ "$a" = busybox ] || ln -sf busybox "$rf/bin/$a"; done
cp "$binary" "$rf/bin/$bin"
[ "$bin" = bao ] && ln -sf bao "$rf/bin/vault"
# Libraries the binary needs, if it is not static.
if ldd "$binary" >/dev/null 2>&1; then
  ldd "$binary" | grep -oE '/[^ ]+' | while read -r lib; do mkdir -p "$rf$(dirname "$lib")"; cp -L "$lib" "$rf$lib"; done
fi
cp "$root/test/images/docker-entrypoint.sh" "$rf/bin/docker-entrypoint.sh"
chmod 755 "$rf/bin/docker-entrypoint.sh"
printf 'BIN=%s\nUSER_NAME=%s\nHOME_DIR=%s\nENV_PREFIX=%s\n' "$bin" "$user" "$home" "$prefix" > "$rf/etc/image-layout"
printf 'root:x:0:0:root:/root:/bin/sh\n%s:x:100:1000:%s:%s:/bin/sh\n' "$user" "$user" "$home" > "$rf/etc/passwd"
printf 'root:x:0:\n%s:x:1000:%s\n' "$user" "$user" > "$rf/etc/group"
chmod 1777 "$rf/tmp"
# Like the official images: config/logs/file owned by the service user, data/ by root until someone fixes it.
chown -R 100:1000 "$rf$home"/{config,logs,file}
cp "$root/test/images/Dockerfile" "$ctx/Dockerfile"
DOCKER_BUILDKIT=0 docker build -q --build-arg LAYOUT="$layout" --build-arg BIN="$bin" \
  --label org.vault-setup.test-image=1 --label org.vault-setup.layout="$layout" -t "$tag" "$ctx" >&2
echo "$tag"
