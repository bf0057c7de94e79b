data "swarm_cluster" "this" {}

output "swarm_id" {
  value = data.swarm_cluster.this.id
}

# The join tokens are sensitive: an output that carries one must say so.
output "worker_join_command" {
  value     = "docker swarm join --token ${data.swarm_cluster.this.join_tokens.worker} ${data.swarm_cluster.this.leader_address}"
  sensitive = true
}

# Warn in every plan while a manager is unreachable.
check "managers_reachable" {
  assert {
    condition     = data.swarm_cluster.this.node_counts.reachable_managers == data.swarm_cluster.this.node_counts.managers
    error_message = "Only ${data.swarm_cluster.this.node_counts.reachable_managers} of ${data.swarm_cluster.this.node_counts.managers} managers are reachable."
  }
}
