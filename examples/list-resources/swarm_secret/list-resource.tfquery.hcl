# The secrets labelled for the shop team, as metadata: add data_wo to each generated block.
list "swarm_secret" "shop" {
  provider = swarm
  config {
    labels = { team = "shop" }
  }
}
