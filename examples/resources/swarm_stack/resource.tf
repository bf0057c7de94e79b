# The files a team already ships with `docker stack deploy -c docker-compose.yml -c prod.yml shop`.
resource "swarm_stack" "shop" {
  name          = "shop"
  compose_files = ["${path.module}/docker-compose.yml", "${path.module}/prod.yml"]

  # The only variables the files see: the process environment is not read.
  environment = {
    TAG = var.tag
  }
}

# A scaling policy owns the replica count of one of the stack's services: no deploy resets it.
resource "swarm_scaling_policy" "api" {
  service_id   = swarm_stack.shop.services["api"].id
  min_replicas = 2
  max_replicas = 10
  metrics      = [{ type = "cpu", target_utilization = 60 }]
}

variable "tag" {
  type = string
}
