# Written by vault-setup for Vault 1.17.6. `vault-setup init` will not overwrite changes without --force.
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
cluster_addr = "http://127.0.0.1:8201"

listener "tcp" {
  address = "0.0.0.0:8200"
  # Plain http: only acceptable behind an encrypted tunnel (e.g. WireGuard); the port is bound to 127.0.0.1.
  tls_disable = true
}

api_addr = "http://127.0.0.1:8200"

# Integrated storage is not swapped out by the kernel's mlock anyway; HashiCorp recommends this with raft.
disable_mlock = true
