#!/bin/sh
# Mirrors the official images' entrypoint where it matters for vault-setup:
# starts as root, chowns config/logs/file (never data/) unless SKIP_CHOWN, disables core dumps,
# then drops to the service user (uid 100) and execs the server.
set -e
. /etc/image-layout   # BIN, USER_NAME, HOME_DIR, ENV_PREFIX

ulimit -c 0

# The official Vault image also runs `setcap cap_ipc_lock=+ep` on the binary unless SKIP_SETCAP, so the server can
# mlock when the container has IPC_LOCK. busybox has no setcap: like an official container started without
# IPC_LOCK, this image cannot mlock, so its config must say `disable_mlock = true` (vault-setup always does for
# Vault; OpenBao has no mlock at all).

# `docker run image version` runs the binary's subcommand, as the official entrypoint does.
if [ "${1#-}" != "$1" ] || "$BIN" --help "$1" >/dev/null 2>&1; then
  set -- "$BIN" "$@"
fi

if [ "$1" = "$BIN" ] && [ "$2" = "server" ]; then
  if [ -z "$SKIP_CHOWN" ] && [ "$(id -u)" = "0" ]; then
    for d in config logs file; do
      if [ "$(stat -c %u "$HOME_DIR/$d" 2>/dev/null || echo 100)" != "100" ]; then
        chown -R "$USER_NAME:$USER_NAME" "$HOME_DIR/$d" 2>/dev/null || echo "Could not chown $HOME_DIR/$d (may be read-only or not owned by root)" >&2
      fi
    done
  fi
  if [ "$(id -u)" = "0" ]; then
    bin=$(command -v "$1"); shift
    # busybox has no su-exec; start-stop-daemon without -b sets uid/gid and execs in place (PID 1 stays the server).
    exec start-stop-daemon -S -c "$USER_NAME:$USER_NAME" -x "$bin" -- "$@"
  fi
fi
exec "$@"
