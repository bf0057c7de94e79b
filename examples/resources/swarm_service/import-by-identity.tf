# Terraform 1.12 and later: import by resource identity. The identity of swarm_service is its
# id (the Swarm ID or the name) and name.
import {
  to       = swarm_service.web
  identity = { id = "shop-web" }
}
