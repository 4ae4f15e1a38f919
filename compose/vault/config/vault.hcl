# Written by vault-setup for Vault 1.21.4. `vault-setup init` will not overwrite changes without --force.
ui = false

storage "raft" {
  path    = "/vault/data"
  node_id = "vault-1"
  # Raft's timers scaled for one node on a real disk: the first election takes about 1 s instead of 5-10 s
  # (the default multiplier, 5, suits slow shared hardware). Raise it (init --raft-multiplier) if the server
  # logs leadership losses.
  performance_multiplier = 1
}
# Raft needs a cluster address, and it may not be 0.0.0.0.
cluster_addr = "http://127.0.0.2:8200"

# The container shares the host's network (docker-compose.yml: network_mode: host), so these addresses are the
# host's own: loopback only, never a Docker bridge a neighbour can route to (docs/network.md).
listener "tcp" {
  address         = "127.0.0.1:8200"
  cluster_address = "127.0.0.2:8200"
  # Plain http: only acceptable behind an encrypted tunnel (e.g. WireGuard); the listener is on 127.0.0.1.
  tls_disable = true
}

# Apps and agents in containers on this host: mount the deployment's run/ directory and use
# unix://<mount>/server.sock (`vault-setup agent add` prints a compose service that does).
listener "unix" {
  address      = "/vault/run/server.sock"
  # The server's user and group own it: app containers join the group (group_add), nobody else connects.
  socket_mode  = "0660"
  socket_user  = "100"
  socket_group = "1000"
  tls_disable  = true
}

api_addr = "http://127.0.0.1:8200"

# Integrated storage is not swapped out by the kernel's mlock anyway; HashiCorp recommends this with raft.
disable_mlock = true
