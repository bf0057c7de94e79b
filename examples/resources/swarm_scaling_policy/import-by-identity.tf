# Terraform 1.12 and later: import by resource identity. The identity of swarm_scaling_policy is its
# id (the ID of the service it is attached to; the service name is accepted too).
import {
  to       = swarm_scaling_policy.web
  identity = { id = "shop-web" }
}
