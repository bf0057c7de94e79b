# terraform apply -invoke=action.swarm_node_drain.worker3
action "swarm_node_drain" "worker3" {
  config {
    node_id = "worker-3" # an ID or a host name
    timeout = "15m"
  }
}
