# Every node.
data "swarm_nodes" "all" {}

# Active workers in zone "a" (a node label: docker node update --label-add zone=a NODE).
data "swarm_nodes" "zone_a" {
  role         = "worker"
  availability = "active"
  labels       = { zone = "a" }
}

# One cache task on each of them.
resource "swarm_service" "cache" {
  name     = "cache-zone-a"
  image    = "registry.example.com/platform/cache:7.2"
  replicas = length(data.swarm_nodes.zone_a.nodes)
  placement = {
    constraints           = ["node.role==worker", "node.labels.zone==a"]
    max_replicas_per_node = 1
  }
}

output "nodes_not_ready" {
  value = [for n in data.swarm_nodes.all.nodes : n.hostname if n.state != "ready"]
}
