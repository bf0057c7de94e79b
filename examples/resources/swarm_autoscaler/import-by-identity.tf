# Terraform 1.12 and later: import by resource identity. The identity of swarm_autoscaler is its
# id (the service ID or name) and name.
import {
  to       = swarm_autoscaler.this
  identity = { id = "swarm-autoscaler" }
}
