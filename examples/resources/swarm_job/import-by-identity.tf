# Terraform 1.12 and later: import by resource identity. The identity of swarm_job is its
# id (the Swarm ID or the name) and name.
import {
  to       = swarm_job.migrate
  identity = { id = "shop-migrate" }
}
