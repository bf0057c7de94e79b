# Label the nodes of each availability zone, for placement constraints and spread
# preferences. Other labels of these nodes are left alone.
resource "swarm_node" "zone_a" {
  hostname = "worker-1"
  labels   = { zone = "a", disk = "ssd" }
}

resource "swarm_node" "zone_b" {
  hostname = "worker-2"
  labels   = { zone = "b", disk = "ssd" }
}

# Take a node out for maintenance: its tasks move to the other nodes, and the apply
# returns once they run there.
resource "swarm_node" "maintenance" {
  node_id           = "x2mnlj7r8k1ybgdbr5n4ck3na"
  availability      = "drain"
  progress_deadline = "3m"
}

resource "swarm_service" "web" {
  name     = "shop-web"
  image    = "registry.example.com/shop/web:1.4.2"
  replicas = 4
  placement = {
    constraints = ["node.labels.disk==ssd"]
    preferences = ["spread=node.labels.zone"]
  }
  # The labels exist before the service is placed by them.
  depends_on = [swarm_node.zone_a, swarm_node.zone_b]
}
