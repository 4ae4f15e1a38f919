#!/usr/bin/env bash
# Provides a Docker Engine and compose: reuses a running engine; otherwise installs Debian's docker.io and
# docker-compose (when missing) and starts dockerd, then waits for the socket.
set -euo pipefail
log() { echo "ensure-docker: $*" >&2; }
if docker info >/dev/null 2>&1; then
  log "reusing the running engine ($(docker version -f '{{.Server.Version}}' 2>/dev/null))"
else
  if ! command -v dockerd >/dev/null || ! { docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null; }; then
    [ "$(id -u)" = 0 ] || { log "no Docker Engine and not root: install Docker, or run this as root"; exit 1; }
    log "installing docker.io and docker-compose from Debian"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq docker.io docker-compose >&2
  fi
  [ "$(id -u)" = 0 ] || { log "dockerd is installed but not running: start it (systemctl start docker)"; exit 1; }
  log "starting dockerd (log: /var/log/dockerd.log)"
  nohup dockerd >/var/log/dockerd.log 2>&1 &
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || { log "dockerd did not come up in 60 s; last log lines:"; tail -20 /var/log/dockerd.log >&2; exit 1; }
  log "engine up ($(docker version -f '{{.Server.Version}}'))"
fi
if docker compose version >/dev/null 2>&1; then log "compose v2: $(docker compose version --short)";
elif command -v docker-compose >/dev/null; then log "compose v1: $(docker-compose version --short)";
else log "no compose found (docker compose or docker-compose)"; exit 1; fi
