# terraform apply -invoke=action.swarm_node_activate.worker3
action "swarm_node_activate" "worker3" {
  config {
    node_id = "worker-3"
  }
}
