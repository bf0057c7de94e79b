# A service that another configuration (or `docker stack deploy`) manages, read by name.
data "swarm_service" "api" {
  name = "shop-api"
}

# A worker that runs exactly the API's image (pinned to its digest) with its environment.
resource "swarm_service" "api_worker" {
  name     = "shop-api-worker"
  image    = data.swarm_service.api.image
  env      = data.swarm_service.api.env
  args     = ["--worker"]
  replicas = 2
}

output "api_ports" {
  value = data.swarm_service.api.ports[*].published
}
