# The overlay networks whose name starts with "shop-" (never ingress, bridge, host, none or
# docker_gwbridge).
list "swarm_network" "shop" {
  provider = swarm
  config {
    name_prefix = "shop-"
  }
}
