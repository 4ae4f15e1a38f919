"""An agent that reads its secrets from Vault/OpenBao with AppRole, as `vault-setup agent add` sets it up.

The pattern: unwrap the secret_id once, log in, read only its own paths, keep secrets in memory only,
renew the token, and fail closed: no secret, no work (never a fallback key).
    pip install hvac          python agent.py [--once]
    VAULT_ADDR                https://127.0.0.1:8200   (VAULT_CACERT=~/docker/vault/ca.crt with TLS); a cluster's
                              nodes comma-separated, as `agent add` lists them: the next is tried when one does not answer
    VAULT_ROLE_ID             from `agent add` (not secret)
    VAULT_WRAPPED_SECRET_ID   the single-use wrapping token from `agent add` (or VAULT_SECRET_ID_FILE from --out-dir)
    VAULT_SECRET_PATHS        openrouter,github   (paths under secret/)
"""
import os
import sys
import threading

import hvac
import requests


def on_any_node(client, addrs, call):
    """call(client) on the node that answered last, else the next: a node that does not answer is skipped; an answer,
    even an error, is final (a standby forwards to the leader)."""
    start = addrs.index(client.url) if client.url in addrs else 0
    for i in range(len(addrs)):
        client.url = addrs[(start + i) % len(addrs)]
        try:
            return call(client)
        except requests.exceptions.ConnectionError:
            if i + 1 == len(addrs):
                raise
            print(f"{client.url} does not answer; trying the next node", file=sys.stderr)


class Secrets:
    def __init__(self, addrs, verify):
        self._addrs = addrs
        self._client = hvac.Client(url=addrs[0], verify=verify, timeout=5)
        self._cache = {}  # memory only: never logged, written, pickled or saved with a checkpoint
        self._failed = None
        self._timer = None

    def login(self, role_id, secret_id):
        auth = on_any_node(self._client, self._addrs, lambda c: c.auth.approle.login(role_id=role_id, secret_id=secret_id))["auth"]
        self._schedule(auth["lease_duration"])

    def get(self, path):
        if self._failed is not None:
            raise RuntimeError(f"secrets are unavailable: {self._failed}")
        if path not in self._cache:
            response = on_any_node(self._client, self._addrs, lambda c: c.secrets.kv.v2.read_secret_version(path=path, mount_point="secret", raise_on_deleted_version=True))
            self._cache[path] = response["data"]["data"]
        return self._cache[path]

    def renew(self):
        """Renews the token; when that fails the cache is dropped and every later get() fails: fail closed."""
        try:
            ttl = on_any_node(self._client, self._addrs, lambda c: c.auth.token.renew_self())["auth"]["lease_duration"]
        except Exception as error:
            self._failed = error
            self._cache.clear()
            raise
        self._schedule(ttl)
        return ttl

    def _schedule(self, ttl):
        if self._timer is not None:
            self._timer.cancel()
        self._timer = threading.Timer(ttl * 2 / 3, self._renew_quietly)
        self._timer.daemon = True
        self._timer.start()

    def _renew_quietly(self):
        try:
            self.renew()
        except Exception as error:
            print(f"renewal failed, failing closed: {type(error).__name__}", file=sys.stderr)

    def close(self):
        if self._timer is not None:
            self._timer.cancel()
        self._cache.clear()
        on_any_node(self._client, self._addrs, lambda c: c.auth.token.revoke_self())


def secret_id(addrs, verify):
    if "VAULT_SECRET_ID_FILE" in os.environ:
        with open(os.environ["VAULT_SECRET_ID_FILE"]) as f:
            return f.read().strip()
    unwrapper = hvac.Client(url=addrs[0], verify=verify, token=os.environ["VAULT_WRAPPED_SECRET_ID"], timeout=5)
    return on_any_node(unwrapper, addrs, lambda c: c.sys.unwrap())["data"]["secret_id"]  # works once: a second unwrap is refused


def main():
    addrs = [a.strip() for a in os.environ["VAULT_ADDR"].split(",") if a.strip()]
    verify = os.environ.get("VAULT_CACERT") or True
    secrets = Secrets(addrs, verify)
    secrets.login(os.environ["VAULT_ROLE_ID"], secret_id(addrs, verify))
    for path in os.environ["VAULT_SECRET_PATHS"].split(","):
        fields = ", ".join(secrets.get(path))  # names only, never values
        print(f"ok: read secret/{path} (fields: {fields})")
    print(f"ok: token renewed (ttl {secrets.renew()}s)")
    if "--once" in sys.argv:
        secrets.close()
        return
    threading.Event().wait()  # a real agent does its work here, calling secrets.get() when it needs a key


if __name__ == "__main__":
    try:
        main()
    except (hvac.exceptions.VaultError, requests.exceptions.RequestException, KeyError, OSError, RuntimeError) as error:
        print(f"fail closed: {type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}", file=sys.stderr)
        sys.exit(1)
