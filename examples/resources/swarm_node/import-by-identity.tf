# Terraform 1.12 and later: import by resource identity. The identity of swarm_node is its
# id (the node ID; a hostname is accepted too).
import {
  to       = swarm_node.zone_a
  identity = { id = "worker-1" }
}
