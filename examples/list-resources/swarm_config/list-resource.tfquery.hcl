# The configs whose name starts with "shop-", as metadata: set data in each generated block.
list "swarm_config" "shop" {
  provider = swarm
  config {
    name_prefix = "shop-"
  }
}
