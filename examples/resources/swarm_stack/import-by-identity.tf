# Terraform 1.12 and later: import by resource identity. The identity of swarm_stack is its
# name.
import {
  to       = swarm_stack.shop
  identity = { name = "shop" }
}
