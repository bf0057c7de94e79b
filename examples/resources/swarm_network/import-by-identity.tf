# Terraform 1.12 and later: import by resource identity. The identity of swarm_network is its
# id (the ID or the name) and name.
import {
  to       = swarm_network.backend
  identity = { id = "shop-backend" }
}
