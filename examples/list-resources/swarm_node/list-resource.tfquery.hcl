# The nodes labelled zone=a (docker node update --label-add zone=a).
list "swarm_node" "zone_a" {
  provider = swarm
  config {
    labels = { zone = "a" }
  }
}
